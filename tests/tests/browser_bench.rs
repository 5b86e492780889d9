//! Prints the WASI host figures from inside headless Chromium (dedicated worker): the same
//! syscall-heavy and CPU-bound guests as `native-runner/benches/wasi_bench.rs`. The test
//! command runs it small (checking the guests' output); `./scripts/dev.sh bench` runs it at
//! full size (OANIX_BENCH_WRITES, OANIX_BENCH_MIB, OANIX_BENCH_CPU at compile time).
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::BrowserRunner;
use oanix_core::run::RunConfig;
use oanix_core::scheduler::{JobSpec, JobState, Module, Scheduler};
use oanix_core::{MemFs, Namespace};
use oanix_tests::browser::guest_bytes;
use std::sync::Arc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn n(v: Option<&str>, default: u64) -> u64 {
    v.and_then(|s| s.parse().ok()).unwrap_or(default)
}

async fn best_of_3(r: &BrowserRunner, guest: &str, args: &[String]) -> (f64, String) {
    let mut best = f64::MAX;
    let mut stdout = String::new();
    for _ in 0..3 {
        let mut ns = Namespace::new();
        ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
        let cfg = RunConfig {
            args: std::iter::once(guest.to_string())
                .chain(args.iter().cloned())
                .collect(),
            preopens: Some(vec![("/workspace".into(), "/workspace".into())]),
            ..Default::default()
        };
        let out = r.run(guest_bytes(guest), ns, cfg).await;
        assert_eq!(out.exit_code, Some(0), "{guest}: {:?}", out.error);
        best = best.min(out.duration.as_secs_f64() * 1e3);
        stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    (best, stdout)
}

#[wasm_bindgen_test]
async fn print_browser_wasi_figures() {
    let r = BrowserRunner::new();
    let writes = n(option_env!("OANIX_BENCH_WRITES"), 2_000);
    let mib = n(option_env!("OANIX_BENCH_MIB"), 1);
    let cpu = n(option_env!("OANIX_BENCH_CPU"), 1);
    let (ms, out) = best_of_3(&r, "write_many", &[writes.to_string(), "0".into()]).await;
    assert!(
        out.contains(&format!("many.bin: {} bytes", writes * 16)),
        "{out}"
    );
    console_log!("browser: {writes} x 16-byte fd_write to MemFs: {ms:.1} ms");
    // 0 skips a part (dev.sh bench reruns the small-write part at browser_wasi_shim's size).
    if mib > 0 {
        let (ms, out) = best_of_3(&r, "write_many", &["0".into(), mib.to_string()]).await;
        assert!(out.contains(&format!("big.bin: {mib} MiB")), "{out}");
        console_log!("browser: {mib} MiB write+read in 4 KiB chunks: {ms:.1} ms");
    }
    let jobs = n(option_env!("OANIX_BENCH_JOBS"), 50);
    if jobs > 0 {
        let sched = Scheduler::new(Namespace::new(), 4, 100);
        let module: std::sync::Arc<[u8]> = guest_bytes("hello").into();
        for _ in 0..jobs {
            sched.submit(JobSpec {
                timeout: Some(std::time::Duration::from_secs(10)),
                ..JobSpec::wasi(Module::Bytes(module.clone()), vec!["hello".into()])
            });
        }
        let t = js_sys::Date::now();
        sched.run(&r).await;
        let ms = js_sys::Date::now() - t;
        let done = sched
            .jobs()
            .iter()
            .filter(|j| j.state == JobState::Completed && j.stdout == b"hello from wasi\n")
            .count();
        assert_eq!(done, (jobs as usize).min(100), "kept history all completed");
        console_log!(
            "browser: {jobs} hello jobs through the Scheduler: {:.0} jobs/s",
            jobs as f64 * 1000.0 / ms
        );
    }
    if cpu > 0 {
        let (ms, out) = best_of_3(&r, "cpu_bound", &[cpu.to_string()]).await;
        assert!(out.starts_with("primes below"), "{out}");
        console_log!("browser: cpu_bound (scale {cpu}): {ms:.1} ms");
    }
}
