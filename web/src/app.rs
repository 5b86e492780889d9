//! Booting the explorer: restore the saved namespace (IndexedDB) or build the default one,
//! put `/workspace` on OPFS, grant `/cap`, then hand everything to [`Explorer`].

use crate::explorer::Explorer;
use crate::sample::default_namespace;
use leptos::prelude::*;
use oanix_core::persist::IdbStore;
use oanix_core::services::OpfsFs;
use oanix_core::{FileService, Namespace};
use std::rc::Rc;
use std::sync::Arc;

/// The namespace the page starts with, where it is saved, and what loading reported.
#[derive(Clone)]
pub(crate) struct Start {
    ns: Namespace,
    store: Option<Rc<IdbStore>>,
    workspace: Option<OpfsFs>,
    notes: Vec<String>,
}

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

/// IndexedDB database and the name the explorer saves its namespace under.
const DB_NAME: &str = "oanix-explorer";
pub(crate) const NS_NAME: &str = "default";

/// Restores the saved namespace, or builds the default one (and saves it). Without
/// IndexedDB the page still works, unsaved.
async fn start() -> Result<Start, String> {
    let default = || default_namespace().map_err(|e| e.to_string());
    let (mut ns, store, mut notes) = match IdbStore::open(DB_NAME).await {
        Err(e) => (
            default()?,
            None,
            vec![format!("not saved: IndexedDB unavailable ({e})")],
        ),
        Ok(db) => {
            let db = Rc::new(db);
            match db.load(NS_NAME).await {
                Ok(Some(loaded)) => (loaded.namespace, Some(db), loaded.problems),
                Ok(None) => (default()?, Some(db), Vec::new()),
                Err(e) => (
                    default()?,
                    Some(db),
                    vec![format!(
                        "saved namespace unreadable ({e}); showing the default"
                    )],
                ),
            }
        }
    };
    let workspace = opfs_workspace(&mut ns, &mut notes).await;
    if let Err(e) = crate::caps::mount_caps(&mut ns, &crate::caps::default_allowlist()) {
        notes.push(format!("no /cap: {e}"));
    }
    Ok(Start {
        ns,
        store,
        workspace,
        notes,
    })
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let started: RwSignal<Option<Result<Start, String>>, LocalStorage> = RwSignal::new_local(None);
    leptos::task::spawn_local(async move { started.set(Some(start().await)) });
    move || match started.get() {
        None => view! { <p class="muted loading">"Loading the namespace…"</p> }.into_any(),
        Some(Ok(s)) => {
            view! { <Explorer ns=s.ns store=s.store workspace=s.workspace notes=s.notes/> }
                .into_any()
        }
        Some(Err(e)) => {
            view! { <p class="error">"Could not build the namespace: " {e}</p> }.into_any()
        }
    }
}
