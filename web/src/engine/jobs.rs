//! The explorer's [`Scheduler`], whose guests run in the engine worker like the Run panel's
//! ([`PageHost`]): instrumented and compiled once per page in a worker
//! ([`super::compile::Compiler`]), then run in place — in the review overlay runs and jobs
//! share, or in the live namespace with "apply without review" — no copy of the namespace
//! per job. A cancelled job (the scheduler drops its run) or one past its timeout is unwound
//! at its next tick or WASI call, even one spinning without syscalls. The job list is read
//! from `/jobs` (the scheduler's jobs as files) and cancel writes `cancel` to
//! `/jobs/{id}/ctl`.

use super::runs::{overlay_namespace, GUEST_MEMORY};
use super::Engine;
use crate::proto::{Event, Failure, JobRow, JobsRequest, Reply};
use oanix_core::browser::RunControl;
use oanix_core::env::WasiHost;
use oanix_core::run::{RunConfig, RunError, RunOutput};
use oanix_core::scheduler::{JobKind, JobSpec, Module};
use oanix_core::Namespace;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Whether the scheduler is being driven, and how many jobs ran to their end.
#[derive(Default)]
pub(super) struct Jobs {
    driving: Cell<bool>,
    ran: Cell<u64>,
}

/// Runs the scheduler's guests in the engine worker, in place.
struct PageHost {
    engine: Rc<Engine>,
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
    engine: Rc<Engine>,
    id: Option<u64>,
}

impl Joined {
    fn leave(mut self) -> Option<String> {
        self.id.take().map(|id| self.engine.leave(id))
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.engine.leave(id);
        }
    }
}

impl PageHost {
    async fn run(&self, bytes: Vec<u8>, ns: Namespace, mut cfg: RunConfig) -> RunOutput {
        let engine = &self.engine;
        let control = RunControl::new();
        let _stop = StopOnDrop(control.clone());
        let module = engine.compiler.module(&bytes).await;
        (engine.emit)(Event::Compiles(engine.compiler.compiles()));
        let module = match module {
            Ok(m) => m,
            Err(e) => return RunOutput::failed(RunError::InvalidModule(e)),
        };
        drop(bytes);
        let label = format!("job: {}", cfg.args.join(" "));
        // In place: the live namespace, or the review overlay runs and jobs share.
        let mut joined = Joined {
            engine: engine.clone(),
            id: None,
        };
        let run_ns = if engine.reviews.auto_apply.get() {
            ns
        } else {
            let (rid, cow) = engine.join(&ns, &label);
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
        let out = engine
            .runner
            .run_module(&module, run_ns, cfg, control.clone())
            .await;
        engine.jobs.ran.set(engine.jobs.ran.get() + 1);
        let said = joined.leave().unwrap_or_else(|| {
            engine.touched();
            "applied without review: it ran in place".into()
        });
        (engine.emit)(Event::Jobs {
            ran: engine.jobs.ran.get(),
            said: Some(format!("{label}: {said}")),
            idle: false,
        });
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

/// Drives the scheduler until it is idle (once at a time).
fn drive(engine: &Rc<Engine>) {
    if engine.jobs.driving.replace(true) {
        return;
    }
    (engine.emit)(Event::Jobs {
        ran: engine.jobs.ran.get(),
        said: None,
        idle: false,
    });
    let host = PageHost {
        engine: engine.clone(),
    };
    let scheduler = engine.scheduler.clone();
    wasm_bindgen_futures::spawn_local(async move {
        scheduler.run(&host).await;
        let engine = host.engine;
        engine.jobs.driving.set(false);
        (engine.emit)(Event::Jobs {
            ran: engine.jobs.ran.get(),
            said: None,
            idle: true,
        });
        engine.touched();
    });
}

/// Answers a Jobs panel request.
pub(super) fn handle(engine: &Rc<Engine>, request: JobsRequest) -> Result<Reply, Failure> {
    match request {
        JobsRequest::Submit {
            count,
            priority,
            timeout,
        } => {
            let (name, bytes) = engine.module.borrow().clone();
            let n: usize = count.trim().parse().unwrap_or(1).clamp(1, 1000);
            let prio: i32 = priority.trim().parse().unwrap_or(0);
            let timeout = crate::num::timeout(&timeout, 10.0);
            let bytes: std::sync::Arc<[u8]> = bytes.as_slice().into();
            for _ in 0..n {
                engine.scheduler.submit(JobSpec {
                    kind: JobKind::Wasi {
                        module: Module::Bytes(bytes.clone()),
                        args: vec![name.clone()],
                        stdin: String::new(),
                    },
                    priority: prio,
                    timeout: Some(timeout),
                });
            }
            drive(engine);
            Ok(Reply::Done)
        }
        JobsRequest::List => Ok(Reply::Jobs(jobs_from_files(&engine.ns()))),
        JobsRequest::Cancel { id } => {
            engine
                .ns()
                .write_file(&format!("/jobs/{id}/ctl"), b"cancel")?;
            Ok(Reply::Done)
        }
        JobsRequest::Output { id } => {
            let ns = engine.ns();
            Ok(Reply::Said(
                ["stdout", "stderr"]
                    .iter()
                    .filter_map(|f| ns.read_file(&format!("/jobs/{id}/{f}")).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .collect(),
            ))
        }
    }
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
