//! The guest cases in headless Chromium, inside a dedicated Web Worker, on the browser host:
//! each must meet the expectations of `tests/cases.json`, which come from wasmtime-wasi (and
//! which the native shim meets too, see `parity.rs`), so browser == native == reference on
//! stdout, stderr, exit code and the `/workspace` tree.
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::BrowserRunner;
use oanix_tests::{browser, cases};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
async fn every_case_meets_the_reference_expectations_in_the_browser() {
    let runner = BrowserRunner::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in cases().iter().filter(|c| !c.bench) {
        // A guest spinning without syscalls cannot be pre-empted inside its own thread: in
        // the browser the worker's owner terminates it (see core::browser). Not run here.
        if case.expect.error.as_deref() == Some("timeout") {
            continue;
        }
        let got = browser::run_browser(&runner, case).await;
        ran += 1;
        if let Err(e) = case.check(&got) {
            failures.push(format!("== {}\n{e}", case.name));
        }
    }
    assert!(ran >= 15, "only {ran} cases ran");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
