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
    let want = cases()
        .iter()
        .filter(|c| !c.bench && c.expect.error.as_deref() != Some("timeout"))
        .count();
    assert_eq!(ran, want, "every case but the timeout ones must run");
    assert!(ran >= 17, "tests/cases.json lost cases: {ran} ran");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Guests that make symbolic or hard links: OpfsFs refuses links (OPFS has none), so these
/// cases cannot give the reference's results there.
const LINK_GUESTS: &[&str] = &["symlinks", "syscalls"];

#[wasm_bindgen_test]
async fn every_case_on_opfs_meets_the_reference_expectations() {
    let runner = BrowserRunner::new();
    let mut failures = Vec::new();
    let mut ran = Vec::new();
    for case in cases().iter().filter(|c| !c.bench) {
        if case.expect.error.as_deref() == Some("timeout")
            || LINK_GUESTS.contains(&case.guest.as_str())
        {
            continue;
        }
        let got = browser::run_browser_on_opfs(&runner, case).await;
        ran.push(case.name.clone());
        if let Err(e) = case.check(&got) {
            failures.push(format!("== {} (OPFS)\n{e}", case.name));
        }
    }
    console_log!("on OPFS: {} cases ran: {}", ran.len(), ran.join(" "));
    let want = cases()
        .iter()
        .filter(|c| {
            !c.bench
                && c.expect.error.as_deref() != Some("timeout")
                && !LINK_GUESTS.contains(&c.guest.as_str())
        })
        .count();
    assert_eq!(ran.len(), want);
    assert!(ran.iter().any(|n| n == "file_ops") && ran.iter().any(|n| n == "dirs"));
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
