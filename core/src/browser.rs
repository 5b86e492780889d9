//! The browser host: runs WASI guests through the browser's WebAssembly API, with
//! `wasi_snapshot_preview1` implemented by this crate's shim ([`crate::wasi`]).
//!
//! Blocking model: JSPI. The imports that may block (`fd_read`, `poll_oneoff`, ...; see
//! [`crate::wasi::Func::may_block`]) are wrapped in `WebAssembly.Suspending`, and `_start` in
//! `WebAssembly.promising`: when the shim answers [`Outcome::Wait`], the import returns a
//! promise and the guest's stack is suspended until a handle is ready or the deadline passes,
//! so nothing spins and the thread's event loop keeps running. JSPI needs no cross-origin
//! isolation (SharedArrayBuffer + `Atomics.wait` would) and is on by default in Chromium.
//!
//! Time slices: a module rewritten by [`crate::instrument`] calls `oanix.tick` every
//! thousand function entries or hundred thousand loop iterations. The host's `tick` (also
//! suspending) returns at once while the guest's slice lasts ([`SLICE`]) and otherwise
//! yields to the event loop, so a guest — even one spinning without a single WASI call —
//! can share the page's main thread with the UI and with other guests, and
//! [`RunControl::stop`] or the timeout unwinds it at its next tick. Modules that are not instrumented run as well, but
//! only yield when they block in a WASI call (run those in a worker).
//!
//! [`BrowserRunner::run`] stops a guest that is blocked (in a suspending import) past
//! [`RunConfig::timeout`], and checks the memory limit at every call and tick.

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
/// unwound at its next WASI call or tick, and a guest suspended in a wait is woken for it.
/// Nothing the guest wrote before is undone; the namespace stays usable.
#[derive(Default)]
pub struct RunControl {
    stopped: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl RunControl {
    /// A control for one run.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// Asks the guest to stop.
    pub fn stop(&self) {
        self.stopped.set(true);
        self.wakers.borrow_mut().drain(..).for_each(Waker::wake);
    }

    /// Whether [`Self::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Resolves once [`Self::stop`] is called.
    async fn stopped(&self) {
        std::future::poll_fn(|cx| {
            if self.stopped.get() {
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
/// and a `DataView` for accesses of up to 8 bytes: iovecs, lengths, results — no object
/// allocated per access) are kept between calls; when the guest grows its memory the old
/// buffer is detached (length 0) and the views are rebuilt. Every access is bounds-checked
/// (`EFAULT`).
struct JsMemory {
    memory: WebAssembly::Memory,
    all: RefCell<Uint8Array>,
    dv: RefCell<js_sys::DataView>,
}

/// Accesses up to this many bytes go through the `DataView`, larger ones through a
/// `subarray` and one bulk copy.
const SMALL: usize = 8;

impl JsMemory {
    fn new(memory: WebAssembly::Memory) -> Self {
        let buf = memory.buffer();
        JsMemory {
            all: RefCell::new(Uint8Array::new(&buf)),
            dv: RefCell::new(js_sys::DataView::new(
                &buf.unchecked_into(),
                0,
                memory_size(&memory),
            )),
            memory,
        }
    }

    /// Checks `ptr..ptr+len` against the memory (rebuilding the views after a grow).
    fn bounds(&self, ptr: u32, len: usize) -> Result<(), Errno> {
        let mut all = self.all.borrow_mut();
        let mut size = all.length();
        if size == 0 {
            let buf = self.memory.buffer();
            *all = Uint8Array::new(&buf);
            size = all.length();
            *self.dv.borrow_mut() = js_sys::DataView::new(&buf.unchecked_into(), 0, size as usize);
        }
        if u64::from(ptr) + len as u64 > u64::from(size) {
            return Err(Errno::Fault);
        }
        Ok(())
    }

    fn view(&self, ptr: u32, len: usize) -> Result<Uint8Array, Errno> {
        self.bounds(ptr, len)?;
        Ok(self.all.borrow().subarray(ptr, ptr + len as u32))
    }
}

impl GuestMemory for JsMemory {
    fn read(&self, ptr: u32, out: &mut [u8]) -> Result<(), Errno> {
        if out.len() > SMALL {
            self.view(ptr, out.len())?.copy_to(out);
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

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        if data.len() > SMALL {
            self.view(ptr, data.len())?.copy_from(data);
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
        if let (Some(max), Some(mem)) = (self.max_memory, self.memory.as_ref()) {
            // Growing the memory detaches the buffer behind the kept view (length 0): only
            // then can the size have changed.
            if mem.all.borrow().length() == 0 && memory_size(&mem.memory) > max {
                self.memory_exceeded = true;
                return Some("guest exceeded its memory limit");
            }
        }
        None
    }
}

type Shared = Rc<RefCell<Guest>>;

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
        }));
        let (imports, _keep) = imports(&guest)?;
        let instance = JsFuture::from(WebAssembly::instantiate_module(module, &imports))
            .await
            .map_err(|e| {
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
            })?;
        let exports = Reflect::get(&instance, &"exports".into())
            .map_err(|e| RunError::Host(js_message(&e)))?;
        let memory: WebAssembly::Memory = Reflect::get(&exports, &"memory".into())
            .ok()
            .and_then(|m| m.dyn_into().ok())
            .ok_or_else(|| RunError::InvalidModule("the module exports no memory".into()))?;
        if let Some(max) = cfg.max_memory {
            if memory_size(&memory) > max {
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
        let finished = race(JsFuture::from(running), cfg.timeout).await;
        let max = cfg.max_memory.unwrap_or(0);
        match finished {
            None => {
                // A guest suspended in a wait must never resume and touch the namespace
                // after its run ended: it is unwound when woken.
                control.stop();
                Err(RunError::Timeout(cfg.timeout.unwrap_or_default()))
            }
            Some(Ok(_)) => Ok(0),
            Some(Err(e)) => {
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

fn memory_size(m: &WebAssembly::Memory) -> usize {
    m.buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as usize
}

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

/// The closures behind the imports; kept alive for as long as the guest runs.
type Keep = Vec<Closure<dyn FnMut() -> Result<JsValue, JsValue>>>;

/// Most parameters of a preview1 function (`path_open` has 9).
const MAX_PARAMS: usize = 16;

thread_local! {
    /// Per function of [`FUNCS`], a factory of its import wrapper (compiled once per page):
    /// given the call closure and the argument slots (memory, byte offset), it returns a JS
    /// function of the function's own arity that stores its arguments in the slots and
    /// calls the closure — no rest array, no JS call per argument, nothing allocated.
    static WRAPPERS: Vec<Function> = FUNCS.iter().map(|f| wrapper_factory(f.params)).collect();
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
           {stores} return d(); }};",
        names.join(",")
    );
    Function::new_with_args("d, mem, off", &body)
}

/// The `wasi_snapshot_preview1` import object for one guest.
fn imports(guest: &Shared) -> Result<(Object, Keep), RunError> {
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
    let mut keep: Keep = Vec::new();
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
        let closure = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::new(
            move || -> Result<JsValue, JsValue> {
                let raw = raw_args(params, &slots);
                let raw = &raw[..params.len()];
                // Every call is tried synchronously first: a blocking import (wrapped in
                // `WebAssembly.Suspending`) returns a plain value when it has its answer,
                // and JSPI suspends the guest only for the promise of a call that must
                // wait — not for every write to a file.
                let first = match call(&g, func, raw) {
                    Outcome::Wait(w) if blocking => w,
                    Outcome::Wait(_) => return Err(js_sys::Error::new("unexpected wait").into()),
                    done => return finish(&g, done),
                };
                let g = g.clone();
                let raw = raw.to_vec();
                let control = g.borrow().control.clone();
                Ok(future_to_promise(async move {
                    wait(first, &control).await;
                    loop {
                        match call(&g, func, &raw) {
                            Outcome::Wait(w) => wait(w, &control).await,
                            done => {
                                // The page had the thread while the guest waited.
                                g.borrow_mut().slice_start = clock::monotonic();
                                return finish(&g, done);
                            }
                        }
                    }
                })
                .into())
            },
        );
        let f = WRAPPERS
            .with(|w| w[index].call3(&JsValue::NULL, closure.as_ref(), &host_memory, &offset))
            .map_err(host)?;
        let f = if blocking {
            Reflect::construct(&suspending, &Array::of1(&f)).map_err(host)?
        } else {
            f
        };
        Reflect::set(&ns, &name.into(), &f).map_err(host)?;
        keep.push(closure);
    }
    let imports = Object::new();
    Reflect::set(&imports, &MODULE.into(), &ns).map_err(host)?;
    // `oanix.tick`, called by instrumented modules (ignored by others).
    let g = guest.clone();
    let tick = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::new(
        move || -> Result<JsValue, JsValue> {
            let now = clock::monotonic();
            {
                let mut guest = g.borrow_mut();
                // Inside the slice only a stop request is looked at (one clock read per
                // tick); the deadline and the memory limit are checked when it ends, and
                // at every WASI call.
                if guest.control.is_stopped()
                    || now.saturating_sub(guest.slice_start) >= SLICE.as_nanos() as u64
                {
                    if let Some(why) = guest.must_stop() {
                        return Err(js_sys::Error::new(why).into());
                    }
                }
                if now.saturating_sub(guest.slice_start) < SLICE.as_nanos() as u64 {
                    return Ok(JsValue::UNDEFINED);
                }
            }
            let g = g.clone();
            Ok(future_to_promise(async move {
                yield_now().await;
                g.borrow_mut().slice_start = clock::monotonic();
                Ok(JsValue::UNDEFINED)
            })
            .into())
        },
    );
    let tick_fn = Reflect::construct(&suspending, &Array::of1(tick.as_ref())).map_err(host)?;
    let oanix = Object::new();
    Reflect::set(&oanix, &crate::instrument::TICK_NAME.into(), &tick_fn).map_err(host)?;
    Reflect::set(&imports, &crate::instrument::TICK_MODULE.into(), &oanix).map_err(host)?;
    keep.push(tick);
    Ok((imports, keep))
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
