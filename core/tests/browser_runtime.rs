//! The browser host in real headless Chromium, inside a dedicated Web Worker (where the
//! explorer runs guests): instantiation through the WebAssembly API, JSPI suspension, exit
//! codes, traps with backtraces, timeouts, memory limits, bad modules, and bad pointers.
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::BrowserRunner;
use oanix_core::run::{RunConfig, RunError};
use oanix_core::{MemFs, Namespace};
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn wat(src: &str) -> Vec<u8> {
    wat::parse_str(src).expect("valid WAT")
}

fn ns() -> Namespace {
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
    ns
}

#[wasm_bindgen_test]
fn jspi_is_available() {
    assert!(BrowserRunner::supported());
}

#[wasm_bindgen_test]
async fn runs_a_module_and_caches_its_compilation() {
    let r = BrowserRunner::new();
    let hello = wat(include_str!("../../tests/wat/hello.wat"));
    for _ in 0..3 {
        let out = r.run(&hello, ns(), RunConfig::default()).await;
        assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
        assert_eq!(out.stdout, b"hi\n");
    }
    assert_eq!(r.compile_count(), 1);
}

#[wasm_bindgen_test]
async fn a_blocking_poll_suspends_and_resumes() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/sleep_short.wat"));
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert_eq!(out.exit_code, Some(1), "{:?}", out.error);
    assert!(
        out.duration >= Duration::from_millis(30),
        "{:?}",
        out.duration
    );
}

#[wasm_bindgen_test]
async fn a_blocked_guest_hits_the_timeout() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/sleep_hour.wat"));
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    let out = r.run(&m, ns(), cfg).await;
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(100)))
    );
}

#[wasm_bindgen_test]
async fn a_trap_reports_message_and_backtrace() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/trap.wat"));
    let out = r.run(&m, ns(), RunConfig::default()).await;
    match out.error {
        Some(RunError::Trap(msg)) => {
            assert!(msg.contains("unreachable"), "{msg}");
            assert!(msg.contains("wasm-function"), "{msg}");
        }
        other => panic!("want Trap, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn garbage_and_unknown_imports_are_invalid_modules() {
    let r = BrowserRunner::new();
    let out = r
        .run(b"\0asm\x01\0\0\0garbage", ns(), RunConfig::default())
        .await;
    assert!(
        matches!(out.error, Some(RunError::InvalidModule(_))),
        "{:?}",
        out.error
    );
    let m = wat(
        r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func))
        (memory (export "memory") 1) (func (export "_start")))"#,
    );
    let out = r.run(&m, ns(), RunConfig::default()).await;
    match out.error {
        Some(RunError::InvalidModule(m)) => assert!(m.contains("no_such_call"), "{m}"),
        other => panic!("want InvalidModule, got {other:?}"),
    }
    let m = wat(r#"(module (memory (export "memory") 1))"#);
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert!(
        matches!(&out.error, Some(RunError::InvalidModule(m)) if m.contains("_start")),
        "{:?}",
        out.error
    );
}

#[wasm_bindgen_test]
async fn growing_past_the_memory_limit_is_a_clear_error() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/grow.wat"));
    let cfg = RunConfig {
        max_memory: Some(4 << 20),
        ..Default::default()
    };
    let out = r.run(&m, ns(), cfg).await;
    assert_eq!(out.error, Some(RunError::MemoryLimit(4 << 20)));
}

#[wasm_bindgen_test]
async fn an_out_of_range_pointer_is_efault() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/fault.wat"));
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert_eq!(out.error, None);
    assert_eq!(out.exit_code, Some(21));
}
