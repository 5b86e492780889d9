//! The main pane's file components: breadcrumbs, directory listing, create/upload bar, and
//! the file view (editor, hex dump, download, rename, delete).

use crate::client::Client;
use crate::explorer::View;
use crate::proto::{Entry, Shown};
use leptos::prelude::*;

#[component]
pub(crate) fn Breadcrumbs(view: ReadSignal<View>, set_view: WriteSignal<View>) -> impl IntoView {
    move || {
        let path = match view.get() {
            View::Dir(p) | View::File(p) | View::Pending(p) => p,
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

/// A directory: its listing and, where files can be made, the create/upload bar. Re-read
/// whenever `revision` moves (the old listing stays until the new one arrives).
#[component]
pub(crate) fn DirView(
    client: Client,
    path: String,
    revision: ReadSignal<u64>,
    changed: WriteSignal<u64>,
    set_view: WriteSignal<View>,
) -> impl IntoView {
    let target = path.clone();
    let listing = LocalResource::new(move || {
        revision.track();
        client.list(target.clone())
    });
    move || {
        let path = path.clone();
        listing.get().map(|l| match l {
            Err(e) => {
                view! { <p class="error">{format!("{path}: {e} ({})", e.errno)}</p> }.into_any()
            }
            Ok(l) => view! {
                <Listing entries=l.entries set_view=set_view/>
                {l.writable.then(|| view! {
                    <CreateBar client=client dir=path changed=changed set_view=set_view/>
                })}
            }
            .into_any(),
        })
    }
}

/// `name` in the directory `dir`.
fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// New file / new folder in the directory shown.
#[component]
fn CreateBar(
    client: Client,
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
        let full = child(&dir, n);
        leptos::task::spawn_local(async move {
            match client.create(full.clone(), folder).await {
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
        });
    };
    let create_folder = create.clone();
    // Upload: each file is read and written into this directory.
    let upload_dir = dir_for_upload;
    let upload = move |files: web_sys::FileList| {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let full = child(&upload_dir, &file.name());
            leptos::task::spawn_local(async move {
                let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
                let result = match read {
                    Ok(buf) => {
                        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                        client
                            .write(full.clone(), bytes)
                            .await
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
fn Listing(entries: Vec<Entry>, set_view: WriteSignal<View>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"(empty directory)"</p> }.into_any();
    }
    view! {
        <table class="listing">
            <thead>
                <tr><th>"Name"</th><th>"Kind"</th><th>"Size"</th></tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|e| {
                        let is_dir = e.kind == "dir";
                        let full = e.path;
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
                                        {e.name}
                                    </button>
                                </td>
                                <td class="muted">{e.kind}</td>
                                <td class="num">{if is_dir { String::new() } else { e.size.to_string() }}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// How much of a file the file view loads: larger files are shown in part, read-only (a
/// save would cut them); Download fetches the whole.
const VIEW_MAX: u64 = 4 << 20;

/// A file: its text in an editor (or a hex dump), and what its service allows — Save,
/// Rename, Delete — plus Download. Re-read whenever `revision` moves.
#[component]
pub(crate) fn FileView(
    client: Client,
    path: String,
    revision: ReadSignal<u64>,
    changed: WriteSignal<u64>,
    set_view: WriteSignal<View>,
) -> impl IntoView {
    let target = path.clone();
    let shown = LocalResource::new(move || {
        revision.track();
        client.show(target.clone(), VIEW_MAX, false)
    });
    move || {
        let path = path.clone();
        shown.get().map(|s| match s {
            Err(e) => view! { <p class="error">{format!("{path}: {e}")}</p> }.into_any(),
            Ok(s) => view! { <FileBody client=client path=path shown=s changed=changed set_view=set_view/> }
                .into_any(),
        })
    }
}

#[component]
fn FileBody(
    client: Client,
    path: String,
    shown: Shown,
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
            let (path, parent) = (path.clone(), parent.clone());
            leptos::task::spawn_local(async move {
                match client.remove(path).await {
                    Ok(()) => {
                        changed.update(|n| *n += 1);
                        set_view.set(View::Dir(parent));
                    }
                    Err(e) => message.set(format!("cannot delete: {e}")),
                }
            });
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
            let to = child(&parent, n);
            let from = path.clone();
            leptos::task::spawn_local(async move {
                match client.rename(from, to.clone()).await {
                    Ok(()) => {
                        changed.update(|c| *c += 1);
                        set_view.set(View::File(to));
                    }
                    Err(e) => message.set(format!("cannot rename: {e}")),
                }
            });
        }
    };
    let download = {
        let path = path.clone();
        move |_| {
            let path = path.clone();
            leptos::task::spawn_local(async move {
                if let Err(e) = client
                    .read(path.clone())
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| download_bytes(&path, &bytes))
                {
                    message.set(format!("cannot download: {e}"));
                }
            });
        }
    };
    // A file shown in part is never saved from the view (the rest would be lost).
    let partial = shown.partial();
    let can_save = shown.save && !partial;
    let size = shown.size;
    let note =
        if shown.stream {
            Some(view! {
            <p class="muted partial-note">
                "A stream: not read here (reading would take what a program is waiting for). \
                 Save writes what you type to it."
            </p>
        }.into_any())
        } else {
            partial.then(|| {
                view! {
                    <p class="muted partial-note">{format!(
                        "{size} bytes; the first {} shown, read-only here (Download has it all)",
                        shown.bytes.len()
                    )}</p>
                }
                .into_any()
            })
        };
    let body = match String::from_utf8(shown.bytes) {
        Ok(text) => {
            let draft = RwSignal::new(text);
            let save = {
                let path = path.clone();
                move || {
                    let path = path.clone();
                    let bytes = draft.get_untracked().into_bytes();
                    leptos::task::spawn_local(async move {
                        match client.write(path, bytes).await {
                            Ok(()) => {
                                message.set("saved".into());
                                changed.update(|n| *n += 1);
                            }
                            Err(e) => message.set(format!("cannot save: {e}")),
                        }
                    });
                }
            };
            let save_key = save.clone();
            view! {
                <textarea
                    class="editor"
                    spellcheck="false"
                    aria-label="File contents"
                    readonly=!can_save
                    bind:value=draft
                    on:keydown=move |e: web_sys::KeyboardEvent| {
                        if (e.ctrl_key() || e.meta_key()) && e.key() == "s" {
                            e.prevent_default();
                            if can_save {
                                save_key();
                            }
                        }
                    }
                ></textarea>
                {can_save.then(|| view! {
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
                <p class="muted">{format!("binary file, {size} bytes; first {} shown", n.min(HEX_MAX))}</p>
                <pre class="file hex">{hex_dump(&bytes[..n.min(HEX_MAX)])}</pre>
            }
            .into_any()
        }
    };
    view! {
        {note}
        {body}
        <div class="file-actions">
            <button on:click=download>"Download"</button>
            {shown.rename_delete.then(|| view! {
                <input type="text" class="rename-name" aria-label="New name" bind:value=new_name/>
                <button class="rename-button" on:click=rename>"Rename"</button>
                <button class="danger delete-button" on:click=delete>"Delete…"</button>
            })}
            {(!can_save).then(|| view! { <span class="muted readonly-note">"read-only"</span> })}
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
