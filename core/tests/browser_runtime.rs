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
async fn after_a_grow_the_new_pages_are_reachable_without_a_limit() {
    // The host keeps views of the guest's memory between calls: after a grow (which
    // detaches the old buffer) a call must see the new pages — an iovec (8 bytes, the
    // DataView path) and its 100 bytes of data (the copier) both lie in the new page.
    let r = BrowserRunner::new();
    let m = wat(r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 8)))
        (drop (memory.grow (i32.const 1)))
        (loop $fill
          (i32.store8 (i32.add (i32.const 65600) (local.get $i))
            (i32.add (i32.const 97) (i32.rem_u (local.get $i) (i32.const 26))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $fill (i32.lt_u (local.get $i) (i32.const 100))))
        (i32.store (i32.const 65540) (i32.const 65600))
        (i32.store (i32.const 65544) (i32.const 100))
        (if (call $w (i32.const 1) (i32.const 65540) (i32.const 1) (i32.const 65560))
          (then unreachable))))"#);
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    let want: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    assert_eq!(out.stdout, want);
}

#[wasm_bindgen_test]
async fn an_out_of_range_pointer_is_efault() {
    let r = BrowserRunner::new();
    let m = wat(include_str!("../../tests/wat/fault.wat"));
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert_eq!(out.error, None);
    assert_eq!(out.exit_code, Some(21));
}

// ---- hostile guests (issue 14): the shared shim holds in the browser too ----------------

#[wasm_bindgen_test]
async fn out_of_range_exit_codes_trap() {
    let r = BrowserRunner::new();
    for code in ["-1", "0x80000000", "126"] {
        let m = wat(&format!(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
                (memory (export "memory") 1)
                (func (export "_start") (call $e (i32.const {code}))))"#
        ));
        let out = r.run(&m, ns(), RunConfig::default()).await;
        assert_eq!(out.exit_code, None, "proc_exit({code})");
        match out.error {
            Some(RunError::Trap(msg)) => assert!(msg.contains("invalid exit status"), "{msg}"),
            other => panic!("proc_exit({code}): want Trap, got {other:?}"),
        }
    }
}

#[wasm_bindgen_test]
async fn a_huge_subscription_count_is_efault_not_a_host_abort() {
    // 0x0500_0000 subscriptions (3.75 GiB of them, past the guest's 64 KiB): EFAULT (21),
    // as natively. The browser's memory copies rather than lends, and used to allocate the
    // whole length first: "capacity overflow", the host aborted.
    let r = BrowserRunner::new();
    let m = wat(r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $p (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $e (call $p (i32.const 0) (i32.const 0) (i32.const 0x05000000) (i32.const 0)))))"#);
    let out = r.run(&m, ns(), RunConfig::default()).await;
    assert_eq!(out.error, None);
    assert_eq!(out.exit_code, Some(21));
    // The host is still whole: the next run works.
    let hello = wat(include_str!("../../tests/wat/hello.wat"));
    let out = r.run(&hello, ns(), RunConfig::default()).await;
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
}

#[wasm_bindgen_test]
async fn a_faulting_iovec_consumes_no_input_and_bad_enums_are_refused() {
    let r = BrowserRunner::new();
    // fd_read of [ok 4 bytes, past the end] reads into the first iovec only (as wasmtime)
    // and the next read gets the other 4 bytes (none lost); whence 256 is EINVAL (it used
    // to be taken as SET). Exit code = first errno + second count.
    let m = wat(r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek" (func $s (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $e (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $e1 i32)
    (i32.store (i32.const 0) (i32.const 0x100))
    (i32.store (i32.const 4) (i32.const 4))
    (i32.store (i32.const 8) (i32.const 0xFFFFFFF0))
    (i32.store (i32.const 12) (i32.const 4))
    (local.set $e1 (call $r (i32.const 0) (i32.const 0) (i32.const 2) (i32.const 16)))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (if (i32.ne (call $s (i32.const 0) (i64.const 0) (i32.const 256) (i32.const 32)) (i32.const 28))
      (then (call $e (i32.const 1))))
    (call $e (i32.add (local.get $e1) (i32.load (i32.const 16))))))"#);
    let cfg = RunConfig {
        stdin: oanix_core::wasi::InputPipe::from_bytes(b"abcdefgh".to_vec()),
        ..Default::default()
    };
    let out = r.run(&m, ns(), cfg).await;
    assert_eq!(out.exit_code, Some(4), "{:?}", out.error);
}

#[wasm_bindgen_test]
async fn a_guest_busy_in_host_calls_hits_the_timeout() {
    // A loop of 1 MiB random_get calls never suspends; the deadline is checked at every
    // call, so the timeout still holds (it used to spin until the worker was killed).
    let r = BrowserRunner::new();
    let m = wat(r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $g (param i32 i32) (result i32)))
  (memory (export "memory") 32)
  (func (export "_start") (loop $l (drop (call $g (i32.const 0) (i32.const 0x100000))) (br $l))))"#);
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let out = r.run(&m, ns(), cfg).await;
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(200)))
    );
}
