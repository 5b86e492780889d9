//! Review of what a run or a job changed, before it reaches the namespace.
//!
//! Design: the Run panel's guests and the Jobs panel's jobs run in the engine worker, in place, on a
//! [`CowFs`] over the live namespace ([`Reviews::join`]): runs and jobs started while that
//! overlay is open share it and see each other's writes, as processes in one namespace do,
//! and nothing touches the live services until the overlay is committed (edits made on the
//! page meanwhile are kept). [`CowFs::changes`] lists what was added, modified and
//! deleted. The Review panel shows the changes (with a line diff for UTF-8 text files) and
//! offers, once no run still writes into the overlay:
//! - **Commit**: [`CowFs::commit`] applies them to the live namespace in one synchronous
//!   step (nothing else runs in the worker in between; on an error the overlay is kept and
//!   the commit can be retried);
//! - **Discard**: the overlay is dropped; the namespace stays as it was.
//!
//! With the setting "apply without review" runs and jobs write into the live namespace
//! itself.

use super::Engine;
use crate::proto::{ChangeView, Event, Failure, Line, Reply, ReviewRequest, ReviewView};
use oanix_core::review::{line_diff, DiffLine};
use oanix_core::{
    Change, ChangeKind, CowFs, FileKind, FileService, FsPath, Namespace, OpenOptions,
};
use std::cell::RefCell;
use std::sync::Arc;

/// One run's changes waiting for Commit or Discard.
struct Review {
    id: u64,
    /// What ran (shown as the review's title).
    label: String,
    cow: CowFs,
    changes: Vec<Change>,
    /// The changes as the panel shows them (with diffs), made once per listing of `changes`.
    views: Option<Vec<ChangeView>>,
    /// Runs still writing into the overlay (Commit and Discard wait for them).
    users: usize,
    /// Whether runs started now join this overlay (the Run panel's, until it is committed
    /// or discarded).
    open: bool,
}

/// The pending reviews and the "apply without review" setting.
#[derive(Default)]
pub(super) struct Reviews {
    pending: RefCell<Vec<Review>>,
    next: std::cell::Cell<u64>,
    /// Commit runs' changes at once, without review.
    pub(super) auto_apply: std::cell::Cell<bool>,
}

impl Engine {
    /// The overlay a run started now writes into while review is on: the open one (runs
    /// started before its review was committed or discarded share it and see each other's
    /// writes), or a new one over `live`. Returns its id, for [`Self::leave`].
    pub(super) fn join(&self, live: &Namespace, label: &str) -> (u64, CowFs) {
        let r = &self.reviews;
        let joined = {
            let mut pending = r.pending.borrow_mut();
            match pending.iter_mut().find(|r| r.open) {
                Some(open) => {
                    open.users += 1;
                    open.label = format!("{}; {label}", open.label);
                    (open.id, open.cow.clone())
                }
                None => {
                    let id = r.next.get() + 1;
                    r.next.set(id);
                    let cow = CowFs::new(Arc::new(live.clone()));
                    pending.push(Review {
                        id,
                        label: label.to_string(),
                        cow: cow.clone(),
                        changes: Vec::new(),
                        views: None,
                        users: 1,
                        open: true,
                    });
                    (id, cow)
                }
            }
        };
        self.show_reviews();
        joined
    }

    /// A run that [`Self::join`]ed overlay `id` ended: its changes are listed again (or,
    /// with "apply without review" set meanwhile, committed once no run writes into it).
    /// Returns what happened, for the run's status line.
    pub(super) fn leave(&self, id: u64) -> String {
        let mut said = String::new();
        let mut drop_it = false;
        let mut commit = None;
        {
            let mut pending = self.reviews.pending.borrow_mut();
            match pending.iter_mut().find(|r| r.id == id) {
                None => said = "its overlay is gone".into(),
                Some(r) => {
                    r.users = r.users.saturating_sub(1);
                    match r.cow.changes() {
                        Ok(c) => {
                            r.changes = c;
                            r.views = None;
                        }
                        Err(e) => said = format!("its changes cannot be listed: {e}"),
                    }
                    if r.users == 0 && r.changes.is_empty() {
                        drop_it = true;
                        said = "no changes to the namespace".into();
                    } else if r.users == 0 && self.reviews.auto_apply.get() {
                        // Dropped only once committed: a commit that fails leaves the
                        // overlay (and what it did not apply) in the Review panel.
                        commit = Some(r.cow.clone());
                    } else if said.is_empty() {
                        said = format!("{} change(s) sent to the Review panel", r.changes.len());
                    }
                }
            }
        }
        if drop_it {
            self.remove_review(id);
        }
        if let Some(cow) = commit {
            said = match cow.commit() {
                Ok(applied) => {
                    self.remove_review(id);
                    format!("{} change(s) applied without review", applied.len())
                }
                Err(e) => {
                    // Some changes may have landed: the views re-read the namespace, and
                    // the rest stays in the Review panel.
                    format!("changes NOT all applied ({e}): the rest is in the Review panel")
                }
            };
            self.touched();
        }
        self.show_reviews();
        said
    }

    /// The namespace changed outside a review (a run wrote to it directly): views re-read
    /// it and it is saved.
    pub(super) fn touched(&self) {
        (self.emit)(Event::Changed);
    }

    fn remove_review(&self, id: u64) {
        self.reviews.pending.borrow_mut().retain(|r| r.id != id);
    }

    /// Sends the pending reviews (with their diffs) to the UI. A review's diffs are made
    /// once per listing of its changes (a run ending), not at every send.
    fn show_reviews(&self) {
        let views = self
            .reviews
            .pending
            .borrow_mut()
            .iter_mut()
            .map(|r| {
                let (cow, changes) = (&r.cow, &r.changes);
                let views = r
                    .views
                    .get_or_insert_with(|| changes.iter().map(|c| change_view(cow, c)).collect());
                ReviewView {
                    id: r.id,
                    label: r.label.clone(),
                    users: r.users,
                    changes: views.clone(),
                }
            })
            .collect();
        (self.emit)(Event::Reviews(views));
    }
}

/// Answers a review request.
pub(super) fn handle(engine: &Engine, request: ReviewRequest) -> Result<Reply, Failure> {
    let cow_of = |id: u64| {
        engine
            .reviews
            .pending
            .borrow()
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r.cow.clone(), r.label.clone(), r.users))
    };
    let said = match request {
        ReviewRequest::AutoApply(on) => {
            engine.reviews.auto_apply.set(on);
            return Ok(Reply::Said(String::new()));
        }
        ReviewRequest::Commit { id } => match cow_of(id) {
            None => "that review is gone".into(),
            Some((_, label, users)) if users > 0 => format!("{label}: runs still write here"),
            Some((cow, label, _)) => match cow.commit() {
                Ok(applied) => {
                    engine.remove_review(id);
                    engine.touched();
                    format!("{label}: {} change(s) committed", applied.len())
                }
                Err(e) => format!("{label}: commit failed ({e}); nothing lost, retry"),
            },
        },
        ReviewRequest::Discard { id } => match cow_of(id) {
            None => "that review is gone".into(),
            Some((_, label, users)) if users > 0 => format!("{label}: runs still write here"),
            Some((cow, label, _)) => {
                cow.discard();
                engine.remove_review(id);
                format!("{label}: changes discarded")
            }
        },
    };
    engine.show_reviews();
    Ok(Reply::Said(said))
}

fn change_view(cow: &CowFs, c: &Change) -> ChangeView {
    let kind = match c.kind {
        ChangeKind::Added => "added",
        ChangeKind::Modified => "modified",
        ChangeKind::Deleted => "deleted",
    };
    ChangeView {
        kind: kind.into(),
        path: c.path.to_absolute(),
        dir: c.file_kind == FileKind::Dir,
        diff: (c.file_kind == FileKind::File).then(|| {
            file_diff(cow, c).map(|lines| {
                lines
                    .into_iter()
                    .map(|l| match l {
                        DiffLine::Same(t) => Line::Same(t),
                        DiffLine::Added(t) => Line::Added(t),
                        DiffLine::Removed(t) => Line::Removed(t),
                    })
                    .collect()
            })
        }),
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
    // Sizes first: a large file is not read at all (the worker must not stall on it).
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
