//! The namespace side of the explorer: answers the UI's [`Request`]s and tells it what
//! happened unasked ([`Event`]s). It is the only part of the views that touches
//! `oanix_core`; the UI sees plain data ([`crate::proto`]), which is what lets the
//! namespace move into a worker (README, "The browser host at scale").
//!
//! Today it runs on the page and shares the namespace with the panels not yet moved behind
//! requests (Run, Jobs, Review, Nostr).

mod files;
mod nostr;
mod saved;

use crate::proto::{Answer, Event, Failure, Request};
use leptos::prelude::{GetValue, LocalStorage, StoredValue};
use oanix_core::net::nostr::Keys;
use oanix_core::persist::IdbStore;
use oanix_core::services::OpfsFs;
use oanix_core::{FsError, Namespace};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::JsCast;

/// Where saving stands: the name changes go to (or why nothing is saved), and whether a
/// save runs / another is due.
struct SaveState {
    current: Result<String, String>,
    saving: bool,
    dirty: bool,
}

/// The namespace, its storage, and the way to tell the UI things.
pub(crate) struct Engine {
    ns: StoredValue<Namespace, LocalStorage>,
    store: Option<Rc<IdbStore>>,
    workspace: Option<OpfsFs>,
    save: RefCell<SaveState>,
    emit: Box<dyn Fn(Event)>,
    /// The page's Nostr key (one per page) and the Nostr panel's relays.
    keys: Keys,
    nostr: RefCell<Option<nostr::Relays>>,
}

impl Engine {
    /// An engine over the page's namespace `ns`, saved in `store` under `save_to` (or not,
    /// and why), with `/workspace` on `workspace`; `emit` receives its events.
    pub(crate) fn new(
        ns: StoredValue<Namespace, LocalStorage>,
        store: Option<Rc<IdbStore>>,
        workspace: Option<OpfsFs>,
        save_to: Result<String, String>,
        emit: impl Fn(Event) + 'static,
    ) -> Rc<Self> {
        let engine = Rc::new(Self {
            ns,
            store,
            workspace,
            save: RefCell::new(SaveState {
                current: save_to,
                saving: false,
                dirty: false,
            }),
            emit: Box::new(emit),
            keys: Keys::generate(),
            nostr: RefCell::new(None),
        });
        engine.watch_mirror();
        engine
    }

    /// Answers one request.
    pub(crate) async fn handle(self: &Rc<Self>, request: Request) -> Answer {
        match request {
            Request::File(r) => Ok(files::handle(&self.ns.get_value(), r)?),
            Request::Saved(r) => Ok(saved::handle(self, r).await?),
            Request::Nostr(r) => nostr::handle(self, r).await,
        }
    }

    /// Tells the UI where `/workspace`'s mirroring to OPFS stands whenever that changes
    /// (checked twice a second, for the page's life).
    fn watch_mirror(self: &Rc<Self>) {
        let (Some(w), Some(ws)) = (web_sys::window(), self.workspace.clone()) else {
            return;
        };
        let engine = Rc::downgrade(self);
        let last = RefCell::new(String::new());
        let check = Closure::<dyn FnMut()>::new(move || {
            let now = match ws.last_error() {
                Some(e) => format!("/workspace NOT mirrored to OPFS: {e}"),
                None if ws.pending() => "/workspace: writing to OPFS…".into(),
                None => String::new(),
            };
            if *last.borrow() != now {
                last.replace(now.clone());
                if let Some(e) = engine.upgrade() {
                    (e.emit)(Event::Mirror(now));
                }
            }
        });
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
            check.as_ref().unchecked_ref(),
            500,
        );
        check.forget(); // one per page
    }
}

impl From<FsError> for Failure {
    fn from(e: FsError) -> Self {
        Failure {
            message: e.to_string(),
            errno: format!("{:?}", e.errno()),
        }
    }
}

/// Storage missing (no IndexedDB in this browser).
fn no_store() -> FsError {
    FsError::NotSupported
}
