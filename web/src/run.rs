//! The Run panel: pick (or drop) a `.wasm`, set args/env/stdin, run it in the guest worker
//! (`oanix-worker`, JSPI) against a snapshot of the namespace, stream its output with ANSI
//! colours, and offer what it wrote for review ([`crate::review`]: Commit or Discard, or
//! applied at once with "apply without review"). Cancel and timeouts terminate the worker
//! (the only way to stop a guest spinning in its own thread).
//!
//! Each run is recorded in the page's environment ([`crate::world`]): `/env/status` and
//! `/task/status` go running → completed/failed, the guest's output is appended to
//! `/logs/stdout.log` and `stderr.log`, an event marks its start and end, and the
//! trajectory (`/logs/atif/trajectory.json`) gets two steps: the request (`user`) and the
//! run as a tool call with its output as the observation (`agent`).

use crate::ansi;
use crate::review::{stage_snapshot, Reviews};
use crate::world::{atif_steps, log_event};
use js_sys::{Array, Object, Reflect, Uint8Array};
use leptos::prelude::*;
use oanix_core::env::OanixEnv;
use oanix_core::scheduler::split_words;
use oanix_core::Namespace;
use serde_json::json;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

/// The sample guest shown on first open (compiled from `web/sample/hello.wat`).
pub const SAMPLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/hello.wasm"));
/// How the sample is named in the panel (and its argv[0]).
pub const SAMPLE_NAME: &str = "hello.wasm (sample)";
/// Where trunk puts the worker's loader (see index.html).
pub(crate) const WORKER_URL: &str = "./oanix-worker_loader.js";
/// Guests larger than this are refused before they reach the worker.
const MAX_MODULE: usize = 64 << 20;

/// One finished run, for the history.
#[derive(Clone, Debug, PartialEq)]
struct Past {
    module: String,
    args: String,
    outcome: String,
    millis: f64,
}

/// Output chunk: fd (1 or 2) and text.
type Chunk = (u32, String);

#[component]
pub fn RunPanel(
    ns: StoredValue<Namespace, LocalStorage>,
    env: StoredValue<Rc<OanixEnv>, LocalStorage>,
    module: StoredValue<(String, Vec<u8>), LocalStorage>,
    reviews: Reviews,
    live: RwSignal<u64>,
) -> impl IntoView {
    let (module_name, set_module_name) = signal(module.with_value(|(n, _)| n.clone()));
    let args = RwSignal::new(String::new());
    let env_vars = RwSignal::new(String::new());
    let stdin = RwSignal::new(String::new());
    let timeout_s = RwSignal::new("10".to_string());
    let output = RwSignal::new(Vec::<Chunk>::new());
    let status = RwSignal::new(String::from("ready"));
    let running = RwSignal::new(false);
    let history = RwSignal::new(Vec::<Past>::new());
    // Hosts /cap/http and /cap/ws may reach (empty: no network), and the last run's sockets.
    let allow_net = RwSignal::new(crate::caps::default_allowlist());
    let conns = RwSignal::new(Vec::<crate::caps::Conn>::new());
    let worker: StoredValue<Option<Worker>, LocalStorage> = StoredValue::new_local(None);
    let timer: StoredValue<Option<i32>, LocalStorage> = StoredValue::new_local(None);
    let started = StoredValue::new(0.0f64);
    // The running guest's argv (for the events and the trajectory).
    let argv_now = StoredValue::new(Vec::<String>::new());
    let runs = StoredValue::new(0u64);
    // The snapshot the running guest started from (its changes are staged against it).
    let sent = StoredValue::new(String::new());
    // A request waiting for a fresh worker's `ready` (its handler is not installed before).
    let pending: StoredValue<Option<JsValue>, LocalStorage> = StoredValue::new_local(None);

    // Newest first, the last 50 runs.
    let record = move |outcome: String, millis: f64| {
        history.update(|h| {
            h.insert(
                0,
                Past {
                    module: module_name.get_untracked(),
                    args: args.get_untracked(),
                    outcome,
                    millis,
                },
            );
            h.truncate(50);
        })
    };
    let stop_timer = move || {
        if let Some(id) = timer.get_value() {
            if let Some(w) = web_sys::window() {
                w.clear_timeout_with_handle(id);
            }
        }
        timer.set_value(None);
    };
    // The run's end in the environment: status, an event, the trajectory's steps.
    let finish =
        move |exit_code: Option<i32>, error: Option<String>, outcome: &str| {
            let argv = argv_now.get_value();
            let stdout: String = output.with_untracked(|o| {
                o.iter()
                    .filter(|(fd, _)| *fd == 1)
                    .map(|(_, t)| t.as_str())
                    .collect()
            });
            // The observation is plain text: ANSI escapes dropped, at most 4000 characters.
            let stdout: String = ansi::segments(&stdout)
                .into_iter()
                .flat_map(|s| s.text.chars().collect::<Vec<_>>())
                .take(4000)
                .collect();
            let call = format!("run-{}", runs.get_value());
            env.with_value(|env| {
            env.finish_run(exit_code, error);
            let level = if exit_code == Some(0) { "info" } else { "warn" };
            log_event(env.logs(), level, &format!("run ended: {outcome}"), json!({"args": argv}));
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
        });
            live.update(|n| *n += 1);
        };
    let kill = move |why: &str| {
        stop_timer();
        if let Some(w) = worker.get_value() {
            w.terminate();
        }
        worker.set_value(None);
        if running.get_untracked() {
            running.set(false);
            let ms = js_sys::Date::now() - started.get_value();
            status.set(format!("{why} after {ms:.0} ms"));
            record(why.to_string(), ms);
            finish(None, Some(why.to_string()), why);
        }
    };

    let on_message = move |e: MessageEvent| {
        let d = e.data();
        let get = |k: &str| Reflect::get(&d, &k.into()).unwrap_or(JsValue::UNDEFINED);
        match get("kind").as_string().as_deref() {
            Some("ready") => {
                if let (Some(w), Some(msg)) = (worker.get_value(), pending.get_value()) {
                    pending.set_value(None);
                    if let Err(e) = w.post_message(&msg) {
                        status.set(format!("cannot reach the worker: {e:?}"));
                    }
                }
            }
            Some("ws") => conns.set(crate::caps::parse_conns(&get("conns"))),
            Some("out") => {
                let fd = get("fd").as_f64().unwrap_or(1.0) as u32;
                let text = get("text").as_string().unwrap_or_default();
                env.with_value(|env| {
                    let _ = env.logs().append_stream(fd, text.as_bytes());
                });
                output.update(|o| o.push((fd, text)));
                live.update(|n| *n += 1);
            }
            Some("done") => {
                stop_timer();
                running.set(false);
                let ms = get("duration_ms").as_f64().unwrap_or(0.0);
                let exit_code = get("exit_code").as_f64().map(|c| c as i32);
                let error = get("error").as_string();
                let outcome = match (exit_code, &error) {
                    (Some(code), _) => format!("exit code {code}"),
                    (None, Some(err)) => err.clone(),
                    (None, None) => "finished".to_string(),
                };
                status.set(format!("{outcome} — {ms:.1} ms"));
                record(outcome.clone(), ms);
                finish(exit_code, error, &outcome);
                if let Some(snap) = get("snapshot").as_string() {
                    let label = format!("run: {}", argv_now.get_value().join(" "));
                    let before = sent.get_value();
                    let said = match ns.with_value(|ns| stage_snapshot(ns, &before, &snap)) {
                        Ok(cow) => reviews.offer(label, cow),
                        Err(e) => format!("namespace not updated: {e}"),
                    };
                    status.update(|s| s.push_str(&format!(" ({said})")));
                }
            }
            _ => {}
        }
    };

    // The worker, and whether it is new (then requests wait for its `ready`).
    let ensure_worker = move || -> Result<(Worker, bool), String> {
        if let Some(w) = worker.get_value() {
            return Ok((w, false));
        }
        let w = Worker::new(WORKER_URL).map_err(|e| format!("cannot start the worker: {e:?}"))?;
        let cb = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
        w.set_onmessage(Some(cb.as_ref().unchecked_ref()));
        cb.forget(); // one per worker; the worker is terminated, not reused forever
        worker.set_value(Some(w.clone()));
        Ok((w, true))
    };

    let run = move || {
        if running.get_untracked() {
            return;
        }
        let request = || -> Result<(JsValue, Vec<String>), String> {
            // The page's /cap follows the allowlist too (the worker mounts its own).
            let allow = allow_net.get_untracked();
            ns.try_update_value(|ns| crate::caps::mount_caps(ns, &allow))
                .unwrap_or(Ok(()))
                .map_err(|e| format!("network allowlist: {e}"))?;
            let snap = ns
                .with_value(|ns| serde_json::to_string(&ns.snapshot().without_capabilities()))
                .map_err(|e| e.to_string())?;
            let o = Object::new();
            let set = |k: &str, v: &JsValue| Reflect::set(&o, &k.into(), v).map(|_| ());
            let bytes = module.with_value(|(_, b)| Uint8Array::from(b.as_slice()));
            let argv_list: Vec<String> = std::iter::once(module_name.get_untracked())
                .chain(
                    split_words(&args.get_untracked(), false)
                        .map_err(|e| format!("arguments: {e}"))?,
                )
                .collect();
            let argv: Array = argv_list.iter().map(JsValue::from).collect();
            let envs: Array = env_vars
                .get_untracked()
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| JsValue::from(Array::of2(&k.trim().into(), &v.into())))
                .collect();
            set("wasm", &bytes.into())
                .and_then(|_| set("args", &argv.into()))
                .and_then(|_| set("env", &envs.into()))
                .and_then(|_| set("stdin", &stdin.get_untracked().into()))
                .and_then(|_| set("snapshot", &snap.as_str().into()))
                .and_then(|_| set("allow_net", &allow.into()))
                .and_then(|_| {
                    set(
                        "timeout_ms",
                        &JsValue::from(timeout_ms(&timeout_s.get_untracked())),
                    )
                })
                .map_err(|e| format!("{e:?}"))?;
            sent.set_value(snap);
            Ok((o.into(), argv_list))
        };
        let go = || -> Result<(), String> {
            let (msg, argv) = request()?;
            match ensure_worker()? {
                (_, true) => pending.set_value(Some(msg)),
                (w, false) => w.post_message(&msg).map_err(|e| format!("{e:?}"))?,
            }
            runs.update_value(|n| *n += 1);
            env.with_value(|env| {
                env.start_run();
                log_event(env.logs(), "info", "run started", json!({"args": argv}));
            });
            argv_now.set_value(argv);
            live.update(|n| *n += 1);
            Ok(())
        };
        output.set(Vec::new());
        conns.set(Vec::new());
        started.set_value(js_sys::Date::now());
        running.set(true);
        status.set("running…".into());
        if let Err(e) = go() {
            running.set(false);
            status.set(e);
            return;
        }
        // Hard limit: a guest spinning without syscalls is stopped by terminating the worker
        // (a little after the runner's own timeout, which handles blocked guests).
        let ms = timeout_ms(&timeout_s.get_untracked()) + 500.0;
        let cb = Closure::once_into_js(move || {
            timer.set_value(None);
            kill("timed out");
        });
        if let Some(w) = web_sys::window() {
            if let Ok(id) = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                cb.unchecked_ref(),
                ms as i32,
            ) {
                timer.set_value(Some(id));
            }
        }
    };

    let load = move |name: String, bytes: Vec<u8>| {
        if bytes.len() > MAX_MODULE {
            status.set(format!(
                "{name}: {} bytes is over the {} MiB limit",
                bytes.len(),
                MAX_MODULE >> 20
            ));
            return;
        }
        if !bytes.starts_with(b"\0asm") {
            status.set(format!(
                "{name}: not a WebAssembly module (no \\0asm header)"
            ));
            return;
        }
        set_module_name.set(name.clone());
        module.set_value((name, bytes));
        status.set("module loaded — press Run".into());
    };
    let pick = move |file: web_sys::File| {
        let name = file.name();
        wasm_bindgen_futures::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => load(name, Uint8Array::new(&buf).to_vec()),
                Err(e) => status.set(format!("cannot read {name}: {e:?}")),
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
                <label>"Standard input" <textarea rows="2" bind:value=stdin></textarea></label>
                <label>"Network allowlist (/cap/http, /cap/ws; empty: no network)"
                    <input type="text" class="run-allow-net" bind:value=allow_net placeholder="127.0.0.1, *.example.org"/>
                </label>
            </div>
            <div class="run-actions">
                <button class="primary run-button" on:click=move |_| run() disabled=move || running.get()>"▶ Run"</button>
                <button class="cancel-button" on:click=move |_| kill("cancelled") disabled=move || !running.get()>"■ Cancel"</button>
                <span class="run-status" role="status">{move || status.get()}</span>
            </div>
            <pre class="run-output" aria-live="polite">
                {move || {
                    output
                        .get()
                        .into_iter()
                        .flat_map(|(fd, text)| {
                            ansi::segments(&text).into_iter().map(move |s| {
                                let class = if fd == 2 { format!("{} stderr", s.class) } else { s.class };
                                view! { <span class=class>{s.text}</span> }
                            })
                        })
                        .collect_view()
                }}
            </pre>
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
                                " → " {p.outcome} <span class="muted">{format!(" ({:.1} ms)", p.millis)}</span>
                            </li>
                        })
                        .collect_view()}
                </ul>
            </details>
        </section>
    }
}

fn timeout_ms(s: &str) -> f64 {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|t| *t > 0.0)
        .unwrap_or(10.0)
        * 1000.0
}
