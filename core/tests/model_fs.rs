//! Differential model test: the same random operation sequences run on `MemFs`, on
//! `WorkspaceFs` over a temp directory and directly on the real file system (`std::fs` over
//! another temp directory, the independent reference). Every operation must give the same
//! outcome on all three, and the final trees must be equal (names, kinds, bytes, symlink
//! targets, link counts and which paths share an inode).
//!
//! The operations go beyond the hand model of `model.rs`: symlinks (relative targets, some
//! climbing with `..`), readlink, stat vs lstat, hard links, open handles kept across
//! operations (written and read after their path was renamed or unlinked), append,
//! set-times read back through stat, and directory listings with kinds.
//!
//! Where MemFs or WorkspaceFs legitimately differ from Linux the runner normalises
//! explicitly, each case documented where it is done; any other difference fails.
//!
//! The parts: the generator ([`generate`]), the runner on a service ([`svc`]), the reference on
//! `std::fs` ([`reference`]) and the final trees ([`tree`]); the check and the tests are here.
#![cfg(not(target_arch = "wasm32"))]

// The parts live in `model_fs/` and this file stays the test's root (not `model_fs/main.rs`):
// proptest keeps its regressions beside the file that runs them, `model_fs.proptest-regressions`.
#[path = "model_fs/generate.rs"]
mod generate;
#[path = "model_fs/reference.rs"]
mod reference;
#[path = "model_fs/svc.rs"]
mod svc;
#[path = "model_fs/tree.rs"]
mod tree;

use generate::ops_from_words;
use oanix_core::services::WorkspaceFs;
use oanix_core::{Errno, FileKind, MemFs};
use reference::StdRunner;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use svc::SvcRunner;
use tree::{dump_host, dump_service};

/// Handle slots an operation sequence can keep open at once.
const SLOTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// read
    R,
    /// write + create (no read)
    W,
    /// read + write + create
    Rw,
    /// read + append + create
    A,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Mkdir(String),
    WriteAt(String, u64, Vec<u8>),
    Append(String, Vec<u8>),
    Create(String),
    CreateNew(String),
    SetLen(String, u64),
    Read(String),
    RemoveFile(String),
    RemoveDir(String),
    Rename(String, String),
    Stat(String),
    Lstat(String),
    Readdir(String),
    Symlink(String, String),
    Readlink(String),
    Link(String, String),
    SetTimes(String, Option<u64>, Option<u64>),
    Open(usize, String, Mode),
    HWrite(usize, u64, Vec<u8>),
    HAppend(usize, Vec<u8>),
    HRead(usize),
    HSetLen(usize, u64),
    HStat(usize),
    HSetTimes(usize, Option<u64>, Option<u64>),
    Close(usize),
}

/// What an operation returned, comparable across the three.
#[derive(Debug, Clone, PartialEq, Eq)]
enum V {
    Unit,
    Bytes(Vec<u8>),
    /// Kind, size (files and symlinks only: directory sizes are implementation-defined),
    /// link count (files and symlinks only: Linux counts `.`/`..` links of directories).
    Meta(FileKind, Option<u64>, Option<u64>),
    Entries(Vec<(String, FileKind)>),
    Target(String),
    /// The times that were set, read back (unset ones are not compared).
    Times(Option<u64>, Option<u64>),
    /// An operation on an empty handle slot (not run anywhere).
    NoHandle,
}

type Outcome = Result<V, Errno>;

/// A scratch directory with `ws/root` (WorkspaceFs) and `std/root` (the reference); the
/// `ws` and `std` levels catch anything that escapes a root.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir().join(format!(
            "oanix-model-fs-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("ws/root")).unwrap();
        std::fs::create_dir_all(base.join("std/root")).unwrap();
        Scratch(base)
    }

    /// Names next to a root: only `root` itself unless something escaped.
    fn beside(&self, which: &str) -> Vec<String> {
        std::fs::read_dir(self.0.join(which))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check(words: &[[u64; 4]]) {
    let ops = ops_from_words(words);
    check_ops(&ops);
}

/// Runs `ops` on all three, requiring the same outcomes and trees; returns the outcomes.
fn check_ops(ops: &[Op]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let scratch = Scratch::new();
    let mem = MemFs::new();
    let ws = WorkspaceFs::open(scratch.0.join("ws/root"), false).unwrap();
    let mut std_run = StdRunner {
        root: scratch.0.join("std/root"),
        handles: (0..SLOTS).map(|_| None).collect(),
    };
    let mut mem_run = SvcRunner::new(&mem);
    let mut ws_run = SvcRunner::new(&ws);
    for (i, op) in ops.iter().enumerate() {
        let link_parents = match op {
            Op::Link(a, b) => std_run.parent_err(a).or(std_run.parent_err(b)),
            _ => None,
        };
        let want = std_run.run(op);
        let want_ws = std_run.ws_expectation(op, &want, link_parents);
        let got_ws = ws_run.run(op);
        let got_mem = mem_run.run(op);
        assert_eq!(
            got_ws,
            want_ws,
            "WorkspaceFs vs std::fs, op {i}: {op:?} after {:?}",
            &ops[..i]
        );
        assert_eq!(
            got_mem,
            want,
            "MemFs vs std::fs, op {i}: {op:?} after {:?}",
            &ops[..i]
        );
        outcomes.push(want);
    }
    let want = dump_host(&std_run.root);
    assert_eq!(dump_service(&ws), want, "WorkspaceFs tree after {ops:?}");
    assert_eq!(dump_service(&mem), want, "MemFs tree after {ops:?}");
    assert_eq!(scratch.beside("ws"), ["root"], "escaped: {ops:?}");
    assert_eq!(scratch.beside("std"), ["root"], "escaped: {ops:?}");
    outcomes
}

/// The differences this test found, each fixed in the service; the sequence failed before.
#[test]
fn found_differences_stay_fixed() {
    use Op::*;
    let last = |ops: &[Op]| check_ops(ops).pop().unwrap();
    // WorkspaceFs: writing through a read-only handle was EIO (EBADF was not mapped).
    let ops = [WriteAt("a".into(), 0, vec![]), Open(0, "a".into(), Mode::R)];
    let mut w = ops.to_vec();
    w.push(HWrite(0, 0, vec![1]));
    assert_eq!(last(&w), Err(Errno::Badf));
    // WorkspaceFs: set_len through a read-only handle was EINVAL (Linux's ftruncate);
    // every other service says EBADF.
    let mut t = ops.to_vec();
    t.push(HSetLen(0, 0));
    assert_eq!(last(&t), Err(Errno::Badf));
    // MemFs: opening with create through a dangling symlink failed with ENOENT; POSIX
    // (and WorkspaceFs) create the target.
    let created = check_ops(&[
        Symlink("zz".into(), "a".into()),
        Mkdir("b".into()),
        Symlink("../zz".into(), "b/l".into()),
        Append("a".into(), vec![1, 2]),
        Open(0, "b/l".into(), Mode::Rw),
        HWrite(0, 2, vec![3]),
        Read("zz".into()),
        Readlink("a".into()),
    ]);
    assert_eq!(created[6], Ok(V::Bytes(vec![1, 2, 3])));
    assert_eq!(created[7], Ok(V::Target("zz".into())));
    // MemFs: linking a directory onto an existing name was EPERM; Linux checks the new
    // name first (EEXIST).
    let link = [
        Mkdir("a".into()),
        WriteAt("b".into(), 0, vec![]),
        Link("a".into(), "b".into()),
    ];
    assert_eq!(last(&link), Err(Errno::Exist));
    // MemFs: renaming a file onto its own (non-empty) parent directory was EISDIR; Linux
    // says ENOTEMPTY before looking at kinds.
    let up = [
        Mkdir("b".into()),
        WriteAt("b/a".into(), 0, vec![]),
        Rename("b/a".into(), "b".into()),
    ];
    assert_eq!(last(&up), Err(Errno::NotEmpty));
}

/// Handles outlive their names, as POSIX says: a renamed or unlinked file is still read and
/// written through an open handle, and its link count shows it.
#[test]
fn handles_follow_the_inode() {
    use Op::*;
    let out = check_ops(&[
        WriteAt("a".into(), 0, b"one".to_vec()),
        Open(0, "a".into(), Mode::Rw),
        Rename("a".into(), "b".into()),
        HWrite(0, 3, b"two".to_vec()),
        Read("b".into()),
        RemoveFile("b".into()),
        HAppend(0, b"!".to_vec()),
        HRead(0),
        HStat(0),
    ]);
    assert_eq!(out[4], Ok(V::Bytes(b"onetwo".to_vec())));
    assert_eq!(out[7], Ok(V::Bytes(b"onetwo!".to_vec())));
    assert_eq!(out[8], Ok(V::Meta(FileKind::File, Some(7), Some(0))));
}

mod prop {
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn memfs_and_workspacefs_match_the_real_file_system(
            words in vec(any::<[u64; 4]>(), 0..60),
        ) {
            super::check(&words);
        }
    }
}

#[test]
fn generated_sequences_do_real_work() {
    // Guard against a generator whose operations all fail: count successes per kind on
    // the reference over fixed seeds.
    let mut ok: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 1..=32u64 {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words: Vec<[u64; 4]> = (0..60).map(|_| [next(), next(), next(), next()]).collect();
        let scratch = Scratch::new();
        let mut r = StdRunner {
            root: scratch.0.join("std/root"),
            handles: (0..SLOTS).map(|_| None).collect(),
        };
        for op in ops_from_words(&words) {
            let name = format!("{op:?}");
            let kind = name.split('(').next().unwrap().to_string();
            if matches!(r.run(&op), Ok(v) if v != V::NoHandle) {
                *ok.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!("successful operations by kind: {ok:?}");
    for kind in [
        "Mkdir",
        "WriteAt",
        "Append",
        "Rename",
        "Symlink",
        "Readlink",
        "Link",
        "SetTimes",
        "Open",
        "HWrite",
        "HRead",
        "HStat",
        "Readdir",
        "RemoveFile",
        "RemoveDir",
    ] {
        assert!(ok.get(kind).copied().unwrap_or(0) >= 3, "{kind}: {ok:?}");
    }
}
