//! Prints the explorer's way of running guests, on the page's main thread in headless
//! Chromium: modules instrumented for time slices ([`oanix_core::instrument`]) and run in
//! place ([`BrowserRunner::run_module`]) on a namespace holding `OANIX_BENCH_NS_MIB` MiB in
//! `/workspace` and as much in `/tmp` — the run's cost must not grow with it (no copy per
//! run) — with the longest main-thread stall seen by a 4 ms heartbeat while it runs, and
//! the instrumentation's cost on the CPU-bound guest, and the syscall path phase by phase
//! (`syscall_bench`: 8-byte writes to /tmp, stats, 4 KiB writes and reads). The test command runs it small;
//! `./scripts/dev.sh bench` at full size.
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::{BrowserRunner, RunControl};
use oanix_core::instrument::{instrument, DEFAULT_BUDGET};
use oanix_core::run::RunConfig;
use oanix_core::{MemFs, Namespace};
use oanix_tests::browser::guest_bytes;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn n(v: Option<&str>, default: u64) -> u64 {
    v.and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// `/workspace` and `/tmp` holding `mib` MiB each, in 1 MiB files.
fn namespace(mib: u64) -> Namespace {
    let mut ns = Namespace::new();
    for mount in ["/workspace", "/tmp"] {
        let fs = MemFs::new();
        for i in 0..mib {
            fs.write_file(&format!("/data-{i}.bin"), &vec![i as u8; 1 << 20])
                .unwrap();
        }
        ns.mount(mount, Arc::new(fs)).unwrap();
    }
    ns
}

/// The longest gap between two beats of a 4 ms `setInterval` while it runs.
struct Heartbeat {
    id: i32,
    worst: Rc<Cell<f64>>,
    _beat: Closure<dyn FnMut()>,
}

impl Heartbeat {
    fn start() -> Self {
        let worst = Rc::new(Cell::new(0.0f64));
        let last = Rc::new(Cell::new(js_sys::Date::now()));
        let w = worst.clone();
        let beat = Closure::<dyn FnMut()>::new(move || {
            let now = js_sys::Date::now();
            w.set(w.get().max(now - last.get()));
            last.set(now);
        });
        let id = web_sys::window()
            .unwrap()
            .set_interval_with_callback_and_timeout_and_arguments_0(
                beat.as_ref().unchecked_ref(),
                4,
            )
            .unwrap();
        Heartbeat {
            id,
            worst,
            _beat: beat,
        }
    }

    fn stop(self) -> f64 {
        web_sys::window()
            .unwrap()
            .clear_interval_with_handle(self.id);
        self.worst.get()
    }
}

/// Runs `guest` (instrumented) in place on `ns`: (run ms, guest ms, longest stall ms, stdout).
async fn run(
    r: &BrowserRunner,
    module: &js_sys::WebAssembly::Module,
    ns: Namespace,
    args: &[&str],
) -> (f64, f64, f64, String) {
    let cfg = RunConfig {
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    };
    let beat = Heartbeat::start();
    let t = js_sys::Date::now();
    let out = r.run_module(module, ns, cfg, RunControl::new()).await;
    let ms = js_sys::Date::now() - t;
    let stall = beat.stop();
    assert_eq!(out.exit_code, Some(0), "{args:?}: {:?}", out.error);
    (
        ms,
        out.duration.as_secs_f64() * 1e3,
        stall,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `guest` instrumented for time slices and compiled.
async fn compile(r: &BrowserRunner, guest: &str) -> js_sys::WebAssembly::Module {
    let bytes = instrument(guest_bytes(guest), DEFAULT_BUDGET).expect("instruments");
    r.module(&bytes).await.expect("compiles")
}

#[wasm_bindgen_test]
async fn print_page_runner_figures() {
    let r = BrowserRunner::new();
    let ns_mib = n(option_env!("OANIX_BENCH_NS_MIB"), 4);
    let mib = n(option_env!("OANIX_BENCH_MIB"), 1);
    let writes = n(option_env!("OANIX_BENCH_WRITES"), 2_000);
    let cpu = n(option_env!("OANIX_BENCH_CPU"), 1);
    let many = compile(&r, "write_many").await;
    for held in [0, ns_mib] {
        let big = namespace(held);
        let (ms, guest, stall, out) = run(
            &r,
            &many,
            big.clone(),
            &["write_many", "0", &mib.to_string()],
        )
        .await;
        assert!(out.contains(&format!("big.bin: {mib} MiB")), "{out}");
        console_log!(
            "page: {mib} MiB write+read with {held} MiB in /workspace and in /tmp: run {ms:.1} ms \
             (guest {guest:.1} ms), longest main-thread stall {stall:.1} ms"
        );
        let (ms, _, stall, out) =
            run(&r, &many, big, &["write_many", &writes.to_string(), "0"]).await;
        assert!(
            out.contains(&format!("many.bin: {} bytes", writes * 16)),
            "{out}"
        );
        console_log!(
            "page: {writes} x 16-byte fd_write with {held} MiB in the namespace: {ms:.1} ms, \
             longest stall {stall:.1} ms"
        );
    }
    // The syscall path, issue 11's workloads: 8-byte writes to /tmp, stats, 4 KiB writes and
    // reads — each phase timed by the guest itself.
    let calls = compile(&r, "syscall_bench").await;
    let stats = n(option_env!("OANIX_BENCH_STATS"), 10_000);
    let cfg_args = [
        "syscall_bench".to_string(),
        writes.to_string(),
        stats.to_string(),
        mib.to_string(),
        "/tmp".into(),
    ];
    // The best of three runs per phase (the first also warms the JIT up).
    let mut best: Vec<(String, f64)> = Vec::new();
    for _ in 0..3 {
        let cfg = RunConfig {
            args: cfg_args.to_vec(),
            env: vec![("SYSCALL_BENCH_TIMES".into(), "1".into())],
            ..Default::default()
        };
        let out = r
            .run_module(&calls, namespace(0), cfg, RunControl::new())
            .await;
        assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("big.bin: {mib} MiB")), "{text}");
        for line in text.lines() {
            let Some((what, ms)) = line.rsplit_once(": ") else {
                continue;
            };
            let Some(ms) = ms.strip_suffix(" ms").and_then(|m| m.parse::<f64>().ok()) else {
                continue;
            };
            match best.iter_mut().find(|(w, _)| w == what) {
                Some((_, b)) => *b = b.min(ms),
                None => best.push((what.to_string(), ms)),
            }
        }
    }
    assert_eq!(best.len(), 4, "every phase timed");
    for (what, ms) in best {
        console_log!("page syscalls: {what}: {ms:.1} ms (best of 3)");
    }
    if cpu > 0 {
        let arg = cpu.to_string();
        let plain = r.module(guest_bytes("cpu_bound")).await.expect("compiles");
        let sliced = compile(&r, "cpu_bound").await;
        let mut best = [f64::MAX; 2];
        for _ in 0..3 {
            for (i, m) in [&plain, &sliced].into_iter().enumerate() {
                let (ms, _, _, out) = run(&r, m, Namespace::new(), &["cpu_bound", &arg]).await;
                assert!(out.starts_with("primes below"), "{out}");
                best[i] = best[i].min(ms);
            }
        }
        console_log!(
            "page: cpu_bound (scale {cpu}): {:.1} ms plain, {:.1} ms instrumented ({:.2}x)",
            best[0],
            best[1],
            best[1] / best[0]
        );
    }
}
