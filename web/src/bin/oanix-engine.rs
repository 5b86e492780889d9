//! The explorer's engine worker: owns the namespace (restored from IndexedDB, `/workspace`
//! on OPFS, the live environment, `/cap`), runs the guests of the page's runs and jobs in
//! it, and answers the page's requests ([`oanix_web::engine`]).
//!
//! Protocol (structured-clone values of [`oanix_web::proto`]'s types, by
//! `serde-wasm-bindgen`):
//! - worker → page once the namespace is loaded: `FromEngine::Ready` (what loading
//!   reported, or why there is no namespace);
//! - page → worker: `ToEngine::Call { id, request }`; worker → page:
//!   `FromEngine::Answer { id, answer }` (requests that arrive before `Ready` wait);
//! - worker → page, unasked: `FromEngine::Event` (run output and status, reviews, saving).
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod worker {
    use oanix_web::engine::{self, Engine};
    use oanix_web::proto::{FromEngine, ToEngine};
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(message: &FromEngine) {
        match serde_wasm_bindgen::to_value(message) {
            Ok(v) => {
                let _ = scope().post_message(&v);
            }
            Err(e) => web_sys::console::error_1(&format!("cannot post {message:?}: {e}").into()),
        }
    }

    /// Answers one message from the page.
    fn answer(engine: &Rc<Engine>, data: JsValue) {
        let ToEngine::Call { id, request } = match serde_wasm_bindgen::from_value(data) {
            Ok(m) => m,
            Err(e) => {
                web_sys::console::error_1(&format!("unreadable request: {e}").into());
                return;
            }
        };
        let engine = engine.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = engine.handle(request).await;
            post(&FromEngine::Answer { id, answer });
        });
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        // Requests that come before the namespace is loaded wait here.
        let engine: Rc<RefCell<Option<Rc<Engine>>>> = Rc::default();
        let queue: Rc<RefCell<Vec<JsValue>>> = Rc::default();
        let (e, q) = (engine.clone(), queue.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            match e.borrow().as_ref() {
                Some(engine) => answer(engine, m.data()),
                None => q.borrow_mut().push(m.data()),
            }
        });
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // lives as long as the worker
        wasm_bindgen_futures::spawn_local(async move {
            match engine::start(|event| post(&FromEngine::Event(event))).await {
                Ok((started, ready)) => {
                    engine.replace(Some(started.clone()));
                    post(&FromEngine::Ready(Ok(ready)));
                    for data in queue.borrow_mut().drain(..) {
                        answer(&started, data);
                    }
                }
                Err(why) => post(&FromEngine::Ready(Err(why))),
            }
        });
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

/// The worker exists only in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
