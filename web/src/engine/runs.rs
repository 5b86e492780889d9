//! The Run panel's guests, run in the engine worker in place on the namespace — no copy per run.
//! The module is instrumented for time slices and compiled in a worker once
//! ([`super::compile`]); the guest then runs on the engine worker's thread under JSPI
//! ([`BrowserRunner::run_module`]), yielding to the worker's event loop every few milliseconds (so it answers the page meanwhile), so a run
//! costs its own work whatever the namespace holds. Several runs may go at once; they share
//! the namespace and see each other's files. With review on they write into one overlay
//! ([`Engine::join`], committed or discarded in the Review panel once they end); with
//! "apply without review" they write into the live namespace. Stop and timeouts unwind a
//! guest at its next tick or WASI call — a spinning guest too — and leave the namespace
//! and the other runs as they are.
//!
//! Each run is recorded in the page's environment ([`super::world`]): `/env/status` and
//! `/task/status` go running → completed/failed, the guest's output is appended to
//! `/logs/stdout.log` and `stderr.log`, an event marks its start and end, and the
//! trajectory (`/logs/atif/trajectory.json`) gets two steps: the request (`user`) and the
//! run as a tool call with its output as the observation (`agent`).

use super::compile::with_ticks;
use super::world::{atif_steps, log_event};
use super::Engine;
use crate::num::one_decimal;
use crate::proto::{Event, Failure, Past, Reply, RunRequest};
use oanix_core::browser::RunControl;
use oanix_core::env::OanixEnv;
use oanix_core::run::RunConfig;
use oanix_core::scheduler::split_words;
use oanix_core::wasi::{InputPipe, OutputPipe};
use oanix_core::{CowFs, FsPath, Namespace};
use serde_json::json;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Largest linear memory of a guest run in the engine (it shares the worker with the namespace: a guest
/// growing past this is stopped rather than taking the tab down with the namespace).
pub(crate) const GUEST_MEMORY: usize = 1 << 30;
/// How often a running guest's output reaches the screen.
const FLUSH: Duration = Duration::from_millis(100);

/// A run going on: its stop control and its stdin while that is open.
type Running = (Rc<RunControl>, Option<InputPipe>);

/// The runs going on.
#[derive(Default)]
pub(super) struct Runs {
    next: std::cell::Cell<u64>,
    live: RefCell<HashMap<u64, Running>>,
    /// The allowlist `/cap` is mounted for (re-mounted only when it changes: runs going on
    /// keep their sockets).
    mounted_allow: RefCell<Option<String>>,
    ws: RefCell<Option<Arc<oanix_core::services::WsFs>>>,
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
pub(super) fn overlay_namespace(
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

fn refused(message: String) -> Failure {
    Failure {
        message,
        errno: "Inval".into(),
    }
}

/// Answers a Run panel request.
pub(super) fn handle(engine: &Rc<Engine>, request: RunRequest) -> Result<Reply, Failure> {
    match request {
        RunRequest::Module { name, bytes } => {
            engine.module.replace((name, Rc::new(bytes)));
            Ok(Reply::Done)
        }
        RunRequest::Start {
            args,
            env,
            stdin,
            keep_stdin,
            timeout,
            allow_net,
        } => start(engine, args, env, stdin, keep_stdin, timeout, allow_net),
        RunRequest::Stdin { id, text } => {
            if let Some((_, Some(p))) = engine.runs.live.borrow().get(&id) {
                p.push(text.as_bytes());
            }
            Ok(Reply::Done)
        }
        RunRequest::Eof { id } => {
            if let Some((_, Some(p))) = engine.runs.live.borrow().get(&id) {
                p.close();
            }
            Ok(Reply::Done)
        }
        RunRequest::Stop { id } => {
            if let Some((c, _)) = engine.runs.live.borrow().get(&id) {
                c.stop();
            }
            Ok(Reply::Done)
        }
    }
}

/// The page's `/cap` follows `allow` (re-mounted only when it changed: runs going on keep
/// their sockets).
fn mount_caps(engine: &Engine, allow: &str) -> Result<(), String> {
    if engine.runs.mounted_allow.borrow().as_deref() == Some(allow) {
        return Ok(());
    }
    let ws = super::caps::mount_caps(&mut engine.ns.borrow_mut(), allow)?;
    engine.runs.ws.replace(ws);
    engine.runs.mounted_allow.replace(Some(allow.to_string()));
    Ok(())
}

/// Tells the UI the WebSocket connections (when there is a `/cap/ws`).
fn show_conns(engine: &Engine) {
    if let Some(ws) = engine.runs.ws.borrow().as_ref() {
        (engine.emit)(Event::Conns(super::caps::ws_conns(ws)));
    }
}

#[allow(clippy::too_many_arguments)]
fn start(
    engine: &Rc<Engine>,
    args: String,
    env_lines: String,
    stdin: String,
    keep_stdin: bool,
    timeout: String,
    allow_net: String,
) -> Result<Reply, Failure> {
    let (name, bytes) = engine.module.borrow().clone();
    let argv: Vec<String> = match split_words(&args, false) {
        Ok(a) => std::iter::once(name.clone()).chain(a).collect(),
        Err(e) => return Err(refused(format!("arguments: {e}"))),
    };
    mount_caps(engine, &allow_net).map_err(|e| refused(format!("network allowlist: {e}")))?;
    let envs: Vec<(String, String)> = env_lines
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect();
    let input = InputPipe::open();
    input.push(stdin.as_bytes());
    if !keep_stdin {
        input.close();
    }
    let timeout = crate::num::timeout(&timeout, 10.0);
    let id = engine.runs.next.get() + 1;
    engine.runs.next.set(id);
    let control = RunControl::new();
    engine
        .runs
        .live
        .borrow_mut()
        .insert(id, (control.clone(), keep_stdin.then(|| input.clone())));
    let label = argv.join(" ");
    let started = js_sys::Date::now();
    let engine = engine.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let emit = |e| (engine.emit)(e);
        let status = |s: String, running: bool| {
            emit(Event::RunStatus {
                id,
                status: s,
                running,
            })
        };
        // The run's end: `guest` is the guest's own time (instantiation to exit), shown
        // beside the whole run's (click to end) so the host's overhead is visible.
        let end = |outcome: String,
                   said: String,
                   guest: Option<Duration>,
                   exit_code: Option<i32>,
                   error: Option<String>,
                   stdout: String| {
            let ms = js_sys::Date::now() - started;
            engine.runs.live.borrow_mut().remove(&id);
            let guest = guest.map_or(String::new(), |g| {
                format!("; guest {} ms", one_decimal(g.as_secs_f64() * 1e3))
            });
            status(
                if said.is_empty() {
                    format!("{outcome} — {} ms{guest}", one_decimal(ms))
                } else {
                    format!("{outcome} — {} ms{guest} ({said})", one_decimal(ms))
                },
                false,
            );
            emit(Event::RunEnded {
                id,
                past: Past {
                    module: name.clone(),
                    args: argv[1..].join(" "),
                    outcome: outcome.clone(),
                    millis: ms,
                },
            });
            record_run(&engine.env, &argv, id, &stdout, exit_code, error, &outcome);
            emit(Event::Live);
        };
        let compiled = engine.compiler.module(&bytes).await;
        drop(bytes);
        emit(Event::Compiles(engine.compiler.compiles()));
        let module = match compiled {
            Ok(m) if !control.is_stopped() => m,
            Ok(_) => {
                return end(
                    "stopped on request".into(),
                    String::new(),
                    None,
                    None,
                    None,
                    String::new(),
                )
            }
            Err(e) => return end(e.clone(), String::new(), None, None, Some(e), String::new()),
        };
        // In place: the live namespace, or the review overlay runs share.
        let live_ns = engine.ns();
        let (run_ns, preopens, overlay) = if engine.reviews.auto_apply.get() {
            (live_ns, None, None)
        } else {
            let (rid, cow) = engine.join(&live_ns, &format!("run: {}", argv.join(" ")));
            match overlay_namespace(&live_ns, &cow) {
                Ok((ns, pre)) => (ns, Some(pre), Some(rid)),
                Err(e) => {
                    let said = engine.leave(rid);
                    return end(
                        format!("cannot set up the run: {e}"),
                        said,
                        None,
                        None,
                        Some(e),
                        String::new(),
                    );
                }
            }
        };
        engine.env.start_run();
        log_event(
            engine.env.logs(),
            "info",
            "run started",
            json!({"args": argv}),
        );
        status("running…".into(), true);
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
        // The observation's stdout (its first 4000 characters are kept).
        let stdout = RefCell::new(String::new());
        let flush = || {
            let chunks = pending.borrow_mut().take();
            if chunks.is_empty() {
                show_conns(&engine);
                return;
            }
            for (fd, bytes, text) in &chunks {
                let _ = engine.env.logs().append_stream(*fd, bytes);
                let mut s = stdout.borrow_mut();
                if *fd == 1 && s.len() < OBSERVED {
                    s.push_str(text);
                }
            }
            emit(Event::RunOutput {
                id,
                chunks: chunks.into_iter().map(|(fd, _, text)| (fd, text)).collect(),
            });
            show_conns(&engine);
            emit(Event::Live);
        };
        let out = with_ticks(
            engine
                .runner
                .run_module(&module, run_ns, cfg, control.clone()),
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
            Some(rid) => engine.leave(rid),
            None => {
                engine.touched();
                "applied without review: it ran in place".into()
            }
        };
        end(
            outcome,
            said,
            Some(out.duration),
            out.exit_code,
            out.error.map(|e| e.to_string()),
            stdout.take(),
        );
    });
    Ok(Reply::Started { id, label })
}

/// How much of a run's stdout is kept for the trajectory's observation (bytes; the
/// observation itself is cut to 4000 characters).
const OBSERVED: usize = 64 << 10;

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
    let stdout: String = crate::ansi::segments(stdout)
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
