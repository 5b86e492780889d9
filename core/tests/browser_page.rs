//! The browser host on the page's main thread (where the explorer runs guests, in place on
//! its namespace): an instrumented guest spinning without WASI calls yields to the event
//! loop at its ticks, so page timers still fire, and it is stopped by [`RunControl::stop`]
//! or its timeout; stopping one guest leaves the namespace and a guest blocked on stdin
//! alongside it intact.
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::{live_guests, BrowserRunner, RunControl};
use oanix_core::run::{RunConfig, RunError, RunOutput};
use oanix_core::wasi::{InputPipe, OutputPipe};
use oanix_core::{MemFs, Namespace};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Spins forever, calling the tick at every iteration and the wait when the tick asks (as
/// instrumented code does).
const SPIN: &str = r#"(module
  (import "oanix" "tick" (func $tick (result i32)))
  (import "oanix" "wait" (func $wait (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (if (call $tick) (then (drop (call $wait)))) (br $l))))"#;

async fn module(runner: &BrowserRunner, src: &str) -> js_sys::WebAssembly::Module {
    let bytes = wat::parse_str(src).expect("valid WAT");
    runner.module(&bytes).await.expect("compiles")
}

/// `src` instrumented ([`oanix_core::instrument`]), as the explorer runs every guest: its
/// blocking WASI calls answer "would block" and it waits in `oanix.wait`.
async fn sliced(runner: &BrowserRunner, src: &str) -> js_sys::WebAssembly::Module {
    let bytes = wat::parse_str(src).expect("valid WAT");
    let bytes = oanix_core::instrument::instrument(&bytes, 1000).expect("instruments");
    runner.module(&bytes).await.expect("compiles")
}

/// Runs the instrumented `cat` in the background on `ns` with an open stdin: the stdin to
/// feed, and where its output lands once it ends.
async fn cat_in_background(
    r: &Rc<BrowserRunner>,
    ns: Namespace,
) -> (InputPipe, Rc<RefCell<Option<RunOutput>>>) {
    let cat = sliced(r, include_str!("../../tests/wat/cat.wat")).await;
    let stdin = InputPipe::open();
    let done: Rc<RefCell<Option<RunOutput>>> = Rc::default();
    let (r, cfg, out) = (
        r.clone(),
        RunConfig {
            stdin: stdin.clone(),
            ..Default::default()
        },
        done.clone(),
    );
    wasm_bindgen_futures::spawn_local(async move {
        *out.borrow_mut() = Some(r.run_module(&cat, ns, cfg, RunControl::new()).await);
    });
    (stdin, done)
}

/// The background run's output, once it ends (2 s at most).
async fn finished(done: &RefCell<Option<RunOutput>>) -> RunOutput {
    for _ in 0..200 {
        if done.borrow().is_some() {
            break;
        }
        sleep(10).await;
    }
    done.borrow_mut().take().expect("the run finished")
}

fn ns() -> Namespace {
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
    ns
}

/// Calls `f` after `ms` from the page's event loop (which only runs if guests yield).
fn after(ms: i32, f: impl FnOnce() + 'static) {
    let cb = Closure::once_into_js(f);
    web_sys::window()
        .unwrap()
        .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
        .unwrap();
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_spinning_guest_yields_to_page_timers_and_is_stopped() {
    let r = BrowserRunner::new();
    let m = module(&r, SPIN).await;
    let control = RunControl::new();
    let fired = Rc::new(RefCell::new(0u32));
    // Timers fire while the guest spins; the last one stops it. Without yields none would
    // fire and the run would never end.
    for i in 1..=5 {
        let (fired, control) = (fired.clone(), control.clone());
        after(20 * i, move || {
            *fired.borrow_mut() += 1;
            if i == 5 {
                control.stop();
            }
        });
    }
    let out = r.run_module(&m, ns(), RunConfig::default(), control).await;
    assert_eq!(out.error, Some(RunError::Cancelled), "{out:?}");
    assert_eq!(*fired.borrow(), 5);
}

/// Runs `m` with a `ms` ms timeout on a fresh namespace; asserts it timed out.
async fn timed_out(r: &BrowserRunner, m: &js_sys::WebAssembly::Module, ms: u64) -> RunOutput {
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(ms)),
        ..Default::default()
    };
    let out = r.run_module(m, ns(), cfg, RunControl::new()).await;
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(ms)))
    );
    out
}

#[wasm_bindgen_test]
async fn a_spinning_guest_hits_its_timeout_on_the_page() {
    let r = BrowserRunner::new();
    let m = module(&r, SPIN).await;
    timed_out(&r, &m, 100).await;
}

#[wasm_bindgen_test]
async fn a_guest_blocked_in_a_wait_is_stopped_at_once() {
    let r = BrowserRunner::new();
    let src = include_str!("../../tests/wat/sleep_hour.wat");
    // Suspended in its `poll_oneoff` (plain) or in `oanix.wait` (instrumented).
    for m in [module(&r, src).await, sliced(&r, src).await] {
        let control = RunControl::new();
        let c = control.clone();
        after(30, move || c.stop());
        let out = r.run_module(&m, ns(), RunConfig::default(), control).await;
        assert_eq!(out.error, Some(RunError::Cancelled), "{out:?}");
        assert!(out.duration < Duration::from_secs(60), "{:?}", out.duration);
    }
}

#[wasm_bindgen_test]
async fn stopping_a_spinning_guest_spares_the_namespace_and_a_guest_blocked_on_stdin() {
    let r = Rc::new(BrowserRunner::new());
    let ns = ns();
    ns.write_file("/workspace/kept.txt", b"before").unwrap();
    // Guest A: cat (instrumented), blocked on an open stdin.
    let (stdin, done) = cat_in_background(&r, ns.clone()).await;
    // Guest B spins beside it and is stopped.
    let spin = module(&r, SPIN).await;
    let control = RunControl::new();
    let c = control.clone();
    after(50, move || c.stop());
    let out = r
        .run_module(&spin, ns.clone(), RunConfig::default(), control)
        .await;
    assert_eq!(out.error, Some(RunError::Cancelled), "{out:?}");
    assert!(done.borrow().is_none(), "cat is still waiting for input");
    // A still runs: it gets its input and ends normally.
    stdin.push(b"still here\n");
    stdin.close();
    let a = finished(&done).await;
    assert_eq!(a.exit_code, Some(0), "{a:?}");
    assert_eq!(a.stdout, b"still here\n");
    assert_eq!(ns.read_file("/workspace/kept.txt").unwrap(), b"before");
}

#[wasm_bindgen_test]
async fn a_spinning_start_function_is_refused_not_left_freezing_the_page() {
    // A start function runs during instantiation, where the guest cannot be suspended: its
    // first tick fails (JSPI refuses to suspend there) instead of spinning on the page.
    let r = BrowserRunner::new();
    let m = module(
        &r,
        r#"(module
  (import "oanix" "tick" (func $tick (result i32)))
  (import "oanix" "wait" (func $wait (result i32)))
  (memory (export "memory") 1)
  (func $spin (loop $l (if (call $tick) (then (drop (call $wait)))) (br $l)))
  (start $spin)
  (func (export "_start")))"#,
    )
    .await;
    let out = r
        .run_module(&m, ns(), RunConfig::default(), RunControl::new())
        .await;
    match out.error {
        Some(RunError::InvalidModule(msg)) => assert!(msg.contains("start function"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[wasm_bindgen_test]
async fn an_instrumented_guest_waits_for_each_line_and_reads_it_whole() {
    // Each read finds stdin empty first: the import answers "would block", the module's
    // wrapper waits in `oanix.wait`, and the read's real result comes back from there.
    let r = Rc::new(BrowserRunner::new());
    let (stdin, done) = cat_in_background(&r, ns()).await;
    for line in ["one\n", "two\n", "three\n"] {
        sleep(20).await;
        assert!(done.borrow().is_none(), "cat waits for more");
        stdin.push(line.as_bytes());
    }
    stdin.close();
    let out = finished(&done).await;
    assert_eq!(out.exit_code, Some(0), "{out:?}");
    assert_eq!(out.stdout, b"one\ntwo\nthree\n");
}

#[wasm_bindgen_test]
async fn a_timed_out_guest_never_reaches_the_next_run() {
    // `yes` (instrumented) writes until its timeout; it is unwound at its next tick or call,
    // and the run started right after it (same page, same cached modules) sees only its own
    // output, in a namespace `yes` no longer touches.
    let r = BrowserRunner::new();
    let yes = sliced(&r, include_str!("../../tests/wat/yes.wat")).await;
    let hello = sliced(&r, include_str!("../../tests/wat/hello.wat")).await;
    for _ in 0..3 {
        timed_out(&r, &yes, 30).await;
        let next = r
            .run_module(&hello, ns(), RunConfig::default(), RunControl::new())
            .await;
        assert_eq!(next.exit_code, Some(0), "{next:?}");
        assert_eq!(String::from_utf8_lossy(&next.stdout), "hi\n");
    }
}

/// SPIN with its tick and wait inside `try_table (catch_all)`: it catches whatever the host
/// throws into it and spins on.
const SPIN_CATCHING: &str = r#"(module
  (import "oanix" "tick" (func $tick (result i32)))
  (import "oanix" "wait" (func $wait (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $l
      (block $caught
        (try_table (catch_all $caught)
          (if (call $tick) (then (drop (call $wait))))))
      (br $l))))"#;

/// sleep_hour's one-hour `poll_oneoff` in a loop, inside `try_table (catch_all)`.
const SLEEP_CATCHING: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (loop $l
      (block $caught
        (try_table (catch_all $caught)
          (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
      (br $l))))"#;

/// Whether a page timer set now fires within `ms` x 3 (it cannot if a guest holds the
/// thread).
async fn page_is_alive(ms: i32) -> bool {
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    after(ms, move || f.set(true));
    sleep(ms * 3).await;
    fired.get()
}

#[wasm_bindgen_test]
async fn a_guest_catching_every_exception_is_still_stopped_and_the_page_lives() {
    // Stops used to be exceptions thrown into the guest: one that caught them spun on (its
    // ticks and waits answered at once once stopped), freezing the page for good. Now a
    // stopped guest is parked in a wait that never ends.
    let r = BrowserRunner::new();
    let before = live_guests();
    let spin = module(&r, SPIN_CATCHING).await;
    timed_out(&r, &spin, 200).await;
    assert!(page_is_alive(50).await, "the page is not frozen");
    // Stopped on request: spinning, or blocked in a wait (instrumented or not).
    for m in [
        spin,
        module(&r, SLEEP_CATCHING).await,
        sliced(&r, SLEEP_CATCHING).await,
    ] {
        let control = RunControl::new();
        let c = control.clone();
        after(50, move || c.stop());
        let out = r.run_module(&m, ns(), RunConfig::default(), control).await;
        assert_eq!(out.error, Some(RunError::Cancelled), "{out:?}");
        assert!(page_is_alive(50).await, "the page is not frozen");
    }
    // Parked guests are freed.
    sleep(20).await;
    assert!(live_guests() <= before, "{} > {before}", live_guests());
}

/// Sleeps 50 ms in `poll_oneoff`, then writes "after\n" to stdout and exits 0.
const SLEEP_THEN_WRITE: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "after\n")
  (func (export "_start")
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 50000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
    (i32.store (i32.const 200) (i32.const 256))
    (i32.store (i32.const 204) (i32.const 6))
    (drop (call $write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))"#;

#[wasm_bindgen_test]
async fn a_dropped_run_stops_its_guest_and_keeps_its_imports_until_it_is_parked() {
    // A cancelled job drops its run's future while the guest is suspended in poll_oneoff.
    // The guest must never run past it (its import wrappers would write their arguments
    // into freed slots), its imports must live until it is parked, and then be freed.
    let r = BrowserRunner::new();
    for m in [
        module(&r, SLEEP_THEN_WRITE).await,
        sliced(&r, SLEEP_THEN_WRITE).await,
    ] {
        let before = live_guests();
        let control = RunControl::new();
        let stdout = OutputPipe::new();
        let cfg = RunConfig {
            stdout: Some(stdout.clone()),
            ..Default::default()
        };
        let mut run = Box::pin(r.run_module(&m, ns(), cfg, control.clone()));
        // Run it for 20 ms: it is suspended in its 50 ms sleep.
        let mut t = Box::pin(sleep(20));
        std::future::poll_fn(|cx| {
            assert!(run.as_mut().poll(cx).is_pending(), "the guest sleeps");
            t.as_mut().poll(cx)
        })
        .await;
        assert_eq!(live_guests(), before + 1);
        drop(run);
        assert!(control.is_stopped(), "dropping the run stops the guest");
        assert_eq!(
            live_guests(),
            before + 1,
            "its imports live until it is parked"
        );
        sleep(100).await;
        assert_eq!(live_guests(), before, "parked, its imports are freed");
        assert_eq!(stdout.contents(), b"", "the guest never ran past its sleep");
        // The next run works.
        let next = r
            .run_module(
                &module(&r, include_str!("../../tests/wat/hello.wat")).await,
                ns(),
                RunConfig::default(),
                RunControl::new(),
            )
            .await;
        assert_eq!(next.exit_code, Some(0), "{next:?}");
        assert_eq!(next.stdout, b"hi\n");
    }
}

#[wasm_bindgen_test]
async fn a_loop_of_huge_memory_fills_hits_its_timeout() {
    // 64 MiB `memory.fill`s in a loop (instrumented): each is charged by its length, so
    // a tick comes before every one, the page gets the thread between them, and the 200 ms
    // timeout holds. Before, only loop headers and function entries counted: 100,000 fills
    // (many minutes) ran between two ticks and the page froze. The bound below only tells
    // "stopped" from "minutes": it is no speed target (the CI machine may be busy).
    let r = BrowserRunner::new();
    let m = sliced(
        &r,
        r#"(module (memory (export "memory") 1024)
  (func (export "_start")
    (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x4000000)) (br $l))))"#,
    )
    .await;
    let out = timed_out(&r, &m, 200).await;
    assert!(out.duration < Duration::from_secs(30), "{:?}", out.duration);
    assert!(page_is_alive(50).await, "the page is not frozen");
}
