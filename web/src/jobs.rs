//! The Jobs view: a [`Scheduler`] on the page whose guests run in Web Workers
//! ([`WorkerHost`]: a pool of workers kept warm — each compiles a module once and runs job
//! after job — and a running job's worker is terminated on cancel or timeout, so even a
//! guest spinning without syscalls stops). The job list is read from `/jobs` (the
//! scheduler's jobs as files) and cancel writes `cancel` to `/jobs/{id}/ctl`. What a job
//! wrote (in its worker's copy of the namespace) is offered for review like a run's
//! ([`crate::review`]).

use crate::review::{stage_snapshot, Reviews};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use leptos::prelude::*;
use oanix_core::env::WasiHost;
use oanix_core::run::{RunConfig, RunError, RunOutput};
use oanix_core::scheduler::{JobKind, JobSpec, Module, Scheduler};
use oanix_core::Namespace;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

/// Runs each guest in a fresh worker (`oanix-worker`), like the Run panel; `done` gets
/// each finished guest's command line, the snapshot (JSON) it started from and the one its
/// worker sent back.
pub struct WorkerHost {
    done: Rc<JobDone>,
}

/// What [`WorkerHost`] calls when a guest ends: command line, starting snapshot, result.
type JobDone = dyn Fn(String, &str, String);

/// Most idle workers kept warm (the scheduler runs two jobs at once).
const MAX_IDLE: usize = 4;

/// The job workers' pool: idle workers (each with the number of modules it has compiled),
/// and counts for the Jobs panel.
#[derive(Default)]
struct Pool {
    idle: Vec<(Worker, u64)>,
    /// Modules compiled by all job workers so far.
    compiles: u64,
    /// Jobs that ran to their end in a worker.
    jobs: u64,
}

thread_local! {
    /// Job workers are reused: each keeps its compiled modules, so a module (say a 10 MB
    /// coreutils) is compiled once per worker of the pool, not once per job. A worker whose
    /// job timed out or was cancelled is terminated, not reused.
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// What the Jobs panel shows of the pool: idle workers, compiles, jobs run.
pub fn pool_figures() -> (usize, u64, u64) {
    POOL.with(|p| {
        let p = p.borrow();
        (p.idle.len(), p.compiles, p.jobs)
    })
}

/// Terminates the worker when the run is dropped (a cancelled job) unless it was handed
/// back to the pool.
struct Kill(Option<Worker>);

impl Drop for Kill {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            w.terminate();
        }
    }
}

/// The page's listener on a worker for one job; unset (then freed) when the job ends.
struct Listening {
    worker: Worker,
    _on: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
    }
}

fn read_stdin(cfg: &RunConfig) -> String {
    let h = cfg.stdin.handle();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = h.read_at(&mut buf, out.len() as u64) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &k.into(), v);
}

async fn run_in_worker(
    bytes: Vec<u8>,
    ns: Namespace,
    cfg: RunConfig,
    done_cb: Rc<JobDone>,
) -> RunOutput {
    let host = |m: String| RunOutput::failed(RunError::Host(m));
    let snapshot = match serde_json::to_string(&ns.snapshot()) {
        Ok(s) => s,
        Err(e) => return host(e.to_string()),
    };
    let msg = Object::new();
    set(&msg, "wasm", &Uint8Array::from(bytes.as_slice()).into());
    set(
        &msg,
        "args",
        &cfg.args.iter().map(JsValue::from).collect::<Array>().into(),
    );
    let env: Array = cfg
        .env
        .iter()
        .map(|(k, v)| JsValue::from(Array::of2(&k.into(), &v.into())))
        .collect();
    set(&msg, "env", &env.into());
    set(&msg, "stdin", &read_stdin(&cfg).into());
    set(&msg, "snapshot", &snapshot.as_str().into());
    let timeout = cfg.timeout.unwrap_or(Duration::from_secs(3600));
    set(&msg, "timeout_ms", &(timeout.as_millis() as f64).into());
    let (worker, compiled_before, fresh) = match POOL.with(|p| p.borrow_mut().idle.pop()) {
        Some((w, n)) => (w, n, false),
        None => match Worker::new(crate::run::WORKER_URL) {
            Ok(w) => (w, 0, true),
            Err(e) => return host(format!("cannot start a worker: {e:?}")),
        },
    };
    let mut kill = Kill(Some(worker.clone()));
    let stdout = Rc::new(RefCell::new(Vec::new()));
    let stderr = Rc::new(RefCell::new(Vec::new()));
    let resolver: Rc<RefCell<Option<Function>>> = Rc::default();
    let done = Promise::new(&mut |resolve: Function, _| {
        *resolver.borrow_mut() = Some(resolve);
    });
    let on = {
        let (out, err, w, msg) = (stdout.clone(), stderr.clone(), worker.clone(), msg.clone());
        let resolver = resolver.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let d = e.data();
            let get = |k: &str| Reflect::get(&d, &k.into()).unwrap_or(JsValue::UNDEFINED);
            match get("kind").as_string().as_deref() {
                Some("ready") => {
                    let _ = w.post_message(&msg);
                }
                Some("out") => {
                    let text = get("text").as_string().unwrap_or_default();
                    let sink = if get("fd").as_f64() == Some(2.0) {
                        &err
                    } else {
                        &out
                    };
                    sink.borrow_mut().extend_from_slice(text.as_bytes());
                }
                Some("done") => {
                    if let Some(resolve) = resolver.borrow().as_ref() {
                        let _ = resolve.call1(&JsValue::NULL, &d);
                    }
                }
                _ => {}
            }
        })
    };
    worker.set_onmessage(Some(on.as_ref().unchecked_ref()));
    let listening = Listening {
        worker: worker.clone(),
        _on: on,
    };
    if !fresh {
        // A pooled worker is ready already.
        if let Err(e) = worker.post_message(&msg) {
            return host(format!("cannot reach a pooled worker: {e:?}"));
        }
    }
    // The hard timeout: a spinning guest is stopped by terminating its worker.
    let limit = Promise::new(&mut |resolve: Function, _| {
        let st: Option<Function> = web_sys::window()
            .and_then(|w| Reflect::get(&w, &"setTimeout".into()).ok())
            .and_then(|f| f.dyn_into().ok());
        if let Some(st) = st {
            let ms = timeout.as_millis() as f64 + 500.0;
            let _ = st.call2(&JsValue::NULL, &resolve, &ms.into());
        }
    });
    let first = JsFuture::from(Promise::race(&Array::of2(&done, &limit))).await;
    let mut result = RunOutput::default();
    let d = match first {
        Ok(d) if d.is_object() => d,
        _ => {
            result.error = Some(RunError::Timeout(timeout));
            result.stdout = stdout.take();
            result.stderr = stderr.take();
            return result; // `worker` dropped here: terminated
        }
    };
    let get = |k: &str| Reflect::get(&d, &k.into()).unwrap_or(JsValue::UNDEFINED);
    // The job ended in its worker: back to the pool (warm), unless the pool is full.
    drop(listening);
    let compiled = get("compiles")
        .as_f64()
        .map_or(compiled_before, |n| n as u64);
    if let Some(w) = kill.0.take() {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            p.compiles += compiled.saturating_sub(compiled_before);
            p.jobs += 1;
            if p.idle.len() < MAX_IDLE {
                p.idle.push((w, compiled));
            } else {
                w.terminate();
            }
        });
    }
    if let Some(snap) = get("snapshot").as_string() {
        done_cb(cfg.args.join(" "), &snapshot, snap);
    }
    result.exit_code = get("exit_code").as_f64().map(|c| c as i32);
    if let Some(e) = get("error").as_string() {
        result.error = Some(match get("error_kind").as_string().as_deref() {
            Some("invalid") => RunError::InvalidModule(e),
            Some("timeout") => RunError::Timeout(timeout),
            Some("memory") => RunError::MemoryLimit(cfg.max_memory.unwrap_or(0)),
            Some("trap") => RunError::Trap(e),
            _ => RunError::Host(e),
        });
    }
    result.duration = Duration::from_secs_f64(get("duration_ms").as_f64().unwrap_or(0.0) / 1e3);
    result.stdout = stdout.take();
    result.stderr = stderr.take();
    result
}

impl WasiHost for WorkerHost {
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        cfg: RunConfig,
    ) -> Pin<Box<dyn Future<Output = RunOutput> + 'a>> {
        Box::pin(run_in_worker(bytes.to_vec(), ns, cfg, self.done.clone()))
    }
}

/// The Jobs panel: queue the Run panel's module as jobs, watch them, cancel them.
#[component]
pub fn JobsPanel(
    ns: StoredValue<Namespace, LocalStorage>,
    scheduler: StoredValue<Scheduler, LocalStorage>,
    module: StoredValue<(String, Vec<u8>), LocalStorage>,
    reviews: Reviews,
    changed: WriteSignal<u64>,
) -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let status = RwSignal::new(String::new());
    let running = StoredValue::new(false);
    let priority = RwSignal::new("0".to_string());
    let count = RwSignal::new("1".to_string());
    let timeout = RwSignal::new("10".to_string());
    let shown = RwSignal::new(None::<u64>);
    // Drives the scheduler until idle; a poll refreshes the view meanwhile.
    let drive = move || {
        if running.get_value() {
            return;
        }
        running.set_value(true);
        let s = scheduler.get_value();
        // A finished job's writes are staged against the live namespace and offered.
        let done = move |label: String, before: &str, snap: String| {
            let label = format!("job: {label}");
            let said = match ns.with_value(|ns| stage_snapshot(ns, before, &snap)) {
                Ok(cow) => reviews.offer(label.clone(), cow),
                Err(e) => format!("its changes cannot be staged ({e})"),
            };
            status.set(format!("{label}: {said}"));
        };
        let host = WorkerHost {
            done: Rc::new(done),
        };
        leptos::task::spawn_local(async move {
            s.run(&host).await;
            running.set_value(false);
            tick.update(|t| *t += 1);
            changed.update(|c| *c += 1);
        });
        let poll = Closure::<dyn FnMut()>::new(move || tick.update(|t| *t += 1));
        if let Some(w) = web_sys::window() {
            let id = w
                .set_interval_with_callback_and_timeout_and_arguments_0(
                    poll.as_ref().unchecked_ref(),
                    300,
                )
                .unwrap_or(0);
            poll.forget();
            // Stop polling once idle.
            let stop = Closure::<dyn FnMut()>::new(move || {
                if !running.get_value() {
                    if let Some(w) = web_sys::window() {
                        w.clear_interval_with_handle(id);
                    }
                }
            });
            let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
                stop.as_ref().unchecked_ref(),
                1000,
            );
            stop.forget();
        }
    };
    let submit = move |_| {
        let (name, bytes) = module.get_value();
        let n: usize = count
            .get_untracked()
            .trim()
            .parse()
            .unwrap_or(1)
            .clamp(1, 1000);
        let prio: i32 = priority.get_untracked().trim().parse().unwrap_or(0);
        let secs: f64 = timeout.get_untracked().trim().parse().unwrap_or(10.0);
        let bytes: std::sync::Arc<[u8]> = bytes.into();
        for _ in 0..n {
            scheduler.with_value(|s| {
                s.submit(JobSpec {
                    kind: JobKind::Wasi {
                        module: Module::Bytes(bytes.clone()),
                        args: vec![name.clone()],
                        stdin: String::new(),
                    },
                    priority: prio,
                    timeout: Some(Duration::from_secs_f64(secs.max(0.1))),
                })
            });
        }
        tick.update(|t| *t += 1);
        drive();
    };
    view! {
        <section class="jobs-panel" aria-label="Jobs">
            <h2>"Jobs"</h2>
            <div class="run-actions">
                <label>"Priority " <input type="number" class="job-priority" bind:value=priority/></label>
                <label>"Count " <input type="number" min="1" max="1000" class="job-count" bind:value=count/></label>
                <label>"Timeout (s) " <input type="number" min="0.1" step="0.1" class="job-timeout" bind:value=timeout/></label>
                <button class="queue-button" on:click=submit>"Queue the Run panel's module"</button>
            </div>
            <p class="job-status" role="status">{move || status.get()}</p>
            <p class="job-pool">
                {move || {
                    tick.track();
                    let (idle, compiles, jobs) = pool_figures();
                    format!(
                        "worker pool: {idle} idle; {jobs} job(s) ran, module(s) compiled {compiles} time(s)"
                    )
                }}
            </p>
            <table class="listing jobs">
                <thead><tr><th>"Job"</th><th>"Priority"</th><th>"State"</th><th></th></tr></thead>
                <tbody>
                    {move || {
                        tick.track();
                        ns.with_value(jobs_from_files)
                            .into_iter()
                            .map(|j| {
                                let id = j.id;
                                view! {
                                    <tr class="job-row">
                                        <td><button class="link" on:click=move |_| shown.set(Some(id))>{format!("#{id}")}</button></td>
                                        <td class="num">{j.priority}</td>
                                        <td class="job-state">{j.state}</td>
                                        <td>
                                            {j.active.then(|| view! {
                                                <button class="cancel-job" on:click=move |_| {
                                                    let ctl = format!("/jobs/{id}/ctl");
                                                    if let Err(e) = ns.with_value(|ns| ns.write_file(&ctl, b"cancel")) {
                                                        status.set(format!("cannot cancel #{id}: {e}"));
                                                    }
                                                    tick.update(|t| *t += 1);
                                                }>"cancel"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            <pre class="run-output job-output">
                {move || {
                    tick.track();
                    shown.get().map(|id| {
                        ns.with_value(|ns| {
                            ["stdout", "stderr"]
                                .iter()
                                .filter_map(|f| ns.read_file(&format!("/jobs/{id}/{f}")).ok())
                                .map(|b| String::from_utf8_lossy(&b).into_owned())
                                .collect::<String>()
                        })
                    })
                }}
            </pre>
        </section>
    }
}

/// One row of the job list, as `/jobs/{id}/status` and `spec.json` tell it.
struct JobRow {
    id: u64,
    priority: i64,
    state: String,
    active: bool,
}

/// The newest 50 jobs, read from `/jobs`.
fn jobs_from_files(ns: &Namespace) -> Vec<JobRow> {
    let read = |p: String| -> Option<serde_json::Value> {
        serde_json::from_slice(&ns.read_file(&p).ok()?).ok()
    };
    let mut ids: Vec<u64> = ns
        .list("/jobs")
        .map(|v| v.into_iter().filter_map(|e| e.name.parse().ok()).collect())
        .unwrap_or_default();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.into_iter()
        .take(50)
        .filter_map(|id| {
            let status = read(format!("/jobs/{id}/status"))?;
            let priority = read(format!("/jobs/{id}/spec.json"))
                .and_then(|s| s["priority"].as_i64())
                .unwrap_or(0);
            let state = status["state"].as_str().unwrap_or("?").to_string();
            let active = state == "queued" || state == "running";
            let state = match status["error"].as_str() {
                Some(e) => format!("{state}: {e}"),
                None => state,
            };
            Some(JobRow {
                id,
                priority,
                state,
                active,
            })
        })
        .collect()
}
