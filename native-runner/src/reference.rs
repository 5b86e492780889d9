//! The reference host: the same guest on `wasmtime-wasi` over a real directory, for parity
//! comparisons only.

use crate::{RunConfig, RunError, RunOutput};
use std::path::Path;
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

/// Runs guests on wasmtime-wasi.
pub struct ReferenceRunner {
    engine: Engine,
    linker: Linker<WasiP1Ctx>,
    /// Last compiled module (benchmarks time runs, not compiles).
    last: std::sync::Mutex<Option<(Vec<u8>, Module)>>,
}

impl ReferenceRunner {
    /// A reference runner with its own engine and epoch ticker.
    pub fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let weak = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_async(&mut linker, |t| t)?;
        Ok(ReferenceRunner {
            engine,
            linker,
            last: Default::default(),
        })
    }

    /// Compiles a module, reusing the last one when the bytes are the same.
    pub fn module(&self, bytes: &[u8]) -> Result<Module, RunError> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
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
            for (dir, name) in dirs {
                b.preopened_dir(dir, name, FsPerms::ReadWrite)
                    .map_err(|e| RunError::Host(format!("{e:#}")))?;
            }
            let mut store = Store::new(&self.engine, b.build_p1());
            store.epoch_deadline_async_yield_and_update(1);
            let instance = self
                .linker
                .instantiate_async(&mut store, &module)
                .await
                .map_err(|e| RunError::InvalidModule(format!("{e:#}")))?;
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(|e| RunError::InvalidModule(format!("{e:#}")))?;
            let call = start.call_async(&mut store, ());
            let r = match cfg.timeout {
                Some(t) => tokio::time::timeout(t, call)
                    .await
                    .map_err(|_| RunError::Timeout(t))?,
                None => call.await,
            };
            match r {
                Ok(()) => Ok(0),
                Err(e) => match e.downcast_ref::<I32Exit>() {
                    Some(I32Exit(code)) => Ok(*code),
                    None => Err(RunError::Trap(format!("{e:?}"))),
                },
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
