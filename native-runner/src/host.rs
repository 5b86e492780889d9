//! The wasmtime host: runs guests with `core`'s preview1 shim.
//!
//! The glue is small on purpose: it registers every import of
//! [`oanix_core::wasi::FUNCS`], hands the shim the guest's memory (`&mut [u8]` implements
//! `GuestMemory`), and turns [`Outcome::Wait`] into an `await` (wasmtime async host
//! functions on a tokio runtime). Everything a guest observes comes from `core`.

use crate::engine::{ticking_engine, Limits, MemoryLimitHit};
use crate::{DiskCache, RunConfig, RunError, RunOutput};
use oanix_core::wasi::{
    Func, FuncSpec, Outcome, OutputPipe, SliceMemory, Ty, Wait, WasiCtx, FUNCS, MODULE,
};
use oanix_core::{clock, Namespace};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::{
    Caller, Engine, FuncType, Linker, Memory, Module, Store, UpdateDeadline, Val, ValType,
};

/// The guest called `proc_exit`.
#[derive(Debug)]
struct Exit(u32);
impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit({})", self.0)
    }
}
impl std::error::Error for Exit {}

/// The run's deadline passed during a host call (the call gave up or finished late).
#[derive(Debug)]
struct DeadlineHit;
impl std::fmt::Display for DeadlineHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("deadline passed during a WASI call")
    }
}
impl std::error::Error for DeadlineHit {}

/// Per-store data.
pub(crate) struct State {
    wasi: WasiCtx,
    memory: Option<Memory>,
    limits: Limits,
}

/// How many compiled modules a [`Runner`] keeps in memory (the least recently used goes
/// first): a long-lived runner fed modules by others (the provider) must not grow without
/// end. The disk cache, if any, still has the others.
pub const MEMORY_CACHED_MODULES: usize = 32;

/// A compiled module, its bytes and when it was last used.
type Cached = (Arc<[u8]>, Module, u64);

/// Compiled modules by hash of their bytes (bytes kept to rule out collisions), each with
/// when it was last used.
#[derive(Default)]
struct ModuleCache {
    by_hash: HashMap<u64, Vec<Cached>>,
    uses: u64,
    len: usize,
}

impl ModuleCache {
    fn get(&mut self, key: u64, bytes: &[u8]) -> Option<Module> {
        self.uses += 1;
        let now = self.uses;
        let (_, m, used) = self
            .by_hash
            .get_mut(&key)?
            .iter_mut()
            .find(|(b, ..)| b.as_ref() == bytes)?;
        *used = now;
        Some(m.clone())
    }

    fn insert(&mut self, key: u64, bytes: &[u8], module: Module) {
        if self.get(key, bytes).is_some() {
            return; // compiled meanwhile by another thread
        }
        while self.len >= MEMORY_CACHED_MODULES {
            let oldest = self
                .by_hash
                .iter()
                .flat_map(|(k, list)| list.iter().enumerate().map(move |(i, e)| (e.2, *k, i)))
                .min();
            let Some((_, k, i)) = oldest else { break };
            if let Some(list) = self.by_hash.get_mut(&k) {
                list.remove(i);
                if list.is_empty() {
                    self.by_hash.remove(&k);
                }
            }
            self.len -= 1;
        }
        self.uses += 1;
        let entry = (Arc::from(bytes), module, self.uses);
        self.by_hash.entry(key).or_default().push(entry);
        self.len += 1;
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// Compiles, caches and runs WASI modules on wasmtime with the OANIX shim.
pub struct Runner {
    engine: Engine,
    linker: Linker<State>,
    cache: Mutex<ModuleCache>,
    compiles: std::sync::atomic::AtomicU64,
    disk: Option<DiskCache>,
    disk_hits: std::sync::atomic::AtomicU64,
}

impl Runner {
    /// A runner with its own engine and an epoch ticker thread.
    pub fn new() -> wasmtime::Result<Self> {
        let engine = ticking_engine()?;
        let mut linker = Linker::new(&engine);
        for &FuncSpec {
            func,
            name,
            params,
            returns_errno,
        } in FUNCS
        {
            let params = params.iter().map(|t| match t {
                Ty::I32 => ValType::I32,
                Ty::I64 => ValType::I64,
            });
            let results = if returns_errno {
                vec![ValType::I32]
            } else {
                vec![]
            };
            let ty = FuncType::new(&engine, params, results);
            if func.may_block() {
                linker.func_new_async(MODULE, name, ty, move |mut caller, args, results| {
                    Box::new(async move {
                        let raw = raw_args(args);
                        loop {
                            match call(&mut caller, func, &raw)? {
                                Outcome::Wait(w) => wait(w).await,
                                done => return finish(done, results),
                            }
                        }
                    })
                })?;
            } else {
                linker.func_new(MODULE, name, ty, move |mut caller, args, results| {
                    let raw = raw_args(args);
                    match call(&mut caller, func, &raw)? {
                        Outcome::Wait(_) => Err(wasmtime::format_err!("{name} cannot block")),
                        done => finish(done, results),
                    }
                })?;
            }
        }
        Ok(Runner {
            engine,
            linker,
            cache: Mutex::default(),
            compiles: Default::default(),
            disk: None,
            disk_hits: Default::default(),
        })
    }

    /// Also keeps compiled modules in `cache` on disk, across processes.
    pub fn with_disk_cache(mut self, cache: DiskCache) -> Self {
        self.disk = Some(cache);
        self
    }

    /// Its wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// How many modules came from the disk cache so far.
    pub fn disk_hit_count(&self) -> u64 {
        self.disk_hits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many compiled modules are kept in memory (at most [`MEMORY_CACHED_MODULES`]).
    pub fn cached_modules(&self) -> usize {
        oanix_core::service::lock(&self.cache).len()
    }

    /// How many modules were compiled (cache misses) so far.
    pub fn compile_count(&self) -> u64 {
        self.compiles.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The compiled module for `bytes`, compiling once per distinct module.
    pub fn module(&self, bytes: &[u8]) -> Result<Module, RunError> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let key = h.finish();
        let lock = || oanix_core::service::lock(&self.cache);
        if let Some(m) = lock().get(key, bytes) {
            return Ok(m);
        }
        let cached = self.disk.as_ref().and_then(|d| d.load(&self.engine, bytes));
        let module = match cached {
            Some(m) => {
                self.disk_hits
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                m
            }
            None => {
                let m = Module::new(&self.engine, bytes)
                    .map_err(|e| RunError::InvalidModule(format!("{e:#}")))?;
                self.compiles
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(d) = &self.disk {
                    // A failed store only costs the next run a compilation.
                    let _ = d.store(&self.engine, bytes, &m);
                }
                m
            }
        };
        lock().insert(key, bytes, module.clone());
        Ok(module)
    }

    /// Runs a guest to completion on the current thread.
    pub fn run(&self, bytes: &[u8], ns: Namespace, cfg: RunConfig) -> RunOutput {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build();
        match rt {
            Ok(rt) => rt.block_on(self.run_async(bytes, ns, cfg)),
            Err(e) => RunOutput::failed(RunError::Host(e.to_string())),
        }
    }

    /// Runs a guest; awaitable on any tokio runtime with time enabled.
    pub async fn run_async(&self, bytes: &[u8], ns: Namespace, cfg: RunConfig) -> RunOutput {
        let started = Instant::now();
        let stdout = cfg.stdout.clone().unwrap_or_default();
        let stderr = cfg.stderr.clone().unwrap_or_default();
        let mut out = match self.run_inner(bytes, ns, cfg, &stdout, &stderr).await {
            Ok(code) => RunOutput {
                exit_code: Some(code),
                error: None,
                ..Default::default()
            },
            Err(e) => RunOutput::failed(e),
        };
        out.stdout = stdout.contents();
        out.stderr = stderr.contents();
        out.duration = started.elapsed();
        out
    }

    async fn run_inner(
        &self,
        bytes: &[u8],
        ns: Namespace,
        cfg: RunConfig,
        stdout: &OutputPipe,
        stderr: &OutputPipe,
    ) -> Result<i32, RunError> {
        let module = self.module(bytes)?;
        let mut wasi = cfg.wasi_ctx(ns, stdout, stderr)?;
        // One deadline for the whole run, instantiation (start section) included; host calls
        // check it too, so neither wasm nor host work outlives the timeout.
        let deadline = cfg
            .timeout
            .map(|t| clock::monotonic().saturating_add(t.as_nanos().min(u64::MAX as u128) as u64));
        wasi.set_deadline(deadline);
        let mut store = Store::new(
            &self.engine,
            State {
                wasi,
                memory: None,
                limits: Limits::new(cfg.max_memory),
            },
        );
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_callback(|_| Ok(UpdateDeadline::Yield(1)));
        store.set_epoch_deadline(1);
        let limits = (cfg.max_memory, cfg.timeout);
        let linker = &self.linker;
        let run = async move {
            let instance = match linker.instantiate_async(&mut store, &module).await {
                Ok(i) => i,
                Err(e) => return exit_code(&e).ok_or_else(|| classify_instantiation(e, limits)),
            };
            let memory = instance
                .get_memory(&mut store, "memory")
                .ok_or_else(|| RunError::InvalidModule("the module exports no memory".into()))?;
            store.data_mut().memory = Some(memory);
            let start = instance
                .get_typed_func::<(), ()>(&mut store, "_start")
                .map_err(|_| {
                    RunError::InvalidModule("the module exports no `_start` (not a command)".into())
                })?;
            start
                .call_async(&mut store, ())
                .await
                .map(|()| 0)
                .or_else(|e| exit_code(&e).ok_or_else(|| classify(e, limits)))
        };
        match cfg.timeout {
            Some(t) => tokio::time::timeout(t, run)
                .await
                .map_err(|_| RunError::Timeout(t))?,
            None => run.await,
        }
    }
}

/// The guest's exit status, if `e` is its `proc_exit`.
fn exit_code(e: &wasmtime::Error) -> Option<i32> {
    e.downcast_ref::<Exit>().map(|Exit(code)| *code as i32)
}

/// Instantiation failed: a `proc_exit` in the start section is an exit, the memory limit
/// and the deadline are themselves; anything else (a wrong import signature, a data
/// segment out of bounds, a trap in the start section, ...) means the module cannot run
/// here: an invalid module, as wasmtime reports it.
fn classify_instantiation(
    e: wasmtime::Error,
    limits: (Option<usize>, Option<Duration>),
) -> RunError {
    match classify(e, limits) {
        RunError::Trap(msg) => RunError::InvalidModule(msg),
        other => other,
    }
}

/// What a failed run means, given its (memory, time) limits.
fn classify(
    e: wasmtime::Error,
    (max_memory, timeout): (Option<usize>, Option<Duration>),
) -> RunError {
    if let Some(Exit(code)) = e.downcast_ref::<Exit>() {
        return RunError::Trap(format!("exit({code}) during start-up"));
    }
    if e.chain()
        .any(|c| c.downcast_ref::<MemoryLimitHit>().is_some())
    {
        return RunError::MemoryLimit(max_memory.unwrap_or(0));
    }
    if e.chain().any(|c| c.downcast_ref::<DeadlineHit>().is_some()) {
        return RunError::Timeout(timeout.unwrap_or_default());
    }
    let msg = format!("{e:?}");
    if e.downcast_ref::<wasmtime::Trap>().is_some() || msg.contains("wasm backtrace") {
        RunError::Trap(msg)
    } else if msg.contains("unknown import") {
        RunError::InvalidModule(format!("{e:#}"))
    } else {
        RunError::Trap(msg)
    }
}

fn raw_args(args: &[Val]) -> [i64; 9] {
    let mut raw = [0i64; 9];
    for (slot, v) in raw.iter_mut().zip(args) {
        *slot = match v {
            Val::I32(x) => *x as u32 as i64,
            Val::I64(x) => *x,
            _ => 0,
        };
    }
    raw
}

fn call(caller: &mut Caller<'_, State>, func: Func, raw: &[i64; 9]) -> wasmtime::Result<Outcome> {
    let memory = match caller.data().memory {
        Some(m) => m,
        // A call from the start section, before `_start` was looked up: the memory export
        // is already there (as wasmtime-wasi finds it).
        None => {
            let m = caller
                .get_export("memory")
                .and_then(|e| e.into_memory())
                .ok_or_else(|| {
                    wasmtime::format_err!(
                        "WASI call `{}` from a module that exports no memory",
                        func.name()
                    )
                })?;
            caller.data_mut().memory = Some(m);
            m
        }
    };
    let n = func.spec().params.len();
    let (bytes, state) = memory.data_and_store_mut(caller);
    let outcome = state
        .wasi
        .dispatch(&mut SliceMemory(bytes), func, &raw[..n]);
    if state.wasi.past_deadline() {
        return Err(DeadlineHit.into());
    }
    Ok(outcome)
}

fn finish(outcome: Outcome, results: &mut [Val]) -> wasmtime::Result<()> {
    match outcome {
        Outcome::Return(errno) => {
            if let Some(r) = results.first_mut() {
                *r = Val::I32(errno.raw() as i32);
            }
            Ok(())
        }
        Outcome::Exit(code) => Err(Exit(code).into()),
        Outcome::Trap(msg) => Err(wasmtime::Error::msg(msg)),
        Outcome::Wait(_) => Err(wasmtime::format_err!("unexpected wait")),
    }
}

/// Waits for a blocked call: any handle ready, or the deadline.
async fn wait(w: Wait) {
    match w.deadline {
        Some(deadline) => {
            let left = Duration::from_nanos(deadline.saturating_sub(clock::monotonic()));
            tokio::select! {
                _ = w => {}
                _ = tokio::time::sleep(left) => {}
            }
        }
        None if w.handles.is_empty() => tokio::task::yield_now().await,
        None => w.await,
    }
}

impl oanix_core::env::WasiHost for Runner {
    /// Needs a tokio runtime with time enabled (timeouts), like [`Runner::run_async`].
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        cfg: RunConfig,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = RunOutput> + 'a>> {
        Box::pin(self.run_async(bytes, ns, cfg))
    }
}
