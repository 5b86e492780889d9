//! The saved namespaces (IndexedDB): autosave after every change, save as, open, delete.
//! `/workspace` lives on OPFS and is shared by all of them (stores keep only its mount
//! point).

use super::{no_store, Engine};
use crate::proto::{Event, Reply, Saved, SavedRequest};
use oanix_core::{FileService, FsError};
use std::rc::Rc;
use std::sync::Arc;

/// Answers a saved-namespace request.
pub(super) async fn handle(engine: &Rc<Engine>, request: SavedRequest) -> Result<Reply, FsError> {
    if let SavedRequest::Changed = request {
        changed(engine);
        return Ok(Reply::Done);
    }
    let db = engine.store.clone().ok_or_else(no_store)?;
    Ok(match request {
        SavedRequest::Changed => Reply::Done,
        SavedRequest::List => Reply::Saved(Saved {
            names: db.list().await?,
            current: engine.save.borrow().current.clone().unwrap_or_default(),
        }),
        SavedRequest::SaveAs { .. } if !engine.owner => {
            return Err(FsError::InvalidInput(
                "another tab has the storage: nothing is saved from this one".into(),
            ))
        }
        SavedRequest::Delete { .. } if !engine.owner => {
            return Err(FsError::InvalidInput(
                "another tab has the storage: nothing is deleted from this one".into(),
            ))
        }
        SavedRequest::SaveAs { name } => {
            let snapshot = engine.ns();
            let stats = db.save(&name, &snapshot).await?;
            engine.save.borrow_mut().current = Ok(name.clone());
            Reply::Said(format!("saved as {name} ({} written)", stats.written))
        }
        SavedRequest::Open { name } => {
            let loaded = db.load(&name).await?.ok_or(FsError::NotFound)?;
            let mut restored = loaded.namespace;
            // /workspace is the one OPFS directory, shared by every saved namespace (in a
            // tab that does not own the storage: its in-memory copy of it).
            let workspace: Option<Arc<dyn FileService>> = match engine.workspace.clone() {
                Some(opfs) => Some(Arc::new(opfs)),
                None => engine.ns().mounts().into_iter().find_map(|m| {
                    (m.path.to_absolute() == "/workspace")
                        .then(|| m.layers.first().map(|l| l.service.clone()))
                        .flatten()
                }),
            };
            if let Some(ws) = workspace {
                let _ = restored.unmount("/workspace");
                let _ = restored.mount("/workspace", ws);
            }
            // The capabilities stay those granted to this page, the live services its own.
            {
                let old = engine.ns.borrow();
                super::caps::carry_caps(&old, &mut restored);
                super::world::carry_live(&old, &mut restored);
            }
            engine.ns.replace(restored);
            // A tab that does not own the storage shows it, never saves it.
            if engine.owner {
                engine.save.borrow_mut().current = Ok(name.clone());
            }
            Reply::Said(if loaded.problems.is_empty() {
                format!("opened {name}")
            } else {
                format!("opened {name}: {}", loaded.problems.join("; "))
            })
        }
        SavedRequest::Delete { name } => {
            db.delete(&name).await?;
            Reply::Said(format!("deleted {name}"))
        }
    })
}

/// Saves the namespace under the current name — incrementally (only changed inodes are
/// written). Changes made while a save runs are saved together by one more save after it
/// (a thousand jobs ending make a few saves, not a thousand queued ones).
fn changed(engine: &Rc<Engine>) {
    if engine.store.is_none() {
        return;
    }
    let mut state = engine.save.borrow_mut();
    if let Err(why) = &state.current {
        (engine.emit)(Event::Saving(format!("NOT SAVED: {why}")));
        return;
    }
    state.dirty = true;
    if state.saving {
        return;
    }
    state.saving = true;
    drop(state);
    let engine = engine.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let Some(db) = engine.store.clone() else {
            return;
        };
        loop {
            // The name and namespace as they are now ("Open" may have changed both).
            let name = {
                let mut state = engine.save.borrow_mut();
                match (state.current.clone(), state.dirty) {
                    (Ok(name), true) => {
                        state.dirty = false;
                        name
                    }
                    _ => {
                        state.saving = false;
                        return;
                    }
                }
            };
            let now = engine.ns();
            (engine.emit)(Event::Saving("saving…".into()));
            (engine.emit)(Event::Saving(match db.save(&name, &now).await {
                Ok(stats) => format!("saved ({} written)", stats.written),
                Err(FsError::NoSpace) => {
                    "NOT SAVED: browser storage quota exceeded — earlier saves are intact".into()
                }
                Err(e) => format!("NOT SAVED: {e}"),
            }));
        }
    });
}
