//! Bad modules, traps, timeouts and memory limits give clear errors, and the module cache
//! compiles each distinct module once. Modules are the WAT files of `tests/wat` (shared with
//! the browser runtime's tests; wasmtime parses WAT).

use oanix_core::{MemFs, Namespace};
use oanix_native_runner::{RunConfig, RunError, Runner};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ns() -> Namespace {
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
    ns
}

const HELLO: &str = include_str!("../../tests/wat/hello.wat");

#[test]
fn runs_a_module_and_caches_its_compilation() {
    let r = Runner::new().unwrap();
    for _ in 0..3 {
        let out = r.run(HELLO.as_bytes(), ns(), RunConfig::default());
        assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
        assert_eq!(out.stdout, b"hi\n");
    }
    assert_eq!(r.compile_count(), 1);
    let other = HELLO.replace("hi\\n", "ho\\n");
    let out = r.run(other.as_bytes(), ns(), RunConfig::default());
    assert_eq!(out.stdout, b"ho\n");
    assert_eq!(r.compile_count(), 2);
}

#[test]
fn garbage_is_an_invalid_module() {
    let r = Runner::new().unwrap();
    let out = r.run(b"\0asm\x01\0\0\0garbage", ns(), RunConfig::default());
    match out.error {
        Some(RunError::InvalidModule(m)) => assert!(!m.is_empty()),
        other => panic!("want InvalidModule, got {other:?}"),
    }
    assert_eq!(out.exit_code, None);
}

#[test]
fn unknown_import_and_missing_start_are_invalid_modules() {
    let r = Runner::new().unwrap();
    let bad_import = r#"(module (import "wasi_snapshot_preview1" "no_such_call" (func))
        (memory (export "memory") 1) (func (export "_start")))"#;
    let out = r.run(bad_import.as_bytes(), ns(), RunConfig::default());
    match out.error {
        Some(RunError::InvalidModule(m)) => assert!(m.contains("no_such_call"), "{m}"),
        other => panic!("want InvalidModule, got {other:?}"),
    }
    let no_start = r#"(module (memory (export "memory") 1))"#;
    let out = r.run(no_start.as_bytes(), ns(), RunConfig::default());
    match out.error {
        Some(RunError::InvalidModule(m)) => assert!(m.contains("_start"), "{m}"),
        other => panic!("want InvalidModule, got {other:?}"),
    }
}

#[test]
fn a_trap_reports_its_message_and_a_wasm_backtrace() {
    let r = Runner::new().unwrap();
    let m = include_str!("../../tests/wat/trap.wat");
    let out = r.run(m.as_bytes(), ns(), RunConfig::default());
    match out.error {
        Some(RunError::Trap(msg)) => {
            assert!(msg.contains("unreachable"), "{msg}");
            assert!(msg.contains("wasm backtrace"), "{msg}");
        }
        other => panic!("want Trap, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_hits_the_timeout() {
    let r = Runner::new().unwrap();
    let m = include_str!("../../tests/wat/loop.wat");
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let started = Instant::now();
    let out = r.run(m.as_bytes(), ns(), cfg);
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(200)))
    );
    // Generous bound: the point is that the loop is interrupted at all.
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_blocked_guest_hits_the_timeout_too() {
    let r = Runner::new().unwrap();
    let m = include_str!("../../tests/wat/sleep_hour.wat");
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let out = r.run(m.as_bytes(), ns(), cfg);
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(200)))
    );
}

#[test]
fn growing_past_the_memory_limit_is_a_clear_error() {
    let r = Runner::new().unwrap();
    // memory.grow fails (-1) at the limit, the guest traps, and the run reports the limit
    // rather than a bare trap.
    let m = include_str!("../../tests/wat/grow.wat");
    let cfg = RunConfig {
        max_memory: Some(4 << 20),
        ..Default::default()
    };
    let out = r.run(m.as_bytes(), ns(), cfg);
    assert_eq!(out.error, Some(RunError::MemoryLimit(4 << 20)));
    assert!(out
        .error
        .unwrap()
        .to_string()
        .contains("memory limit of 4194304 bytes"));
}

#[test]
fn an_initial_memory_over_the_limit_is_refused() {
    let r = Runner::new().unwrap();
    let m = r#"(module (memory (export "memory") 100) (func (export "_start")))"#;
    let cfg = RunConfig {
        max_memory: Some(1 << 20),
        ..Default::default()
    };
    let out = r.run(m.as_bytes(), ns(), cfg);
    assert_eq!(out.error, Some(RunError::MemoryLimit(1 << 20)));
}

#[test]
fn proc_exit_code_and_bad_pointers() {
    let r = Runner::new().unwrap();
    let m = include_str!("../../tests/wat/fault.wat");
    let out = r.run(m.as_bytes(), ns(), RunConfig::default());
    assert_eq!(out.error, None);
    assert_eq!(out.exit_code, Some(21));
}
