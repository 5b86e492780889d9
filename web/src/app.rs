//! Components of the explorer: sidebar (mounts + tree), breadcrumbs, listing, file view.

use crate::run::RunPanel;
use crate::sample::default_namespace;
use leptos::prelude::*;
use oanix_core::persist::IdbStore;
use oanix_core::FsError;
use oanix_core::{FileKind, FsPath, Namespace};
use std::rc::Rc;

/// One row of the sidebar tree.
#[derive(Clone, Debug, PartialEq)]
struct TreeRow {
    path: String,
    name: String,
    depth: usize,
    is_dir: bool,
}

const TREE_MAX_ROWS: usize = 2_000;

fn walk(ns: &Namespace, dir: &FsPath, depth: usize, out: &mut Vec<TreeRow>) {
    let Ok(entries) = ns.readdir_sorted(dir) else {
        return;
    };
    for e in entries {
        if out.len() >= TREE_MAX_ROWS {
            return;
        }
        let path = dir.join_name(&e.name);
        let is_dir = e.kind == FileKind::Dir;
        out.push(TreeRow {
            path: path.to_absolute(),
            name: e.name,
            depth,
            is_dir,
        });
        if is_dir && depth < 8 {
            walk(ns, &path, depth + 1, out);
        }
    }
}

trait SortedList {
    fn readdir_sorted(&self, dir: &FsPath) -> oanix_core::FsResult<Vec<oanix_core::DirEntry>>;
}

impl SortedList for Namespace {
    fn readdir_sorted(&self, dir: &FsPath) -> oanix_core::FsResult<Vec<oanix_core::DirEntry>> {
        let mut v = self.list(dir.as_str())?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }
}

/// What the main pane shows.
#[derive(Clone, Debug, PartialEq)]
enum View {
    Dir(String),
    File(String),
}

/// The namespace the page starts with, where it is saved, and what loading reported.
#[derive(Clone)]
struct Start {
    ns: Namespace,
    store: Option<Rc<IdbStore>>,
    notes: Vec<String>,
}

/// IndexedDB database and the name the explorer saves its namespace under.
const DB_NAME: &str = "oanix-explorer";
const NS_NAME: &str = "default";

/// Restores the saved namespace, or builds the default one (and saves it). Without
/// IndexedDB the page still works, unsaved.
async fn start() -> Result<Start, String> {
    let store = match IdbStore::open(DB_NAME).await {
        Ok(s) => Some(Rc::new(s)),
        Err(e) => {
            let ns = default_namespace().map_err(|e| e.to_string())?;
            let notes = vec![format!("not saved: IndexedDB unavailable ({e})")];
            return Ok(Start {
                ns,
                store: None,
                notes,
            });
        }
    };
    let db = store.as_ref().expect("opened");
    match db.load(NS_NAME).await {
        Ok(Some(loaded)) => Ok(Start {
            ns: loaded.namespace,
            notes: loaded.problems,
            store,
        }),
        Ok(None) => Ok(Start {
            ns: default_namespace().map_err(|e| e.to_string())?,
            notes: Vec::new(),
            store,
        }),
        Err(e) => Ok(Start {
            ns: default_namespace().map_err(|e| e.to_string())?,
            notes: vec![format!(
                "saved namespace unreadable ({e}); showing the default"
            )],
            store,
        }),
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let started: RwSignal<Option<Result<Start, String>>, LocalStorage> = RwSignal::new_local(None);
    leptos::task::spawn_local(async move { started.set(Some(start().await)) });
    move || match started.get() {
        None => view! { <p class="muted loading">"Loading the namespace…"</p> }.into_any(),
        Some(Ok(s)) => view! { <Explorer ns=s.ns store=s.store notes=s.notes/> }.into_any(),
        Some(Err(e)) => {
            view! { <p class="error">"Could not build the namespace: " {e}</p> }.into_any()
        }
    }
}

#[component]
fn Explorer(ns: Namespace, store: Option<Rc<IdbStore>>, notes: Vec<String>) -> impl IntoView {
    let ns = StoredValue::new_local(ns);
    let (view_sig, set_view) = signal(View::Dir("/".to_string()));
    // Bumped whenever the namespace changes (a run wrote to it): views re-read it.
    let (revision, set_revision) = signal(0u64);
    let saved = RwSignal::new(if store.is_some() {
        "saved".to_string()
    } else {
        String::new()
    });
    let store = StoredValue::new_local(store);
    // Every change is saved (incrementally: only changed inodes are written).
    Effect::new(move |_| {
        revision.track();
        let Some(db) = store.get_value() else { return };
        let snapshot = ns.with_value(Namespace::clone);
        saved.set("saving…".into());
        leptos::task::spawn_local(async move {
            saved.set(match db.save(NS_NAME, &snapshot).await {
                Ok(stats) => format!("saved ({} written)", stats.written),
                Err(FsError::NoSpace) => {
                    "NOT SAVED: browser storage quota exceeded — earlier saves are intact".into()
                }
                Err(e) => format!("NOT SAVED: {e}"),
            });
        });
    });
    let mounts = ns.with_value(|ns| {
        ns.mounts()
            .into_iter()
            .map(|m| {
                let kinds: Vec<&str> = m.layers.iter().map(|l| l.service.kind()).collect();
                (m.path.to_absolute(), kinds.join(" + "))
            })
            .collect::<Vec<_>>()
    });
    let tree = move || {
        revision.track();
        ns.with_value(|ns| {
            let mut rows = Vec::new();
            walk(ns, &FsPath::root(), 0, &mut rows);
            rows
        })
    };
    view! {
        <header class="topbar">
            <span class="logo">"OANIX"</span>
            <span class="subtitle">"Namespace Explorer"</span>
            <span class="save-status" role="status">{move || saved.get()}</span>
        </header>
        <div class="layout">
            <nav class="sidebar" aria-label="Namespace">
                <h2>"Mounts"</h2>
                <ul class="mounts">
                    {mounts
                        .into_iter()
                        .map(|(path, kind)| {
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
                    {move || tree()
                        .into_iter()
                        .map(|row| {
                            let target = row.path.clone();
                            let is_dir = row.is_dir;
                            let indent = format!("padding-left: {}rem", row.depth as f32 * 0.9);
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
                {move || {
                    revision.track();
                    match view_sig.get() {
                        View::Dir(path) => view! { <Listing ns=ns path=path set_view=set_view/> }.into_any(),
                        View::File(path) => view! { <FileView ns=ns path=path/> }.into_any(),
                    }
                }}
                <RunPanel ns=ns changed=set_revision/>
            </main>
        </div>
    }
}

#[component]
fn Breadcrumbs(view: ReadSignal<View>, set_view: WriteSignal<View>) -> impl IntoView {
    move || {
        let path = match view.get() {
            View::Dir(p) | View::File(p) => p,
        };
        let parts: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut crumbs = vec![("/".to_string(), "/".to_string())];
        let mut acc = String::new();
        for p in &parts {
            acc.push('/');
            acc.push_str(p);
            crumbs.push((acc.clone(), p.clone()));
        }
        let last = crumbs.len() - 1;
        view! {
            <div class="breadcrumbs">
                {crumbs
                    .into_iter()
                    .enumerate()
                    .map(|(i, (target, label))| {
                        let is_dir_target = i < last;
                        view! {
                            <button
                                class="crumb"
                                on:click=move |_| {
                                    if is_dir_target {
                                        set_view.set(View::Dir(target.clone()))
                                    }
                                }
                            >
                                {label}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        }
    }
}

#[component]
fn Listing(
    ns: StoredValue<Namespace, LocalStorage>,
    path: String,
    set_view: WriteSignal<View>,
) -> impl IntoView {
    let listing = ns.with_value(|ns| {
        FsPath::parse(&path).and_then(|p| {
            ns.readdir_sorted(&p).map(|entries| {
                entries
                    .into_iter()
                    .map(|e| {
                        let full = p.join_name(&e.name).to_absolute();
                        let meta = ns.metadata(&full).ok();
                        (full, e.name, e.kind, meta.map(|m| m.size).unwrap_or(0))
                    })
                    .collect::<Vec<_>>()
            })
        })
    });
    match listing {
        Err(e) => view! { <p class="error">{format!("{path}: {e} ({:?})", e.errno())}</p> }
            .into_any(),
        Ok(rows) if rows.is_empty() => view! { <p class="muted">"(empty directory)"</p> }.into_any(),
        Ok(rows) => view! {
            <table class="listing">
                <thead>
                    <tr><th>"Name"</th><th>"Kind"</th><th>"Size"</th></tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|(full, name, kind, size)| {
                            let is_dir = kind == FileKind::Dir;
                            view! {
                                <tr>
                                    <td>
                                        <button
                                            class=if is_dir { "link dir" } else { "link file" }
                                            on:click=move |_| {
                                                set_view
                                                    .set(if is_dir {
                                                        View::Dir(full.clone())
                                                    } else {
                                                        View::File(full.clone())
                                                    })
                                            }
                                        >
                                            {name}
                                        </button>
                                    </td>
                                    <td class="muted">{format!("{kind:?}").to_lowercase()}</td>
                                    <td class="num">{if is_dir { String::new() } else { size.to_string() }}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
}

#[component]
fn FileView(ns: StoredValue<Namespace, LocalStorage>, path: String) -> impl IntoView {
    match ns.with_value(|ns| ns.read_file(&path)) {
        Err(e) => view! { <p class="error">{format!("{path}: {e}")}</p> }.into_any(),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => view! { <pre class="file">{text}</pre> }.into_any(),
            Err(e) => {
                let n = e.as_bytes().len();
                view! { <p class="muted">{format!("binary file, {n} bytes")}</p> }.into_any()
            }
        },
    }
}
