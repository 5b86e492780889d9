//! The Run panel: pick (or drop) a `.wasm`, set args/env/stdin, and run it on the page, in
//! place on the namespace — no copy per run. The module is instrumented for time slices and
//! compiled in a worker once ([`crate::compile`]); the guest then runs on the page's thread
//! under JSPI ([`BrowserRunner::run_module`]), yielding to the UI every few milliseconds, so
//! a run costs its own work whatever the namespace holds. Several runs may go at once (each
//! with its Stop button); they share the namespace and see each other's files. With review
//! on they write into one overlay ([`Reviews::join`], committed or discarded in the Review
//! panel once they end); with "apply without review" they write into the live namespace.
//! Stop and timeouts unwind a guest at its next tick or WASI call — a spinning guest too —
//! and leave the namespace and the other runs as they are.
//!
//! Each run is recorded in the page's environment ([`crate::world`]): `/env/status` and
//! `/task/status` go running → completed/failed, the guest's output is appended to
//! `/logs/stdout.log` and `stderr.log`, an event marks its start and end, and the
//! trajectory (`/logs/atif/trajectory.json`) gets two steps: the request (`user`) and the
//! run as a tool call with its output as the observation (`agent`).

use crate::ansi;
use crate::compile::{with_ticks, Compiler};
use crate::num::one_decimal;
use crate::review::Reviews;
use crate::world::{atif_steps, log_event};
use js_sys::Uint8Array;
use leptos::prelude::*;
use oanix_core::browser::{BrowserRunner, RunControl};
use oanix_core::env::OanixEnv;
use oanix_core::run::RunConfig;
use oanix_core::scheduler::split_words;
use oanix_core::services::WsFs;
use oanix_core::wasi::{InputPipe, OutputPipe};
use oanix_core::{CowFs, FsPath, Namespace};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// The sample guest shown on first open (compiled from `web/sample/hello.wat`).
pub const SAMPLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
/// How the sample is named in the panel (and its argv[0]).
pub const SAMPLE_NAME: &str = "hello.wasm (sample)";
/// Where trunk puts the worker's loader (see index.html).
pub(crate) const WORKER_URL: &str = "./oanix-worker_loader.js";
/// Guests larger than this are refused before they are compiled.
const MAX_MODULE: usize = 64 << 20;
/// Output a run keeps on screen (older chunks are dropped; the logs keep everything).
const OUTPUT_KEEP: usize = 256 << 10;
/// Runs listed in the panel (running ones are never dropped).
const RUNS_KEEP: usize = 12;
/// Largest linear memory of a guest run on the page (it shares the page's process: a guest
/// growing past this is stopped rather than taking the tab down with the namespace).
pub(crate) const GUEST_MEMORY: usize = 1 << 30;
/// How often a running guest's output reaches the screen.
const FLUSH: Duration = Duration::from_millis(100);

/// One finished run, for the history.
#[derive(Clone, Debug, PartialEq)]
struct Past {
    module: String,
    args: String,
    outcome: String,
    millis: f64,
}

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
    control: Rc<RunControl>,
    /// The guest's stdin while it is open ("keep stdin open").
    stdin: Option<InputPipe>,
}

/// A run's output on its way to the screen and the logs: what the guest wrote since the
/// last flush, and per fd the bytes of a UTF-8 character split between two writes.
#[derive(Default)]
struct Pending {
    chunks: Vec<(u32, Vec<u8>)>,
    carry: [Vec<u8>; 2],
}

impl Pending {
    fn push(&mut self, fd: u32, data: &[u8]) {
        match self.chunks.last_mut() {
            Some((f, buf)) if *f == fd => buf.extend_from_slice(data),
            _ => self.chunks.push((fd, data.to_vec())),
        }
    }

    /// The text written since the last call (incomplete characters wait for the rest).
    fn take(&mut self) -> Vec<(u32, Vec<u8>, String)> {
        let chunks = std::mem::take(&mut self.chunks);
        chunks
            .into_iter()
            .map(|(fd, bytes)| {
                let carry = &mut self.carry[(fd == 2) as usize];
                let mut all = std::mem::take(carry);
                all.extend_from_slice(&bytes);
                let cut = match std::str::from_utf8(&all) {
                    Ok(_) => all.len(),
                    Err(e) if e.error_len().is_none() => e.valid_up_to(),
                    Err(_) => all.len(),
                };
                *carry = all.split_off(cut);
                let text = String::from_utf8_lossy(&all).into_owned();
                (fd, bytes, text)
            })
            .collect()
    }
}

/// An output pipe feeding `pending`.
fn sink(pending: &Rc<RefCell<Pending>>, fd: u32) -> OutputPipe {
    let pending = pending.clone();
    OutputPipe::new().with_sink(move |data: &[u8]| pending.borrow_mut().push(fd, data))
}

/// Whether a mount holds files (reached through the review overlay) rather than a live
/// service (the environment's files, capabilities: always reached directly).
fn holds_files(kind: &str) -> bool {
    matches!(kind, "memfs" | "mapfs" | "cowfs" | "opfs") || kind.starts_with("workspacefs")
}

/// The namespace a reviewed run sees: the overlay at `/` (so every file mount is reached
/// through it) with the live services mounted over it as they are, and the guest's preopens
/// (the live namespace's mount points).
pub(crate) fn overlay_namespace(
    live: &Namespace,
    cow: &CowFs,
) -> Result<(Namespace, Vec<(String, String)>), String> {
    let mut ns = Namespace::new();
    ns.mount("/", Arc::new(cow.clone()))
        .map_err(|e| e.to_string())?;
    let mut preopens = Vec::new();
    for m in live.mounts() {
        let path = m.path.to_absolute();
        let direct = m
            .layers
            .iter()
            .all(|l| !holds_files(l.service.kind()) && l.subpath == FsPath::root());
        if direct && !m.layers.is_empty() {
            for l in &m.layers {
                ns.mount(&path, l.service.clone())
                    .map_err(|e| e.to_string())?;
            }
        }
        preopens.push((path.clone(), path));
    }
    Ok((ns, preopens))
}

#[component]
pub fn RunPanel(
    ns: StoredValue<Namespace, LocalStorage>,
    env: StoredValue<Rc<OanixEnv>, LocalStorage>,
    module: StoredValue<(String, Vec<u8>), LocalStorage>,
    reviews: Reviews,
    live: RwSignal<u64>,
    compiler: StoredValue<Rc<Compiler>, LocalStorage>,
    runner: StoredValue<Rc<BrowserRunner>, LocalStorage>,
) -> impl IntoView {
    let (module_name, set_module_name) = signal(module.with_value(|(n, _)| n.clone()));
    let args = RwSignal::new(String::new());
    let env_vars = RwSignal::new(String::new());
    let stdin = RwSignal::new(String::new());
    let keep_stdin = RwSignal::new(false);
    let timeout_s = RwSignal::new("10".to_string());
    // The panel's own message (module loaded, refused, ...) when no run is selected.
    let message = RwSignal::new(String::from("ready"));
    let history = RwSignal::new(Vec::<Past>::new());
    // Hosts /cap/http and /cap/ws may reach (empty: no network), and their sockets.
    let allow_net = RwSignal::new(crate::caps::default_allowlist());
    let mounted_allow: StoredValue<Option<String>> = StoredValue::new(None);
    let ws: StoredValue<Option<Arc<WsFs>>, LocalStorage> = StoredValue::new_local(None);
    let conns = RwSignal::new(Vec::<crate::caps::Conn>::new());
    let runs: RwSignal<Vec<RunItem>, LocalStorage> = RwSignal::new_local(Vec::new());
    let selected = RwSignal::new(None::<u64>);
    let next_id = StoredValue::new(1u64);
    let chunk_ids = StoredValue::new(0u64);
    // Modules compiled for this page so far (a module runs many times, compiled once).
    let compiles = RwSignal::new(0u64);

    let selected_item = move || {
        let id = selected.get()?;
        runs.with(|r| r.iter().find(|r| r.id == id).cloned())
    };
    let refresh_conns = move || {
        if let Some(w) = ws.get_value() {
            let rows = crate::caps::ws_conns(&w);
            if conns.with_untracked(|c| *c != rows) {
                conns.set(rows);
            }
        }
    };

    let run = move || {
        let id = next_id.get_value();
        next_id.set_value(id + 1);
        let name = module_name.get_untracked();
        let argv: Vec<String> = match split_words(&args.get_untracked(), false) {
            Ok(a) => std::iter::once(name.clone()).chain(a).collect(),
            Err(e) => {
                selected.set(None);
                message.set(format!("arguments: {e}"));
                return;
            }
        };
        // The page's /cap follows the allowlist (re-mounted only when it changed: runs
        // going on keep their sockets).
        let allow = allow_net.get_untracked();
        if mounted_allow.get_value().as_deref() != Some(allow.as_str()) {
            match ns.try_update_value(|ns| crate::caps::mount_caps(ns, &allow)) {
                Some(Ok(w)) => {
                    ws.set_value(w);
                    mounted_allow.set_value(Some(allow.clone()));
                }
                Some(Err(e)) => {
                    selected.set(None);
                    message.set(format!("network allowlist: {e}"));
                    return;
                }
                None => {}
            }
        }
        let envs: Vec<(String, String)> = env_vars
            .get_untracked()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.to_string()))
            .collect();
        let input = InputPipe::open();
        input.push(stdin.get_untracked().as_bytes());
        let open_stdin = keep_stdin.get_untracked();
        if !open_stdin {
            input.close();
        }
        let timeout = crate::num::timeout(&timeout_s.get_untracked(), 10.0);
        let item = RunItem {
            id,
            label: argv.join(" "),
            output: RwSignal::new(Vec::new()),
            status: RwSignal::new("compiling…".into()),
            running: RwSignal::new(true),
            control: RunControl::new(),
            stdin: open_stdin.then(|| input.clone()),
        };
        runs.update(|r| {
            r.insert(0, item.clone());
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
        let started = js_sys::Date::now();
        let bytes = module.with_value(|(_, b)| b.clone());
        let compiler = compiler.get_value();
        let runner = runner.get_value();
        leptos::task::spawn_local(async move {
            let RunItem {
                output,
                status,
                running,
                control,
                ..
            } = item.clone();
            // The run's end: `guest` is the guest's own time (instantiation to exit), shown
            // beside the whole run's (click to end) so the host's overhead is visible.
            let end = |outcome: String,
                       said: String,
                       guest: Option<Duration>,
                       exit_code: Option<i32>,
                       error: Option<String>| {
                let ms = js_sys::Date::now() - started;
                running.set(false);
                let guest = guest.map_or(String::new(), |g| {
                    format!("; guest {} ms", one_decimal(g.as_secs_f64() * 1e3))
                });
                status.set(if said.is_empty() {
                    format!("{outcome} — {} ms{guest}", one_decimal(ms))
                } else {
                    format!("{outcome} — {} ms{guest} ({said})", one_decimal(ms))
                });
                history.update(|h| {
                    h.insert(
                        0,
                        Past {
                            module: name.clone(),
                            args: argv[1..].join(" "),
                            outcome: outcome.clone(),
                            millis: ms,
                        },
                    );
                    h.truncate(50);
                });
                let text: String = output.with_untracked(|o| {
                    o.iter()
                        .filter(|(_, fd, _)| *fd == 1)
                        .map(|(_, _, t)| t.as_str())
                        .collect()
                });
                env.with_value(|env| record_run(env, &argv, id, &text, exit_code, error, &outcome));
                live.update(|n| *n += 1);
            };
            let compiled = compiler.module(&bytes).await;
            drop(bytes);
            compiles.set(compiler.compiles());
            let module = match compiled {
                Ok(m) if !control.is_stopped() => m,
                Ok(_) => return end("stopped on request".into(), String::new(), None, None, None),
                Err(e) => return end(e.clone(), String::new(), None, None, Some(e)),
            };
            // In place: the live namespace, or the review overlay runs share.
            let live_ns = ns.with_value(Namespace::clone);
            let (run_ns, preopens, overlay) = if reviews.auto_apply.get_untracked() {
                (live_ns, None, None)
            } else {
                let (rid, cow) = reviews.join(&live_ns, &format!("run: {}", argv.join(" ")));
                match overlay_namespace(&live_ns, &cow) {
                    Ok((ns, pre)) => (ns, Some(pre), Some(rid)),
                    Err(e) => {
                        let said = reviews.leave(rid);
                        return end(
                            format!("cannot set up the run: {e}"),
                            said,
                            None,
                            None,
                            Some(e),
                        );
                    }
                }
            };
            env.with_value(|env| {
                env.start_run();
                log_event(env.logs(), "info", "run started", json!({"args": argv}));
            });
            status.set("running…".into());
            let pending = Rc::new(RefCell::new(Pending::default()));
            let cfg = RunConfig {
                args: argv.clone(),
                env: envs,
                stdin: input,
                stdout: Some(sink(&pending, 1)),
                stderr: Some(sink(&pending, 2)),
                preopens,
                timeout: Some(timeout),
                max_memory: Some(GUEST_MEMORY),
            };
            let flush = || {
                let chunks = pending.borrow_mut().take();
                if chunks.is_empty() {
                    refresh_conns();
                    return;
                }
                env.with_value(|env| {
                    for (fd, bytes, _) in &chunks {
                        let _ = env.logs().append_stream(*fd, bytes);
                    }
                });
                output.update(|o| {
                    o.extend(chunks.into_iter().map(|(fd, _, text)| {
                        let id = chunk_ids.get_value();
                        chunk_ids.set_value(id + 1);
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
                refresh_conns();
                live.update(|n| *n += 1);
            };
            let out = with_ticks(
                runner.run_module(&module, run_ns, cfg, control.clone()),
                FLUSH,
                flush,
            )
            .await;
            flush();
            let outcome = match (out.exit_code, &out.error) {
                (Some(code), _) => format!("exit code {code}"),
                (None, Some(err)) => err.to_string(),
                (None, None) => "finished".to_string(),
            };
            let said = match overlay {
                Some(rid) => reviews.leave(rid),
                None => {
                    reviews.touched();
                    "applied without review: it ran in place".into()
                }
            };
            end(
                outcome,
                said,
                Some(out.duration),
                out.exit_code,
                out.error.map(|e| e.to_string()),
            );
        });
    };

    let stop_selected = move || {
        if let Some(r) = selected_item() {
            r.control.stop();
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
        module.set_value((name, bytes));
        message.set("module loaded — press Run".into());
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
                    <RunRow item=r selected=selected/>
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
fn RunRow(item: RunItem, selected: RwSignal<Option<u64>>) -> impl IntoView {
    let RunItem {
        id,
        label,
        status,
        running,
        control,
        stdin,
        ..
    } = item;
    let control = StoredValue::new_local(control);
    let line = RwSignal::new(String::new());
    let stdin_open = RwSignal::new(stdin.is_some());
    let stdin = StoredValue::new_local(stdin);
    let send = move || {
        stdin.with_value(|p| {
            if let Some(p) = p {
                p.push(format!("{}\n", line.get_untracked()).as_bytes());
            }
        });
        line.set(String::new());
    };
    let eof = move || {
        stdin.with_value(|p| {
            if let Some(p) = p {
                p.close();
            }
        });
        stdin_open.set(false);
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
                on:click=move |_| control.with_value(|c| c.stop())
            >"■ Stop"</button>
        </li>
    }
}

/// A run's end in the environment: status, an event, the trajectory's two steps.
fn record_run(
    env: &OanixEnv,
    argv: &[String],
    id: u64,
    stdout: &str,
    exit_code: Option<i32>,
    error: Option<String>,
    outcome: &str,
) {
    // The observation is plain text: ANSI escapes dropped, at most 4000 characters.
    let stdout: String = ansi::segments(stdout)
        .into_iter()
        .flat_map(|s| s.text.chars().collect::<Vec<_>>())
        .take(4000)
        .collect();
    let call = format!("run-{id}");
    env.finish_run(exit_code, error);
    let level = if exit_code == Some(0) { "info" } else { "warn" };
    log_event(
        env.logs(),
        level,
        &format!("run ended: {outcome}"),
        json!({"args": argv}),
    );
    atif_steps(
        env.logs(),
        vec![
            json!({"source": "user", "message": format!("Run {}", argv.join(" "))}),
            json!({
                "source": "agent",
                "message": outcome,
                "tool_calls": [{
                    "tool_call_id": call,
                    "function_name": "wasi.run",
                    "arguments": {"args": argv},
                }],
                "observation": {"results": [{"source_call_id": call, "content": stdout}]},
            }),
        ],
    );
}
