//! The namespace side of the explorer: owns the namespace, its storage and the guests that
//! run in it, answers the UI's [`Request`]s and tells it what happened unasked
//! ([`Event`]s). It runs in its own worker (`oanix-engine`), so the page's wasm holds the
//! UI alone and the page's thread never runs a guest; the UI sees plain data
//! ([`crate::proto`]) posted across. README, "The browser host at scale".

mod caps;
mod compile;
mod files;
mod jobs;
mod nostr;
mod review;
mod runs;
mod saved;
mod start;
mod world;

pub use start::{start, SAMPLE, SAMPLE_NAME};

use crate::proto::{Answer, Event, Failure, Request};
use compile::Compiler;
use oanix_core::browser::BrowserRunner;
use oanix_core::env::OanixEnv;
use oanix_core::net::nostr::Keys;
use oanix_core::persist::IdbStore;
use oanix_core::scheduler::Scheduler;
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

/// What the engine starts with ([`start`]).
struct Parts {
    /// The namespace the page shows.
    ns: Namespace,
    /// The agent environment runs are recorded in.
    env: Rc<OanixEnv>,
    /// The page's scheduler (`/jobs`).
    scheduler: Scheduler,
    /// Where the namespace is saved (none without IndexedDB).
    store: Option<Rc<IdbStore>>,
    /// `/workspace` on OPFS (none without OPFS, or in a tab that does not own it).
    workspace: Option<OpfsFs>,
    /// The name changes are saved under, or why nothing is saved.
    save_to: Result<String, String>,
    /// The module runs and jobs start with (name, bytes).
    module: (String, Vec<u8>),
    /// Whether this tab owns the storage (another tab's namespace is shown, never saved).
    owner: bool,
}

/// The namespace, its storage, the guests running in it, and the way to tell the UI
/// things.
pub struct Engine {
    ns: RefCell<Namespace>,
    env: Rc<OanixEnv>,
    scheduler: Scheduler,
    store: Option<Rc<IdbStore>>,
    workspace: Option<OpfsFs>,
    owner: bool,
    save: RefCell<SaveState>,
    /// The module runs and jobs use (name, bytes).
    module: RefCell<(String, Rc<Vec<u8>>)>,
    /// One compiler (worker + module cache) and one runner for the page's runs and jobs.
    compiler: Rc<Compiler>,
    runner: Rc<BrowserRunner>,
    reviews: review::Reviews,
    runs: runs::Runs,
    jobs: jobs::Jobs,
    emit: Box<dyn Fn(Event)>,
    /// The page's Nostr key (one per page) and the Nostr panel's relays.
    keys: Keys,
    nostr: RefCell<nostr::Nostr>,
}

impl Engine {
    /// An engine over what the page started with; `emit` receives its events.
    fn new(parts: Parts, emit: impl Fn(Event) + 'static) -> Rc<Self> {
        let Parts {
            ns,
            env,
            scheduler,
            store,
            workspace,
            save_to,
            module,
            owner,
        } = parts;
        let engine = Rc::new(Self {
            ns: RefCell::new(ns),
            env,
            scheduler,
            store,
            workspace,
            owner,
            module: RefCell::new((module.0, Rc::new(module.1))),
            compiler: Compiler::new(),
            runner: Rc::new(BrowserRunner::new()),
            reviews: review::Reviews::default(),
            runs: runs::Runs::default(),
            jobs: jobs::Jobs::default(),
            save: RefCell::new(SaveState {
                current: save_to,
                saving: false,
                dirty: false,
            }),
            emit: Box::new(emit),
            keys: Keys::generate(),
            nostr: RefCell::default(),
        });
        engine.watch_mirror();
        engine
    }

    /// Answers one request.
    pub async fn handle(self: &Rc<Self>, request: Request) -> Answer {
        match request {
            Request::File(r) => Ok(files::handle(&self.ns(), r)?),
            Request::Saved(r) => Ok(saved::handle(self, r).await?),
            Request::Nostr(r) => nostr::handle(self, r).await,
            Request::Run(r) => runs::handle(self, r),
            Request::Review(r) => review::handle(self, r),
            Request::Jobs(r) => jobs::handle(self, r),
        }
    }

    /// The namespace as it is now ("Open" replaces it).
    fn ns(&self) -> Namespace {
        self.ns.borrow().clone()
    }

    /// Tells the UI where `/workspace`'s mirroring to OPFS stands whenever that changes
    /// (checked twice a second, for the page's life).
    fn watch_mirror(self: &Rc<Self>) {
        let Some(ws) = self.workspace.clone() else {
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
        compile::timer("setInterval", check.as_ref().unchecked_ref(), 500);
        check.forget(); // one per engine
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
