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
