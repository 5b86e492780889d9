//! What a host needs to run a guest, and what comes back: shared by every host
//! (wasmtime natively, the browser's WebAssembly API on wasm32) so results compare 1:1.

use crate::wasi::{InputPipe, OutputPipe, WasiCtx};
use crate::{FsError, Namespace};
use std::time::Duration;

/// How to run one guest.
#[derive(Clone, Default)]
pub struct RunConfig {
    /// `argv`, program name first.
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Standard input (default: empty).
    pub stdin: InputPipe,
    /// Where stdout goes (default: a fresh capture pipe).
    pub stdout: Option<OutputPipe>,
    /// Where stderr goes (default: a fresh capture pipe).
    pub stderr: Option<OutputPipe>,
    /// Preopened directories as (guest name, namespace path); `None` = every mount.
    pub preopens: Option<Vec<(String, String)>>,
    /// Wall-clock limit; the guest is interrupted past it.
    pub timeout: Option<Duration>,
    /// Largest linear memory, in bytes.
    pub max_memory: Option<usize>,
}

impl RunConfig {
    /// The guest's WASI state for this configuration: args, env, stdio (`stdout`/`stderr`
    /// are the pipes the host captures), and the preopens (every mount when `None`).
    pub fn wasi_ctx(
        &self,
        ns: Namespace,
        stdout: &OutputPipe,
        stderr: &OutputPipe,
    ) -> Result<WasiCtx, RunError> {
        let mut builder = WasiCtx::builder(ns)
            .args(self.args.iter().cloned())
            .stdin(self.stdin.handle())
            .stdout(stdout.handle())
            .stderr(stderr.handle());
        for (k, v) in &self.env {
            builder = builder.env(k, v);
        }
        builder = match &self.preopens {
            None => builder.preopen_mounts(),
            Some(list) => list
                .iter()
                .fold(builder, |b, (guest, path)| b.preopen(guest, path)),
        };
        builder.build().map_err(RunError::Setup)
    }
}

/// Why a run did not finish with an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// Not a valid WebAssembly module, or not a WASI command, or an unknown import.
    InvalidModule(String),
    /// The guest trapped: message and WASM backtrace.
    Trap(String),
    /// The guest ran past its timeout.
    Timeout(Duration),
    /// The guest tried to grow its memory past the limit (bytes).
    MemoryLimit(usize),
    /// The namespace could not provide what the run needed (e.g. a preopen).
    Setup(FsError),
    /// The host itself failed.
    Host(String),
    /// The run was stopped on request (the explorer's Stop button, a job's cancel).
    Cancelled,
}

impl RunError {
    /// A one-word kind: `invalid`, `trap`, `timeout`, `memory`, `setup`, `host` or
    /// `cancelled` (what test
    /// cases and the worker protocol use).
    pub fn kind(&self) -> &'static str {
        match self {
            RunError::InvalidModule(_) => "invalid",
            RunError::Trap(_) => "trap",
            RunError::Timeout(_) => "timeout",
            RunError::MemoryLimit(_) => "memory",
            RunError::Setup(_) => "setup",
            RunError::Host(_) => "host",
            RunError::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::InvalidModule(m) => write!(f, "invalid module: {m}"),
            RunError::Trap(m) => write!(f, "guest trapped: {m}"),
            RunError::Timeout(t) => write!(f, "guest timed out after {t:?}"),
            RunError::MemoryLimit(n) => write!(f, "guest exceeded its memory limit of {n} bytes"),
            RunError::Setup(e) => write!(f, "cannot set up the guest: {e}"),
            RunError::Host(m) => write!(f, "host error: {m}"),
            RunError::Cancelled => write!(f, "stopped on request"),
        }
    }
}

impl std::error::Error for RunError {}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// Exit code, when the guest exited (normally or by `proc_exit`).
    pub exit_code: Option<i32>,
    /// Why there is no exit code.
    pub error: Option<RunError>,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
    /// Wall time of the run.
    pub duration: Duration,
}

impl RunOutput {
    /// A run that failed before producing an exit code.
    pub fn failed(e: RunError) -> Self {
        RunOutput {
            error: Some(e),
            ..Default::default()
        }
    }
}
