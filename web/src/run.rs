//! The Run panel: pick (or drop) a `.wasm`, set args/env/stdin, and run it — in the engine
//! worker, in place on the namespace, no copy per run (`crate::engine`'s runs part does the work;
//! this is what people see: the module, the runs with their status and Stop, stdin while
//! it is open, the selected run's output as it streams, the WebSocket connections and the
//! history).

use crate::ansi;
use crate::client::Client;
use crate::num::one_decimal;
use crate::proto::{Conn, Event, Past};
use js_sys::Uint8Array;
use leptos::prelude::*;

pub use oanix_web::engine::{SAMPLE, SAMPLE_NAME};
/// Guests larger than this are refused before they are compiled.
const MAX_MODULE: usize = 64 << 20;
/// Output a run keeps on screen (older chunks are dropped; the logs keep everything).
const OUTPUT_KEEP: usize = 256 << 10;
/// Runs listed in the panel (running ones are never dropped).
const RUNS_KEEP: usize = 12;
/// Output chunk: an id unique in the page (the screen appends new chunks without redrawing
/// the old ones), fd (1 or 2) and text.
type Chunk = (u64, u32, String);

/// One run in the panel's list.
#[derive(Clone)]
struct RunItem {
    id: u64,
    label: String,
    output: RwSignal<Vec<Chunk>>,
    status: RwSignal<String>,
    running: RwSignal<bool>,
    /// The guest's stdin is open ("keep stdin open", until EOF).
    stdin_open: RwSignal<bool>,
}

/// What the Run panel shows, kept up to date by the engine's events ([`Self::event`]).
#[derive(Clone, Copy)]
pub(crate) struct Runs {
    runs: RwSignal<Vec<RunItem>, LocalStorage>,
    history: RwSignal<Vec<Past>>,
    compiles: RwSignal<u64>,
    conns: RwSignal<Vec<Conn>>,
    chunk_ids: StoredValue<u64>,
}

impl Runs {
    /// No runs yet.
    pub(crate) fn new() -> Self {
        Self {
            runs: RwSignal::new_local(Vec::new()),
            history: RwSignal::new(Vec::new()),
            compiles: RwSignal::new(0),
            conns: RwSignal::new(Vec::new()),
            chunk_ids: StoredValue::new(0),
        }
    }

    /// Modules compiled for this page so far (shown by the Jobs panel too).
    pub(crate) fn compiles(&self) -> RwSignal<u64> {
        self.compiles
    }

    fn item(&self, id: u64) -> Option<RunItem> {
        self.runs
            .with_untracked(|r| r.iter().find(|r| r.id == id).cloned())
    }

    /// Takes in one of the engine's run events.
    pub(crate) fn event(&self, event: Event) {
        match event {
            Event::RunStatus {
                id,
                status,
                running,
            } => {
                if let Some(r) = self.item(id) {
                    r.status.set(status);
                    if r.running.get_untracked() != running {
                        r.running.set(running);
                    }
                }
            }
            Event::RunOutput { id, chunks } => {
                let Some(r) = self.item(id) else { return };
                r.output.update(|o| {
                    o.extend(chunks.into_iter().map(|(fd, text)| {
                        let id = self.chunk_ids.get_value();
                        self.chunk_ids.set_value(id + 1);
                        (id, fd, text)
                    }));
                    // Keep the newest OUTPUT_KEEP bytes (the logs keep everything).
                    let mut total: usize = o.iter().map(|(_, _, t)| t.len()).sum();
                    let mut drop = 0;
                    while total > OUTPUT_KEEP && drop + 1 < o.len() {
                        total -= o[drop].2.len();
                        drop += 1;
                    }
                    o.drain(..drop);
                });
            }
            Event::RunEnded { past, .. } => self.history.update(|h| {
                h.insert(0, past);
                h.truncate(50);
            }),
            Event::Compiles(n) => self.compiles.set(n),
            // The engine worker is gone: no run goes on.
            Event::Lost(why) => self.runs.with_untracked(|runs| {
                for r in runs.iter().filter(|r| r.running.get_untracked()) {
                    r.running.set(false);
                    r.stdin_open.set(false);
                    r.status.set(format!("lost: {why}"));
                }
            }),
            Event::Conns(rows) if self.conns.with_untracked(|c| *c != rows) => self.conns.set(rows),
            _ => {}
        }
    }
}

#[component]
pub fn RunPanel(client: Client, state: Runs) -> impl IntoView {
    let Runs {
        runs,
        history,
        compiles,
        conns,
        ..
    } = state;
    let (module_name, set_module_name) = signal(SAMPLE_NAME.to_string());
    let args = RwSignal::new(String::new());
    let env_vars = RwSignal::new(String::new());
    let stdin = RwSignal::new(String::new());
    let keep_stdin = RwSignal::new(false);
    let timeout_s = RwSignal::new("10".to_string());
    // The panel's own message (module loaded, refused, ...) when no run is selected.
    let message = RwSignal::new(String::from("ready"));
    // Hosts /cap/http and /cap/ws may reach (empty: no network).
    let allow_net = RwSignal::new(crate::proto::default_allowlist());
    let selected = RwSignal::new(None::<u64>);

    let selected_item = move || {
        let id = selected.get()?;
        runs.with(|r| r.iter().find(|r| r.id == id).cloned())
    };

    let run = move || {
        let keep = keep_stdin.get_untracked();
        let request = (
            args.get_untracked(),
            env_vars.get_untracked(),
            stdin.get_untracked(),
            timeout_s.get_untracked(),
            allow_net.get_untracked(),
        );
        leptos::task::spawn_local(async move {
            let (a, e, i, t, n) = request;
            let (id, label) = match client.start_run(a, e, i, keep, t, n).await {
                Ok(started) => started,
                Err(e) => {
                    selected.set(None);
                    message.set(e.message);
                    return;
                }
            };
            let item = RunItem {
                id,
                label,
                output: RwSignal::new(Vec::new()),
                status: RwSignal::new("compiling…".into()),
                running: RwSignal::new(true),
                stdin_open: RwSignal::new(keep),
            };
            runs.update(|r| {
                r.insert(0, item);
                // Finished runs beyond the last few leave the list (their output with them).
                let mut kept = 0;
                r.retain(|x| {
                    kept += 1;
                    let keep = kept <= RUNS_KEEP || x.running.get_untracked();
                    if !keep {
                        x.output.set(Vec::new());
                    }
                    keep
                });
            });
            selected.set(Some(id));
        });
    };

    let stop_selected = move || {
        if let Some(r) = selected_item() {
            leptos::task::spawn_local(async move {
                let _ = client.stop_run(r.id).await;
            });
        }
    };
    let load = move |name: String, bytes: Vec<u8>| {
        selected.set(None);
        if bytes.len() > MAX_MODULE {
            message.set(format!(
                "{name}: {} bytes is over the {} MiB limit",
                bytes.len(),
                MAX_MODULE >> 20
            ));
            return;
        }
        if !bytes.starts_with(b"\0asm") {
            message.set(format!(
                "{name}: not a WebAssembly module (no \\0asm header)"
            ));
            return;
        }
        set_module_name.set(name.clone());
        message.set("loading the module…".into());
        leptos::task::spawn_local(async move {
            match client.set_module(name, bytes).await {
                Ok(()) => message.set("module loaded — press Run".into()),
                Err(e) => message.set(format!("module not loaded: {e}")),
            }
        });
    };
    let pick = move |file: web_sys::File| {
        let name = file.name();
        wasm_bindgen_futures::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => load(name, Uint8Array::new(&buf).to_vec()),
                Err(e) => message.set(format!("cannot read {name}: {e:?}")),
            }
        });
    };

    view! {
        <section class="run-panel" aria-label="Run a WASI module">
            <h2>"Run"</h2>
            <div
                class="dropzone"
                on:dragover=move |e: web_sys::DragEvent| e.prevent_default()
                on:drop=move |e: web_sys::DragEvent| {
                    e.prevent_default();
                    if let Some(f) = e.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
                        pick(f);
                    }
                }
            >
                <span class="muted">"Module: "</span>
                <strong class="module-name">{module_name}</strong>
                <label class="button">
                    "Choose .wasm…"
                    <input
                        type="file"
                        accept=".wasm,application/wasm"
                        class="visually-hidden"
                        on:change=move |e| {
                            let input: web_sys::HtmlInputElement = event_target(&e);
                            if let Some(f) = input.files().and_then(|f| f.get(0)) {
                                pick(f);
                            }
                            // Picking the same file again (e.g. rebuilt) must fire again.
                            input.set_value("");
                        }
                    />
                </label>
                <button class="link" on:click=move |_| load(SAMPLE_NAME.to_string(), SAMPLE.to_vec())>
                    "use the sample"
                </button>
            </div>
            <div class="run-grid">
                <label>"Arguments" <input type="text" class="run-args" bind:value=args placeholder="--flag value"/></label>
                <label>"Timeout (s)" <input type="number" min="0.1" step="0.1" bind:value=timeout_s/></label>
                <label>"Environment (KEY=VALUE per line)" <textarea rows="2" bind:value=env_vars></textarea></label>
                <label>"Standard input" <textarea rows="2" class="run-stdin-text" bind:value=stdin></textarea>
                    <span class="inline"><input type="checkbox" class="keep-stdin" bind:checked=keep_stdin/>" keep open (type into the running program)"</span>
                </label>
                <label>"Network allowlist (/cap/http, /cap/ws; empty: no network)"
                    <input type="text" class="run-allow-net" bind:value=allow_net placeholder="127.0.0.1, *.example.org"/>
                </label>
            </div>
            <div class="run-actions">
                <button class="primary run-button" on:click=move |_| run()>"▶ Run"</button>
                <button
                    class="cancel-button"
                    on:click=move |_| stop_selected()
                    disabled=move || !selected_item().is_some_and(|r| r.running.get())
                >"■ Stop"</button>
                <span class="run-status" role="status">
                    {move || selected_item().map_or_else(|| message.get(), |r| r.status.get())}
                </span>
            </div>
            <ul class="run-list" aria-label="Runs">
                {move || runs.get().into_iter().map(|r| view! {
                    <RunRow item=r selected=selected client=client/>
                }).collect_view()}
            </ul>
            <pre class="run-output" aria-live="polite">
                <For
                    each=move || selected_item().map(|r| r.output.get()).unwrap_or_default()
                    key=|c| c.0
                    children=move |(_, fd, text)| {
                        ansi::segments(&text)
                            .into_iter()
                            .map(|s| {
                                let class = if fd == 2 { format!("{} stderr", s.class) } else { s.class };
                                view! { <span class=class>{s.text}</span> }
                            })
                            .collect_view()
                    }
                />
            </pre>
            <p class="muted compile-count">
                {move || format!("modules compiled for this page: {}", compiles.get())}
            </p>
            <crate::caps::WsConnections conns=conns/>
            <details class="history">
                <summary>{move || format!("History ({})", history.get().len())}</summary>
                <ul>
                    {move || history
                        .get()
                        .into_iter()
                        .map(|p| view! {
                            <li>
                                <code>{p.module}" "{p.args}</code>
                                " → " {p.outcome} <span class="muted">{format!(" ({} ms)", one_decimal(p.millis))}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </details>
        </section>
    }
}

/// One run in the list: select it (its output and status show above), stop it, and type
/// into its stdin while that is open.
#[component]
fn RunRow(item: RunItem, selected: RwSignal<Option<u64>>, client: Client) -> impl IntoView {
    let RunItem {
        id,
        label,
        status,
        running,
        stdin_open,
        ..
    } = item;
    let line = RwSignal::new(String::new());
    let send = move || {
        let text = format!("{}\n", line.get_untracked());
        line.set(String::new());
        leptos::task::spawn_local(async move {
            let _ = client.stdin(id, text).await;
        });
    };
    let eof = move || {
        stdin_open.set(false);
        leptos::task::spawn_local(async move {
            let _ = client.eof(id).await;
        });
    };
    view! {
        <li
            class=move || {
                let sel = if selected.get() == Some(id) { " selected" } else { "" };
                let run = if running.get() { " running" } else { "" };
                format!("run-item{sel}{run}")
            }
            data-run=id
        >
            <button class="link run-select" on:click=move |_| selected.set(Some(id))>
                <code>{label}</code>
            </button>
            " "
            <span class="run-item-status">{move || status.get()}</span>
            {move || (running.get() && stdin_open.get()).then(|| view! {
                <span class="run-stdin">
                    <input type="text" class="run-stdin-line" bind:value=line
                        on:keydown=move |e: web_sys::KeyboardEvent| if e.key() == "Enter" { send() }/>
                    <button class="send-stdin" on:click=move |_| send()>"Send"</button>
                    <button class="close-stdin" on:click=move |_| eof()>"EOF"</button>
                </span>
            })}
            <button
                class="stop-run"
                disabled=move || !running.get()
                on:click=move |_| {
                    leptos::task::spawn_local(async move {
                        let _ = client.stop_run(id).await;
                    });
                }
            >"■ Stop"</button>
        </li>
    }
}
