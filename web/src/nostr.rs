//! The Nostr panel: submits a NIP-90 kind-5600 job ("run a WASI module", served by
//! `oanix provider`) to the configured relays through `/cap/nostr` ([`NostrFs`], the same
//! files a guest uses), then shows the provider's feedback and the result's stdout.
//!
//! A provider downloads the module itself, so the job names the module by its http(s) URL.

use leptos::prelude::*;
use oanix_core::net::nostr::Keys;
use oanix_core::scheduler::split_words;
use oanix_core::services::NostrFs;
use oanix_core::{FileService, FsError, FsPath, Interest, OpenOptions};
use serde_json::{json, Value};
use std::rc::Rc;

/// The page's `/cap/nostr` (one per relay list; the key lives as long as the page).
struct Client {
    relays: Vec<String>,
    fs: Rc<NostrFs>,
}

fn path(p: &str) -> FsPath {
    FsPath::parse(p).unwrap_or_default()
}

/// Writes a job request to `submit`; its event id.
fn submit(fs: &NostrFs, job: &Value) -> Result<String, String> {
    let h = fs
        .open(&path("submit"), &OpenOptions::read_write())
        .map_err(|e| e.to_string())?;
    h.write_at(job.to_string().as_bytes(), 0)
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 512];
    let n = h.read_at(&mut buf, 0).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&buf[..n]).map_err(|e| e.to_string())?;
    v["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "no id".into())
}

/// Waits (readiness rule) for `results/<id>`.
async fn result(fs: Rc<NostrFs>, id: String) -> Result<Value, String> {
    let h = fs
        .open(&path(&format!("results/{id}")), &OpenOptions::read())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match h.read_at(&mut buf, 0) {
            Err(FsError::WouldBlock) => {
                std::future::poll_fn(|cx| h.poll_ready(Interest::Read, cx))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(e.to_string()),
            Ok(n) => return serde_json::from_slice(&buf[..n]).map_err(|e| e.to_string()),
        }
    }
}

/// The feedback statuses received for `id`, in order of arrival.
fn feedback(fs: &NostrFs, id: &str) -> Vec<String> {
    let Ok(entries) = fs.readdir(&path("events")) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|e| {
            let h = fs
                .open(&path(&format!("events/{}", e.name)), &OpenOptions::read())
                .ok()?;
            let v: Value =
                serde_json::from_slice(&oanix_core::service::read_all(&*h).ok()?).ok()?;
            let tags = v["tags"].as_array()?;
            let ours = tags.iter().any(|t| t[0] == "e" && t[1] == id);
            let st = tags.iter().find(|t| t[0] == "status")?;
            (v["kind"] == 7000 && ours).then(|| {
                st.as_array()
                    .into_iter()
                    .flatten()
                    .skip(1)
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(": ")
            })
        })
        .collect()
}

/// The panel.
#[component]
pub fn NostrPanel() -> impl IntoView {
    let relays = RwSignal::new(String::new());
    let module_url = RwSignal::new(String::new());
    let args = RwSignal::new(String::new());
    let stdin = RwSignal::new(String::new());
    let status = RwSignal::new(String::new());
    let output = RwSignal::new(String::new());
    let keys = StoredValue::new_local(Keys::generate());
    let client: StoredValue<Option<Client>, LocalStorage> = StoredValue::new_local(None);

    let run = move |_| {
        output.set(String::new());
        let list: Vec<String> = relays
            .get_untracked()
            .split([',', ' ', '\n'])
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let words = match split_words(&args.get_untracked(), false) {
            Ok(w) => w,
            Err(e) => return status.set(format!("bad arguments: {e}")),
        };
        // One NostrFs per relay list (kept, so its connections and events stay).
        let reuse = client.with_value(|c| {
            c.as_ref()
                .filter(|c| c.relays == list)
                .map(|c| c.fs.clone())
        });
        let fs = match reuse {
            Some(fs) => fs,
            None => match NostrFs::new(&list, keys.get_value()) {
                Ok(fs) => {
                    let fs = Rc::new(fs);
                    client.set_value(Some(Client {
                        relays: list.clone(),
                        fs: fs.clone(),
                    }));
                    fs
                }
                Err(e) => return status.set(format!("relays: {e}")),
            },
        };
        let mut tags = vec![json!(["i", module_url.get_untracked(), "url"])];
        tags.extend(words.iter().map(|w| json!(["param", "arg", w])));
        let input = stdin.get_untracked();
        if !input.is_empty() {
            tags.push(json!(["param", "stdin", input]));
        }
        let id = match submit(&fs, &json!({"kind": 5600, "content": "", "tags": tags})) {
            Ok(id) => id,
            Err(e) => return status.set(format!("not submitted: {e}")),
        };
        status.set(format!("submitted {}…, waiting for a provider", &id[..12]));
        leptos::task::spawn_local(async move {
            let r = result(fs.clone(), id.clone()).await;
            let fb = feedback(&fs, &id).join(" → ");
            match r {
                Ok(ev) if ev["kind"] == 6600 => {
                    let c: Value = serde_json::from_str(ev["content"].as_str().unwrap_or(""))
                        .unwrap_or_default();
                    status.set(format!("done: exit code {} ({fb})", c["exit_code"]));
                    let (out, err) = (
                        c["stdout"].as_str().unwrap_or(""),
                        c["stderr"].as_str().unwrap_or(""),
                    );
                    // stderr on a line of its own.
                    let sep = if err.is_empty() || out.is_empty() || out.ends_with('\n') {
                        ""
                    } else {
                        "\n"
                    };
                    output.set(format!("{out}{sep}{err}"));
                }
                Ok(_) => status.set(format!("failed ({fb})")),
                Err(e) => status.set(format!("failed: {e}")),
            }
        });
    };

    view! {
        <section class="jobs-panel nostr-panel" aria-label="Nostr job">
            <h2>"Run on a Nostr provider (NIP-90 kind 5600)"</h2>
            <div class="run-actions">
                <label>"Relays " <input class="nostr-relays" style="width: 16rem" placeholder="ws://127.0.0.1:7777" bind:value=relays/></label>
                <label>"Module URL " <input class="nostr-module" style="width: 22rem" placeholder="https://…/prog.wasm" bind:value=module_url/></label>
                <label>"Arguments " <input class="nostr-args" bind:value=args/></label>
                <label>"Stdin " <input class="nostr-stdin" style="width: 14rem" bind:value=stdin/></label>
                <button class="nostr-submit" on:click=run>"Submit job"</button>
            </div>
            <p class="run-status nostr-status" role="status">{move || status.get()}</p>
            <pre class="run-output nostr-output">{move || output.get()}</pre>
        </section>
    }
}
