//! The reference host: the same guest on `wasmtime-wasi` over a real directory, for parity
//! comparisons only.

use crate::engine::{ticking_engine, Limits};
use crate::{RunConfig, RunError, RunOutput};
use std::path::Path;
use std::time::Instant;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// Per-store data: the WASI context and the limits.
struct RefState {
    wasi: WasiP1Ctx,
    limits: Limits,
}

/// Runs guests on wasmtime-wasi, with the same limits as the OANIX host: `timeout` and
/// `max_memory` of the [`RunConfig`], and read-only preopens when asked
/// ([`ReferenceRunner::read_only`]).
pub struct ReferenceRunner {
    engine: Engine,
    linker: Linker<RefState>,
    read_only: bool,
    /// Last compiled module (benchmarks time runs, not compiles).
    last: std::sync::Mutex<Option<(Vec<u8>, Module)>>,
}

impl ReferenceRunner {
    /// A reference runner with its own engine and epoch ticker.
    pub fn new() -> wasmtime::Result<Self> {
        let engine = ticking_engine()?;
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_async(&mut linker, |s: &mut RefState| &mut s.wasi)?;
        Ok(ReferenceRunner {
            engine,
            linker,
            read_only: false,
            last: Default::default(),
        })
    }

    /// Preopens every directory read-only (like `oanix run --read-only`).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Compiles a module, reusing the last one when the bytes are the same.
    pub fn module(&self, bytes: &[u8]) -> Result<Module, RunError> {
        let mut last = oanix_core::service::lock(&self.last);
        if let Some((b, m)) = last.as_ref() {
            if b == bytes {
                return Ok(m.clone());
            }
        }
        let m = Module::new(&self.engine, bytes)
            .map_err(|e| RunError::InvalidModule(format!("{e:#}")))?;
        *last = Some((bytes.to_vec(), m.clone()));
        Ok(m)
    }

    /// Runs `bytes` with the host directories `dirs` preopened as (host dir, guest name).
    pub fn run(&self, bytes: &[u8], dirs: &[(&Path, &str)], cfg: &RunConfig) -> RunOutput {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        match rt {
            Ok(rt) => rt.block_on(self.run_async(bytes, dirs, cfg)),
            Err(e) => RunOutput::failed(RunError::Host(e.to_string())),
        }
    }

    async fn run_async(&self, bytes: &[u8], dirs: &[(&Path, &str)], cfg: &RunConfig) -> RunOutput {
        let stdout = MemoryOutputPipe::new(64 << 20);
        let stderr = MemoryOutputPipe::new(64 << 20);
        let mut out = RunOutput::default();
        let started = Instant::now();
        let result: Result<i32, RunError> = async {
            let module = self.module(bytes)?;
            let mut b = WasiCtxBuilder::new();
            b.args(&cfg.args)
                .stdin(MemoryInputPipe::new(read_all_input(&cfg.stdin)))
                .stdout(stdout.clone())
                .stderr(stderr.clone());
            for (k, v) in &cfg.env {
                b.env(k, v);
            }
            let perms = if self.read_only {
                FsPerms::ReadOnly
            } else {
                FsPerms::ReadWrite
            };
            for (dir, name) in dirs {
                b.preopened_dir(dir, name, perms)
                    .map_err(|e| RunError::Host(format!("{e:#}")))?;
            }
            let mut store = Store::new(
                &self.engine,
                RefState {
                    wasi: b.build_p1(),
                    limits: Limits::new(cfg.max_memory),
                },
            );
            store.limiter(|s| &mut s.limits);
            store.epoch_deadline_async_yield_and_update(1);
            let max = cfg.max_memory.unwrap_or(0);
            // Instantiation (a start section) runs inside the timeout too.
            let run = async {
                let instance = match self.linker.instantiate_async(&mut store, &module).await {
                    Ok(i) => i,
                    Err(e) => {
                        return match e.downcast_ref::<I32Exit>() {
                            Some(I32Exit(code)) => Ok(*code),
                            None if store.data().limits.hit => Err(RunError::MemoryLimit(max)),
                            None => Err(RunError::InvalidModule(format!("{e:#}"))),
                        }
                    }
                };
                let start = instance
                    .get_typed_func::<(), ()>(&mut store, "_start")
                    .map_err(|e| RunError::InvalidModule(format!("{e:#}")))?;
                match start.call_async(&mut store, ()).await {
                    Ok(()) => Ok(0),
                    Err(e) => match e.downcast_ref::<I32Exit>() {
                        Some(I32Exit(code)) => Ok(*code),
                        None if store.data().limits.hit => Err(RunError::MemoryLimit(max)),
                        None => Err(RunError::Trap(format!("{e:?}"))),
                    },
                }
            };
            match cfg.timeout {
                Some(t) => tokio::time::timeout(t, run)
                    .await
                    .map_err(|_| RunError::Timeout(t))?,
                None => run.await,
            }
        }
        .await;
        out.duration = started.elapsed();
        match result {
            Ok(code) => out.exit_code = Some(code),
            Err(e) => out.error = Some(e),
        }
        out.stdout = stdout.contents().to_vec();
        out.stderr = stderr.contents().to_vec();
        out
    }
}

/// Drains an input pipe that was filled up front (the reference takes bytes, not streams).
fn read_all_input(pipe: &oanix_core::wasi::InputPipe) -> Vec<u8> {
    let h = pipe.clone();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = oanix_core::FileHandle::read_at(&h, &mut buf, 0) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}
