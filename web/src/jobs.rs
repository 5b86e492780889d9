//! The Jobs view: a [`Scheduler`] on the page whose guests run on the page like the Run
//! panel's ([`PageHost`]): instrumented and compiled once per page in a worker
//! ([`Compiler`]), then run in place — in the review overlay runs and jobs share, or in the
//! live namespace with "apply without review" — no copy of the namespace per job. A
//! cancelled job (the scheduler drops its run) or one past its timeout is unwound at its
//! next tick or WASI call, even one spinning without syscalls. The job list is read from
//! `/jobs` (the scheduler's jobs as files) and cancel writes `cancel` to `/jobs/{id}/ctl`.

use crate::compile::Compiler;
use crate::review::Reviews;
use crate::run::{overlay_namespace, GUEST_MEMORY};
use leptos::prelude::*;
use oanix_core::browser::{BrowserRunner, RunControl};
use oanix_core::env::WasiHost;
use oanix_core::run::{RunConfig, RunError, RunOutput};
use oanix_core::scheduler::{JobKind, JobSpec, Module, Scheduler};
use oanix_core::Namespace;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Runs the scheduler's guests on the page, in place.
pub struct PageHost {
    compiler: Rc<Compiler>,
    runner: Rc<BrowserRunner>,
    reviews: Reviews,
    /// Jobs that ran to their end.
    ran: Rc<Cell<u64>>,
    /// Called with each finished job's label and what became of its changes.
    done: Rc<dyn Fn(String, String)>,
}

/// Stops a run when its future is dropped (how the scheduler cancels a running job).
struct StopOnDrop(Rc<RunControl>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A job's place in the review overlay: left when the job ends, also when the scheduler
/// drops a cancelled job's run (so the overlay can be committed once the others end).
struct Joined {
    reviews: Reviews,
    id: Option<u64>,
}

impl Joined {
    fn leave(mut self) -> Option<String> {
        self.id.take().map(|id| self.reviews.leave(id))
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.reviews.leave(id);
        }
    }
}

impl PageHost {
    async fn run(&self, bytes: Vec<u8>, ns: Namespace, mut cfg: RunConfig) -> RunOutput {
        let control = RunControl::new();
        let _stop = StopOnDrop(control.clone());
        let module = match self.compiler.module(&bytes).await {
            Ok(m) => m,
            Err(e) => return RunOutput::failed(RunError::InvalidModule(e)),
        };
        drop(bytes);
        let label = format!("job: {}", cfg.args.join(" "));
        // In place: the live namespace, or the review overlay runs and jobs share.
        let mut joined = Joined {
            reviews: self.reviews,
            id: None,
        };
        let run_ns = if self.reviews.auto_apply.get_untracked() {
            ns
        } else {
            let (rid, cow) = self.reviews.join(&ns, &label);
            joined.id = Some(rid);
            match overlay_namespace(&ns, &cow) {
                Ok((over, preopens)) => {
                    if cfg.preopens.is_none() {
                        cfg.preopens = Some(preopens);
                    }
                    over
                }
                Err(e) => return RunOutput::failed(RunError::Host(e)),
            }
        };
        cfg.max_memory = Some(cfg.max_memory.map_or(GUEST_MEMORY, |m| m.min(GUEST_MEMORY)));
        let out = self
            .runner
            .run_module(&module, run_ns, cfg, control.clone())
            .await;
        self.ran.set(self.ran.get() + 1);
        let said = joined.leave().unwrap_or_else(|| {
            self.reviews.touched();
            "applied without review: it ran in place".into()
        });
        (self.done)(label, said);
        out
    }
}

impl WasiHost for PageHost {
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        cfg: RunConfig,
    ) -> Pin<Box<dyn Future<Output = RunOutput> + 'a>> {
        Box::pin(self.run(bytes.to_vec(), ns, cfg))
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
    compiler: StoredValue<Rc<Compiler>, LocalStorage>,
    runner: StoredValue<Rc<BrowserRunner>, LocalStorage>,
) -> impl IntoView {
    let ran = StoredValue::new_local(Rc::new(Cell::new(0u64)));
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
        // What became of a finished job's writes (in the review overlay, or applied).
        let done = move |label: String, said: String| status.set(format!("{label}: {said}"));
        let host = PageHost {
            compiler: compiler.get_value(),
            runner: runner.get_value(),
            reviews,
            ran: ran.get_value(),
            done: Rc::new(done),
        };
        leptos::task::spawn_local(async move {
            s.run(&host).await;
            running.set_value(false);
            tick.update(|t| *t += 1);
            changed.update(|c| *c += 1);
        });
        // Refreshes the view every 300 ms while jobs run; the last tick after the run ended
        // clears the interval and lets its closure go.
        let id = Rc::new(std::cell::Cell::new(None::<i32>));
        let slot = Rc::new(std::cell::RefCell::new(None::<Closure<dyn FnMut()>>));
        let poll = {
            let (id, slot) = (id.clone(), slot.clone());
            Closure::<dyn FnMut()>::new(move || {
                tick.update(|t| *t += 1);
                if !running.get_value() {
                    if let (Some(w), Some(handle)) = (web_sys::window(), id.take()) {
                        w.clear_interval_with_handle(handle);
                    }
                    // Dropped after this call returns (not while it runs).
                    let closure = slot.borrow_mut().take();
                    leptos::task::spawn_local(async move { drop(closure) });
                }
            })
        };
        if let Some(w) = web_sys::window() {
            id.set(
                w.set_interval_with_callback_and_timeout_and_arguments_0(
                    poll.as_ref().unchecked_ref(),
                    300,
                )
                .ok(),
            );
        }
        *slot.borrow_mut() = Some(poll);
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
        let timeout = crate::num::timeout(&timeout.get_untracked(), 10.0);
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
                    timeout: Some(timeout),
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
                    let jobs = ran.with_value(|r| r.get());
                    let compiles = compiler.with_value(|c| c.compiles());
                    format!(
                        "{jobs} job(s) ran on the page; modules compiled for this page: {compiles}"
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
