//! Review of what a run or a job changed, before it reaches the namespace.
//!
//! Design: the Run panel's guests and the Jobs panel's jobs run on the page, in place, on a
//! [`CowFs`] over the live namespace ([`Reviews::join`]): runs and jobs started while that
//! overlay is open share it and see each other's writes, as processes in one namespace do,
//! and nothing touches the live services until the overlay is committed (edits made on the
//! page meanwhile are kept). [`CowFs::changes`] lists what was added, modified and
//! deleted. The Review panel shows the changes (with a line diff for UTF-8 text files) and
//! offers, once no run still writes into the overlay:
//! - **Commit**: [`CowFs::commit`] applies them to the live namespace in one synchronous
//!   step (nothing else runs on the page in between; on an error the overlay is kept and
//!   the commit can be retried);
//! - **Discard**: the overlay is dropped; the namespace stays as it was.
//!
//! With the setting "apply without review" (kept in `localStorage`) runs and jobs write into
//! the live namespace itself.
//!

use leptos::prelude::*;
use oanix_core::review::{line_diff, DiffLine};
use oanix_core::{
    Change, ChangeKind, CowFs, FileKind, FileService, FsPath, Namespace, OpenOptions,
};
use std::sync::Arc;

/// One run's changes waiting for Commit or Discard.
#[derive(Clone)]
pub struct Review {
    id: u64,
    /// What ran (shown as the review's title).
    label: String,
    cow: CowFs,
    changes: Vec<Change>,
    /// Runs still writing into the overlay (Commit and Discard wait for them).
    users: usize,
    /// Whether runs started now join this overlay (the Run panel's, until it is committed
    /// or discarded).
    open: bool,
}

/// The queue of pending reviews and the "apply without review" setting (all `Copy`).
#[derive(Clone, Copy)]
pub struct Reviews {
    pending: RwSignal<Vec<Review>, LocalStorage>,
    /// Commit runs' changes at once, without review.
    pub auto_apply: RwSignal<bool>,
    next: StoredValue<u64>,
    changed: WriteSignal<u64>,
}

/// Where the setting is kept.
const AUTO_KEY: &str = "oanix-explorer.apply-without-review";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

impl Reviews {
    /// An empty queue; `changed` is bumped when a commit changes the namespace.
    pub fn new(changed: WriteSignal<u64>) -> Self {
        let auto = local_storage()
            .and_then(|s| s.get_item(AUTO_KEY).ok().flatten())
            .is_some_and(|v| v == "1");
        Reviews {
            pending: RwSignal::new_local(Vec::new()),
            auto_apply: RwSignal::new(auto),
            next: StoredValue::new(1),
            changed,
        }
    }

    /// The overlay a run started now writes into while review is on: the open one (runs
    /// started before its review was committed or discarded share it and see each other's
    /// writes), or a new one over `live`. Returns its id, for [`Self::leave`].
    pub fn join(&self, live: &Namespace, label: &str) -> (u64, CowFs) {
        let open = self
            .pending
            .with_untracked(|p| p.iter().find(|r| r.open).map(|r| (r.id, r.cow.clone())));
        if let Some((id, cow)) = open {
            self.pending.update(|p| {
                if let Some(r) = p.iter_mut().find(|r| r.id == id) {
                    r.users += 1;
                    r.label = format!("{}; {label}", r.label);
                }
            });
            return (id, cow);
        }
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        let cow = CowFs::new(Arc::new(live.clone()));
        self.pending.update(|p| {
            p.push(Review {
                id,
                label: label.to_string(),
                cow: cow.clone(),
                changes: Vec::new(),
                users: 1,
                open: true,
            })
        });
        (id, cow)
    }

    /// A run that [`Self::join`]ed overlay `id` ended: its changes are listed again (or,
    /// with "apply without review" set meanwhile, committed once no run writes into it).
    /// Returns what happened, for the run's status line.
    pub fn leave(&self, id: u64) -> String {
        let mut said = String::new();
        let mut drop_it = false;
        let mut commit = None;
        self.pending.update(|p| {
            let Some(r) = p.iter_mut().find(|r| r.id == id) else {
                said = "its overlay is gone".into();
                return;
            };
            r.users = r.users.saturating_sub(1);
            match r.cow.changes() {
                Ok(c) => r.changes = c,
                Err(e) => said = format!("its changes cannot be listed: {e}"),
            }
            if r.users == 0 && r.changes.is_empty() {
                drop_it = true;
                said = "no changes to the namespace".into();
            } else if r.users == 0 && self.auto_apply.get_untracked() {
                // Dropped only once committed: a commit that fails leaves the overlay (and
                // what it did not apply) in the Review panel.
                commit = Some(r.cow.clone());
            } else if said.is_empty() {
                said = format!("{} change(s) sent to the Review panel", r.changes.len());
            }
        });
        if drop_it {
            self.remove(id);
        }
        if let Some(cow) = commit {
            said = match cow.commit() {
                Ok(applied) => {
                    self.remove(id);
                    self.touched();
                    format!("{} change(s) applied without review", applied.len())
                }
                Err(e) => {
                    // Some changes may have landed: the views re-read the namespace, and
                    // the rest stays in the Review panel.
                    self.touched();
                    format!("changes NOT all applied ({e}): the rest is in the Review panel")
                }
            };
        }
        said
    }

    /// The namespace changed outside a review (a run wrote to it directly): views re-read
    /// it and it is saved.
    pub fn touched(&self) {
        self.changed.update(|c| *c += 1);
    }

    fn remove(&self, id: u64) {
        self.pending.update(|p| p.retain(|r| r.id != id));
    }
}

/// Text files larger than this are not diffed.
const DIFF_MAX: usize = 256 << 10;

fn read(fs: &dyn FileService, path: &FsPath) -> Option<Vec<u8>> {
    let h = fs.open(path, &OpenOptions::read()).ok()?;
    oanix_core::service::read_all(h.as_ref()).ok()
}

/// The diff of one changed file, or why there is none.
fn file_diff(cow: &CowFs, c: &Change) -> Result<Vec<DiffLine>, String> {
    // Sizes first: a large file is not read at all (the page must not stall on it).
    let size = |fs: &dyn FileService| {
        fs.stat(&c.path, oanix_core::Follow::Yes)
            .map_or(0, |m| m.size)
    };
    let largest = size(cow).max(size(cow.base().as_ref()));
    if largest > DIFF_MAX as u64 {
        return Err(format!("{largest} bytes: too large to diff"));
    }
    let before = match c.kind {
        ChangeKind::Added => Vec::new(),
        _ => read(cow.base().as_ref(), &c.path).unwrap_or_default(),
    };
    let after = match c.kind {
        ChangeKind::Deleted => Vec::new(),
        _ => read(cow, &c.path).unwrap_or_default(),
    };
    if before.len().max(after.len()) > DIFF_MAX {
        return Err(format!("{} bytes: too large to diff", after.len()));
    }
    match (String::from_utf8(before), String::from_utf8(after)) {
        (Ok(b), Ok(a)) => Ok(line_diff(&b, &a)),
        (_, after) => Err(format!(
            "binary file ({} bytes)",
            after.map_or_else(|e| e.into_bytes().len(), |s| s.len())
        )),
    }
}

/// The pending reviews, newest last, and the setting.
#[component]
pub fn ReviewPanel(reviews: Reviews) -> impl IntoView {
    let auto = reviews.auto_apply;
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
                    }
                />
                " Apply runs and jobs without review"
            </label>
            <span class="review-message" role="status">{move || message.get()}</span>
            {move || {
                let list = reviews.pending.get();
                if list.is_empty() {
                    view! { <p class="muted review-empty">"Nothing to review."</p> }.into_any()
                } else {
                    list.into_iter()
                        .map(|r| view! { <ReviewItem review=r reviews=reviews message=message/> })
                        .collect_view()
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn ReviewItem(review: Review, reviews: Reviews, message: RwSignal<String>) -> impl IntoView {
    let (id, label) = (review.id, review.label.clone());
    let busy = review.users > 0;
    let cow = StoredValue::new_local(review.cow.clone());
    let commit = {
        let label = label.clone();
        move |_| match cow.with_value(CowFs::commit) {
            Ok(applied) => {
                reviews.remove(id);
                reviews.changed.update(|c| *c += 1);
                message.set(format!("{label}: {} change(s) committed", applied.len()));
            }
            Err(e) => message.set(format!("{label}: commit failed ({e}); nothing lost, retry")),
        }
    };
    let discard = move |_| {
        cow.with_value(CowFs::discard);
        reviews.remove(id);
        message.set(format!("{label}: changes discarded"));
    };
    let rows = review
        .changes
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ChangeKind::Added => "added",
                ChangeKind::Modified => "modified",
                ChangeKind::Deleted => "deleted",
            };
            let path = c.path.to_absolute();
            let diff =
                (c.file_kind == FileKind::File).then(|| cow.with_value(|cow| file_diff(cow, c)));
            view! {
                <li class=format!("change change-{kind}")>
                    <span class="change-kind">{kind}</span>
                    " "
                    <code class="change-path">{path}</code>
                    {c.file_kind.eq(&FileKind::Dir).then_some(" (directory)")}
                    {diff.map(|d| match d {
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
fn Diff(lines: Vec<DiffLine>) -> impl IntoView {
    view! {
        <pre class="diff">
            {lines
                .into_iter()
                .map(|l| match l {
                    DiffLine::Same(t) => view! { <span class="diff-same">{format!("  {t}\n")}</span> },
                    DiffLine::Added(t) => view! { <span class="diff-added">{format!("+ {t}\n")}</span> },
                    DiffLine::Removed(t) => view! { <span class="diff-removed">{format!("- {t}\n")}</span> },
                })
                .collect_view()}
        </pre>
    }
}
