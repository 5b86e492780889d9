//! The explorer's engine worker: owns the namespace (restored from IndexedDB, `/workspace`
//! on OPFS, the live environment, `/cap`), runs the guests of the page's runs and jobs in
//! it, and answers the page's requests ([`oanix_web::engine`]).
//!
//! Protocol (structured-clone values of [`oanix_web::proto`]'s types, by
//! `serde-wasm-bindgen`):
//! - worker → page as soon as its wasm runs: `FromEngine::Booted`; once the namespace is
//!   loaded: `FromEngine::Ready` (what loading reported and the protocol version, or why
//!   there is no namespace);
//! - page → worker: `ToEngine::Call { id, request }`; worker → page:
//!   `FromEngine::Answer { id, answer }` — always, even for a request it cannot read or an
//!   answer it cannot send (then an error). The page sends requests only after `Ready`;
//!   any that come while the namespace loads wait for it;
//! - worker → page, unasked: `FromEngine::Event` (run output and status, reviews, saving).
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::Reflect;
    use oanix_web::engine::{self, Engine};
    use oanix_web::proto::{Failure, FromEngine, ToEngine};
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
            Err(e) => {
                // An answer that cannot be sent still ends its call (with why).
                if let FromEngine::Answer { id, .. } = message {
                    refuse(*id, format!("the answer could not be sent: {e}"));
                } else {
                    web_sys::console::error_1(&format!("cannot post {message:?}: {e}").into());
                }
            }
        }
    }

    /// Ends call `id` with an error.
    fn refuse(id: u32, message: String) {
        let answer = Err(Failure {
            message,
            errno: "Inval".into(),
        });
        if let Ok(v) = serde_wasm_bindgen::to_value(&FromEngine::Answer { id, answer }) {
            let _ = scope().post_message(&v);
        }
    }

    /// Answers one message from the page.
    fn answer(engine: &Rc<Engine>, data: JsValue) {
        let ToEngine::Call { id, request } = match serde_wasm_bindgen::from_value(data.clone()) {
            Ok(m) => m,
            Err(e) => {
                // `{ Call: { id, request } }`: answer the id, if there is one, with why.
                let id = Reflect::get(&data, &"Call".into())
                    .and_then(|c| Reflect::get(&c, &"id".into()))
                    .ok()
                    .and_then(|v| v.as_f64());
                match id {
                    Some(id) => refuse(id as u32, format!("unreadable request: {e}")),
                    None => web_sys::console::error_1(&format!("unreadable message: {e}").into()),
                }
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
        post(&FromEngine::Booted);
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
