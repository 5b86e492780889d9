//! TaskFs through a namespace: layout, read-only files, live status, and the result.json
//! rules (valid JSON only; a bad write is EINVAL and keeps the previous result). Runs natively
//! and in headless Chromium.
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use oanix_core::services::{TaskFs, TaskSpec, TaskState, TaskStatus};
use oanix_core::{Errno, FileService, FsError, FsPath, Namespace, OpenOptions};
use std::sync::Arc;

fn task() -> (Namespace, Arc<TaskFs>) {
    let spec = TaskSpec {
        id: "t-1".into(),
        goal: "count words".into(),
        inputs: vec!["/workspace/README.md".into()],
        extra: Default::default(),
    };
    let fs = Arc::new(TaskFs::new(&spec, serde_json::json!({"owner": "tests"})).unwrap());
    let mut ns = Namespace::new();
    ns.mount("/task", fs.clone()).unwrap();
    (ns, fs)
}

fn p(s: &str) -> FsPath {
    FsPath::parse(s).unwrap()
}

#[test]
fn layout_and_read_only_files() {
    let (ns, _) = task();
    let names: Vec<String> = ns
        .list("/task")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["meta.json", "result.json", "spec.json", "status"]);
    let spec: TaskSpec = serde_json::from_slice(&ns.read_file("/task/spec.json").unwrap()).unwrap();
    assert_eq!(spec.id, "t-1");
    assert_eq!(
        ns.write_file("/task/spec.json", b"{}"),
        Err(FsError::ReadOnly)
    );
    assert_eq!(
        ns.write_file("/task/meta.json", b"{}"),
        Err(FsError::ReadOnly)
    );
    assert_eq!(ns.write_file("/task/status", b"{}"), Err(FsError::ReadOnly));
    assert_eq!(ns.write_file("/task/new.txt", b"x"), Err(FsError::NotFound));
    assert_eq!(FsError::ReadOnly.errno(), Errno::Rofs);
    assert_eq!(ns.mkdir(&p("/task/d")), Err(FsError::ReadOnly));
    assert_eq!(
        ns.remove_file(&p("/task/spec.json")),
        Err(FsError::ReadOnly)
    );
    for f in ["spec.json", "meta.json", "status", "result.json"] {
        let path = format!("/task/{f}");
        assert_eq!(
            ns.metadata(&path).unwrap().size,
            ns.read_file(&path).unwrap().len() as u64,
            "stat size of {f} equals the bytes read"
        );
    }
}

#[test]
fn bad_spec_json_is_refused() {
    assert!(matches!(
        TaskFs::from_json("{not json", "{}"),
        Err(FsError::InvalidInput(_))
    ));
    assert!(matches!(
        TaskFs::from_json(r#"{"id": "x"}"#, "{}"),
        Err(FsError::InvalidInput(m)) if m.contains("goal")
    ));
    let fs = TaskFs::from_json(r#"{"id": "x", "goal": "g", "priority": 3}"#, "{}").unwrap();
    let spec = oanix_core::service::read_all(
        fs.open(&p("/spec.json"), &OpenOptions::read())
            .unwrap()
            .as_ref(),
    )
    .unwrap();
    assert!(String::from_utf8(spec).unwrap().contains("\"priority\": 3"));
}

#[test]
fn status_is_live() {
    let (ns, fs) = task();
    let read = |ns: &Namespace| -> TaskStatus {
        serde_json::from_slice(&ns.read_file("/task/status").unwrap()).unwrap()
    };
    assert_eq!(read(&ns).status, TaskState::Pending);
    let h = fs.status();
    h.start();
    let s = read(&ns);
    assert_eq!(s.status, TaskState::Running);
    assert!(s.started_at.is_some());
    h.exit(3);
    let s = read(&ns);
    assert_eq!(
        s.status,
        TaskState::Failed,
        "a non-zero exit is not completed"
    );
    assert_eq!(s.exit_code, Some(3));
    h.exit(0);
    assert_eq!(read(&ns).status, TaskState::Completed);
    h.fail("trap: unreachable");
    assert_eq!(read(&ns).error.as_deref(), Some("trap: unreachable"));
}

#[test]
fn result_json_accepts_only_valid_json() {
    let (ns, fs) = task();
    ns.write_file("/task/result.json", br#"{"words": 12}"#)
        .unwrap();
    assert_eq!(fs.result(), br#"{"words": 12}"#);
    // Bad JSON: EINVAL, previous result kept.
    let err = ns
        .write_file("/task/result.json", b"{words: oops}")
        .unwrap_err();
    assert!(matches!(err, FsError::InvalidInput(_)), "{err:?}");
    assert_eq!(err.errno(), Errno::Inval);
    assert_eq!(
        ns.read_file("/task/result.json").unwrap(),
        br#"{"words": 12}"#
    );
    // Written in pieces (as an unbuffered serializer does): committed when complete.
    let h = ns
        .open(&p("/task/result.json"), &OpenOptions::create_truncate())
        .unwrap();
    let mut off = 0;
    for piece in [&b"{\"wo"[..], b"rds\": ", b"13", b"}"] {
        h.write_at(piece, off).unwrap();
        off += piece.len() as u64;
        if piece != b"}" {
            assert_eq!(
                fs.result(),
                br#"{"words": 12}"#,
                "unfinished: old result stands"
            );
        }
    }
    assert_eq!(fs.result(), br#"{"words": 13}"#);
    // A syntax error midway is refused and undone; the writer can go on correctly.
    let h = ns
        .open(&p("/task/result.json"), &OpenOptions::create_truncate())
        .unwrap();
    h.write_at(b"[1,", 0).unwrap();
    assert!(h.write_at(b"]]", 3).is_err());
    h.write_at(b"2]", 3).unwrap();
    assert_eq!(fs.result(), b"[1,2]");
}

/// A guest-chosen offset or length far past the cap (a hostile or buggy guest) is `EFBIG`,
/// never a host allocation of that size or an overflow; the result stands.
#[test]
fn result_json_refuses_huge_offsets_and_lengths() {
    use oanix_core::services::task::MAX_RESULT_BYTES;
    let (ns, fs) = task();
    ns.write_file("/task/result.json", b"[1]").unwrap();
    let h = ns
        .open(&p("/task/result.json"), &OpenOptions::read_write())
        .unwrap();
    let cap = MAX_RESULT_BYTES as u64;
    for (what, r) in [
        ("write at 1 TiB", h.write_at(b"x", 1 << 40).map(|_| ())),
        (
            "write across the cap",
            h.write_at(b"xx", cap - 1).map(|_| ()),
        ),
        ("write at u64::MAX", h.write_at(b"x", u64::MAX).map(|_| ())),
        (
            "write wrapping usize",
            h.write_at(&[b' '; 32], 0xFFFF_FFF0).map(|_| ()),
        ),
        ("set_len 1 TiB", h.set_len(1 << 40)),
        ("set_len past the cap", h.set_len(cap + 1)),
    ] {
        assert_eq!(r, Err(FsError::FileTooLarge), "{what}");
    }
    assert_eq!(FsError::FileTooLarge.errno(), Errno::Fbig);
    // A document of exactly the cap is fine.
    let mut doc = vec![b' '; MAX_RESULT_BYTES];
    doc[0] = b'[';
    doc[MAX_RESULT_BYTES - 1] = b']';
    h.write_at(&doc, 0).unwrap();
    assert_eq!(fs.result().len(), MAX_RESULT_BYTES);
    let a = ns
        .open(&p("/task/result.json"), &OpenOptions::append())
        .unwrap();
    assert_eq!(a.append(b" "), Err(FsError::FileTooLarge));
}

mod logs {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::p;
    use oanix_core::services::{LogLimits, LogsFs};
    use oanix_core::{Errno, FileService, FsError, Namespace, OpenOptions};
    use std::sync::Arc;

    fn logs(limits: LogLimits) -> (Namespace, Arc<LogsFs>) {
        let fs = Arc::new(LogsFs::new("session-1", "tester", limits));
        let mut ns = Namespace::new();
        ns.mount("/logs", fs.clone()).unwrap();
        (ns, fs)
    }

    #[test]
    fn layout() {
        let (ns, _) = logs(LogLimits::default());
        let names: Vec<String> = ns
            .list("/logs")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["atif", "events", "stderr.log", "stdout.log"]);
        let events: Vec<String> = ns
            .list("/logs/events")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(events, ["001.jsonl"]);
        assert_eq!(ns.list("/logs/atif").unwrap()[0].name, "trajectory.json");
    }

    /// An unfinished event line or trajectory step is held only so long: a guest writing
    /// without ever finishing a record gets EFBIG, not host memory without end; finished
    /// records still go through.
    #[test]
    fn unfinished_records_are_bounded() {
        let limits = LogLimits {
            event_file_bytes: 100 << 10,
            ..LogLimits::default()
        };
        let (ns, _) = logs(limits);
        let ev = ns
            .open(&p("/logs/events/001.jsonl"), &OpenOptions::append())
            .unwrap();
        let chunk = vec![b'x'; 60 << 10];
        ev.append(b"{\"level\":\"info\",\"message\":\"").unwrap();
        ev.append(&chunk).unwrap();
        assert_eq!(ev.append(&chunk), Err(FsError::FileTooLarge));
        assert_eq!(FsError::FileTooLarge.errno(), Errno::Fbig);
        ev.append(b"\"}\n").unwrap();
        ev.append(b"{\"level\":\"info\",\"message\":\"next\"}\n")
            .unwrap();
        let events = String::from_utf8(ns.read_file("/logs/events/001.jsonl").unwrap()).unwrap();
        assert!(events.contains("\"message\":\"next\""), "{events:.200}");
        assert!(
            events.contains(&"x".repeat(60 << 10)),
            "the long event went through"
        );
        let atif = ns
            .open(&p("/logs/atif/trajectory.json"), &OpenOptions::append())
            .unwrap();
        atif.append(b"{\"source\": \"").unwrap();
        atif.append(&chunk).unwrap();
        assert_eq!(atif.append(&chunk), Err(FsError::FileTooLarge));
    }

    #[test]
    fn stdout_is_append_only() {
        let (ns, fs) = logs(LogLimits::default());
        let h = ns
            .open(&p("/logs/stdout.log"), &OpenOptions::read_write())
            .unwrap();
        h.write_at(b"one\n", 0).unwrap();
        h.write_at(b"two\n", 0).unwrap(); // offset ignored: appends
        fs.append_stream(1, b"three\n").unwrap();
        assert_eq!(
            ns.read_file("/logs/stdout.log").unwrap(),
            b"one\ntwo\nthree\n"
        );
        assert_eq!(h.set_len(0), Err(FsError::NotPermitted));
        assert_eq!(FsError::NotPermitted.errno(), Errno::Perm);
        let trunc = ns.open(&p("/logs/stdout.log"), &OpenOptions::create_truncate());
        assert_eq!(trunc.err(), Some(FsError::NotPermitted));
        assert_eq!(
            ns.remove_file(&p("/logs/stdout.log")),
            Err(FsError::NotPermitted)
        );
        assert_eq!(
            ns.metadata("/logs/stdout.log").unwrap().size,
            ns.read_file("/logs/stdout.log").unwrap().len() as u64
        );
    }

    #[test]
    fn stream_cap_refuses_with_enospc_and_keeps_what_was_logged() {
        let (ns, fs) = logs(LogLimits {
            stream_cap: 10,
            ..LogLimits::default()
        });
        fs.append_stream(2, b"12345678").unwrap();
        assert_eq!(fs.append_stream(2, b"abc"), Err(FsError::NoSpace));
        assert_eq!(ns.read_file("/logs/stderr.log").unwrap(), b"12345678");
    }

    #[test]
    fn events_are_validated_lines() {
        let (ns, _) = logs(LogLimits::default());
        let h = ns
            .open(&p("/logs/events/001.jsonl"), &OpenOptions::append())
            .unwrap();
        h.write_at(br#"{"level":"info","message":"started","data":{"n":1}}"#, 0)
            .unwrap();
        assert!(
            ns.read_file("/logs/events/001.jsonl").unwrap().is_empty(),
            "line unfinished"
        );
        h.write_at(b"\n", 0).unwrap();
        let text = String::from_utf8(ns.read_file("/logs/events/001.jsonl").unwrap()).unwrap();
        let ev: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(ev["message"], "started");
        assert!(ev["timestamp"].as_str().unwrap().ends_with('Z'), "{ev}");
        // Malformed lines: EINVAL, nothing appended (not silently dropped).
        for bad in [
            &b"not json\n"[..],
            br#"{"level":"loud","message":"x"}"#,
            br#"{"level":"info"}"#,
        ] {
            let mut line = bad.to_vec();
            if !line.ends_with(b"\n") {
                line.push(b'\n');
            }
            let err = h.write_at(&line, 0).unwrap_err();
            assert_eq!(
                err.errno(),
                Errno::Inval,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // A write mixing a good and a bad line appends neither.
        let mixed = b"{\"level\":\"warn\",\"message\":\"ok\"}\n{oops}\n";
        assert!(h.write_at(mixed, 0).is_err());
        assert_eq!(
            String::from_utf8(ns.read_file("/logs/events/001.jsonl").unwrap()).unwrap(),
            text
        );
        // Writing to a new name under /events appends to the current file.
        ns.write_file(
            "/logs/events/any.jsonl",
            b"{\"level\":\"debug\",\"message\":\"two\"}\n",
        )
        .unwrap();
        let lines = ns.read_file("/logs/events/001.jsonl").unwrap();
        assert_eq!(lines.iter().filter(|&&b| b == b'\n').count(), 2);
    }

    #[test]
    fn events_rotate_by_size_and_drop_the_oldest_past_the_cap() {
        let (ns, _) = logs(LogLimits {
            event_file_bytes: 200,
            event_files: 3,
            ..LogLimits::default()
        });
        for i in 0..40 {
            let line = format!("{{\"level\":\"info\",\"message\":\"event {i:02}\"}}\n");
            ns.write_file("/logs/events/x.jsonl", line.as_bytes())
                .unwrap();
        }
        let files: Vec<String> = ns
            .list("/logs/events")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(files.len(), 3, "{files:?}");
        assert_ne!(
            files[0], "001.jsonl",
            "the oldest files were dropped: {files:?}"
        );
        let newest = ns.read_file(&format!("/logs/events/{}", files[2])).unwrap();
        assert!(String::from_utf8(newest).unwrap().contains("event 39"));
        for f in &files {
            let size = ns.metadata(&format!("/logs/events/{f}")).unwrap().size;
            assert!(size <= 200, "{f}: {size}");
        }
    }

    #[test]
    fn atif_steps_are_validated_and_rendered() {
        let (ns, fs) = logs(LogLimits {
            atif_steps: 3,
            ..LogLimits::default()
        });
        let path = "/logs/atif/trajectory.json";
        ns.write_file(
            path,
            br#"{"step_id":1,"source":"user","message":"count words"}"#,
        )
        .unwrap();
        let h = ns.open(&p(path), &OpenOptions::append()).unwrap();
        h.write_at(br#"{"step_id":2,"source":"agent","#, 0).unwrap();
        h.write_at(br#""message":"12 words","tool_calls":[]}"#, 0)
            .unwrap();
        for (bad, why) in [
            (
                &br#"{"step_id":2,"source":"agent","message":"dup"}"#[..],
                "step id not sequential",
            ),
            (
                br#"{"step_id":3,"source":"robot","message":"x"}"#,
                "bad source",
            ),
            (br#"{"step_id":3,"source":"agent"}"#, "no message"),
            (b"[1,2", "broken JSON continues?"),
        ] {
            let r = ns.write_file(path, bad);
            if why.ends_with('?') {
                assert!(r.is_ok(), "an unfinished document waits: {r:?}");
            } else {
                assert_eq!(r.unwrap_err().errno(), Errno::Inval, "{why}");
            }
        }
        let doc = fs.trajectory();
        assert_eq!(doc["schema_version"], "ATIF-v1.4");
        assert_eq!(doc["session_id"], "session-1");
        assert_eq!(doc["agent"]["name"], "tester");
        assert_eq!(doc["steps"].as_array().unwrap().len(), 2);
        assert_eq!(doc["steps"][1]["message"], "12 words");
        assert_eq!(doc["final_metrics"]["total_steps"], 2);
        let read: serde_json::Value = serde_json::from_slice(&ns.read_file(path).unwrap()).unwrap();
        assert_eq!(read, doc);
        assert_eq!(
            ns.metadata(path).unwrap().size,
            ns.read_file(path).unwrap().len() as u64
        );
        ns.write_file(path, br#"{"step_id":3,"source":"system","message":"done"}"#)
            .unwrap();
        let over = ns.write_file(path, br#"{"step_id":4,"source":"system","message":"x"}"#);
        assert_eq!(over, Err(FsError::NoSpace), "past the step cap");
    }
}

/// LogsFs against the simplest model: stdout.log is exactly the concatenation of the writes
/// that were accepted (offsets ignored), and a write is refused iff it would pass the cap.
#[cfg(not(target_arch = "wasm32"))]
mod model {
    use super::p;
    use oanix_core::services::{LogLimits, LogsFs};
    use oanix_core::{FileService, FsError, OpenOptions};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn stdout_log_is_the_accepted_writes(
            writes in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..40), any::<u64>()), 0..40),
            cap in 0usize..600,
        ) {
            let fs = LogsFs::new("s", "a", LogLimits { stream_cap: cap, ..LogLimits::default() });
            let h = fs.open(&p("/stdout.log"), &OpenOptions::append()).unwrap();
            let mut model = Vec::new();
            for (data, offset) in writes {
                let r = h.write_at(&data, offset);
                if model.len() + data.len() > cap {
                    prop_assert_eq!(r, Err(FsError::NoSpace));
                } else {
                    prop_assert_eq!(r, Ok(data.len()));
                    model.extend_from_slice(&data);
                }
            }
            let all = oanix_core::service::read_all(h.as_ref()).unwrap();
            prop_assert_eq!(&all, &model);
            prop_assert_eq!(h.metadata().unwrap().size, model.len() as u64);
        }
    }
}
