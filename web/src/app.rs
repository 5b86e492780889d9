//! Components of the explorer: sidebar (mounts + tree), breadcrumbs, listing, file view.

use crate::jobs::JobsPanel;
use crate::nostr::NostrPanel;
use crate::run::{RunPanel, SAMPLE, SAMPLE_NAME};
use crate::sample::default_namespace;
use crate::saved::SavedNamespaces;
use leptos::prelude::*;
use oanix_core::persist::IdbStore;
use oanix_core::scheduler::Scheduler;
use oanix_core::services::OpfsFs;
use oanix_core::FsError;
use oanix_core::{FileKind, FileService, FsPath, Namespace};
use std::rc::Rc;
use std::sync::Arc;

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
enum View {
    Dir(String),
    File(String),
}

/// The namespace the page starts with, where it is saved, and what loading reported.
#[derive(Clone)]
struct Start {
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
const NS_NAME: &str = "default";

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

#[component]
fn Explorer(
    ns: Namespace,
    store: Option<Rc<IdbStore>>,
    workspace: Option<OpfsFs>,
    notes: Vec<String>,
) -> impl IntoView {
    // The scheduler runs jobs on this namespace (guests in workers, on copies).
    let scheduler = StoredValue::new_local(Scheduler::new(ns.clone(), 2, 200));
    let ns = StoredValue::new_local(ns);
    let workspace = StoredValue::new_local(workspace);
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
    let saved = RwSignal::new(if store.is_some() {
        "saved".to_string()
    } else {
        String::new()
    });
    let store = StoredValue::new_local(store);
    // The name autosaves go to (changed by "Save as" / "open").
    let current = RwSignal::new(NS_NAME.to_string());
    // Every change is saved (incrementally: only changed inodes are written).
    Effect::new(move |_| {
        revision.track();
        let Some(db) = store.get_value() else { return };
        let snapshot = ns.with_value(Namespace::clone);
        let name = current.get_untracked();
        saved.set("saving…".into());
        leptos::task::spawn_local(async move {
            saved.set(match db.save(&name, &snapshot).await {
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
            {move || store.get_value().is_some().then(|| view! {
                <SavedNamespaces store=store ns=ns workspace=workspace current=current changed=set_revision status=saved/>
            })}
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
                        View::Dir(path) => view! {
                            <Listing ns=ns path=path.clone() set_view=set_view/>
                            <CreateBar ns=ns dir=path changed=set_revision set_view=set_view/>
                        }.into_any(),
                        View::File(path) => view! { <FileView ns=ns path=path changed=set_revision set_view=set_view/> }.into_any(),
                    }
                }}
                <RunPanel ns=ns workspace=workspace module=module changed=set_revision/>
                <JobsPanel scheduler=scheduler module=module changed=set_revision/>
                <NostrPanel/>
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

/// New file / new folder in the directory shown.
#[component]
fn CreateBar(
    ns: StoredValue<Namespace, LocalStorage>,
    dir: String,
    changed: WriteSignal<u64>,
    set_view: WriteSignal<View>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let dir_for_upload = dir.clone();
    let create = move |folder: bool| {
        let n = name.get_untracked();
        let n = n.trim();
        if n.is_empty() || n.contains('/') {
            message.set("give a name without '/'".into());
            return;
        }
        let full = if dir == "/" {
            format!("/{n}")
        } else {
            format!("{dir}/{n}")
        };
        let result = FsPath::parse(&full).and_then(|p| {
            ns.with_value(|ns| {
                if ns.metadata(&full).is_ok() {
                    Err(oanix_core::FsError::AlreadyExists)
                } else if folder {
                    ns.mkdir(&p)
                } else {
                    ns.write_file(&full, b"")
                }
            })
        });
        match result {
            Ok(()) => {
                name.set(String::new());
                message.set(String::new());
                changed.update(|c| *c += 1);
                set_view.set(if folder {
                    View::Dir(full)
                } else {
                    View::File(full)
                });
            }
            Err(e) => message.set(format!("cannot create {full}: {e}")),
        }
    };
    let create_folder = create.clone();
    // Upload: each file is read and written into this directory.
    let upload_dir = dir_for_upload;
    let upload = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let full = if upload_dir == "/" {
                format!("/{}", file.name())
            } else {
                format!("{upload_dir}/{}", file.name())
            };
            leptos::task::spawn_local(async move {
                let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
                let result = match read {
                    Ok(buf) => {
                        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                        ns.with_value(|ns| ns.write_file(&full, &bytes))
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(format!("{e:?}")),
                };
                match result {
                    Ok(()) => {
                        message.set(format!("uploaded {full}"));
                        changed.update(|c| *c += 1);
                    }
                    Err(e) => message.set(format!("cannot upload {full}: {e}")),
                }
            });
        }
    };
    let upload_drop = upload.clone();
    view! {
        <div
            class="create-bar"
            on:dragover=move |e: web_sys::DragEvent| e.prevent_default()
            on:drop=move |e: web_sys::DragEvent| {
                e.prevent_default();
                if let Some(files) = e.data_transfer().and_then(|d| d.files()) {
                    upload_drop(files);
                }
            }
        >
            <label class="button">
                "Upload… (or drop files here)"
                <input
                    type="file"
                    multiple
                    class="visually-hidden upload-input"
                    on:change=move |e| {
                        let input: web_sys::HtmlInputElement = event_target(&e);
                        if let Some(files) = input.files() {
                            upload(files);
                        }
                        input.set_value("");
                    }
                />
            </label>
            <input type="text" class="new-name" placeholder="name" aria-label="New file or folder name" bind:value=name/>
            <button class="new-file" on:click=move |_| create(false)>"New file"</button>
            <button class="new-folder" on:click=move |_| create_folder(true)>"New folder"</button>
            <span class="error" role="status">{move || message.get()}</span>
        </div>
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
fn FileView(
    ns: StoredValue<Namespace, LocalStorage>,
    path: String,
    changed: WriteSignal<u64>,
    set_view: WriteSignal<View>,
) -> impl IntoView {
    let message = RwSignal::new(String::new());
    let parent = path.rsplit_once('/').map_or("/".to_string(), |(p, _)| {
        if p.is_empty() {
            "/".to_string()
        } else {
            p.to_string()
        }
    });
    let parent_for_rename = parent.clone();
    let delete = {
        let path = path.clone();
        move |_| {
            let ok = web_sys::window()
                .and_then(|w| w.confirm_with_message(&format!("Delete {path}?")).ok())
                .unwrap_or(false);
            if !ok {
                return;
            }
            let p = FsPath::parse(&path);
            match p.and_then(|p| ns.with_value(|ns| ns.remove_file(&p))) {
                Ok(()) => {
                    changed.update(|n| *n += 1);
                    set_view.set(View::Dir(parent.clone()));
                }
                Err(e) => message.set(format!("cannot delete: {e}")),
            }
        }
    };
    let new_name = RwSignal::new(path.rsplit('/').next().unwrap_or("").to_string());
    let rename = {
        let path = path.clone();
        let parent = parent_for_rename;
        move |_| {
            let n = new_name.get_untracked();
            let n = n.trim();
            if n.is_empty() || n.contains('/') {
                message.set("give a name without '/'".into());
                return;
            }
            let to = if parent == "/" {
                format!("/{n}")
            } else {
                format!("{parent}/{n}")
            };
            let result = FsPath::parse(&path)
                .and_then(|from| FsPath::parse(&to).map(|to| (from, to)))
                .and_then(|(from, to_p)| {
                    ns.with_value(|ns| {
                        if ns.metadata(&to).is_ok() {
                            Err(oanix_core::FsError::AlreadyExists)
                        } else {
                            ns.rename(&from, &to_p)
                        }
                    })
                });
            match result {
                Ok(()) => {
                    changed.update(|c| *c += 1);
                    set_view.set(View::File(to));
                }
                Err(e) => message.set(format!("cannot rename: {e}")),
            }
        }
    };
    let download = {
        let path = path.clone();
        move |_| {
            if let Err(e) = ns
                .with_value(|ns| ns.read_file(&path))
                .map_err(|e| e.to_string())
                .and_then(|bytes| download_bytes(&path, &bytes))
            {
                message.set(format!("cannot download: {e}"));
            }
        }
    };
    let body = match ns.with_value(|ns| ns.read_file(&path)) {
        Err(e) => view! { <p class="error">{format!("{path}: {e}")}</p> }.into_any(),
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => {
                let draft = RwSignal::new(text);
                let save = {
                    let path = path.clone();
                    move || match ns
                        .with_value(|ns| ns.write_file(&path, draft.get_untracked().as_bytes()))
                    {
                        Ok(()) => {
                            message.set("saved".into());
                            changed.update(|n| *n += 1);
                        }
                        Err(e) => message.set(format!("cannot save: {e}")),
                    }
                };
                let save_key = save.clone();
                view! {
                    <textarea
                        class="editor"
                        spellcheck="false"
                        aria-label="File contents"
                        bind:value=draft
                        on:keydown=move |e: web_sys::KeyboardEvent| {
                            if (e.ctrl_key() || e.meta_key()) && e.key() == "s" {
                                e.prevent_default();
                                save_key();
                            }
                        }
                    ></textarea>
                    <div class="file-actions">
                        <button class="primary save-button" on:click=move |_| save()>"Save (Ctrl-S)"</button>
                    </div>
                }
                .into_any()
            }
            Err(e) => {
                let bytes = e.into_bytes();
                let n = bytes.len();
                view! {
                    <p class="muted">{format!("binary file, {n} bytes; first {} shown", n.min(HEX_MAX))}</p>
                    <pre class="file hex">{hex_dump(&bytes[..n.min(HEX_MAX)])}</pre>
                }
                .into_any()
            }
        },
    };
    view! {
        {body}
        <div class="file-actions">
            <button on:click=download>"Download"</button>
            <input type="text" class="rename-name" aria-label="New name" bind:value=new_name/>
            <button class="rename-button" on:click=rename>"Rename"</button>
            <button class="danger" on:click=delete>"Delete…"</button>
            <span class="file-message" role="status">{move || message.get()}</span>
        </div>
    }
}

/// How much of a binary file the hex view shows.
const HEX_MAX: usize = 4096;

/// Classic hex dump: offset, 16 bytes in hex, printable ASCII.
fn hex_dump(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(i, row)| {
            let hex: Vec<String> = row.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = row
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {:<47}  {ascii}\n", i * 16, hex.join(" "))
        })
        .collect()
}

/// Offers `bytes` as a download named after the path's last component.
fn download_bytes(path: &str, bytes: &[u8]) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let err = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(err)?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(err)?.unchecked_into();
    a.set_href(&url);
    a.set_download(path.rsplit('/').next().unwrap_or("download"));
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}
