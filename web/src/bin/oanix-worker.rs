//! The explorer's compiling worker: modules for the page's runs and jobs are instrumented
//! for time slices ([`oanix_core::instrument`]) and compiled here, off the engine worker's thread
//! (a 10 MB module takes a while to parse and rewrite); the engine worker (`oanix-engine`, which
//! starts this one) caches what comes back and runs guests itself, in place on its namespace.
//!
//! Protocol (structured-clone objects):
//! - worker → engine once started: `{ kind: "ready" }`
//! - engine → worker: `{ kind: "compile", id: number, wasm: Uint8Array }`
//! - worker → engine: `{ kind: "compiled", id, module: WebAssembly.Module }` or
//!   `{ kind: "compiled", id, error: string }` (an invalid module: the validator's message)
#![forbid(unsafe_code)]
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::{Object, Reflect, Uint8Array};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    fn post(scope: &DedicatedWorkerGlobalScope, fields: &[(&str, JsValue)]) {
        let o = Object::new();
        for (k, v) in fields {
            let _ = Reflect::set(&o, &(*k).into(), v);
        }
        let _ = scope.post_message(&o);
    }

    fn get(o: &JsValue, k: &str) -> JsValue {
        Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
    }

    /// Instruments and compiles a module for the page (which runs it on its own thread).
    async fn compile(scope: DedicatedWorkerGlobalScope, msg: JsValue) {
        let id = get(&msg, "id");
        let wasm: Vec<u8> = get(&msg, "wasm")
            .dyn_into::<Uint8Array>()
            .map(|a| a.to_vec())
            .unwrap_or_default();
        let compiled =
            match oanix_core::instrument::instrument(&wasm, oanix_core::instrument::DEFAULT_BUDGET)
            {
                Ok(bytes) => wasm_bindgen_futures::JsFuture::from(js_sys::WebAssembly::compile(
                    &Uint8Array::from(bytes.as_slice()),
                ))
                .await
                .map_err(|e| {
                    e.dyn_ref::<js_sys::Error>()
                        .map(|e| String::from(e.message()))
                        .unwrap_or_else(|| format!("{e:?}"))
                }),
                Err(e) => Err(e.to_string()),
            };
        match compiled {
            Ok(module) => post(
                &scope,
                &[("kind", "compiled".into()), ("id", id), ("module", module)],
            ),
            Err(e) => post(
                &scope,
                &[("kind", "compiled".into()), ("id", id), ("error", e.into())],
            ),
        }
    }

    pub fn start() {
        console_error_panic_hook::set_once();
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let s = scope.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let msg = e.data();
            if get(&msg, "kind").as_string().as_deref() == Some("compile") {
                wasm_bindgen_futures::spawn_local(compile(s.clone(), msg));
            }
        });
        scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget(); // lives as long as the worker
        post(&scope, &[("kind", "ready".into())]);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

/// The worker exists only in the browser.
#[cfg(not(target_arch = "wasm32"))]
fn main() {}
