//! The Review panel: what runs and jobs changed, before it reaches the namespace (the
//! overlays and their commit live in `crate::engine`'s review part). Each review lists
//! what was added, modified and deleted (with a line diff for text files) and offers
//! Commit and Discard once no run still writes into it. The "apply without review" setting
//! is kept in `localStorage`.

use crate::client::Client;
use crate::proto::{Line, ReviewRequest, ReviewView};
use leptos::prelude::*;

/// Where the setting is kept.
const AUTO_KEY: &str = "oanix-explorer.apply-without-review";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// The setting as saved ("apply without review").
pub(crate) fn auto_apply_saved() -> bool {
    local_storage()
        .and_then(|s| s.get_item(AUTO_KEY).ok().flatten())
        .is_some_and(|v| v == "1")
}

/// The pending reviews, newest last, and the setting.
#[component]
pub fn ReviewPanel(client: Client, reviews: RwSignal<Vec<ReviewView>>) -> impl IntoView {
    let auto = RwSignal::new(auto_apply_saved());
    let message = RwSignal::new(String::new());
    view! {
        <section class="review-panel" aria-label="Review changes">
            <h2>"Review"</h2>
            <label class="review-setting">
                <input
                    type="checkbox"
                    class="auto-apply"
                    prop:checked=move || auto.get()
                    on:change=move |e| {
                        let on = event_target_checked(&e);
                        auto.set(on);
                        if let Some(s) = local_storage() {
                            let _ = s.set_item(AUTO_KEY, if on { "1" } else { "0" });
                        }
                        leptos::task::spawn_local(async move {
                            let _ = client.review(ReviewRequest::AutoApply(on)).await;
                        });
                    }
                />
                " Apply runs and jobs without review"
            </label>
            <span class="review-message" role="status">{move || message.get()}</span>
            {move || {
                let list = reviews.get();
                if list.is_empty() {
                    view! { <p class="muted review-empty">"Nothing to review."</p> }.into_any()
                } else {
                    list.into_iter()
                        .map(|r| view! { <ReviewItem review=r client=client message=message/> })
                        .collect_view()
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn ReviewItem(review: ReviewView, client: Client, message: RwSignal<String>) -> impl IntoView {
    let id = review.id;
    let busy = review.users > 0;
    let act = move |request: ReviewRequest| {
        leptos::task::spawn_local(async move {
            match client.review(request).await {
                Ok(said) => message.set(said),
                Err(e) => message.set(e.message),
            }
        });
    };
    let commit = move |_| act(ReviewRequest::Commit { id });
    let discard = move |_| act(ReviewRequest::Discard { id });
    let rows = review
        .changes
        .into_iter()
        .map(|c| {
            let kind = c.kind;
            view! {
                <li class=format!("change change-{kind}")>
                    <span class="change-kind">{kind.clone()}</span>
                    " "
                    <code class="change-path">{c.path}</code>
                    {c.dir.then_some(" (directory)")}
                    {c.diff.map(|d| match d {
                        Ok(lines) => view! { <Diff lines=lines/> }.into_any(),
                        Err(why) => view! { <span class="muted">" — " {why}</span> }.into_any(),
                    })}
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="review" data-review=id>
            <h3>{review.label}</h3>
            {busy.then(|| view! {
                <p class="muted review-busy">{format!("{} run(s) still writing here", review.users)}</p>
            })}
            <ul class="changes">{rows}</ul>
            <div class="run-actions">
                <button class="primary review-commit" on:click=commit disabled=busy>"Commit"</button>
                <button class="review-discard" on:click=discard disabled=busy>"Discard"</button>
            </div>
        </div>
    }
}

#[component]
fn Diff(lines: Vec<Line>) -> impl IntoView {
    view! {
        <pre class="diff">
            {lines
                .into_iter()
                .map(|l| match l {
                    Line::Same(t) => view! { <span class="diff-same">{format!("  {t}\n")}</span> },
                    Line::Added(t) => view! { <span class="diff-added">{format!("+ {t}\n")}</span> },
                    Line::Removed(t) => view! { <span class="diff-removed">{format!("- {t}\n")}</span> },
                })
                .collect_view()}
        </pre>
    }
}
