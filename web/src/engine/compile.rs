//! Modules for the page's own runs: instrumented for time slices
//! ([`oanix_core::instrument`]) and compiled in a worker (`oanix-worker`'s `compile`
//! message), so the engine's thread never parses or rewrites a large module, then cached by
//! their bytes: a module is compiled once per page, however often it runs.

use js_sys::{Function, Object, Promise, Reflect, Uint8Array, WebAssembly};
use oanix_core::browser::ModuleCache;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

/// Where trunk puts the compiling worker's loader (see index.html; relative to the engine
/// worker, which starts it).
const WORKER_URL: &str = "./oanix-worker_loader.js";

/// The worker's message and error listeners (kept alive with it).
type Handler = Closure<dyn FnMut(MessageEvent)>;

/// The compiling worker, its pending requests and the page's module cache.
#[derive(Default)]
pub struct Compiler {
    worker: RefCell<Option<Worker>>,
    /// Whether the worker said `ready` (requests wait in `queue` until then).
    ready: Cell<bool>,
    queue: RefCell<Vec<JsValue>>,
    /// Per request id, the promise's resolve and reject.
    waiting: RefCell<HashMap<u32, (Function, Function)>>,
    next: Cell<u32>,
    cache: ModuleCache,
    handlers: RefCell<Vec<Handler>>,
}

impl Compiler {
    /// A compiler whose worker starts with the first request.
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }

    /// How many modules the worker compiled for this page (cache misses).
    pub fn compiles(&self) -> u64 {
        self.cache.count()
    }

    /// The instrumented, compiled module for `bytes` (from the cache when it was compiled
    /// before), or why there is none (invalid module, worker failure).
    pub async fn module(self: &Rc<Self>, bytes: &[u8]) -> Result<WebAssembly::Module, String> {
        if let Some(m) = self.cache.get(bytes) {
            return Ok(m);
        }
        let id = self.next.get();
        self.next.set(id.wrapping_add(1));
        let msg = Object::new();
        let set = |k: &str, v: &JsValue| Reflect::set(&msg, &k.into(), v).map(|_| ());
        set("kind", &"compile".into())
            .and_then(|_| set("id", &id.into()))
            .and_then(|_| set("wasm", &Uint8Array::from(bytes).into()))
            .map_err(|e| format!("{e:?}"))?;
        let promise = Promise::new(&mut |resolve, reject| {
            self.waiting.borrow_mut().insert(id, (resolve, reject));
        });
        self.send(msg.into())?;
        let module = JsFuture::from(promise)
            .await
            .map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?;
        let module: WebAssembly::Module = module
            .dyn_into()
            .map_err(|_| "the worker sent no WebAssembly.Module".to_string())?;
        // (Compiled meanwhile for another run: the first one is kept.)
        self.cache.insert(bytes, &module);
        Ok(self.cache.get(bytes).unwrap_or(module))
    }

    /// Posts `msg` to the worker, starting it if needed (then it waits for `ready`).
    fn send(self: &Rc<Self>, msg: JsValue) -> Result<(), String> {
        let worker = self.worker.borrow().clone();
        let worker = match worker {
            Some(w) => w,
            None => self.start()?,
        };
        if self.ready.get() {
            worker.post_message(&msg).map_err(|e| format!("{e:?}"))
        } else {
            self.queue.borrow_mut().push(msg);
            Ok(())
        }
    }

    fn start(self: &Rc<Self>) -> Result<Worker, String> {
        let w = Worker::new(WORKER_URL).map_err(|e| format!("cannot start the worker: {e:?}"))?;
        let me: Weak<Self> = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(me) = me.upgrade() {
                me.on_message(e.data());
            }
        });
        w.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let me: Weak<Self> = Rc::downgrade(self);
        let on_error = Closure::<dyn FnMut(MessageEvent)>::new(move |_e: MessageEvent| {
            if let Some(me) = me.upgrade() {
                me.fail("the compiling worker failed to start or crashed");
            }
        });
        w.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        self.handlers.borrow_mut().extend([on_message, on_error]);
        self.ready.set(false);
        *self.worker.borrow_mut() = Some(w.clone());
        Ok(w)
    }

    fn on_message(&self, data: JsValue) {
        let get = |k: &str| Reflect::get(&data, &k.into()).unwrap_or(JsValue::UNDEFINED);
        match get("kind").as_string().as_deref() {
            Some("ready") => {
                self.ready.set(true);
                let worker = self.worker.borrow().clone();
                let queued: Vec<JsValue> = self.queue.borrow_mut().drain(..).collect();
                if let Some(w) = worker {
                    for m in queued {
                        if let Err(e) = w.post_message(&m) {
                            self.fail(&format!("cannot reach the worker: {e:?}"));
                        }
                    }
                }
            }
            Some("compiled") => {
                let id = get("id").as_f64().unwrap_or(-1.0) as u32;
                let Some((resolve, reject)) = self.waiting.borrow_mut().remove(&id) else {
                    return;
                };
                let _ = match get("error").as_string() {
                    Some(e) => reject.call1(&JsValue::NULL, &format!("invalid module: {e}").into()),
                    None => resolve.call1(&JsValue::NULL, &get("module")),
                };
            }
            _ => {}
        }
    }

    /// Rejects every pending request and drops the worker (the next request starts one).
    fn fail(&self, why: &str) {
        if let Some(w) = self.worker.borrow_mut().take() {
            w.terminate();
        }
        self.ready.set(false);
        self.queue.borrow_mut().clear();
        for (_, (_, reject)) in self.waiting.borrow_mut().drain() {
            let _ = reject.call1(&JsValue::NULL, &why.into());
        }
    }
}

/// Calls the global scope's `name` (`setTimeout`, `setInterval`) with `f` and `ms` (on the
/// page and in a worker alike).
pub(crate) fn timer(name: &str, f: &Function, ms: i32) {
    if let Ok(set) = Reflect::get(&js_sys::global(), &name.into()) {
        if let Some(set) = set.dyn_ref::<Function>() {
            let _ = set.call2(&JsValue::NULL, f, &ms.into());
        }
    }
}

/// A promise resolved after `d`.
pub fn sleep(d: Duration) -> JsFuture {
    let ms = d.as_millis().min(i32::MAX as u128) as i32;
    JsFuture::from(Promise::new(&mut |resolve, _| {
        timer("setTimeout", &resolve, ms)
    }))
}

/// Awaits `f`, calling `every_tick` every `period` until it is done.
pub async fn with_ticks<F: std::future::Future>(
    f: F,
    period: Duration,
    mut every_tick: impl FnMut(),
) -> F::Output {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::Poll;
    let mut f = std::pin::pin!(f);
    loop {
        let mut timer = sleep(period);
        let done = std::future::poll_fn(|cx| {
            if let Poll::Ready(v) = f.as_mut().poll(cx) {
                return Poll::Ready(Some(v));
            }
            match Pin::new(&mut timer).poll(cx) {
                Poll::Ready(_) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        match done {
            Some(v) => return v,
            None => every_tick(),
        }
    }
}
