//! The explorer's page: top bar, sidebar (mounts + tree) and the main pane (breadcrumbs,
//! listing or file view, and the panels).

use crate::agent::AgentPanel;
use crate::app::Start;
use crate::files::{dir_writable, Breadcrumbs, CreateBar, FileView, Listing};
use crate::jobs::JobsPanel;
use crate::nostr::NostrPanel;
use crate::review::{ReviewPanel, Reviews};
use crate::run::{RunPanel, SAMPLE, SAMPLE_NAME};
use crate::saved::SavedNamespaces;
use leptos::prelude::*;
use oanix_core::FsError;
use oanix_core::{FileKind, FsPath, Namespace};
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::JsCast;

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

pub(crate) trait SortedList {
    fn readdir_sorted(&self, dir: &FsPath) -> oanix_core::FsResult<Vec<oanix_core::DirEntry>>;
}

impl SortedList for Namespace {
    fn readdir_sorted(&self, dir: &FsPath) -> oanix_core::FsResult<Vec<oanix_core::DirEntry>> {
        let mut v = self.list(dir.as_str())?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }
}

/// The view named by the URL's `#/path` (default `/`).
fn initial_view(ns: &Namespace) -> View {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let raw = hash.trim_start_matches('#');
    let decoded = js_sys::decode_uri_component(raw)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| raw.to_string());
    let path = if decoded.starts_with('/') {
        decoded
    } else {
        "/".to_string()
    };
    match ns.metadata(&path) {
        Ok(m) if !m.is_dir() => View::File(path),
        _ => View::Dir(path),
    }
}

/// What the main pane shows.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum View {
    Dir(String),
    File(String),
}

#[component]
pub(crate) fn Explorer(start: Start) -> impl IntoView {
    let Start {
        ns,
        env,
        scheduler,
        store,
        workspace,
        notes,
        save_to,
    } = start;
    let scheduler = StoredValue::new_local(scheduler);
    let env = StoredValue::new_local(env);
    let ns = StoredValue::new_local(ns);
    let workspace = StoredValue::new_local(workspace);
    // Where /workspace's mirroring to OPFS stands (checked twice a second).
    let mirror = RwSignal::new(String::new());
    if let Some(w) = web_sys::window() {
        let check = Closure::<dyn FnMut()>::new(move || {
            let now = workspace.with_value(|ws| {
                ws.as_ref()
                    .map_or(String::new(), |ws| match ws.last_error() {
                        Some(e) => format!("/workspace NOT mirrored to OPFS: {e}"),
                        None if ws.pending() => "/workspace: writing to OPFS…".into(),
                        None => String::new(),
                    })
            });
            if mirror.get_untracked() != now {
                mirror.set(now);
            }
        });
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
            check.as_ref().unchecked_ref(),
            500,
        );
        check.forget(); // one per page
    }
    // The module the Run and Jobs panels use.
    let module = StoredValue::new_local((SAMPLE_NAME.to_string(), SAMPLE.to_vec()));
    // The URL's #path opens that file or directory (an unknown path shows its error).
    let (view_sig, set_view) = signal(ns.with_value(initial_view));
    Effect::new(move |_| {
        let (View::Dir(p) | View::File(p)) = view_sig.get();
        if let Some(w) = web_sys::window() {
            let _ = w.location().set_hash(&p);
        }
    });
    // Back/forward and edited URLs: follow the hash.
    let _ = leptos::prelude::window_event_listener(leptos::ev::hashchange, move |_| {
        let v = ns.with_value(initial_view);
        if view_sig.get_untracked() != v {
            set_view.set(v);
        }
    });
    // Bumped whenever the namespace changes (a run wrote to it): views re-read it.
    let (revision, set_revision) = signal(0u64);
    // Bumped when the live services change (a run's output, status): the agent views re-read.
    let live = RwSignal::new(0u64);
    let reviews = Reviews::new(set_revision);
    // One compiler (worker + module cache) and one runner for the page's runs and jobs.
    let compiler = StoredValue::new_local(crate::compile::Compiler::new());
    let runner =
        StoredValue::new_local(std::rc::Rc::new(oanix_core::browser::BrowserRunner::new()));
    let saved = RwSignal::new(if store.is_some() {
        "saved".to_string()
    } else {
        String::new()
    });
    let store = StoredValue::new_local(store);
    // The name autosaves go to (changed by "Save as" / "open"); empty: not saving (the
    // stored namespace could not be read and is left alone).
    let (current, not_saving) = match save_to {
        Ok(name) => (RwSignal::new(name), String::new()),
        Err(why) => (RwSignal::new(String::new()), why),
    };
    // Every change is saved (incrementally: only changed inodes are written). Changes made
    // while a save runs are saved together by one more save after it (a thousand jobs
    // ending make a few saves, not a thousand queued ones).
    let saving = StoredValue::new_local(false);
    let dirty = StoredValue::new_local(false);
    Effect::new(move |_| {
        revision.track();
        let Some(db) = store.get_value() else { return };
        if current.get_untracked().is_empty() {
            saved.set(format!("NOT SAVED: {not_saving}"));
            return;
        }
        dirty.set_value(true);
        if saving.get_value() {
            return;
        }
        saving.set_value(true);
        leptos::task::spawn_local(async move {
            while dirty.get_value() {
                dirty.set_value(false);
                // The name and namespace as they are now ("Open" may have changed both).
                let name = current.get_untracked();
                if name.is_empty() {
                    break;
                }
                let now = ns.with_value(Namespace::clone);
                saved.set("saving…".into());
                saved.set(match db.save(&name, &now).await {
                    Ok(stats) => format!("saved ({} written)", stats.written),
                    Err(FsError::NoSpace) => {
                        "NOT SAVED: browser storage quota exceeded — earlier saves are intact"
                            .into()
                    }
                    Err(e) => format!("NOT SAVED: {e}"),
                });
            }
            saving.set_value(false);
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
            {move || store.get_value().is_some().then(|| view! {
                <SavedNamespaces store=store ns=ns workspace=workspace current=current changed=set_revision status=saved/>
            })}
            <span class="save-status" role="status">{move || saved.get()}</span>
            <span class="mirror-status" role="status">{move || mirror.get()}</span>
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
                {move || {
                    revision.track();
                    match view_sig.get() {
                        View::Dir(path) => view! {
                            <Listing ns=ns path=path.clone() set_view=set_view/>
                            {ns.with_value(|n| dir_writable(n, &path)).then(|| view! {
                                <CreateBar ns=ns dir=path changed=set_revision set_view=set_view/>
                            })}
                        }.into_any(),
                        View::File(path) => view! { <FileView ns=ns path=path changed=set_revision set_view=set_view/> }.into_any(),
                    }
                }}
                <ReviewPanel reviews=reviews/>
                <RunPanel ns=ns env=env module=module reviews=reviews live=live compiler=compiler runner=runner/>
                <AgentPanel ns=ns live=live revision=revision/>
                <JobsPanel ns=ns scheduler=scheduler module=module reviews=reviews changed=set_revision compiler=compiler runner=runner/>
                <NostrPanel/>
            </main>
        </div>
    }
}
