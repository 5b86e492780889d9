//! The main pane's file components: breadcrumbs, directory listing, create/upload bar, and
//! the file view (editor, hex dump, download, rename, delete).

use crate::explorer::{SortedList, View};
use leptos::prelude::*;
use oanix_core::{FileKind, FileService, FsPath, Namespace};

#[component]
pub(crate) fn Breadcrumbs(view: ReadSignal<View>, set_view: WriteSignal<View>) -> impl IntoView {
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
pub(crate) fn CreateBar(
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
pub(crate) fn Listing(
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
                                    <td class="muted">{format!("{kind:?}").to_ascii_lowercase()}</td>
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
pub(crate) fn FileView(
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
    let can = ns.with_value(|ns| abilities(ns, &path));
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
                        readonly=!can.save
                        bind:value=draft
                        on:keydown=move |e: web_sys::KeyboardEvent| {
                            if (e.ctrl_key() || e.meta_key()) && e.key() == "s" {
                                e.prevent_default();
                                if can.save {
                                    save_key();
                                }
                            }
                        }
                    ></textarea>
                    {can.save.then(|| view! {
                        <div class="file-actions">
                            <button class="primary save-button" on:click=move |_| save()>"Save (Ctrl-S)"</button>
                        </div>
                    })}
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
            {can.rename_delete.then(|| view! {
                <input type="text" class="rename-name" aria-label="New name" bind:value=new_name/>
                <button class="rename-button" on:click=rename>"Rename"</button>
                <button class="danger delete-button" on:click=delete>"Delete…"</button>
            })}
            {(!can.save).then(|| view! { <span class="muted readonly-note">"read-only"</span> })}
            <span class="file-message" role="status">{move || message.get()}</span>
        </div>
    }
}

/// What the file view offers for a file: only what its service can do.
#[derive(Clone, Copy)]
struct Abilities {
    /// Replace the contents (Save).
    save: bool,
    /// Rename and delete.
    rename_delete: bool,
}

/// The kind of the service mounted where `path` is (its longest mount prefix).
fn mount_kind(ns: &Namespace, path: &str) -> &'static str {
    ns.mounts()
        .into_iter()
        .filter(|m| {
            let mp = m.path.to_absolute();
            mp == "/" || path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.path.as_str().len())
        .and_then(|m| m.layers.first().map(|l| l.service.kind()))
        .unwrap_or("")
}

fn abilities(ns: &Namespace, path: &str) -> Abilities {
    let writable = ns.metadata(path).is_ok_and(|m| !m.readonly);
    match mount_kind(ns, path) {
        // Fixed sets of files: some writable in place (result.json, a job's ctl), none
        // renamed or deleted.
        "taskfs" | "jobsfs" | "funcfs" => Abilities {
            save: writable,
            rename_delete: false,
        },
        // Append-only logs: a save would truncate (refused), nothing is removed.
        "logsfs" => Abilities {
            save: false,
            rename_delete: false,
        },
        _ => Abilities {
            save: writable,
            rename_delete: writable,
        },
    }
}

/// Whether new files can be made in `dir` (a writable directory of a general service).
pub(crate) fn dir_writable(ns: &Namespace, dir: &str) -> bool {
    let writable = ns.metadata(dir).is_ok_and(|m| !m.readonly);
    writable
        && !matches!(
            mount_kind(ns, dir),
            "taskfs" | "jobsfs" | "funcfs" | "logsfs"
        )
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
