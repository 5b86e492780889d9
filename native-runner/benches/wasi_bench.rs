//! Prints WASI host figures (not a timed test): the OANIX shim on wasmtime vs wasmtime-wasi
//! on a syscall-heavy and a CPU-bound guest, and hello-world runs per second with the module
//! cache. Guests come from `tests/guests` (built by `./scripts/dev.sh guests`).
//!
//! `OANIX_BENCH_WRITES` (default 1000000) small writes, `OANIX_BENCH_MIB` (default 64) MiB
//! written then read in 4 KiB chunks, `OANIX_BENCH_CPU` (default 5) the `cpu_bound` scale,
//! `OANIX_BENCH_HELLO` (default 10000) hello runs.

use oanix_core::scheduler::{JobSpec, JobState, Module, Scheduler};
use oanix_core::{wasi::OutputPipe, MemFs, Namespace};
use oanix_native_runner::{reference::ReferenceRunner, RunConfig, Runner};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn guest(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join(format!("wasm32-wasip1/release/{name}.wasm"));
    std::fs::read(&p)
        .unwrap_or_else(|e| panic!("{}: {e}; run ./scripts/dev.sh guests first", p.display()))
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cfg(args: &[String]) -> RunConfig {
    RunConfig {
        args: args.to_vec(),
        preopens: Some(vec![("/workspace".into(), "/workspace".into())]),
        ..Default::default()
    }
}

/// Best of `n` runs on each host; returns (shim, reference) durations.
fn compare(
    shim: &Runner,
    reference: &ReferenceRunner,
    bytes: &[u8],
    args: &[String],
) -> (Duration, Duration) {
    let mut best = (Duration::MAX, Duration::MAX);
    let mut outputs = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let mut ns = Namespace::new();
        ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
        let t = Instant::now();
        let out = shim.run(bytes, ns, cfg(args));
        best.0 = best.0.min(t.elapsed());
        assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
        outputs.0 = out.stdout;

        let dir = std::env::temp_dir().join(format!("oanix-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let t = Instant::now();
        let out = reference.run(bytes, &[(&dir, "/workspace")], &cfg(args));
        best.1 = best.1.min(t.elapsed());
        assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
        outputs.1 = out.stdout;
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(outputs.0, outputs.1, "hosts disagree on the guest's output");
    best
}

fn report(what: &str, (ours, theirs): (Duration, Duration)) {
    println!(
        "{what:<44} oanix {:>9.1} ms   wasmtime-wasi {:>9.1} ms   ratio {:.2}",
        ours.as_secs_f64() * 1e3,
        theirs.as_secs_f64() * 1e3,
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let shim = Runner::new().unwrap();
    let reference = ReferenceRunner::new().unwrap();
    let writes = env("OANIX_BENCH_WRITES", 1_000_000);
    let mib = env("OANIX_BENCH_MIB", 64);

    let wm = guest("write_many");
    let args = |w: u64, m: u64| vec!["write_many".to_string(), w.to_string(), m.to_string()];
    report(
        &format!("{writes} x 16-byte fd_write (MemFs vs disk)"),
        compare(&shim, &reference, &wm, &args(writes, 0)),
    );
    report(
        &format!("{mib} MiB write+read in 4 KiB chunks"),
        compare(&shim, &reference, &wm, &args(0, mib)),
    );
    // Issue 11's syscall workloads on the shim natively (the browser figures come from
    // tests/tests/browser_page_bench.rs), each phase timed by the guest.
    let calls = guest("syscall_bench");
    let mut ns = Namespace::new();
    ns.mount("/tmp", Arc::new(MemFs::new())).unwrap();
    let out = shim.run(
        &calls,
        ns,
        RunConfig {
            args: ["syscall_bench", "200000", "10000", &mib.to_string(), "/tmp"]
                .map(String::from)
                .to_vec(),
            env: vec![("SYSCALL_BENCH_TIMES".into(), "1".into())],
            ..Default::default()
        },
    );
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.ends_with(" ms"))
    {
        println!("native shim, syscall_bench: {line}");
    }
    // The same scale as the browser benches (the "CPU-bound ≤ 1.3× wasmtime").
    let cpu = guest("cpu_bound");
    let scale = env("OANIX_BENCH_CPU", 5);
    report(
        &format!("cpu_bound (scale {scale}, no syscalls)"),
        compare(
            &shim,
            &reference,
            &cpu,
            &["cpu_bound".into(), scale.to_string()],
        ),
    );

    let hello = guest("hello");
    let n = env("OANIX_BENCH_HELLO", 10_000);
    let t = Instant::now();
    for _ in 0..n {
        let out = shim.run(
            &hello,
            Namespace::new(),
            RunConfig {
                args: vec!["hello".into()],
                stdout: Some(OutputPipe::new()),
                preopens: Some(vec![]),
                ..Default::default()
            },
        );
        assert_eq!(out.exit_code, Some(0));
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{n} hello runs (module cache, {} compile): {:.0} runs/s ({:.1} us/run)",
        shim.compile_count(),
        n as f64 / secs,
        secs * 1e6 / n as f64
    );

    // The same hello guest as 10,000 Scheduler jobs (4 at a time).
    let jobs = env("OANIX_BENCH_JOBS", 10_000);
    let sched = Scheduler::new(Namespace::new(), 4, 1_000);
    let module: std::sync::Arc<[u8]> = hello.clone().into();
    for _ in 0..jobs {
        sched.submit(JobSpec {
            timeout: Some(Duration::from_secs(10)),
            ..JobSpec::wasi(Module::Bytes(module.clone()), vec!["hello".into()])
        });
    }
    let t = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(sched.run(&shim));
    let secs = t.elapsed().as_secs_f64();
    let ok = sched
        .jobs()
        .iter()
        .filter(|j| j.state == JobState::Completed)
        .count();
    println!(
        "{jobs} hello jobs through the Scheduler: {:.0} jobs/s; last {ok} kept all completed; \
         peak RSS {} MiB",
        jobs as f64 / secs,
        peak_rss_mib()
    );
}

/// Peak resident set size of this process (Linux `VmHWM`), MiB.
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}
