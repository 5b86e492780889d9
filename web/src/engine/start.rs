//! Booting the engine: build the agent environment ([`super::world`]), restore the saved
//! namespace (IndexedDB) or take the environment's, put `/workspace` on OPFS, grant `/cap`,
//! mount the live `/task`, `/logs`, `/env` and `/jobs`, then hand everything to the
//! [`Engine`].

use super::world;
use super::{Engine, Parts};
use crate::proto::{Event, Ready};
use js_sys::{Function, Promise};
use oanix_core::persist::IdbStore;
use oanix_core::scheduler::Scheduler;
use oanix_core::services::OpfsFs;
use oanix_core::{FileService, MemFs, Namespace};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The OPFS directory that holds `/workspace`.
const OPFS_DIR: &str = "oanix-workspace";

/// Mounts `/workspace` on OPFS (a real browser filesystem), seeded from the namespace's
/// current `/workspace` the first time. Without OPFS the in-memory one stays.
async fn opfs_workspace(ns: &mut Namespace, notes: &mut Vec<String>) -> Option<OpfsFs> {
    let opfs = match OpfsFs::open(OPFS_DIR).await {
        Ok(o) => o,
        Err(e) => {
            notes.push(format!("/workspace kept in memory: OPFS unavailable ({e})"));
            return None;
        }
    };
    let current = ns
        .mounts()
        .into_iter()
        .find(|m| m.path.to_absolute() == "/workspace")
        .and_then(|m| m.layers.first().map(|l| l.service.clone()));
    if opfs.is_empty() {
        if let Some(service) = &current {
            if let Err(e) = opfs.replace_tree(service.as_ref()) {
                notes.push(format!("could not copy /workspace to OPFS: {e}"));
            }
        }
    }
    if current.is_some() {
        let _ = ns.unmount("/workspace");
    }
    match ns.mount("/workspace", Arc::new(opfs.clone()) as Arc<dyn FileService>) {
        Ok(()) => Some(opfs),
        Err(e) => {
            notes.push(format!("cannot mount OPFS at /workspace: {e}"));
            None
        }
    }
}

/// `/workspace` as an in-memory copy of what OPFS holds (a tab that does not own the
/// storage shows the files but must not write them).
async fn opfs_copy(ns: &mut Namespace, notes: &mut Vec<String>) {
    let copy = MemFs::new();
    let copied = match OpfsFs::open(OPFS_DIR).await {
        Ok(opfs) => copy.copy_from(&opfs),
        Err(e) => Err(e),
    };
    match copied {
        Ok(()) => {
            let _ = ns.unmount("/workspace");
            if let Err(e) = ns.mount("/workspace", Arc::new(copy)) {
                notes.push(format!("cannot mount /workspace: {e}"));
            }
        }
        Err(e) => notes.push(format!("/workspace not read from OPFS ({e})")),
    }
}

/// Whether this tab owns the explorer's storage (IndexedDB and OPFS): an exclusive Web
/// Lock, held as long as the page lives. `false` when another tab of this origin holds it
/// (both would save over each other); `true` without Web Locks (nothing to ask).
async fn own_storage() -> bool {
    let ask = Function::new_with_args(
        "name",
        "if (!(globalThis.navigator && navigator.locks)) return Promise.resolve(true);\n\
         return new Promise(resolve => navigator.locks.request(name, { ifAvailable: true },\n\
           lock => { resolve(lock !== null); return lock ? new Promise(() => {}) : null; }));",
    );
    match ask.call1(&JsValue::NULL, &JsValue::from(DB_NAME)) {
        Ok(p) => JsFuture::from(Promise::from(p))
            .await
            .map_or(true, |owned| owned.as_bool() != Some(false)),
        Err(_) => true,
    }
}

/// IndexedDB database and the name the explorer saves its namespace under.
const DB_NAME: &str = "oanix-explorer";
const NS_NAME: &str = "default";

/// Restores the saved namespace, or builds the default one (and saves it), and starts an
/// engine on it; `emit` receives its events. Without IndexedDB the page still works,
/// unsaved.
pub async fn start(emit: impl Fn(Event) + 'static) -> Result<(Rc<Engine>, Ready), String> {
    let env = world::build_env().map_err(|e| e.to_string())?;
    let default = || Ok::<_, String>(env.namespace());
    let owner = own_storage().await;
    let mut save_to = Ok(NS_NAME.to_string());
    let (mut ns, store, mut notes) = match IdbStore::open(DB_NAME).await {
        Err(e) => (
            default()?,
            None,
            vec![format!("not saved: IndexedDB unavailable ({e})")],
        ),
        Ok(db) => {
            let db = Rc::new(db);
            match db.load(NS_NAME).await {
                Ok(Some(loaded)) => {
                    let mut problems = loaded.problems;
                    problems.retain(|p| !world::is_live_mount_note(p));
                    (loaded.namespace, Some(db), problems)
                }
                Ok(None) => (default()?, Some(db), Vec::new()),
                Err(e) => {
                    // Saving the default over it would delete what could not be read:
                    // nothing is saved until the user picks a name.
                    save_to = Err("the stored namespace is unreadable and kept as it is".into());
                    (
                        default()?,
                        Some(db),
                        vec![format!(
                            "saved namespace {NS_NAME:?} unreadable ({e}); showing the default, \
                             NOT saved — the stored one is left as it is (\"Save as\" keeps \
                             this one under another name)"
                        )],
                    )
                }
            }
        }
    };
    let workspace = if owner {
        opfs_workspace(&mut ns, &mut notes).await
    } else {
        // Two tabs saving one namespace would overwrite each other's files.
        save_to = Err("another tab has this namespace open".into());
        notes.push(
            "This namespace is open in another tab: this tab shows it (with an in-memory \
             copy of /workspace) but saves nothing. Close the other tab and reload this one \
             to work here."
                .into(),
        );
        opfs_copy(&mut ns, &mut notes).await;
        None
    };
    if let Err(e) = super::caps::mount_caps(&mut ns, &crate::proto::default_allowlist()) {
        notes.push(format!("no /cap: {e}"));
    }
    // The scheduler runs jobs on this namespace (guests in this worker, in place); /jobs
    // shows them.
    world::attach_env(&env, &mut ns).map_err(|e| e.to_string())?;
    let scheduler = Scheduler::new(ns.clone(), 2, 200);
    world::mount_jobs(&scheduler, &mut ns).map_err(|e| e.to_string())?;
    let ready = Ready {
        version: crate::proto::VERSION,
        notes,
        has_store: store.is_some(),
    };
    let parts = Parts {
        ns,
        env: Rc::new(env),
        scheduler,
        store,
        workspace,
        save_to,
        module: (SAMPLE_NAME.to_string(), SAMPLE.to_vec()),
        owner,
    };
    Ok((Engine::new(parts, emit), ready))
}

/// The sample guest runs start with (compiled from `web/sample/hello.wat`).
pub const SAMPLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
/// How the sample is named (and its argv[0]).
pub const SAMPLE_NAME: &str = "hello.wasm (sample)";
