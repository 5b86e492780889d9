//! The explorer's guest runner: a dedicated Web Worker that runs one WASI guest at a time on
//! [`BrowserRunner`] (JSPI), so the page never blocks. The page can terminate it (cancel,
//! timeout of a spinning guest).
//!
//! Protocol (structured-clone objects):
//! - page → worker: `{ wasm: Uint8Array, args: [string], env: [[k, v]], stdin: string,
//!   snapshot: string /* NamespaceSnapshot JSON */, timeout_ms: number }`
//!   `allow_net: string` (optional: comma-separated hosts; when not empty the worker mounts
//!   `/cap/http` and `/cap/ws` for them — capabilities hold live sockets, so they are
//!   created here from the grant, never copied from the page)
//! - worker → page, while running: `{ kind: "out", fd: 1 | 2, text: string }`, and
//!   `{ kind: "ws", conns: [{ id, state, url, error }] }` (WebSocket states, on change)
//! - worker → page, at the end: `{ kind: "done", exit_code: number | null,
//!   error: string | null, error_kind: "invalid" | "trap" | "timeout" | "memory" | "setup" |
//!   "host" | null, duration_ms: number, snapshot: string | null, compiles: number }`
//!   (`compiles`: modules this worker compiled so far; a worker runs message after message
//!   and keeps its compiled modules, which is how the page's job pool stays warm)
//! - page → worker: `{ kind: "compile", id: number, wasm: Uint8Array }`: the module is
//!   instrumented for time slices ([`oanix_core::instrument`]) and compiled here, off the
//!   page's thread; worker → page: `{ kind: "compiled", id, module: WebAssembly.Module }` or
//!   `{ kind: "compiled", id, error: string }`. The page runs the module itself, in place
//!   on its namespace (see the Run panel).
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
// Services are single-threaded on wasm32 (they may hold JS objects): an `Arc` of one is not
// `Send` (see core's `MaybeSendSync`).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use oanix_core::browser::BrowserRunner;
    use oanix_core::net::{Allowlist, NetGrant};
    use oanix_core::run::RunConfig;
    use oanix_core::services::{HttpFs, WsFs};
    use oanix_core::wasi::{InputPipe, OutputPipe};
    use oanix_core::{Namespace, NamespaceSnapshot};
    use std::rc::Rc;
    use std::sync::Arc;
    use std::time::Duration;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn post(scope: &DedicatedWorkerGlobalScope, fields: &[(&str, JsValue)]) {
        let o = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
        let _ = scope.post_message(&o);
    }

    fn get(o: &JsValue, k: &str) -> JsValue {
        Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
    }

    /// Streams one output fd to the page as UTF-8 text chunks.
    fn stream(scope: &DedicatedWorkerGlobalScope, fd: u32) -> OutputPipe {
        let scope = scope.clone();
        OutputPipe::new().with_sink(move |data: &[u8]| {
            post(
                &scope,
                &[
                    ("kind", "out".into()),
                    ("fd", fd.into()),
                    ("text", String::from_utf8_lossy(data).into_owned().into()),
                ],
            );
        })
    }

    async fn run(scope: DedicatedWorkerGlobalScope, runner: Rc<BrowserRunner>, msg: JsValue) {
        let done = |exit: JsValue, error: Option<(&str, String)>, ms: f64, snap: Option<String>| {
            let (kind, error) = match error {
                Some((k, e)) => (JsValue::from(k), JsValue::from(e)),
                None => (JsValue::NULL, JsValue::NULL),
            };
            post(
                &scope,
                &[
                    ("kind", "done".into()),
                    ("exit_code", exit),
                    ("error", error),
                    ("error_kind", kind),
                    ("duration_ms", ms.into()),
                    ("snapshot", snap.map_or(JsValue::NULL, Into::into)),
                    // Modules this worker has compiled so far (its cache serves the rest).
                    ("compiles", (runner.compile_count() as f64).into()),
                ],
            )
        };
        let wasm: Vec<u8> = get(&msg, "wasm")
            .dyn_into::<Uint8Array>()
            .map(|a| a.to_vec())
            .unwrap_or_default();
        let snapshot: Result<NamespaceSnapshot, String> = get(&msg, "snapshot")
            .as_string()
            .ok_or_else(|| "no namespace snapshot".to_string())
            .and_then(|s| serde_json::from_str(&s).map_err(|e| e.to_string()));
        let allow = get(&msg, "allow_net").as_string().unwrap_or_default();
        let ns = match snapshot.and_then(|s| {
            let mut ns = Namespace::from_snapshot(&s.without_capabilities())
                .map(|(ns, _)| ns)
                .map_err(|e| e.to_string())?;
            let ws = mount_caps(&mut ns, &allow)?;
            Ok((ns, ws))
        }) {
            Ok(ns) => ns,
            Err(e) => {
                return done(
                    JsValue::NULL,
                    Some(("setup", format!("bad request: {e}"))),
                    0.0,
                    None,
                )
            }
        };
        let strings = |v: JsValue| -> Vec<String> {
            v.dyn_into::<Array>()
                .map(|a| a.iter().filter_map(|s| s.as_string()).collect())
                .unwrap_or_default()
        };
        let env = get(&msg, "env")
            .dyn_into::<Array>()
            .map(|a| {
                a.iter()
                    .filter_map(|kv| {
                        let kv = strings(kv);
                        Some((kv.first()?.clone(), kv.get(1)?.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let timeout = get(&msg, "timeout_ms").as_f64().unwrap_or(10_000.0);
        let cfg = RunConfig {
            args: strings(get(&msg, "args")),
            env,
            stdin: InputPipe::from_bytes(get(&msg, "stdin").as_string().unwrap_or_default()),
            stdout: Some(stream(&scope, 1)),
            stderr: Some(stream(&scope, 2)),
            timeout: Some(Duration::from_millis(timeout as u64)),
            ..Default::default()
        };
        let (ns, ws) = ns;
        let ns_after = ns.clone();
        // WebSocket states go to the page while the guest runs (checked every 200 ms, sent
        // on change) and once more at the end.
        let ticker = ws.map(|ws| WsReporter::start(&scope, ws));
        let out = runner.run(&wasm, ns, cfg).await;
        if let Some(t) = ticker {
            t.stop();
        }
        let snap = serde_json::to_string(&ns_after.snapshot().without_capabilities()).ok();
        done(
            out.exit_code.map_or(JsValue::NULL, |c| c.into()),
            out.error.map(|e| (e.kind(), e.to_string())),
            out.duration.as_secs_f64() * 1e3,
            snap,
        );
    }

    /// Mounts `/cap/http` and `/cap/ws` for the comma-separated hosts (none: no network).
    fn mount_caps(ns: &mut Namespace, allow: &str) -> Result<Option<Arc<WsFs>>, String> {
        if allow.trim().is_empty() {
            return Ok(None);
        }
        let grant = NetGrant::new(Allowlist::parse([allow]).map_err(|e| e.to_string())?);
        ns.mount("/cap/http", Arc::new(HttpFs::new(grant.clone())))
            .map_err(|e| e.to_string())?;
        let ws = Arc::new(WsFs::new(grant));
        ns.mount("/cap/ws", ws.clone()).map_err(|e| e.to_string())?;
        Ok(Some(ws))
    }

    /// Posts the WebSocket table when it changes (and when stopped).
    struct WsReporter {
        scope: DedicatedWorkerGlobalScope,
        ws: Arc<WsFs>,
        last: Rc<std::cell::RefCell<String>>,
        interval: Option<i32>,
        _tick: Closure<dyn FnMut()>,
    }

    fn ws_table(ws: &WsFs) -> (String, Array) {
        let rows = Array::new();
        let mut key = String::new();
        for s in ws.connections() {
            let status = s.status_json();
            key.push_str(s.id());
            key.push_str(&status);
            let row: JsValue = js_sys::JSON::parse(&status).unwrap_or(JsValue::NULL);
            let _ = Reflect::set(&row, &"id".into(), &s.id().into());
            rows.push(&row);
        }
        (key, rows)
    }

    impl WsReporter {
        fn start(scope: &DedicatedWorkerGlobalScope, ws: Arc<WsFs>) -> Self {
            let last = Rc::new(std::cell::RefCell::new(String::new()));
            let (s, w, l) = (scope.clone(), ws.clone(), last.clone());
            let tick = Closure::<dyn FnMut()>::new(move || report(&s, &w, &l));
            let interval = scope
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    200,
                )
                .ok();
            WsReporter {
                scope: scope.clone(),
                ws,
                last,
                interval,
                _tick: tick,
            }
        }

        fn stop(self) {
            if let Some(id) = self.interval {
                self.scope.clear_interval_with_handle(id);
            }
            report(&self.scope, &self.ws, &self.last);
        }
    }

    fn report(scope: &DedicatedWorkerGlobalScope, ws: &WsFs, last: &std::cell::RefCell<String>) {
        let (key, rows) = ws_table(ws);
        if *last.borrow() != key {
            *last.borrow_mut() = key;
            post(scope, &[("kind", "ws".into()), ("conns", rows.into())]);
        }
    }

    /// Instruments and compiles a module for the page (which runs it on its own thread).
    async fn compile(scope: DedicatedWorkerGlobalScope, msg: JsValue) {
        let id = get(&msg, "id");
        let wasm: Vec<u8> = get(&msg, "wasm")
            .dyn_into::<Uint8Array>()
            .map(|a| a.to_vec())
            .unwrap_or_default();
        let compiled =
            match oanix_core::instrument::instrument(&wasm, oanix_core::instrument::DEFAULT_BUDGET)
            {
                Ok(bytes) => wasm_bindgen_futures::JsFuture::from(js_sys::WebAssembly::compile(
                    &Uint8Array::from(bytes.as_slice()),
                ))
                .await
                .map_err(|e| {
                    e.dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_else(|| format!("{e:?}"))
                }),
                Err(e) => Err(e.to_string()),
            };
        match compiled {
            Ok(module) => post(
                &scope,
                &[("kind", "compiled".into()), ("id", id), ("module", module)],
            ),
            Err(e) => post(
                &scope,
                &[("kind", "compiled".into()), ("id", id), ("error", e.into())],
            ),
        }
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let runner = Rc::new(BrowserRunner::new());
        let s = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let msg = e.data();
            if get(&msg, "kind").as_string().as_deref() == Some("compile") {
                wasm_bindgen_futures::spawn_local(compile(s.clone(), msg));
            } else {
                wasm_bindgen_futures::spawn_local(run(s.clone(), runner.clone(), msg));
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // lives as long as the worker
        post(&scope, &[("kind", "ready".into())]);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

/// The worker exists only in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
