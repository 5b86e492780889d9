//! The browser host: runs WASI guests through the browser's WebAssembly API, with
//! `wasi_snapshot_preview1` implemented by this crate's shim ([`crate::wasi`]).
//!
//! Blocking model: JSPI. `_start` is wrapped in `WebAssembly.promising`; when the shim answers
//! [`Outcome::Wait`] the guest's stack is suspended on a promise until a handle is ready or
//! the deadline passes, so nothing spins and the thread's event loop keeps running. JSPI
//! needs no cross-origin isolation (SharedArrayBuffer + `Atomics.wait` would) and is on by
//! default in Chromium. Where the guest suspends depends on the module:
//! - an instrumented module ([`crate::instrument`]) suspends only in `oanix.wait`: its
//!   blocking imports answer [`crate::instrument::WOULD_BLOCK`] and its own wrapper calls
//!   the wait (a `WebAssembly.Suspending` import costs about a whole `fd_write` per call
//!   in Chromium, even when it does not suspend);
//! - any other module gets its blocking imports ([`crate::wasi::Func::may_block`]) wrapped
//!   in `WebAssembly.Suspending`.
//!
//! The syscall path: each import is a small JS function of the call's own arity that stores
//! its arguments in slots in this module's memory and calls an export of this module with
//! two numbers (guest, function) — no closure glue, no array, no object per call; only
//! what is not an errno (a wait, an exit, a trap) takes the slower path. Guest memory is
//! reached through views kept between calls, with bounds checked against a size refreshed
//! once per call.
//!
//! Time slices: an instrumented module calls `oanix.tick` every thousand function entries,
//! hundred thousand loop iterations, or few megabytes of bulk memory operations. The tick
//! answers at once while the guest's slice lasts ([`SLICE`]); otherwise (or when a stop
//! was asked) the module calls `oanix.wait`, which yields to the event loop, so a guest —
//! even one spinning without a single WASI call — can share the page's main thread with
//! the UI and with other guests. Modules that are not instrumented run as well, but only
//! yield when they block in a WASI call (run those in a worker).
//!
//! Stopping: [`RunControl::stop`], the timeout, or the memory limit stops a guest at its
//! next WASI call, tick or wait. A call that cannot suspend throws (the guest unwinds);
//! `oanix.wait`, and a blocking import of a module that is not instrumented, park it for
//! good instead: they answer a promise that never settles, so even a guest catching every
//! exception (`catch_all`) never runs again. Dropping a run's future stops its guest too.
//! A guest's imports (and the argument slots their wrappers write) are kept until it has
//! unwound or is parked.
//!
//! [`BrowserRunner::run`] stops a guest that is blocked (suspended) past
//! [`RunConfig::timeout`], and checks the memory limit at every call and slice end.

use crate::instrument::{TICK_MODULE, TICK_NAME, WAIT_NAME};
use crate::run::{RunConfig, RunError, RunOutput};
use crate::wasi::{Errno, Func, FuncSpec, GuestMemory, Outcome, Ty, Wait, WasiCtx, FUNCS, MODULE};
use crate::{clock, Namespace};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array, WebAssembly};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// Property of the object thrown to unwind a guest that called `proc_exit`.
const EXIT_KEY: &str = "__oanix_exit";

/// How long an instrumented guest runs before its `tick` yields to the event loop.
pub const SLICE: Duration = Duration::from_millis(8);

/// Stops a running guest from outside (a Stop button, a cancelled job): the guest is
/// stopped at its next WASI call or tick, and a guest suspended in a wait is woken for it.
/// Nothing the guest wrote before is undone; the namespace stays usable.
#[derive(Default)]
pub struct RunControl {
    stopped: Signal,
}

impl RunControl {
    /// A control for one run.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// Asks the guest to stop.
    pub fn stop(&self) {
        self.stopped.set();
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.is_set()
    }

    /// Resolves once [`Self::stop`] is called.
    async fn stopped(&self) {
        self.stopped.wait().await
    }
}

/// A flag that is set once and never cleared, and futures can wait for.
#[derive(Default)]
struct Signal {
    set: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    fn set(&self) {
        self.set.set(true);
        // (Taken first: a woken task may be polled, and wait again, from `wake`.)
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }

    fn is_set(&self) -> bool {
        self.set.get()
    }

    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.set.get() {
                Poll::Ready(())
            } else {
                self.wakers.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// The guest's `WebAssembly.Memory` as [`GuestMemory`]. Views of the whole buffer (bytes,
/// a `DataView` for accesses of up to 8 bytes — iovecs, lengths, results — and a
/// [`Copier`] for longer ones; no object allocated per access) are kept between calls; when
/// the guest grows its memory the old buffer is detached (length 0) and the views are
/// rebuilt. Every access is bounds-checked (`EFAULT`).
struct JsMemory {
    memory: WebAssembly::Memory,
    all: RefCell<Uint8Array>,
    dv: RefCell<js_sys::DataView>,
    /// The memory's size in bytes, as of the last [`JsMemory::refresh`]: bounds checks
    /// are plain arithmetic (no JS call per access).
    size: Cell<u64>,
    /// Copies of more than [`SMALL`] bytes.
    copier: Copier,
}

/// Accesses up to this many bytes go through the `DataView`, larger ones through the
/// [`Copier`].
const SMALL: usize = 8;

impl JsMemory {
    fn new(memory: WebAssembly::Memory) -> Self {
        let buf = memory.buffer();
        let size = memory_size(&memory).min(MAX_GUEST_MEMORY);
        JsMemory {
            size: Cell::new(size),
            dv: RefCell::new(js_sys::DataView::new(
                &buf.clone().unchecked_into(),
                0,
                size as usize,
            )),
            all: RefCell::new(Uint8Array::new(&buf)),
            copier: copier(&memory),
            memory,
        }
    }

    /// Rebuilds the views if the guest grew its memory (which detaches the old buffer:
    /// length 0). Called once at the start of every host call: the guest cannot grow its
    /// memory while the host is running one of its calls.
    /// Returns the size in bytes.
    fn refresh(&self) -> u64 {
        let mut all = self.all.borrow_mut();
        if all.length() == 0 {
            let buf = self.memory.buffer();
            let size = memory_size(&self.memory);
            *all = Uint8Array::new(&buf);
            // Past the cap the guest is stopped before any access (`must_stop`); the views
            // only need lengths a 32-bit offset can hold.
            self.size.set(size.min(MAX_GUEST_MEMORY));
            *self.dv.borrow_mut() = js_sys::DataView::new(
                &buf.unchecked_into(),
                0,
                size.min(MAX_GUEST_MEMORY) as usize,
            );
            return size;
        }
        self.size.get()
    }

    /// Checks `ptr..ptr+len` against the memory's size.
    fn bounds(&self, ptr: u32, len: usize) -> Result<(), Errno> {
        if u64::from(ptr) + len as u64 > self.size.get() {
            return Err(Errno::Fault);
        }
        Ok(())
    }
}

#[wasm_bindgen]
extern "C" {
    /// Copies bytes between a guest's memory and this module's own, from numbers only (no
    /// view or array made per call): a JS loop for short runs, one `set` for long ones.
    /// Made by [`copier`].
    type Copier;
    /// Guest bytes `ptr..ptr+len` to this module's memory at `dst`.
    #[wasm_bindgen(method, js_name = toHost)]
    fn to_host(this: &Copier, ptr: u32, len: u32, dst: u32);
    /// This module's bytes `src..src+len` to the guest's memory at `ptr`.
    #[wasm_bindgen(method, js_name = toGuest)]
    fn to_guest(this: &Copier, src: u32, len: u32, ptr: u32);
}

thread_local! {
    /// Makes a [`Copier`] for (guest memory, host memory); compiled once per page.
    static COPIER: Function = Function::new_with_args(
        "gm, hm",
        "let g = new Uint8Array(gm.buffer), h = new Uint8Array(hm.buffer); \
         const fresh = () => { if (g.length === 0) g = new Uint8Array(gm.buffer); \
           if (h.length === 0) h = new Uint8Array(hm.buffer); }; \
         return { \
           toHost(p, n, d) { fresh(); \
             if (n <= 64) { for (let i = 0; i < n; i++) h[d + i] = g[p + i]; } \
             else h.set(g.subarray(p, p + n), d); }, \
           toGuest(s, n, p) { fresh(); \
             if (n <= 64) { for (let i = 0; i < n; i++) g[p + i] = h[s + i]; } \
             else g.set(h.subarray(s, s + n), p); } };",
    );
}

/// A [`Copier`] between `memory` (a guest's) and this module's memory.
fn copier(memory: &WebAssembly::Memory) -> Copier {
    COPIER
        .with(|f| f.call2(&JsValue::NULL, memory, &wasm_bindgen::memory()))
        .map(JsCast::unchecked_into)
        .unwrap_or_else(|_| JsValue::UNDEFINED.unchecked_into())
}

impl GuestMemory for JsMemory {
    fn read(&self, ptr: u32, out: &mut [u8]) -> Result<(), Errno> {
        if out.len() > SMALL {
            self.bounds(ptr, out.len())?;
            // JS writes into `out` (borrowed mutably for the call) through its address
            // in this module's memory, as `Uint8Array::copy_to` does.
            let dst = out.as_mut_ptr() as usize as u32;
            self.copier.to_host(ptr, out.len() as u32, dst);
            return Ok(());
        }
        self.bounds(ptr, out.len())?;
        let dv = self.dv.borrow();
        let at = ptr as usize;
        match out.len() {
            4 => out.copy_from_slice(&dv.get_uint32_endian(at, true).to_le_bytes()),
            8 => {
                out[..4].copy_from_slice(&dv.get_uint32_endian(at, true).to_le_bytes());
                out[4..].copy_from_slice(&dv.get_uint32_endian(at + 4, true).to_le_bytes());
            }
            _ => {
                for (i, b) in out.iter_mut().enumerate() {
                    *b = dv.get_uint8(at + i);
                }
            }
        }
        Ok(())
    }

    fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        self.bounds(ptr, len as usize)
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        if data.len() > SMALL {
            self.bounds(ptr, data.len())?;
            let src = data.as_ptr() as usize as u32;
            self.copier.to_guest(src, data.len() as u32, ptr);
            return Ok(());
        }
        self.bounds(ptr, data.len())?;
        let dv = self.dv.borrow();
        let at = ptr as usize;
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        match data.len() {
            4 => dv.set_uint32_endian(at, word(data), true),
            8 => {
                dv.set_uint32_endian(at, word(&data[..4]), true);
                dv.set_uint32_endian(at + 4, word(&data[4..]), true);
            }
            _ => {
                for (i, b) in data.iter().enumerate() {
                    dv.set_uint8(at + i, *b);
                }
            }
        }
        Ok(())
    }
}

/// One running guest's state, shared by its import closures.
struct Guest {
    wasi: WasiCtx,
    memory: Option<JsMemory>,
    max_memory: Option<usize>,
    /// Set when the guest grew past `max_memory`.
    memory_exceeded: bool,
    /// Set when a host call found the run's deadline passed.
    timed_out: bool,
    /// Set when a host call or tick unwound the guest for [`RunControl::stop`].
    cancelled: bool,
    control: Rc<RunControl>,
    /// When the guest's current time slice began ([`clock::monotonic`] ns); `u64::MAX`
    /// until `_start` is called.
    slice_start: u64,
    /// A call whose outcome is not an errno (a wait, an exit, a trap), left by the fast
    /// path for the slow one or for `oanix.wait`: the function, its arguments, the outcome.
    pending: Option<(Func, Vec<i64>, Outcome)>,
    /// Set when the stopped guest was parked for good ([`park`]).
    parked: Rc<Signal>,
}

impl Guest {
    /// Why the guest must be unwound now, if it must: stopped, past its deadline, or grown
    /// past its memory limit.
    fn must_stop(&mut self) -> Option<&'static str> {
        if self.control.is_stopped() {
            self.cancelled = true;
            return Some("stopped on request");
        }
        if self.wasi.past_deadline() {
            self.timed_out = true;
            return Some("deadline passed");
        }
        if let Some(mem) = self.memory.as_ref() {
            // (One JS call: the views are rebuilt, and the size read, only after a grow.)
            let max = self.max_memory.map_or(MAX_GUEST_MEMORY, |m| m as u64);
            if mem.refresh() > max.min(MAX_GUEST_MEMORY) {
                self.memory_exceeded = true;
                return Some("guest exceeded its memory limit");
            }
        }
        None
    }

    /// Whether the guest was stopped (on request, at its deadline or its memory limit):
    /// it must not run on.
    fn stopping(&self) -> bool {
        self.control.is_stopped() || self.cancelled || self.timed_out || self.memory_exceeded
    }
}

type Shared = Rc<RefCell<Guest>>;

/// Parks a stopped guest for good: marks it parked and returns a promise that never
/// settles, for a suspending import (`oanix.wait`, or a blocking import of a module that is
/// not instrumented) to answer. The guest stays suspended on it, never runs another
/// instruction, and is dropped with its imports. (An exception would unwind it only if it
/// let the exception pass: a guest catching everything, `catch_all`, would go on running,
/// and once stopped every tick and wait answered at once: it spun on the thread forever.)
fn park(g: &Shared) -> Promise {
    g.borrow().parked.set();
    Promise::new(&mut |_, _| {})
}

/// Why a parked guest was stopped, as the run's error.
fn stop_error(g: &Guest, cfg: &RunConfig) -> RunError {
    if g.memory_exceeded {
        RunError::MemoryLimit(cfg.max_memory.unwrap_or(MAX_GUEST_MEMORY as usize))
    } else if g.timed_out {
        RunError::Timeout(cfg.timeout.unwrap_or_default())
    } else {
        RunError::Cancelled
    }
}

/// A module and the bytes it was compiled from.
type Compiled = (Rc<[u8]>, WebAssembly::Module);

/// Compiled modules by the bytes they came from (a hash, then the bytes compared), and how
/// many were added (compiles).
#[derive(Default)]
pub struct ModuleCache {
    map: RefCell<HashMap<u64, Vec<Compiled>>>,
    added: Cell<u64>,
}

impl ModuleCache {
    fn key(bytes: &[u8]) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        h.finish()
    }

    /// The module compiled from `bytes`, if there is one.
    pub fn get(&self, bytes: &[u8]) -> Option<WebAssembly::Module> {
        let map = self.map.borrow();
        map.get(&Self::key(bytes))?
            .iter()
            .find(|(b, _)| b.as_ref() == bytes)
            .map(|(_, m)| m.clone())
    }

    /// Keeps `module` as compiled from `bytes` (unless one is kept already).
    pub fn insert(&self, bytes: &[u8], module: &WebAssembly::Module) {
        if self.get(bytes).is_some() {
            return;
        }
        self.added.set(self.added.get() + 1);
        self.map
            .borrow_mut()
            .entry(Self::key(bytes))
            .or_default()
            .push((Rc::from(bytes), module.clone()));
    }

    /// How many modules were added.
    pub fn count(&self) -> u64 {
        self.added.get()
    }
}

/// Compiles (with a cache) and runs WASI modules in this browser thread.
#[derive(Default)]
pub struct BrowserRunner {
    cache: ModuleCache,
}

impl BrowserRunner {
    /// A runner with an empty module cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether this browser has JSPI (`WebAssembly.Suspending` and `WebAssembly.promising`).
    pub fn supported() -> bool {
        let wa = webassembly_namespace();
        ["Suspending", "promising"]
            .iter()
            .all(|k| Reflect::get(&wa, &(*k).into()).is_ok_and(|v| v.is_function()))
    }

    /// How many modules were compiled (cache misses) so far.
    pub fn compile_count(&self) -> u64 {
        self.cache.count()
    }

    /// The compiled module for `bytes`, compiling once per distinct module.
    pub async fn module(&self, bytes: &[u8]) -> Result<WebAssembly::Module, RunError> {
        if let Some(m) = self.cache.get(bytes) {
            return Ok(m);
        }
        let compiled = JsFuture::from(WebAssembly::compile(&Uint8Array::from(bytes)))
            .await
            .map_err(|e| RunError::InvalidModule(js_message(&e)))?;
        let module: WebAssembly::Module = compiled
            .dyn_into()
            .map_err(|_| RunError::Host("WebAssembly.compile gave no Module".into()))?;
        self.cache.insert(bytes, &module);
        Ok(module)
    }

    /// Runs a guest to completion (or error) in namespace `ns`.
    pub async fn run(&self, bytes: &[u8], ns: Namespace, cfg: RunConfig) -> RunOutput {
        let started = clock::monotonic();
        match self.module(bytes).await {
            Ok(module) => self.run_module(&module, ns, cfg, RunControl::new()).await,
            Err(e) => RunOutput {
                duration: Duration::from_nanos(clock::monotonic().saturating_sub(started)),
                ..RunOutput::failed(e)
            },
        }
    }

    /// Runs a compiled guest (e.g. one [`crate::instrument`]ed and compiled in a worker) in
    /// namespace `ns`, in place: what it writes lands in `ns`'s services as it goes.
    /// `control` stops it from outside.
    ///
    /// Dropping the returned future (a cancelled job) stops the guest as
    /// [`RunControl::stop`] does: it never runs past its next WASI call, tick or wait, and
    /// its imports are kept until it has unwound or is parked for good.
    pub async fn run_module(
        &self,
        module: &WebAssembly::Module,
        ns: Namespace,
        cfg: RunConfig,
        control: Rc<RunControl>,
    ) -> RunOutput {
        let started = clock::monotonic();
        let stdout = cfg.stdout.clone().unwrap_or_default();
        let stderr = cfg.stderr.clone().unwrap_or_default();
        let mut out = match self
            .run_inner(module, ns, &cfg, &stdout, &stderr, control)
            .await
        {
            Ok(code) => RunOutput {
                exit_code: Some(code),
                ..Default::default()
            },
            Err(e) => RunOutput::failed(e),
        };
        out.stdout = stdout.contents();
        out.stderr = stderr.contents();
        out.duration = Duration::from_nanos(clock::monotonic().saturating_sub(started));
        out
    }

    async fn run_inner(
        &self,
        module: &WebAssembly::Module,
        ns: Namespace,
        cfg: &RunConfig,
        stdout: &crate::wasi::OutputPipe,
        stderr: &crate::wasi::OutputPipe,
        control: Rc<RunControl>,
    ) -> Result<i32, RunError> {
        if !Self::supported() {
            return Err(RunError::Host(
                "this browser lacks JSPI (WebAssembly.Suspending/promising)".into(),
            ));
        }
        let mut wasi = cfg.wasi_ctx(ns, stdout, stderr)?;
        // Host calls doing long work (random_get) stop at the deadline (see `call`).
        wasi.set_deadline(
            cfg.timeout.map(|t| {
                clock::monotonic().saturating_add(t.as_nanos().min(u64::MAX as u128) as u64)
            }),
        );
        let guest: Shared = Rc::new(RefCell::new(Guest {
            wasi,
            memory: None,
            max_memory: cfg.max_memory,
            memory_exceeded: false,
            timed_out: false,
            cancelled: false,
            control: control.clone(),
            // No yield before `_start`: a tick during instantiation (a module's start
            // function) runs outside `WebAssembly.promising`, where JSPI cannot suspend.
            slice_start: u64::MAX,
            pending: None,
            parked: Rc::default(),
        }));
        let parked = guest.borrow().parked.clone();
        let (imports, keep) = imports(&guest, is_sliced(module)?)?;
        let instantiating = WebAssembly::instantiate_module(module, &imports);
        // From here on the imports (and the argument slots the import wrappers write) live
        // until the guest can no longer call them, even if this future is dropped.
        let mut hold = Hold {
            keep: Some(keep),
            until: Some(instantiating.clone()),
            control: control.clone(),
            parked: parked.clone(),
        };
        let instance = JsFuture::from(instantiating).await.map_err(|e| {
            let msg = js_message(&e);
            // An instrumented start function that runs long reaches a tick while
            // instantiating, outside `WebAssembly.promising`: JSPI cannot suspend it.
            RunError::InvalidModule(if msg.contains("SuspendError") {
                format!(
                    "its start function runs too long for a time-sliced host (a start \
                         function cannot be suspended): {msg}"
                )
            } else {
                msg
            })
        });
        // Instantiated (or not): a start function has run; nothing runs until `_start`.
        hold.until = None;
        let instance = instance?;
        let exports = Reflect::get(&instance, &"exports".into())
            .map_err(|e| RunError::Host(js_message(&e)))?;
        let memory: WebAssembly::Memory = Reflect::get(&exports, &"memory".into())
            .ok()
            .and_then(|m| m.dyn_into().ok())
            .ok_or_else(|| RunError::InvalidModule("the module exports no memory".into()))?;
        if let Some(max) = cfg.max_memory {
            if memory_size(&memory) > max as u64 {
                return Err(RunError::MemoryLimit(max));
            }
        }
        guest.borrow_mut().memory = Some(JsMemory::new(memory));
        let start: Function = Reflect::get(&exports, &"_start".into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| {
                RunError::InvalidModule("the module exports no `_start` (not a command)".into())
            })?;
        let promising: Function = Reflect::get(&webassembly_namespace(), &"promising".into())
            .map_err(|e| RunError::Host(js_message(&e)))?
            .unchecked_into();
        let start: Function = promising
            .call1(&JsValue::NULL, &start)
            .map_err(|e| RunError::Host(js_message(&e)))?
            .unchecked_into();
        if control.is_stopped() {
            return Err(RunError::Cancelled);
        }
        guest.borrow_mut().slice_start = clock::monotonic();
        let running: Promise = start
            .call0(&JsValue::NULL)
            .map_err(|e| RunError::Host(js_message(&e)))?
            .unchecked_into();
        hold.until = Some(running.clone());
        let finished = run_end(running, &parked, cfg.timeout).await;
        let max = cfg.max_memory.unwrap_or(MAX_GUEST_MEMORY as usize);
        match finished {
            RunEnd::TimedOut => {
                // A guest suspended in a wait must never resume and touch the namespace
                // after its run ended: stopped, it is unwound or parked at its next call,
                // tick or wait, and its imports live until then (`hold`, dropped here).
                control.stop();
                Err(RunError::Timeout(cfg.timeout.unwrap_or_default()))
            }
            RunEnd::Parked => {
                // It never runs again: its imports can go.
                hold.until = None;
                Err(stop_error(&guest.borrow(), cfg))
            }
            RunEnd::Settled(Ok(_)) => {
                hold.until = None;
                Ok(0)
            }
            RunEnd::Settled(Err(e)) => {
                hold.until = None;
                if let Some(code) = Reflect::get(&e, &EXIT_KEY.into())
                    .ok()
                    .and_then(|v| v.as_f64())
                {
                    return Ok(code as u32 as i32);
                }
                let g = guest.borrow();
                if g.memory_exceeded {
                    return Err(RunError::MemoryLimit(max));
                }
                if g.timed_out {
                    return Err(RunError::Timeout(cfg.timeout.unwrap_or_default()));
                }
                if g.cancelled {
                    return Err(RunError::Cancelled);
                }
                Err(RunError::Trap(js_message(&e)))
            }
        }
    }
}

/// `WebAssembly`, the namespace object.
fn webassembly_namespace() -> JsValue {
    Reflect::get(&js_sys::global(), &"WebAssembly".into()).unwrap_or(JsValue::UNDEFINED)
}

/// The memory's size in bytes (read as a JS number: 4 GiB does not fit a `u32`).
fn memory_size(m: &WebAssembly::Memory) -> u64 {
    Reflect::get(&m.buffer(), &"byteLength".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0) as u64
}

/// The largest guest memory this host runs: 65,535 pages, one page short of wasm32's 4 GiB
/// (whose size no 32-bit length or offset of the JS API can hold). A guest growing past it
/// is stopped as for a memory limit.
pub const MAX_GUEST_MEMORY: u64 = (65_536 - 1) * 65_536;

/// An error's message and, for traps, its stack (which lists the wasm frames).
fn js_message(e: &JsValue) -> String {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.to_string()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    match Reflect::get(e, &"stack".into())
        .ok()
        .and_then(|s| s.as_string())
    {
        Some(stack) if !stack.is_empty() => format!("{text}\nwasm backtrace:\n{stack}"),
        _ => text,
    }
}

/// How a guest's run ended.
enum RunEnd {
    /// `_start`'s promise settled: the guest returned, exited or was unwound.
    Settled(Result<JsValue, JsValue>),
    /// The guest was stopped and parked for good ([`park`]).
    Parked,
    /// The run's timeout passed first.
    TimedOut,
}

/// Awaits the first of: `running` settling, the guest parking, `timeout`.
async fn run_end(running: Promise, parked: &Signal, timeout: Option<Duration>) -> RunEnd {
    let mut settled = JsFuture::from(running);
    let mut parked = std::pin::pin!(parked.wait());
    let mut timer = timeout.map(sleep);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = Pin::new(&mut settled).poll(cx) {
            return Poll::Ready(RunEnd::Settled(v));
        }
        if parked.as_mut().poll(cx).is_ready() {
            return Poll::Ready(RunEnd::Parked);
        }
        if let Some(t) = timer.as_mut() {
            if Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(RunEnd::TimedOut);
            }
        }
        Poll::Pending
    })
    .await
}

/// A run's imports ([`Keep`]), held while the guest may still call them. Dropped with the
/// guest still able to run (`until` set: instantiating, or `_start`'s promise unsettled —
/// after a timeout, or when the run's future is dropped), it stops the guest and hands the
/// imports to a task that frees them only once the promise settles or the guest is parked:
/// the import wrappers write into the argument slots, and a guest resuming after they were
/// freed would write into freed memory.
struct Hold {
    keep: Option<Keep>,
    until: Option<Promise>,
    control: Rc<RunControl>,
    parked: Rc<Signal>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let Some(keep) = self.keep.take() else {
            return;
        };
        let Some(until) = self.until.take() else {
            return;
        };
        self.control.stop();
        let parked = self.parked.clone();
        wasm_bindgen_futures::spawn_local(async move {
            either(JsFuture::from(until), parked.wait()).await;
            drop(keep);
        });
    }
}

/// Awaits `f`, or gives up after `timeout` (`None`).
async fn race<F: Future + Unpin>(mut f: F, timeout: Option<Duration>) -> Option<F::Output> {
    let mut timer = timeout.map(sleep);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = Pin::new(&mut f).poll(cx) {
            return Poll::Ready(Some(v));
        }
        if let Some(t) = timer.as_mut() {
            if Pin::new(t).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
        }
        Poll::Pending
    })
    .await
}

/// A promise resolved after `d` (setTimeout, present in windows and workers).
fn sleep(d: Duration) -> JsFuture {
    let ms = d.as_millis().min(i32::MAX as u128) as i32;
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout: Option<Function> = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into().ok());
        if let Some(st) = set_timeout {
            let _ = st.call2(&JsValue::NULL, &resolve, &ms.into());
        } else {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    JsFuture::from(p)
}

/// Suspends until a handle in `w` is ready, its deadline passes, or the run is stopped.
async fn wait(w: Wait, control: &RunControl) {
    let left = w
        .deadline
        .map(|d| Duration::from_nanos(d.saturating_sub(clock::monotonic())));
    let stopped = std::pin::pin!(control.stopped());
    if w.handles.is_empty() {
        // A pure sleep (or a yield when there is no deadline).
        race(stopped, left.or(Some(Duration::ZERO))).await;
        return;
    }
    race(std::pin::pin!(either(w, stopped)), left).await;
}

/// Resolves when either future does.
async fn either(a: impl Future, b: impl Future) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

thread_local! {
    /// `() => Promise` resolved by a message on a `MessageChannel`: a macrotask, so the event
    /// loop (rendering, input, other guests) runs in between, without `setTimeout`'s 4 ms
    /// clamp for nested timers.
    static YIELD: Function = Function::new_no_args(
        "const ch = new MessageChannel(), q = []; \
         ch.port1.onmessage = () => q.shift()(); \
         return () => new Promise(r => { q.push(r); ch.port2.postMessage(0); });",
    )
    .call0(&JsValue::NULL)
    .map(JsCast::unchecked_into)
    .unwrap_or_else(|_| Function::new_no_args("return Promise.resolve()"));
}

/// Lets the event loop run once.
async fn yield_now() {
    if let Ok(p) = YIELD.with(|y| y.call0(&JsValue::NULL)) {
        let _ = JsFuture::from(Promise::from(p)).await;
    }
}

/// The closures behind the imports and the guest's registration for the fast path; kept
/// alive for as long as the guest runs.
struct Keep {
    _closures: Vec<Closure<dyn FnMut() -> Result<JsValue, JsValue>>>,
    _live: Registered,
}

/// Most parameters of a preview1 function (`path_open` has 9).
const MAX_PARAMS: usize = 16;

/// What the fast path returns when the call needs the slow one (a wait, an exit, a trap,
/// or a stop): the import wrapper then calls the function's closure.
const SLOW: i32 = -2;

/// A guest as the fast path finds it: its state and its argument slots.
struct Live {
    guest: Shared,
    slots: Rc<[Cell<u64>]>,
}

thread_local! {
    /// Per function of [`FUNCS`], a factory of its import wrapper (compiled once per page):
    /// given the fast-path export, the slow closure, the guest's id, the function's index
    /// and the argument slots (memory, byte offset), it returns a JS function of the
    /// function's own arity that stores its arguments in the slots and calls the export
    /// with two numbers — no rest array, no closure glue, nothing allocated.
    static WRAPPERS: Vec<Function> = FUNCS.iter().map(|f| wrapper_factory(f.params)).collect();
    /// The guests running on this thread, by id, for the fast path. Ids are never reused:
    /// a guest that outlived its run (unwinding after a timeout) can never reach another.
    static LIVE: RefCell<rustc_hash::FxHashMap<u32, Live>> = RefCell::default();
    /// The next guest id.
    static NEXT_ID: Cell<u32> = const { Cell::new(0) };
}

/// A guest's entry in [`LIVE`], removed when dropped.
struct Registered(u32);

impl Registered {
    fn new(live: Live) -> Self {
        let id = NEXT_ID.with(|n| {
            let id = n.get();
            n.set(id.wrapping_add(1));
            id
        });
        LIVE.with(|l| l.borrow_mut().insert(id, live));
        Registered(id)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        LIVE.with(|l| l.borrow_mut().remove(&self.0));
    }
}

/// How many guests are registered for the fast path on this thread: runs under way, and
/// stopped guests whose imports are kept until they unwind or are parked. (For tests.)
#[doc(hidden)]
pub fn live_guests() -> usize {
    LIVE.with(|l| l.borrow().len())
}

fn live(id: u32) -> Option<(Shared, Rc<[Cell<u64>]>)> {
    LIVE.with(|l| {
        l.borrow()
            .get(&id)
            .map(|e| (e.guest.clone(), e.slots.clone()))
    })
}

/// The fast path of every WASI import, called by the import wrappers (not from Rust): runs
/// function `index` of [`FUNCS`] for guest `id` with the arguments in its slots and returns
/// the errno, or [`SLOW`] when the answer is not an errno (kept for the slow path).
#[doc(hidden)]
#[wasm_bindgen]
pub fn oanix_wasi_fast_call(id: u32, index: u32) -> i32 {
    FAST_PATHS
        .with(Cell::get)
        .map_or(SLOW, |(call, _)| call(id, index))
}

/// The exports' implementations, set when the first guest's imports are made: an export
/// is kept in every binary linking this crate, and a binary that never runs a guest (the
/// explorer's compiling worker) need not carry the shim behind it.
type FastPaths = (fn(u32, u32) -> i32, fn(u32) -> i32);

thread_local! {
    static FAST_PATHS: Cell<Option<FastPaths>> = const { Cell::new(None) };
}

fn wasi_fast_call(id: u32, index: u32) -> i32 {
    let Some(spec) = FUNCS.get(index as usize) else {
        return SLOW;
    };
    let Some((g, slots)) = live(id) else {
        return SLOW;
    };
    if g.borrow().pending.is_some() {
        // The previous call answered "would block" and the guest did not wait: not code
        // the instrumenter wrote. The slow path traps.
        let msg = "a call answered \"would block\" was not waited for (the module's \
                   instrumentation is not this host's)";
        g.borrow_mut().pending = Some((spec.func, Vec::new(), Outcome::Trap(msg.into())));
        return SLOW;
    }
    let raw = raw_args(spec.params, &slots);
    let raw = &raw[..spec.params.len()];
    match call(&g, spec.func, raw) {
        Outcome::Return(errno) => i32::from(errno.raw()),
        other => {
            g.borrow_mut().pending = Some((spec.func, raw.to_vec(), other));
            SLOW
        }
    }
}

/// `oanix.tick` of an instrumented guest (called by its wrapper, not from Rust): 0 while
/// guest `id`'s slice lasts and no stop was requested, 1 when it must call `oanix.wait`
/// (which checks stop, deadline and memory, and yields).
#[doc(hidden)]
#[wasm_bindgen]
pub fn oanix_tick_fast(id: u32) -> i32 {
    FAST_PATHS.with(Cell::get).map_or(1, |(_, tick)| tick(id))
}

fn tick_fast(id: u32) -> i32 {
    let Some((g, _)) = live(id) else {
        return 1;
    };
    let g = g.borrow();
    // Before `_start` (a start function running during instantiation) the wait is called
    // at once: it cannot suspend there, and says so, rather than spinning on the page.
    let elapsed = clock::monotonic().saturating_sub(g.slice_start);
    i32::from(g.stopping() || g.slice_start == u64::MAX || elapsed >= SLICE.as_nanos() as u64)
}

fn wrapper_factory(params: &[Ty]) -> Function {
    let names: Vec<String> = (0..params.len()).map(|i| format!("a{i}")).collect();
    let stores: String = params
        .iter()
        .enumerate()
        .map(|(i, ty)| match ty {
            // i32 arguments arrive as numbers, i64 ones as BigInts: each into its slot.
            Ty::I32 => format!("f[{i}]=a{i};"),
            Ty::I64 => format!("g[{i}]=a{i};"),
        })
        .collect();
    let body = format!(
        "let f = new Float64Array(mem.buffer, off, {MAX_PARAMS}), \
         g = new BigInt64Array(mem.buffer, off, {MAX_PARAMS}); \
         return function({}) {{ \
           if (f.length === 0) {{ f = new Float64Array(mem.buffer, off, {MAX_PARAMS}); \
             g = new BigInt64Array(mem.buffer, off, {MAX_PARAMS}); }} \
           {stores} const r = fast(id, idx); return r >= 0 ? r : slow(); }};",
        names.join(",")
    );
    Function::new_with_args("fast, slow, id, idx, mem, off", &body)
}

/// The raw export `name` of this (the host's) module: one of the fast paths above.
fn own_export(name: &str) -> Result<Function, RunError> {
    Reflect::get(&wasm_bindgen::exports(), &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| RunError::Host(format!("the host module does not export {name}")))
}

/// Whether `module` was instrumented ([`crate::instrument`]): it imports `oanix.wait`. One
/// that imports `oanix.tick` alone was instrumented for another host (an older one).
fn is_sliced(module: &WebAssembly::Module) -> Result<bool, RunError> {
    let (mut tick, mut wait) = (false, false);
    for i in WebAssembly::Module::imports(module).iter() {
        let get = |k: &str| Reflect::get(&i, &k.into()).ok().and_then(|v| v.as_string());
        if get("module").as_deref() == Some(TICK_MODULE) {
            match get("name").as_deref() {
                Some(TICK_NAME) => tick = true,
                Some(WAIT_NAME) => wait = true,
                _ => {}
            }
        }
    }
    if tick && !wait {
        return Err(RunError::InvalidModule(format!(
            "it imports {TICK_MODULE}.{TICK_NAME} without {TICK_MODULE}.{WAIT_NAME}: \
             instrumented for another host; instrument it again"
        )));
    }
    Ok(wait)
}

/// Finishes a call that had to wait: waits, retries until it has an answer, and answers
/// (the page had the thread meanwhile: the guest's slice starts again).
///
/// A guest stopped meanwhile is parked for good ([`park`]): the promise never settles.
fn complete(g: Shared, func: Func, raw: Vec<i64>, first: Wait) -> Promise {
    let control = g.borrow().control.clone();
    future_to_promise(async move {
        wait(first, &control).await;
        loop {
            let outcome = call(&g, func, &raw);
            if g.borrow().stopping() {
                g.borrow().parked.set();
                return std::future::pending().await;
            }
            match outcome {
                Outcome::Wait(w) => wait(w, &control).await,
                done => {
                    g.borrow_mut().slice_start = clock::monotonic();
                    return finish(&g, done);
                }
            }
        }
    })
}

/// The import object for one guest: `wasi_snapshot_preview1` and, for an instrumented
/// (`sliced`) module, `oanix.tick` and `oanix.wait`.
///
/// Every WASI import is a small JS wrapper calling [`oanix_wasi_fast_call`] with two
/// numbers; only what is not an errno (a wait, an exit, a trap) goes through the
/// function's closure. Suspending (JSPI) costs about as much as the call itself, so: an
/// instrumented module's blocking imports answer [`WOULD_BLOCK`] and the module's own
/// wrapper calls `oanix.wait`, the only suspending import; a module that is not
/// instrumented gets its blocking imports wrapped in `WebAssembly.Suspending`.
fn imports(guest: &Shared, sliced: bool) -> Result<(Object, Keep), RunError> {
    let host = |e: JsValue| RunError::Host(js_message(&e));
    let ns = Object::new();
    let suspending: Function = Reflect::get(&webassembly_namespace(), &"Suspending".into())
        .map_err(host)?
        .unchecked_into();
    // The argument slots: in this module's own memory, where the wrappers write them
    // (8 bytes each: an f64 for an i32 argument, an i64 for an i64 one).
    let slots: Rc<[Cell<u64>]> = (0..MAX_PARAMS).map(|_| Cell::new(0)).collect();
    let offset = JsValue::from(slots.as_ptr() as usize as u32);
    let host_memory = wasm_bindgen::memory();
    FAST_PATHS.with(|f| f.set(Some((wasi_fast_call, tick_fast))));
    let live = Registered::new(Live {
        guest: guest.clone(),
        slots: slots.clone(),
    });
    let id = JsValue::from(live.0);
    let fast = own_export("oanix_wasi_fast_call")?;
    let mut closures = Vec::new();
    for (
        index,
        &FuncSpec {
            func, name, params, ..
        },
    ) in FUNCS.iter().enumerate()
    {
        let g = guest.clone();
        let slots = slots.clone();
        let blocking = func.may_block();
        // The slow path: what the fast one left (or, if it found no guest, the call).
        let closure = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::new(
            move || -> Result<JsValue, JsValue> {
                let pending = g.borrow_mut().pending.take();
                let (func, raw, outcome) = pending.unwrap_or_else(|| {
                    let raw = raw_args(params, &slots)[..params.len()].to_vec();
                    let outcome = call(&g, func, &raw);
                    (func, raw, outcome)
                });
                if blocking && g.borrow().stopping() {
                    // Stopped: a call that may suspend parks the guest for good (an
                    // instrumented module's wrapper calls `oanix.wait`, which parks it).
                    return Ok(if sliced {
                        JsValue::from(crate::instrument::WOULD_BLOCK)
                    } else {
                        park(&g).into()
                    });
                }
                match outcome {
                    Outcome::Wait(w) if blocking && sliced => {
                        g.borrow_mut().pending = Some((func, raw, Outcome::Wait(w)));
                        Ok(JsValue::from(crate::instrument::WOULD_BLOCK))
                    }
                    // JSPI suspends the guest for this promise (only calls that must wait
                    // get here, not every write to a file).
                    Outcome::Wait(w) if blocking => Ok(complete(g.clone(), func, raw, w).into()),
                    Outcome::Wait(_) => Err(js_sys::Error::new("unexpected wait").into()),
                    done => finish(&g, done),
                }
            },
        );
        let args: Array = [
            fast.clone().into(),
            closure.as_ref().clone(),
            id.clone(),
            JsValue::from(index as u32),
            host_memory.clone(),
            offset.clone(),
        ]
        .into_iter()
        .collect();
        let f = WRAPPERS
            .with(|w| w[index].apply(&JsValue::NULL, &args))
            .map_err(host)?;
        let f = if blocking && !sliced {
            Reflect::construct(&suspending, &Array::of1(&f)).map_err(host)?
        } else {
            f
        };
        Reflect::set(&ns, &name.into(), &f).map_err(host)?;
        closures.push(closure);
    }
    let imports = Object::new();
    Reflect::set(&imports, &MODULE.into(), &ns).map_err(host)?;
    if sliced {
        // `oanix.wait`: a deferred call finished, or (after a tick answered 1) the stop,
        // deadline and memory checks and, when the slice is over, a yield.
        let g = guest.clone();
        let wait_closure = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::new(
            move || -> Result<JsValue, JsValue> {
                // Stopped: parked for good, never unwound by an exception it could catch.
                if g.borrow_mut().must_stop().is_some() {
                    g.borrow_mut().pending = None;
                    return Ok(park(&g).into());
                }
                let pending = g.borrow_mut().pending.take();
                if let Some((func, raw, outcome)) = pending {
                    return match outcome {
                        Outcome::Wait(w) => Ok(complete(g.clone(), func, raw, w).into()),
                        done => finish(&g, done),
                    };
                }
                let now = clock::monotonic();
                {
                    let guest = g.borrow();
                    if guest.slice_start != u64::MAX
                        && now.saturating_sub(guest.slice_start) < SLICE.as_nanos() as u64
                    {
                        return Ok(JsValue::from(0));
                    }
                }
                let g = g.clone();
                Ok(future_to_promise(async move {
                    yield_now().await;
                    // Stopped (or timed out, the run over) while the page had the thread.
                    if g.borrow_mut().must_stop().is_some() {
                        g.borrow().parked.set();
                        return std::future::pending().await;
                    }
                    g.borrow_mut().slice_start = clock::monotonic();
                    Ok(JsValue::from(0))
                })
                .into())
            },
        );
        let wait_fn =
            Reflect::construct(&suspending, &Array::of1(wait_closure.as_ref())).map_err(host)?;
        let tick_fn =
            Function::new_with_args("fast, id", "return function() { return fast(id); };")
                .call2(&JsValue::NULL, own_export("oanix_tick_fast")?.as_ref(), &id)
                .map_err(host)?;
        let oanix = Object::new();
        Reflect::set(&oanix, &TICK_NAME.into(), &tick_fn).map_err(host)?;
        Reflect::set(&oanix, &WAIT_NAME.into(), &wait_fn).map_err(host)?;
        Reflect::set(&imports, &TICK_MODULE.into(), &oanix).map_err(host)?;
        closures.push(wait_closure);
    }
    Ok((
        imports,
        Keep {
            _closures: closures,
            _live: live,
        },
    ))
}

/// Arguments as the shim takes them, from the slots the wrapper filled: i32 zero-extended,
/// i64 as is.
fn raw_args(params: &[Ty], slots: &[Cell<u64>]) -> [i64; MAX_PARAMS] {
    let mut raw = [0i64; MAX_PARAMS];
    for (i, ty) in params.iter().enumerate() {
        let bits = slots[i].get();
        raw[i] = match ty {
            Ty::I32 => f64::from_bits(bits) as i64 as i32 as u32 as i64,
            Ty::I64 => bits as i64,
        };
    }
    raw
}

fn call(g: &Shared, func: Func, raw: &[i64]) -> Outcome {
    let mut g = g.borrow_mut();
    if g.memory.is_none() {
        return Outcome::Return(Errno::Fault);
    }
    if let Some(why) = g.must_stop() {
        if g.memory_exceeded {
            return Outcome::Exit(u32::MAX);
        }
        return Outcome::Trap(why.into());
    }
    // (`must_stop` has refreshed the memory's views and size.)
    let Guest { wasi, memory, .. } = &mut *g;
    let Some(mem) = memory.as_mut() else {
        return Outcome::Return(Errno::Fault);
    };
    let outcome = wasi.dispatch(mem, func, raw);
    if wasi.past_deadline() {
        g.timed_out = true;
        return Outcome::Trap("deadline passed during a WASI call".into());
    }
    outcome
}

fn finish(g: &Shared, outcome: Outcome) -> Result<JsValue, JsValue> {
    match outcome {
        Outcome::Return(errno) => Ok(JsValue::from(errno.raw() as i32)),
        Outcome::Exit(code) => {
            if g.borrow().memory_exceeded {
                return Err(js_sys::Error::new("guest exceeded its memory limit").into());
            }
            let o = Object::new();
            Reflect::set(&o, &EXIT_KEY.into(), &JsValue::from(code))?;
            Err(o.into())
        }
        Outcome::Trap(msg) => Err(js_sys::Error::new(&msg).into()),
        Outcome::Wait(_) => Err(js_sys::Error::new("unexpected wait").into()),
    }
}
