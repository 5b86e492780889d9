//! Script pipelines on the browser host (headless Chromium, dedicated worker, JSPI): the
//! stages of a line run at once through bounded pipes, as natively (`scheduler.rs`).
#![cfg(target_arch = "wasm32")]

use oanix_core::browser::BrowserRunner;
use oanix_core::scheduler::{JobKind, JobSpec, JobState, Scheduler};
use oanix_core::{MemFs, Namespace};
use oanix_tests::browser::guest_bytes;
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn ns_with_bin() -> Namespace {
    let bin = MemFs::new();
    for g in ["yes", "head", "wc", "stdin_echo", "exit_code"] {
        bin.write_file(&format!("/{g}.wasm"), guest_bytes(g))
            .unwrap();
    }
    let mut ns = Namespace::new();
    ns.mount("/bin", Arc::new(bin)).unwrap();
    ns.mount("/out", Arc::new(MemFs::new())).unwrap();
    ns
}

async fn run_script(ns: &Namespace, text: &str, timeout: Duration) -> oanix_core::scheduler::Job {
    let s = Scheduler::new(ns.clone(), 1, 10);
    let id = s.submit(JobSpec {
        kind: JobKind::Script {
            script: text.into(),
        },
        priority: 0,
        timeout: Some(timeout),
    });
    s.run(&BrowserRunner::new()).await;
    s.job(id).unwrap()
}

/// `yes | head -n 3` ends when `head` exits (`yes` gets EPIPE: not a failure).
#[wasm_bindgen_test]
async fn yes_into_head_ends_when_head_exits() {
    let ns = ns_with_bin();
    let timeout = Duration::from_secs(60);
    let job = run_script(&ns, "/bin/yes.wasm | /bin/head.wasm -n 3\n", timeout).await;
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(job.stdout, b"y\ny\ny\n");
    let took = Duration::from_nanos(job.finished_at.unwrap() - job.started_at.unwrap());
    assert!(took < timeout / 2, "took {took:?}");
}

/// More than the 64 MiB capture cap streams between two stages.
#[wasm_bindgen_test]
async fn a_stage_writing_past_the_capture_cap_streams_to_the_next() {
    let ns = ns_with_bin();
    let bytes: u64 = (80 << 20) + 7;
    let t = js_sys::Date::now();
    let job = run_script(
        &ns,
        &format!("/bin/yes.wasm -c {bytes} | /bin/wc.wasm > /out/n.txt\n"),
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(
        ns.read_file("/out/n.txt").unwrap(),
        format!("{bytes}\n").as_bytes()
    );
    console_log!(
        "browser: {} MiB through a pipe in {:.0} ms",
        bytes >> 20,
        js_sys::Date::now() - t
    );
}

/// A failing middle stage fails the line; the endless `yes` before it is stopped.
#[wasm_bindgen_test]
async fn a_failing_middle_stage_fails_the_line() {
    let ns = ns_with_bin();
    let job = run_script(
        &ns,
        "/bin/yes.wasm | /bin/exit_code.wasm 3 | /bin/wc.wasm\n",
        Duration::from_secs(60),
    )
    .await;
    match job.state {
        JobState::Failed { exit_code, error } => {
            assert_eq!(exit_code, Some(3));
            assert_eq!(error, "line 1: /bin/exit_code.wasm exited with code 3");
        }
        other => panic!("{other:?}"),
    }
}

/// The timeout stops stages that never end (`yes` into `wc`, each waiting on the other).
#[wasm_bindgen_test]
async fn the_timeout_stops_an_endless_pipeline() {
    let ns = ns_with_bin();
    let job = run_script(
        &ns,
        "/bin/yes.wasm | /bin/wc.wasm\n",
        Duration::from_millis(500),
    )
    .await;
    match job.state {
        JobState::Failed { exit_code, error } => {
            assert_eq!(exit_code, None);
            assert!(error.contains("timed out"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}
