//! Hostile guests never hurt the host (issue 14): raw preview1 calls with values chosen to
//! overflow, exhaust or confuse the host, run on the real native host (and, where the
//! answer is defined, on wasmtime-wasi for the same answer).

mod common;

use common::{module, run_reference, run_shim, Seen};
use oanix_core::wasi::InputPipe;
use oanix_native_runner::{reference::ReferenceRunner, RunConfig, RunError, Runner};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Paths and bytes the bodies refer to.
const DATA: &str = r#"
(data (i32.const 0x100) "f")
(data (i32.const 0x110) "d")
(data (i32.const 0x120) ".")
(data (i32.const 0x130) "newfile")
(data (i32.const 0x140) "n2")
(data (i32.const 0x150) "ABCD")
"#;

/// `(call $path_open ...)` of `path` (address, length) with `oflags`, read+write rights,
/// the new fd stored at 0x7100; the errno is recorded.
fn open(path: u32, len: u32, oflags: u32) -> String {
    format!(
        "(call $rec (call $path_open (i32.const 3) (i32.const 0) (i32.const {path}) (i32.const {len}) \
         (i32.const {oflags}) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0x7100)))"
    )
}

fn errnos(seen: &Seen) -> Vec<u8> {
    seen.stdout.clone()
}

/// Runs `f` on another thread; a hang fails the test instead of hanging it.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the host did not come back (hung past its own timeout)")
}

#[test]
fn pointers_at_the_top_of_memory_are_efault_not_a_host_panic() {
    let r = Runner::new().unwrap();
    // 4 GiB of memory: every address below is inside it, but address + size wraps.
    let body = r#"
  (call $rec (call $fd_prestat_get (i32.const 3) (i32.const 0xFFFFFFFC)))
  (call $rec (call $args_get (i32.const 0x1000) (i32.const 0xFFFFFFFE)))
  (call $rec (call $args_get (i32.const 0xFFFFFFFC) (i32.const 0x1000)))
  (call $rec (call $args_sizes_get (i32.const 0xFFFFFFFE) (i32.const 0x1000)))
  (call $rec (call $environ_get (i32.const 0x1000) (i32.const 0xFFFFFFFD)))
  (call $rec (call $environ_sizes_get (i32.const 0x1000) (i32.const 0xFFFFFFFF)))
  ;; one clock subscription (timeout 0) whose event is written at the very top
  (i32.store8 (i32.const 0x2008) (i32.const 0))
  (i32.store (i32.const 0x2010) (i32.const 1))
  (i64.store (i32.const 0x2018) (i64.const 0))
  (call $rec (call $poll_oneoff (i32.const 0x2000) (i32.const 0xFFFFFFF0) (i32.const 1) (i32.const 0x1000)))
  (call $rec (call $poll_oneoff (i32.const 0x2000) (i32.const 0x3000) (i32.const 1) (i32.const 0xFFFFFFFE)))
  (call $rec (call $fd_readdir (i32.const 3) (i32.const 0xFFFFFF00) (i32.const 0x1000) (i64.const 0) (i32.const 0x1000)))
  (call $rec (call $random_get (i32.const 0xFFFFFFF0) (i32.const 0x20)))
"#;
    let cfg = RunConfig {
        args: vec!["prog".into(), "arg".into()],
        env: vec![("K".into(), "V".into())],
        ..Default::default()
    };
    let seen = run_shim(&r, &module(65536, DATA, body), cfg);
    assert_eq!(seen.end, "exit 0", "{seen:?}");
    assert_eq!(errnos(&seen), vec![21; 10]);
}

#[test]
fn a_host_file_dated_after_2554_is_eoverflow_not_a_panic() {
    // 2^35 s after the epoch is in year 3058: past what u64 nanoseconds can hold.
    let late = std::time::UNIX_EPOCH + Duration::from_secs(1 << 35);
    // tmpfs stores such times (ext4 stops at 2446): prefer /dev/shm where there is one.
    let shm = std::path::Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let dir = common::temp_dir_in(&base, "late");
    let file = std::fs::File::create(dir.path().join("late")).unwrap();
    let stored = file
        .set_modified(late)
        .and_then(|()| file.metadata()?.modified());
    if stored.ok() != Some(late) {
        eprintln!("this file system cannot store a time past 2554; nothing to test");
        return;
    }
    let fs = oanix_core::services::WorkspaceFs::open(dir.path(), false).unwrap();
    let got = oanix_core::FileService::stat(
        &fs,
        &oanix_core::FsPath::parse("/late").unwrap(),
        oanix_core::Follow::Yes,
    );
    assert_eq!(got.err(), Some(oanix_core::FsError::Overflow));

    // And through a guest, on both hosts: path_filestat_get answers EOVERFLOW (61).
    let body = r#"
  (call $rec (call $path_filestat_get (i32.const 3) (i32.const 0) (i32.const 0x160) (i32.const 4) (i32.const 0x7200)))
"#;
    let data = format!("{DATA}(data (i32.const 0x160) \"late\")");
    let wat = module(1, &data, body);
    let mut ns = oanix_core::Namespace::new();
    ns.mount("/w", std::sync::Arc::new(fs)).unwrap();
    let out = Runner::new()
        .unwrap()
        .run(wat.as_bytes(), ns, RunConfig::default());
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    assert_eq!(out.stdout, vec![61]);
    let reference = ReferenceRunner::new().unwrap();
    let out = reference.run(wat.as_bytes(), &[(dir.path(), "/w")], &RunConfig::default());
    assert_eq!(out.stdout, vec![61], "{:?}", out.error);
}

#[test]
fn huge_random_get_stops_at_the_timeout() {
    // 4 GiB of randomness per call, forever, under a 300 ms timeout.
    let body = r#"
  (loop $l (drop (call $random_get (i32.const 0) (i32.const 0xFFFF0000))) (br $l))
"#;
    let wat = module(65536, DATA, body);
    let started = Instant::now();
    let seen = within(Duration::from_secs(60), move || {
        let r = Runner::new().unwrap();
        let cfg = RunConfig {
            timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        run_shim(&r, &wat, cfg)
    });
    assert_eq!(seen.end, "timeout");
    // One call used to fill all 4 GiB before the timeout could act (~15 s).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_endless_start_section_hits_the_timeout() {
    let wat = r#"(module (memory (export "memory") 1)
        (func $forever (loop $l (br $l)))
        (start $forever)
        (func (export "_start")))"#;
    let cfg = RunConfig {
        timeout: Some(Duration::from_millis(200)),
        ..Default::default()
    };
    let out = within(Duration::from_secs(30), move || {
        Runner::new()
            .unwrap()
            .run(wat.as_bytes(), oanix_core::Namespace::new(), cfg)
    });
    assert_eq!(
        out.error,
        Some(RunError::Timeout(Duration::from_millis(200)))
    );
    let out = within(Duration::from_secs(30), move || {
        let cfg = RunConfig {
            timeout: Some(Duration::from_millis(200)),
            ..Default::default()
        };
        ReferenceRunner::new()
            .unwrap()
            .run(wat.as_bytes(), &[], &cfg)
    });
    assert_eq!(out.error.map(|e| e.kind()), Some("timeout"));
}

#[test]
fn one_write_call_does_bounded_work_and_reports_a_true_count() {
    let r = Runner::new().unwrap();
    // 8M iovecs of one byte each: one call writes the first (as wasmtime does), not 8M
    // one-byte writes (15 s past a 1 s timeout).
    let many = format!(
        r#"
  {open}
  (local.set $i (i32.const 0))
  (loop $l
    (i32.store (i32.add (i32.const 0x100000) (i32.mul (local.get $i) (i32.const 8))) (i32.const 0x150))
    (i32.store (i32.add (i32.const 0x100004) (i32.mul (local.get $i) (i32.const 8))) (i32.const 1))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $l (i32.lt_u (local.get $i) (i32.const 0x800000))))
  (call $rec (call $fd_write (i32.load (i32.const 0x7100)) (i32.const 0x100000) (i32.const 0x800000) (i32.const 0x7300)))
  (call $rec (i32.load (i32.const 0x7300)))
"#,
        open = open(0x130, 7, 1)
    );
    let wat = module(2048, DATA, &many).replace(
        "(func (export \"_start\")\n",
        "(func (export \"_start\") (local $i i32)\n",
    );
    let seen = run_shim(&r, &wat, RunConfig::default());
    assert_eq!(errnos(&seen), vec![0, 0, 1], "{seen:?}");
    assert_eq!(seen.tree["newfile"].as_deref(), Some(&b"A"[..]));
    let theirs = run_reference(&ReferenceRunner::new().unwrap(), &wat, RunConfig::default());
    assert_eq!(seen, theirs);

    // Five iovecs aliasing one 1 GiB region: 5 GiB asked, the count must not wrap
    // (it used to report 1 GiB after writing 5): at most 16 MiB per call.
    let alias = format!(
        r#"
  {open}
  (i32.store (i32.const 0x6000) (i32.const 0x10000))
  (i32.store (i32.const 0x6004) (i32.const 0x40000000))
  (memory.copy (i32.const 0x6008) (i32.const 0x6000) (i32.const 8))
  (memory.copy (i32.const 0x6010) (i32.const 0x6000) (i32.const 16))
  (memory.copy (i32.const 0x6020) (i32.const 0x6000) (i32.const 8))
  (call $rec (call $fd_write (i32.load (i32.const 0x7100)) (i32.const 0x6000) (i32.const 5) (i32.const 0x7300)))
  (call $rec (i32.eq (i32.load (i32.const 0x7300)) (i32.const 0x1000000)))
"#,
        open = open(0x130, 7, 1)
    );
    let seen = run_shim(&r, &module(16386, DATA, &alias), RunConfig::default());
    assert_eq!(errnos(&seen), vec![0, 0, 1], "{}", seen.end);
    assert_eq!(seen.tree["newfile"].as_ref().map(Vec::len), Some(16 << 20));
}

#[test]
fn a_faulting_second_iovec_is_a_short_count_with_nothing_lost() {
    // iovec 1 is fine (4 bytes at 0x150), iovec 2 points past the end of memory: the call
    // moves the first iovec and says so (as wasmtime); it used to write 4 bytes to the file
    // and report EFAULT with the offset unmoved, and to lose 4 bytes of stdin.
    let body = format!(
        r#"
  (i32.store (i32.const 0x6000) (i32.const 0x150))
  (i32.store (i32.const 0x6004) (i32.const 4))
  (i32.store (i32.const 0x6008) (i32.const 0xFFFFFFF0))
  (i32.store (i32.const 0x600c) (i32.const 4))
  {open}
  (call $rec (call $fd_write (i32.load (i32.const 0x7100)) (i32.const 0x6000) (i32.const 2) (i32.const 0x7300)))
  (call $rec (call $fd_tell (i32.load (i32.const 0x7100)) (i32.const 0x7308)))
  (call $rec (i32.load (i32.const 0x7308)))
  (call $rec (i32.load (i32.const 0x7300)))
  ;; stdin: 4 bytes land in iovec 1 and are reported; the next read gets the other 4
  (call $rec (call $fd_read (i32.const 0) (i32.const 0x6000) (i32.const 2) (i32.const 0x7300)))
  (call $rec (i32.load (i32.const 0x7300)))
  (i32.store (i32.const 0x6004) (i32.const 16))
  (call $rec (call $fd_read (i32.const 0) (i32.const 0x6000) (i32.const 1) (i32.const 0x7300)))
  (call $rec (i32.load (i32.const 0x7300)))
  (call $rec (i32.load8_u (i32.const 0x150)))
"#,
        open = open(0x100, 1, 0)
    );
    let cfg = || RunConfig {
        stdin: InputPipe::from_bytes(b"abcdefgh".to_vec()),
        ..Default::default()
    };
    let wat = module(1, DATA, &body);
    let seen = run_shim(&Runner::new().unwrap(), &wat, cfg());
    assert_eq!(
        errnos(&seen),
        vec![0, 0, 0, 4, 4, 0, 4, 0, 4, b'e'],
        "{seen:?}"
    );
    assert_eq!(seen.tree["f"].as_deref(), Some(&b"ABCD456789"[..]));
    let theirs = run_reference(&ReferenceRunner::new().unwrap(), &wat, cfg());
    assert_eq!(seen, theirs);
}

/// Runs `body` on both hosts and asserts the same errnos, end and tree; returns the errnos.
fn same_as_wasmtime(body: &str) -> Vec<u8> {
    let wat = module(1, DATA, body);
    let ours = run_shim(&Runner::new().unwrap(), &wat, RunConfig::default());
    let theirs = run_reference(&ReferenceRunner::new().unwrap(), &wat, RunConfig::default());
    assert_eq!(
        ours, theirs,
        "OANIX (left) and wasmtime-wasi (right) differ"
    );
    ours.stdout
}

#[test]
fn out_of_range_exit_codes_trap_like_wasmtime() {
    for code in ["-1", "0x80000000", "126", "255", "256"] {
        let wat = module(1, DATA, &format!("(call $proc_exit (i32.const {code}))"));
        let ours = run_shim(&Runner::new().unwrap(), &wat, RunConfig::default());
        assert_eq!(ours.end, "trap", "proc_exit({code})");
        let theirs = run_reference(&ReferenceRunner::new().unwrap(), &wat, RunConfig::default());
        assert_eq!(theirs.end, "trap", "wasmtime: proc_exit({code})");
    }
    let wat = module(1, DATA, "(call $proc_exit (i32.const 125))");
    assert_eq!(
        run_shim(&Runner::new().unwrap(), &wat, RunConfig::default()).end,
        "exit 125"
    );
}

#[test]
fn out_of_range_enums_and_flags_are_einval() {
    // Each used to be accepted (whence 256 as SET, oflags 0x10001 created the file, ...).
    // OANIX answers EINVAL (28); wasmtime's bindings trap on an argument that is not a
    // valid enum or flags value, except where noted (checked in the function itself).
    const TRAP: u8 = 0xff;
    let cases: &[(&str, &str, u8)] = &[
        (
            "fd_seek",
            "(i32.const 4) (i64.const 0) (i32.const 3) (i32.const 0x7300)",
            TRAP,
        ),
        (
            "fd_seek",
            "(i32.const 4) (i64.const 0) (i32.const 256) (i32.const 0x7300)",
            TRAP,
        ),
        (
            "fd_seek",
            "(i32.const 4) (i64.const 0) (i32.const -1) (i32.const 0x7300)",
            TRAP,
        ),
        (
            "fd_advise",
            "(i32.const 4) (i64.const 0) (i64.const 0) (i32.const 6)",
            TRAP,
        ),
        (
            "fd_advise",
            "(i32.const 4) (i64.const 0) (i64.const 0) (i32.const 256)",
            TRAP,
        ),
        (
            "fd_fdstat_set_flags",
            "(i32.const 4) (i32.const 0x20)",
            TRAP,
        ),
        (
            "fd_fdstat_set_flags",
            "(i32.const 4) (i32.const 0x10001)",
            TRAP,
        ),
        ("fd_fdstat_set_flags", "(i32.const 4) (i32.const 2)", 28),
        (
            "fd_filestat_set_times",
            "(i32.const 4) (i64.const 0) (i64.const 0) (i32.const 0x10)",
            TRAP,
        ),
        (
            "path_filestat_get",
            "(i32.const 3) (i32.const 2) (i32.const 0x100) (i32.const 1) (i32.const 0x7400)",
            TRAP,
        ),
        (
            "path_open",
            "(i32.const 3) (i32.const 0) (i32.const 0x130) (i32.const 7) (i32.const 0x10001) \
             (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0x7100)",
            TRAP,
        ),
        (
            "path_open",
            "(i32.const 3) (i32.const 0) (i32.const 0x130) (i32.const 7) (i32.const 0x11) \
             (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 0x7100)",
            TRAP,
        ),
    ];
    for &(call, rest, wasmtime) in cases {
        let body = format!("{}\n(call $rec (call ${call} {rest}))", open(0x100, 1, 0));
        let wat = module(1, DATA, &body);
        let ours = run_shim(&Runner::new().unwrap(), &wat, RunConfig::default());
        assert_eq!(ours.stdout, vec![0, 28], "{call} {rest}");
        assert!(!ours.tree.contains_key("newfile"), "{call} {rest}");
        let theirs = run_reference(&ReferenceRunner::new().unwrap(), &wat, RunConfig::default());
        if wasmtime == TRAP {
            assert_eq!(theirs.end, "trap", "wasmtime: {call} {rest}");
        } else {
            assert_eq!(theirs.stdout, vec![0, wasmtime], "wasmtime: {call} {rest}");
        }
        assert!(!theirs.tree.contains_key("newfile"), "{call} {rest}");
    }
}

#[test]
fn directories_dot_sizes_signals_and_cpu_clocks_answer_like_wasmtime() {
    let body = format!(
        r#"
  {creat_dir}
  (call $rec (call $path_remove_directory (i32.const 3) (i32.const 0x120) (i32.const 1)))
  (call $rec (call $path_unlink_file (i32.const 3) (i32.const 0x120) (i32.const 1)))
  {open_f}
  (call $rec (call $fd_filestat_set_size (i32.load (i32.const 0x7100)) (i64.const 0x8000000000000000)))
  (call $rec (call $proc_raise (i32.const 2)))
  ;; poll on the process CPU-time clock
  (i32.store8 (i32.const 0x2008) (i32.const 0))
  (i32.store (i32.const 0x2010) (i32.const 2))
  (i64.store (i32.const 0x2018) (i64.const 0))
  (call $rec (call $poll_oneoff (i32.const 0x2000) (i32.const 0x3000) (i32.const 1) (i32.const 0x7400)))
"#,
        creat_dir = open(0x110, 1, 1),
        open_f = open(0x100, 1, 0),
    );
    assert_eq!(same_as_wasmtime(&body), vec![31, 28, 31, 0, 28, 58, 28]);
}

#[test]
fn module_errors_are_invalid_modules_like_wasmtime() {
    let cases = [
        (
            "a wrong import signature",
            r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
               (memory (export "memory") 1) (func (export "_start")))"#,
        ),
        (
            "a data segment out of bounds",
            r#"(module (memory (export "memory") 1) (data (i32.const 0x10000) "x")
               (func (export "_start")))"#,
        ),
        (
            "a trap in the start section",
            r#"(module (memory (export "memory") 1) (func $s unreachable) (start $s)
               (func (export "_start")))"#,
        ),
        (
            "a shared memory",
            r#"(module (memory (export "memory") 1 1 shared) (func (export "_start")))"#,
        ),
    ];
    for (what, wat) in cases {
        let out = Runner::new().unwrap().run(
            wat.as_bytes(),
            oanix_core::Namespace::new(),
            RunConfig::default(),
        );
        assert!(
            matches!(out.error, Some(RunError::InvalidModule(_))),
            "{what}: {:?}",
            out.error
        );
        let out = ReferenceRunner::new()
            .unwrap()
            .run(wat.as_bytes(), &[], &RunConfig::default());
        assert!(
            matches!(out.error, Some(RunError::InvalidModule(_))),
            "wasmtime, {what}: {:?}",
            out.error
        );
    }
}

#[test]
fn a_start_section_may_call_wasi_like_on_wasmtime() {
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "hi\n")
  (func $s
    (i32.store (i32.const 0) (i32.const 0x100))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (start $s)
  (func (export "_start")))"#;
    let out = Runner::new().unwrap().run(
        wat.as_bytes(),
        oanix_core::Namespace::new(),
        RunConfig::default(),
    );
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    assert_eq!(out.stdout, b"hi\n");
    let out = ReferenceRunner::new()
        .unwrap()
        .run(wat.as_bytes(), &[], &RunConfig::default());
    assert_eq!(out.stdout, b"hi\n", "{:?}", out.error);
}

#[test]
fn the_reference_honours_read_only_and_max_memory() {
    let body = format!(
        "(call $rec (call $path_unlink_file (i32.const 3) (i32.const 0x100) (i32.const 1)))\n{}",
        open(0x130, 7, 1)
    );
    let wat = module(1, DATA, &body);
    let reference = ReferenceRunner::new().unwrap().read_only(true);
    let seen = run_reference(&reference, &wat, RunConfig::default());
    assert_eq!(
        seen.tree.get("f").cloned().flatten().as_deref(),
        Some(&b"0123456789"[..])
    );
    assert!(!seen.tree.contains_key("newfile"), "{seen:?}");
    assert!(seen.stdout.iter().all(|&e| e != 0), "{seen:?}");

    let grow = include_str!("../../tests/wat/grow.wat");
    let cfg = RunConfig {
        max_memory: Some(4 << 20),
        ..Default::default()
    };
    let out = ReferenceRunner::new()
        .unwrap()
        .run(grow.as_bytes(), &[], &cfg);
    assert_eq!(out.error, Some(RunError::MemoryLimit(4 << 20)));
}

#[test]
fn a_fifo_in_the_mount_is_refused_not_a_hang() {
    let dir = common::temp_dir("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("fifo"))
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo here; nothing to test");
        return;
    }
    let body = "(call $rec (call $path_open (i32.const 3) (i32.const 0) (i32.const 0x160) \
        (i32.const 4) (i32.const 0) (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 0x7100)))";
    let data = format!("{DATA}(data (i32.const 0x160) \"fifo\")");
    let wat = module(1, &data, body);
    let root = dir.path().to_path_buf();
    let out = within(Duration::from_secs(30), move || {
        let mut ns = oanix_core::Namespace::new();
        let fs = oanix_core::services::WorkspaceFs::open(&root, false).unwrap();
        ns.mount("/w", std::sync::Arc::new(fs)).unwrap();
        let cfg = RunConfig {
            timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        Runner::new().unwrap().run(wat.as_bytes(), ns, cfg)
    });
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    assert_eq!(out.stdout, vec![58], "ENOTSUP");
}
