//! The explorer's page: top bar, sidebar (mounts + tree) and the main pane (breadcrumbs,
//! listing or file view, and the panels).

use crate::agent::AgentPanel;
use crate::client::Client;
use crate::files::{Breadcrumbs, DirView, FileView};
use crate::jobs::{Jobs, JobsPanel};
use crate::nostr::NostrPanel;
use crate::proto::{Event, Mount, Ready, ReviewRequest, ReviewView};
use crate::review::ReviewPanel;
use crate::run::{RunPanel, Runs};
use crate::saved::SavedNamespaces;
use leptos::prelude::*;

/// The path the URL's `#/path` names (default `/`).
fn hash_path() -> String {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let raw = hash.trim_start_matches('#');
    let decoded = js_sys::decode_uri_component(raw)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| raw.to_string());
    if decoded.starts_with('/') {
        decoded
    } else {
        "/".to_string()
    }
}

/// Shows `path` as a file or a directory, whichever it is (an unknown path shows its
/// error as a directory would).
fn open_path(client: Client, path: String, set_view: WriteSignal<View>) {
    leptos::task::spawn_local(async move {
        let is_dir = client.is_dir(path.clone()).await.unwrap_or(true);
        set_view.set(if is_dir {
            View::Dir(path)
        } else {
            View::File(path)
        });
    });
}

/// What the main pane shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum View {
    /// A directory's listing.
    Dir(String),
    /// A file's view.
    File(String),
    /// A path from the URL, until the namespace says which it is.
    Pending(String),
}

#[component]
pub(crate) fn Explorer(client: Client, ready: Ready) -> impl IntoView {
    let Ready {
        notes, has_store, ..
    } = ready;
    // Where saving stands, and /workspace's mirroring to OPFS (events of the engine).
    let saved = RwSignal::new(if has_store {
        "saved".to_string()
    } else {
        String::new()
    });
    let mirror = RwSignal::new(String::new());
    // Bumped whenever the namespace changes (a run wrote to it): views re-read it.
    let (revision, set_revision) = signal(0u64);
    // Bumped when the live services change (a run's output, status): the agent views re-read.
    let live = RwSignal::new(0u64);
    let reviews = RwSignal::new(Vec::<ReviewView>::new());
    let runs = Runs::new();
    let jobs = Jobs::new();
    // The engine's events land in the views' signals.
    client.on_event(move |e| match e {
        Event::Saving(s) => saved.set(s),
        Event::Mirror(m) => mirror.set(m),
        Event::Changed => set_revision.update(|c| *c += 1),
        Event::Live => live.update(|n| *n += 1),
        Event::Reviews(r) => reviews.set(r),
        Event::Lost(why) => {
            saved.set(format!("NOT SAVED: {why}"));
            runs.event(Event::Lost(why.clone()));
            jobs.event(Event::Lost(why));
        }
        e @ Event::Jobs { .. } => jobs.event(e),
        e => runs.event(e),
    });
    // Runs and jobs write into the review overlay unless "apply without review" is set.
    let auto = crate::review::auto_apply_saved();
    leptos::task::spawn_local(async move {
        let _ = client.review(ReviewRequest::AutoApply(auto)).await;
    });
    // The URL's #path opens that file or directory (an unknown path shows its error).
    let (view_sig, set_view) = signal(View::Pending(hash_path()));
    open_path(client, hash_path(), set_view);
    Effect::new(move |_| {
        let (View::Dir(p) | View::File(p) | View::Pending(p)) = view_sig.get();
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash(&p);
        }
    });
    // Back/forward and edited URLs: follow the hash.
    let _ = leptos::prelude::window_event_listener(leptos::ev::hashchange, move |_| {
        let path = hash_path();
        if !matches!(view_sig.get_untracked(), View::Dir(p) | View::File(p) | View::Pending(p) if p == path)
        {
            open_path(client, path, set_view);
        }
    });
    // Every change is saved (incrementally, by the engine).
    Effect::new(move |_| {
        revision.track();
        leptos::task::spawn_local(async move {
            let _ = client.save_changes().await;
        });
    });
    // The mount table (read once: mounts change only when the page starts) and the tree.
    let mounts = LocalResource::new(move || client.mounts());
    let tree = LocalResource::new(move || {
        revision.track();
        client.tree()
    });
    view! {
        <header class="topbar">
            <span class="logo">"OANIX"</span>
            <span class="subtitle">"Namespace Explorer"</span>
            {has_store.then(|| view! {
                <SavedNamespaces client=client changed=set_revision status=saved/>
            })}
            <span class="save-status" role="status">{move || saved.get()}</span>
            <span class="mirror-status" role="status">{move || mirror.get()}</span>
        </header>
        <div class="layout">
            <nav class="sidebar" aria-label="Namespace">
                <h2>"Mounts"</h2>
                <ul class="mounts">
                    {move || mounts
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|Mount { path, kinds: kind }| {
                            let target = path.clone();
                            view! {
                                <li>
                                    <button class="link" on:click=move |_| set_view.set(View::Dir(target.clone()))>
                                        {path}
                                    </button>
                                    <span class="muted">" " {kind}</span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
                <h2>"Tree"</h2>
                <ul class="tree">
                    {move || tree
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|row| {
                            let target = row.path.clone();
                            let is_dir = row.is_dir;
                            let indent = format!(
                                "padding-left: {}rem",
                                crate::num::one_decimal(row.depth as f64 * 0.9)
                            );
                            view! {
                                <li style=indent>
                                    <button
                                        class=if is_dir { "link dir" } else { "link file" }
                                        on:click=move |_| {
                                            set_view
                                                .set(if is_dir {
                                                    View::Dir(target.clone())
                                                } else {
                                                    View::File(target.clone())
                                                })
                                        }
                                    >
                                        {if is_dir { "▸ " } else { "  " }}
                                        {row.name}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main class="content">
                {(!notes.is_empty()).then(|| view! {
                    <ul class="notes error" role="alert">
                        {notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
                    </ul>
                })}
                <Breadcrumbs view=view_sig set_view=set_view/>
                {move || match view_sig.get() {
                    View::Dir(path) => view! {
                        <DirView client=client path=path revision=revision changed=set_revision set_view=set_view/>
                    }.into_any(),
                    View::File(path) => view! {
                        <FileView client=client path=path revision=revision changed=set_revision set_view=set_view/>
                    }.into_any(),
                    View::Pending(_) => ().into_any(),
                }}
                <ReviewPanel client=client reviews=reviews/>
                <RunPanel client=client state=runs/>
                <AgentPanel client=client live=live revision=revision/>
                <JobsPanel client=client state=jobs compiles=runs.compiles()/>
                <NostrPanel client=client/>
            </main>
        </div>
    }
}
