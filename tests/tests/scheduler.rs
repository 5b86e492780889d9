//! The Scheduler on the native host with real guests: priorities (FIFO within one), the
//! concurrency limit, timeouts, cancelling queued and running jobs (also through
//! /jobs/{id}/ctl), non-zero exits as failures, scripts with pipes and redirections, jobs as
//! files, bounded history.
#![cfg(not(target_arch = "wasm32"))]

use oanix_core::scheduler::{JobId, JobKind, JobSpec, JobState, JobsFs, Module, Scheduler};
use oanix_core::{FileService, FsError, FsPath, MemFs, Namespace, OpenOptions};
use oanix_native_runner::Runner;
use oanix_tests::native::guest_bytes;
use std::sync::Arc;
use std::time::Duration;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn wasi(guest: &str, args: &[&str], priority: i32) -> JobSpec {
    let argv = std::iter::once(guest).chain(args.iter().copied());
    JobSpec {
        priority,
        timeout: Some(Duration::from_secs(20)),
        ..JobSpec::wasi(
            Module::Bytes(guest_bytes(guest).into()),
            argv.map(String::from).collect(),
        )
    }
}

/// How job `id` failed: its exit code (if it exited) and the error; panics if it did not.
fn failure(s: &Scheduler, id: JobId) -> (Option<i32>, String) {
    match s.job(id).unwrap().state {
        JobState::Failed { exit_code, error } => (exit_code, error),
        other => panic!("job {id}: {other:?}"),
    }
}

fn ns_with_bin() -> Namespace {
    let bin = MemFs::new();
    for g in [
        "hello",
        "stdin_echo",
        "args_env",
        "exit_code",
        "yes",
        "head",
        "wc",
        "infinite_loop",
    ] {
        bin.write_file(&format!("/{g}.wasm"), &guest_bytes(g))
            .unwrap();
    }
    let mut ns = Namespace::new();
    ns.mount("/bin", Arc::new(bin)).unwrap();
    ns.mount("/out", Arc::new(MemFs::new())).unwrap();
    ns
}

#[test]
fn priority_order_fifo_within_a_priority() {
    let s = Scheduler::new(Namespace::new(), 1, 100);
    let low = s.submit(wasi("hello", &[], 1));
    let high1 = s.submit(wasi("hello", &[], 5));
    let high2 = s.submit(wasi("args_env", &["x"], 5));
    rt().block_on(s.run(&Runner::new().unwrap()));
    let start = |id| s.job(id).unwrap().started_seq.unwrap();
    assert!(start(high1) < start(high2), "FIFO within a priority");
    assert!(start(high2) < start(low), "higher priority first");
    for id in [low, high1, high2] {
        assert_eq!(s.job(id).unwrap().state, JobState::Completed);
    }
    assert_eq!(s.job(high2).unwrap().stdout, b"arg[0]=args_env\narg[1]=x\n");
}

#[test]
fn the_concurrency_limit_holds() {
    let s = Scheduler::new(Namespace::new(), 2, 100);
    let ids: Vec<_> = (0..5)
        .map(|_| s.submit(wasi("poll_sleep", &[], 0)))
        .collect();
    rt().block_on(s.run(&Runner::new().unwrap()));
    let spans: Vec<(u64, u64)> = ids
        .iter()
        .map(|&id| {
            let j = s.job(id).unwrap();
            assert_eq!(j.state, JobState::Completed, "{:?}", j.state);
            (j.started_seq.unwrap(), j.finished_seq.unwrap())
        })
        .collect();
    let max_overlap = spans
        .iter()
        .map(|&(start, _)| {
            spans
                .iter()
                .filter(|&&(s2, e2)| s2 <= start && start < e2)
                .count()
        })
        .max()
        .unwrap();
    assert!(max_overlap <= 2, "at most 2 at once, saw {max_overlap}");
    assert!(max_overlap == 2, "they did run concurrently");
}

#[test]
fn timeouts_and_failures() {
    let s = Scheduler::new(Namespace::new(), 2, 100);
    let mut spin = wasi("infinite_loop", &[], 0);
    spin.timeout = Some(Duration::from_millis(300));
    let spin = s.submit(spin);
    let bad = s.submit(wasi("exit_code", &["3"], 0));
    let missing = s.submit(JobSpec::wasi(Module::Path("/nope.wasm".into()), vec![]));
    rt().block_on(s.run(&Runner::new().unwrap()));
    let (code, error) = failure(&s, spin);
    assert_eq!(code, None);
    assert!(error.contains("timed out"), "{error}");
    let failed = failure(&s, bad);
    assert_eq!(
        failed,
        (Some(3), "exited with code 3".into()),
        "a non-zero exit is a failure"
    );
    let (_, error) = failure(&s, missing);
    assert!(error.contains("cannot read module"), "{error}");
}

#[test]
fn cancel_queued_and_running_jobs_through_ctl() {
    let s = Scheduler::new(Namespace::new(), 1, 100);
    let jobs = JobsFs::new(s.clone());
    let mut sleeper = wasi("hello", &[], 9);
    sleeper.kind = JobKind::Wasi {
        module: Module::Bytes(include_bytes!("../wat/sleep_hour.wat").to_vec().into()),
        args: vec!["sleep".into()],
        stdin: String::new(),
    };
    let running = s.submit(sleeper);
    let queued = s.submit(wasi("hello", &[], 0));
    let q2 = s.submit(wasi("hello", &[], 0));
    s.cancel(queued).unwrap();
    assert_eq!(s.job(queued).unwrap().state, JobState::Cancelled);
    let runner = Runner::new().unwrap();
    rt().block_on(async {
        let cancel_later = async {
            // Wait for the condition (the job running), not for a guess at how long it takes.
            while s.job(running).unwrap().state != JobState::Running {
                tokio::task::yield_now().await;
            }
            let ctl = FsPath::parse(&format!("/{running}/ctl")).unwrap();
            let h = jobs.open(&ctl, &OpenOptions::read_write()).unwrap();
            assert!(matches!(
                h.write_at(b"explode", 0),
                Err(FsError::InvalidInput(_))
            ));
            h.write_at(b"cancel\n", 0).unwrap();
        };
        tokio::join!(s.run(&runner), cancel_later);
    });
    let j = s.job(running).unwrap();
    assert_eq!(j.state, JobState::Cancelled);
    assert!(j.started_at.is_some(), "it was running when cancelled");
    assert_eq!(s.job(queued).unwrap().started_at, None, "never started");
    assert_eq!(
        s.job(q2).unwrap().state,
        JobState::Completed,
        "the queue went on"
    );
    assert!(matches!(s.cancel(q2), Err(FsError::InvalidInput(_))));
}

#[test]
fn scripts_pipe_and_redirect() {
    let ns = ns_with_bin();
    let s = Scheduler::new(ns.clone(), 1, 100);
    // (A generous timeout: nothing here is about time, and a loaded machine compiling
    // every module afresh must not turn a pass into a timeout.)
    let script = |text: &str| script(text, Duration::from_secs(120));
    let ok = s.submit(script(
        "# greet, shout, record\n\
         /bin/hello.wasm | /bin/stdin_echo.wasm > /out/result.txt\n\
         /bin/args_env.wasm a \"b c\" >> /out/result.txt\n\
         /bin/hello.wasm\n",
    ));
    let stops = s.submit(script(
        "/bin/exit_code.wasm 3\n/bin/hello.wasm > /out/never.txt\n",
    ));
    let bad = s.submit(script("/bin/hello.wasm |\n"));
    rt().block_on(s.run(&Runner::new().unwrap()));
    assert_eq!(s.job(ok).unwrap().state, JobState::Completed);
    assert_eq!(
        String::from_utf8(ns.read_file("/out/result.txt").unwrap()).unwrap(),
        "HELLO FROM WASI\narg[0]=/bin/args_env.wasm\narg[1]=a\narg[2]=b c\n"
    );
    assert_eq!(
        s.job(ok).unwrap().stdout,
        b"hello from wasi\n",
        "unredirected output"
    );
    let (code, error) = failure(&s, stops);
    assert_eq!(code, Some(3));
    assert!(error.starts_with("line 1"), "{error}");
    assert_eq!(
        ns.read_file("/out/never.txt"),
        Err(FsError::NotFound),
        "stopped at the failure"
    );
    let (_, error) = failure(&s, bad);
    assert!(error.contains("empty command"), "{error}");
}

fn script(text: &str, timeout: Duration) -> JobSpec {
    JobSpec {
        kind: JobKind::Script {
            script: text.into(),
        },
        priority: 0,
        timeout: Some(timeout),
    }
}

/// Runs `text` as the one job of a new scheduler on `ns` (on wasmtime); the scheduler and
/// the job's id.
fn run_script(ns: &Namespace, text: &str, timeout: Duration) -> (Scheduler, JobId) {
    let s = Scheduler::new(ns.clone(), 1, 100);
    let id = s.submit(script(text, timeout));
    rt().block_on(s.run(&Runner::new().unwrap()));
    (s, id)
}

/// The stages of a line run at once through bounded pipes: `yes | head -n 3` ends when
/// `head` has its lines (`yes` then gets EPIPE, which is not a failure of the line), long
/// before the timeout that was the only end of it when stages ran one after another.
#[test]
fn yes_into_head_ends_when_head_exits() {
    let ns = ns_with_bin();
    let timeout = Duration::from_secs(60);
    let (s, id) = run_script(
        &ns,
        "/bin/yes.wasm | /bin/head.wasm -n 3\n\
         /bin/yes.wasm hi | /bin/head.wasm -n 2 | /bin/stdin_echo.wasm > /out/hi.txt\n",
        timeout,
    );
    let job = s.job(id).unwrap();
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(job.stdout, b"y\ny\ny\n");
    assert_eq!(ns.read_file("/out/hi.txt").unwrap(), b"HI\nHI\n");
    // `yes` was told its reader had gone and stopped (as by SIGPIPE), perhaps after its
    // complaint reached stderr; it complained of nothing else.
    let stderr = String::from_utf8_lossy(&job.stderr);
    assert!(
        stderr
            .lines()
            .filter(|l| l.starts_with("yes:"))
            .all(|l| l.starts_with("yes: standard output: Broken pipe")),
        "{stderr}"
    );
    let took = Duration::from_nanos(job.finished_at.unwrap() - job.started_at.unwrap());
    assert!(took < timeout / 2, "took {took:?}");
}

/// A writer that ignores `EPIPE` and writes on is stopped by the host once its reader has
/// gone (as SIGPIPE stops it in a shell): the line succeeds at once instead of running to
/// the timeout and counting as a success that then fails the next line.
#[test]
fn a_writer_ignoring_epipe_is_stopped_when_its_reader_ends() {
    let ns = ns_with_bin();
    let timeout = Duration::from_secs(60);
    let (s, id) = run_script(
        &ns,
        "/bin/yes.wasm --ignore-errors | /bin/head.wasm -n 1\n\
         /bin/yes.wasm --ignore-errors | /bin/head.wasm -n 2\n",
        timeout,
    );
    let job = s.job(id).unwrap();
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(job.stdout, b"y\ny\ny\n");
    let took = Duration::from_nanos(job.finished_at.unwrap() - job.started_at.unwrap());
    assert!(took < timeout / 2, "took {took:?}");
}

/// An intermediate output past the 64 MiB capture cap streams through the pipe: the
/// consumer counts every byte (nothing is held whole between stages any more).
#[test]
fn a_stage_writing_past_the_capture_cap_streams_to_the_next() {
    let ns = ns_with_bin();
    let bytes: u64 = (80 << 20) + 7;
    let started = std::time::Instant::now();
    let (s, id) = run_script(
        &ns,
        &format!("/bin/yes.wasm -c {bytes} | /bin/stdin_echo.wasm | /bin/wc.wasm > /out/n.txt\n"),
        Duration::from_secs(120),
    );
    let job = s.job(id).unwrap();
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(
        String::from_utf8(ns.read_file("/out/n.txt").unwrap()).unwrap(),
        format!("{bytes}\n")
    );
    assert_eq!(
        String::from_utf8_lossy(&job.stderr),
        format!("read {bytes} bytes\n"),
        "stdin_echo saw every byte"
    );
    eprintln!(
        "{} MiB through two pipes in {:?}",
        bytes >> 20,
        started.elapsed()
    );
}

/// The last stage's output is kept whole (the job's stdout, or a redirected file): past
/// the capture cap (64 MiB) the line fails rather than writing a silently cut copy.
#[test]
fn a_last_stage_over_the_capture_cap_fails_instead_of_cutting() {
    let ns = ns_with_bin();
    let (s, id) = run_script(
        &ns,
        "/bin/yes.wasm -c 68157440 | /bin/stdin_echo.wasm > /out/copy.txt\n",
        Duration::from_secs(120),
    );
    let (_, error) = failure(&s, id);
    assert!(
        error.starts_with("line 1: /bin/stdin_echo.wasm wrote more than the 64 MiB"),
        "{error}"
    );
    assert_eq!(ns.read_file("/out/copy.txt"), Err(FsError::NotFound));
}

/// A failing middle stage fails the line with its exit code and name; the stages still
/// running (`yes`, which never ends on its own) are stopped, and the script goes no further.
#[test]
fn a_failing_middle_stage_fails_the_line_and_stops_the_others() {
    let ns = ns_with_bin();
    let timeout = Duration::from_secs(60);
    let (s, id) = run_script(
        &ns,
        "/bin/hello.wasm\n\
         /bin/yes.wasm | /bin/exit_code.wasm 3 | /bin/wc.wasm\n\
         /bin/hello.wasm > /out/never.txt\n",
        timeout,
    );
    let job = s.job(id).unwrap();
    let (code, error) = failure(&s, id);
    assert_eq!(code, Some(3));
    assert_eq!(error, "line 2: /bin/exit_code.wasm exited with code 3");
    assert_eq!(ns.read_file("/out/never.txt"), Err(FsError::NotFound));
    assert!(
        String::from_utf8_lossy(&job.stderr).contains("goodbye from stderr"),
        "every stage's stderr is kept"
    );
    let took = Duration::from_nanos(job.finished_at.unwrap() - job.started_at.unwrap());
    assert!(took < timeout / 2, "took {took:?}");
}

/// The job's timeout covers every stage of a line: stages that never end — one spinning
/// without a WASI call and one blocked reading from it, or `yes` into `wc`, each waiting on
/// the other in turn — are stopped by it and the line fails.
#[test]
fn the_timeout_stops_a_pipeline_whose_stages_spin() {
    let ns = ns_with_bin();
    let s = Scheduler::new(ns.clone(), 1, 100);
    let spin = s.submit(script(
        "/bin/infinite_loop.wasm | /bin/wc.wasm\n",
        Duration::from_millis(500),
    ));
    let endless = s.submit(script(
        "/bin/yes.wasm | /bin/wc.wasm\n",
        Duration::from_millis(500),
    ));
    rt().block_on(s.run(&Runner::new().unwrap()));
    for id in [spin, endless] {
        let (code, error) = failure(&s, id);
        assert_eq!(code, None);
        assert!(error.starts_with("line 1: /bin/"), "{error}");
        assert!(error.contains("timed out"), "{error}");
    }
}

/// A job's files have one inode number each, the same from stat, readdir and an open
/// handle (tools such as `cp -a` or `du` took them for hard links of each other).
#[test]
fn job_files_have_distinct_consistent_inode_numbers() {
    use oanix_core::Follow;
    let s = Scheduler::new(Namespace::new(), 1, 100);
    let id = s.submit(wasi("hello", &[], 0));
    let fs = JobsFs::new(s.clone());
    let dir = FsPath::parse(&format!("/{id}")).unwrap();
    let mut seen = vec![fs.stat(&dir, Follow::Yes).unwrap().ino];
    for e in fs.readdir(&dir).unwrap() {
        let path = dir.join_name(&e.name);
        let stat = fs.stat(&path, Follow::Yes).unwrap().ino;
        let open = fs
            .open(&path, &OpenOptions::read())
            .unwrap()
            .metadata()
            .unwrap()
            .ino;
        assert_eq!((stat, open), (e.ino, e.ino), "{}", e.name);
        assert!(!seen.contains(&e.ino), "{} shares an inode number", e.name);
        seen.push(e.ino);
    }
    assert_eq!(seen.len(), 6);
}

/// The history is bounded by output bytes too (each job may keep up to 2 × 64 MiB): past
/// the bound the oldest finished jobs go, the newest always stays.
#[test]
fn history_is_bounded_by_output_bytes() {
    let s = Scheduler::new(Namespace::new(), 1, 100).with_history_bytes(40);
    let ids: Vec<JobId> = (0..5).map(|_| s.submit(wasi("hello", &[], 0))).collect();
    rt().block_on(s.run(&Runner::new().unwrap()));
    // "hello from wasi\n" is 16 bytes: two jobs fit in 40, a third does not.
    let kept: Vec<JobId> = s.jobs().into_iter().map(|j| j.id).collect();
    assert_eq!(kept, ids[3..], "the newest two");
    let s = Scheduler::new(Namespace::new(), 1, 100).with_history_bytes(0);
    let id = s.submit(wasi("hello", &[], 0));
    rt().block_on(s.run(&Runner::new().unwrap()));
    assert_eq!(
        s.job(id).unwrap().stdout,
        b"hello from wasi\n",
        "the newest stays"
    );
}

#[test]
fn jobs_as_files_and_bounded_history() {
    let s = Scheduler::new(Namespace::new(), 1, 2);
    let mut ns = Namespace::new();
    ns.mount("/jobs", Arc::new(JobsFs::new(s.clone()))).unwrap();
    let ids: Vec<_> = (0..4).map(|_| s.submit(wasi("hello", &[], 0))).collect();
    let listed: Vec<String> = ns
        .list("/jobs")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(listed.len(), 4, "queued jobs are listed");
    let status =
        String::from_utf8(ns.read_file(&format!("/jobs/{}/status", ids[0])).unwrap()).unwrap();
    assert!(status.contains("\"queued\""), "{status}");
    rt().block_on(s.run(&Runner::new().unwrap()));
    let listed: Vec<String> = ns
        .list("/jobs")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        listed,
        [ids[2].to_string(), ids[3].to_string()],
        "history keeps the last 2"
    );
    let last = ids[3];
    assert_eq!(
        ns.read_file(&format!("/jobs/{last}/stdout")).unwrap(),
        b"hello from wasi\n"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&ns.read_file(&format!("/jobs/{last}/status")).unwrap()).unwrap();
    assert_eq!(status["state"], "completed");
    let spec =
        String::from_utf8(ns.read_file(&format!("/jobs/{last}/spec.json")).unwrap()).unwrap();
    assert!(spec.contains("\"wasi\""), "{spec}");
    assert_eq!(
        ns.write_file(&format!("/jobs/{last}/status"), b"x"),
        Err(FsError::ReadOnly)
    );
    assert_eq!(
        ns.read_file(&format!("/jobs/{}/status", ids[0])),
        Err(FsError::NotFound)
    );
}
