//! `OanixEnv`: an agent environment = id + namespace + the host that runs its guests + status.
//!
//! The builder assembles the standard mounts: `/task` ([`TaskFs`]), `/workspace` (a
//! [`MemFs`] or any service given), `/logs` ([`LogsFs`]), `/tmp`, and `/env/status` (this
//! environment's status as JSON). [`OanixEnv::run_wasi`] runs a guest through any
//! [`WasiHost`] (wasmtime natively, the browser's WebAssembly API on wasm32): the guest's
//! stdout/stderr also go to `/logs`, and each transition is recorded (created → running →
//! completed with exit code 0, or failed with the exit code or error). Capabilities are
//! granted explicitly: [`OanixEnvBuilder::cap_http`] and [`OanixEnvBuilder::cap_ws`] mount
//! `/cap/http` and `/cap/ws` for a host allowlist; without them the guest has no network.

use crate::net::NetGrant;
use crate::run::{RunConfig, RunError, RunOutput};
use crate::service::{lock, FileService};
use crate::services::{LogLimits, LogsFs, TaskFs, TaskSpec, TaskStatusHandle};
use crate::wasi::OutputPipe;
use crate::{clock, FsResult, FuncFs, MemFs, MemFsLimits, Namespace};
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// A host able to run a WASI guest in a namespace.
pub trait WasiHost {
    /// Runs `bytes` in `ns` with `cfg` to completion or error.
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        cfg: RunConfig,
    ) -> Pin<Box<dyn Future<Output = RunOutput> + 'a>>;
}

#[cfg(target_arch = "wasm32")]
impl WasiHost for crate::browser::BrowserRunner {
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        cfg: RunConfig,
    ) -> Pin<Box<dyn Future<Output = RunOutput> + 'a>> {
        Box::pin(self.run(bytes, ns, cfg))
    }
}

/// Where an environment is in its life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum EnvState {
    /// Built, nothing run yet.
    Created,
    /// A guest is running.
    Running,
    /// The last guest exited with code 0.
    Completed {
        /// Always 0.
        exit_code: i32,
    },
    /// The last guest exited non-zero, trapped, timed out or could not start.
    Failed {
        /// Its exit code, when it exited.
        exit_code: Option<i32>,
        /// What went wrong.
        error: String,
    },
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// When (ns since the epoch).
    pub at: u64,
    /// The new state.
    pub state: EnvState,
}

#[derive(Serialize)]
struct StatusDoc {
    id: String,
    current: EnvState,
    history: Vec<Transition>,
}

/// An agent environment.
pub struct OanixEnv {
    id: String,
    ns: Namespace,
    logs: Arc<LogsFs>,
    task: Option<TaskStatusHandle>,
    history: Arc<Mutex<Vec<Transition>>>,
}

/// Builds an [`OanixEnv`].
pub struct OanixEnvBuilder {
    id: String,
    task: Option<TaskFs>,
    workspace: Option<Arc<dyn FileService>>,
    limits: LogLimits,
    memory: MemFsLimits,
    extra: Vec<(String, Arc<dyn FileService>)>,
}

impl OanixEnv {
    /// A builder for environment `id`.
    pub fn builder(id: impl Into<String>) -> OanixEnvBuilder {
        OanixEnvBuilder {
            id: id.into(),
            task: None,
            workspace: None,
            limits: LogLimits::default(),
            memory: MemFsLimits::default(),
            extra: Vec::new(),
        }
    }

    /// The environment's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its namespace (a cheap clone sharing the services).
    pub fn namespace(&self) -> Namespace {
        self.ns.clone()
    }

    /// The `/logs` service.
    pub fn logs(&self) -> &Arc<LogsFs> {
        &self.logs
    }

    /// The current state.
    pub fn status(&self) -> EnvState {
        lock(&self.history)
            .last()
            .map_or(EnvState::Created, |t| t.state.clone())
    }

    /// Every transition so far, oldest first.
    pub fn history(&self) -> Vec<Transition> {
        lock(&self.history).clone()
    }

    /// Records the start of a run driven elsewhere (e.g. a guest in a browser worker that
    /// [`Self::run_wasi`] cannot reach): the environment and `/task` become running.
    /// [`Self::run_wasi`] does this itself.
    pub fn start_run(&self) {
        self.record(EnvState::Running);
        if let Some(t) = &self.task {
            t.start();
        }
    }

    /// Records the end of a run started with [`Self::start_run`]: completed when it
    /// exited 0, failed otherwise (its exit code, else `error`); `/task`'s status follows.
    pub fn finish_run(&self, exit_code: Option<i32>, error: Option<String>) {
        let state = match (exit_code, error) {
            (Some(0), _) => EnvState::Completed { exit_code: 0 },
            (Some(code), _) => EnvState::Failed {
                exit_code: Some(code),
                error: format!("exited with code {code}"),
            },
            (None, Some(e)) => EnvState::Failed {
                exit_code: None,
                error: e,
            },
            (None, None) => EnvState::Failed {
                exit_code: None,
                error: RunError::Host("no exit code".into()).to_string(),
            },
        };
        if let Some(t) = &self.task {
            match (exit_code, &state) {
                (Some(code), _) => t.exit(code),
                (None, EnvState::Failed { error, .. }) => t.fail(error.clone()),
                _ => {}
            }
        }
        self.record(state);
    }

    fn record(&self, state: EnvState) {
        record(&self.history, state);
    }

    /// Runs a guest in this environment's namespace on `host`. Every mount is preopened
    /// unless `cfg.preopens` says otherwise; stdout/stderr also go to `/logs`.
    pub async fn run_wasi(
        &self,
        host: &dyn WasiHost,
        bytes: &[u8],
        mut cfg: RunConfig,
    ) -> RunOutput {
        self.start_run();
        cfg.stdout = Some(tee(&self.logs, 1, cfg.stdout.take()));
        cfg.stderr = Some(tee(&self.logs, 2, cfg.stderr.take()));
        let out = host.run_guest(bytes, self.ns.clone(), cfg).await;
        self.finish_run(out.exit_code, out.error.as_ref().map(ToString::to_string));
        out
    }
}

fn record(history: &Mutex<Vec<Transition>>, state: EnvState) {
    lock(history).push(Transition {
        at: clock::now(),
        state,
    });
}

/// A pipe that writes to `user`'s pipe (if any: the guest waits when it is busy, as it
/// would writing to it directly), then captures what it took (for RunOutput) and appends
/// it to `/logs` (fd 1 or 2).
fn tee(logs: &Arc<LogsFs>, fd: u32, user: Option<OutputPipe>) -> OutputPipe {
    let logs = logs.clone();
    let pipe = match &user {
        Some(u) => OutputPipe::forwarding_to(u),
        None => OutputPipe::new(),
    };
    pipe.with_sink(move |data: &[u8]| {
        // Past the log's cap the log refuses more (ENOSPC, see LogsFs); the guest's own
        // write still succeeds and its output is still captured.
        let _ = logs.append_stream(fd, data);
    })
}

impl OanixEnvBuilder {
    /// Mounts `/task` from a typed spec (meta: any JSON).
    pub fn task(mut self, spec: &TaskSpec, meta: serde_json::Value) -> FsResult<Self> {
        self.task = Some(TaskFs::new(spec, meta)?);
        Ok(self)
    }

    /// Mounts `/task` from JSON text.
    pub fn task_json(mut self, spec: &str, meta: &str) -> FsResult<Self> {
        self.task = Some(TaskFs::from_json(spec, meta)?);
        Ok(self)
    }

    /// Uses `service` as `/workspace` (default: an empty MemFs).
    pub fn workspace(mut self, service: Arc<dyn FileService>) -> Self {
        self.workspace = Some(service);
        self
    }

    /// Bounds of the in-memory `/tmp` and (unless [`Self::workspace`] gives another
    /// service) `/workspace`, each: a host serving guests it does not trust (the provider)
    /// caps what their files may take.
    pub fn memory_limits(mut self, limits: MemFsLimits) -> Self {
        self.memory = limits;
        self
    }

    /// Memory bounds of `/logs`.
    pub fn log_limits(mut self, limits: LogLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Grants HTTP: mounts `/cap/http` ([`HttpFs`](crate::services::HttpFs)) reaching only
    /// the hosts of `grant`, on the platform's transport.
    pub fn cap_http(self, grant: NetGrant) -> Self {
        self.mount("/cap/http", Arc::new(crate::services::HttpFs::new(grant)))
    }

    /// Grants WebSockets: mounts `/cap/ws` ([`WsFs`](crate::services::WsFs)) reaching only
    /// the hosts of `grant`, on the platform's transport.
    pub fn cap_ws(self, grant: NetGrant) -> Self {
        self.mount("/cap/ws", Arc::new(crate::services::WsFs::new(grant)))
    }

    /// Mounts another service (e.g. a capability under `/cap/...`).
    pub fn mount(mut self, path: impl Into<String>, service: Arc<dyn FileService>) -> Self {
        self.extra.push((path.into(), service));
        self
    }

    /// Assembles the namespace.
    pub fn build(self) -> FsResult<OanixEnv> {
        let mut ns = Namespace::new();
        let mut task = None;
        if let Some(t) = self.task {
            task = Some(t.status());
            ns.mount("/task", Arc::new(t))?;
        }
        let workspace = self
            .workspace
            .unwrap_or_else(|| Arc::new(MemFs::with_limits(self.memory)) as Arc<dyn FileService>);
        ns.mount("/workspace", workspace)?;
        let logs = Arc::new(LogsFs::new(&self.id, "oanix", self.limits));
        ns.mount("/logs", logs.clone())?;
        ns.mount("/tmp", Arc::new(MemFs::with_limits(self.memory)))?;
        let history = Arc::new(Mutex::new(Vec::new()));
        record(&history, EnvState::Created);
        let (id, h) = (self.id.clone(), history.clone());
        let status = FuncFs::new().read_only("/status", move || {
            let list = lock(&h).clone();
            let doc = StatusDoc {
                id: id.clone(),
                current: list.last().map_or(EnvState::Created, |t| t.state.clone()),
                history: list,
            };
            let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            v.push(b'\n');
            Ok(v)
        })?;
        ns.mount("/env", Arc::new(status))?;
        for (path, service) in self.extra {
            ns.mount(&path, service)?;
        }
        Ok(OanixEnv {
            id: self.id,
            ns,
            logs,
            task,
            history,
        })
    }
}
