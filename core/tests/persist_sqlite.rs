//! SQLite persistence with a real database file: the rules every store keeps (the shared
//! suite in `persist_suite`: round trip, incremental saves, a save interrupted and rolled
//! back, corrupt records, several named namespaces), and a process crashing mid-save
//! (previous state intact).
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod persist_suite;

use oanix_core::persist::{Loaded, SaveStats, SqliteStore};
use oanix_core::{FsError, FsResult, Namespace};
use persist_suite::Store;
use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::sample_namespace as sample;

fn db_path(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("oanix-sqlite-{tag}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

/// A store on a fresh database file, and the file (to open it again).
struct Sqlite(SqliteStore, PathBuf);

fn store(tag: &str) -> Sqlite {
    let path = db_path(tag);
    Sqlite(SqliteStore::open(&path).unwrap(), path)
}

impl Store for Sqlite {
    async fn save(&self, name: &str, ns: &Namespace) -> FsResult<SaveStats> {
        self.0.save(name, ns)
    }
    async fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        self.0.load(name)
    }
    async fn list(&self) -> FsResult<Vec<String>> {
        self.0.list()
    }
    async fn delete(&self, name: &str) -> FsResult<()> {
        self.0.delete(name)
    }
    async fn reopen(&self) -> Self {
        Sqlite(SqliteStore::open(&self.1).unwrap(), self.1.clone())
    }
    async fn save_interrupted_after_one(&self, name: &str, ns: &Namespace) {
        let r = self.0.save_with(name, ns, |n| {
            if n == 1 {
                Err(FsError::Cancelled)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(FsError::Cancelled));
    }
    async fn corrupt(&self, name: &str, mount: &str, layer: u32, ino: u64) {
        self.0
            .put_raw(name, mount, layer, ino, "{not json")
            .unwrap();
    }
}

/// Runs one of the suite's futures: with this store nothing in them ever waits.
fn run(f: impl Future<Output = ()>) {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(()) => {}
        Poll::Pending => panic!("a SQLite future waited"),
    }
}

#[test]
fn round_trip_restores_every_file() {
    run(persist_suite::round_trip_restores_every_file(store(
        "round",
    )));
}

#[test]
fn a_one_file_edit_in_a_large_namespace_writes_one_record() {
    run(persist_suite::a_one_file_edit_in_a_large_namespace_writes_one_record(store("big")));
}

#[test]
fn an_edit_writes_only_what_changed() {
    run(persist_suite::an_edit_writes_only_what_changed(store(
        "incr",
    )));
}

#[test]
fn an_interrupted_save_rolls_back() {
    run(persist_suite::an_interrupted_save_leaves_the_previous_state(store("interrupt")));
}

#[test]
fn a_corrupt_record_is_reported_and_the_rest_loads() {
    run(persist_suite::a_corrupt_record_is_reported_and_the_rest_loads(store("corrupt")));
}

#[test]
fn named_namespaces_are_listed_restored_and_deleted() {
    run(persist_suite::named_namespaces_are_listed_restored_and_deleted(store("named")));
}

/// What the crash helper prints just before it aborts inside the save.
const CRASH_MARK: &str = "oanix-crash-helper: aborting inside the save transaction";

/// Run by `a_crash_mid_save_keeps_the_previous_state` in a child process: saves v2 and
/// aborts the process halfway through.
#[test]
#[ignore = "helper: runs in a child process"]
fn crash_helper() {
    let Ok(path) = std::env::var("OANIX_CRASH_DB") else {
        return;
    };
    let db = SqliteStore::open(&path).unwrap();
    let ns = sample();
    db.load("main").unwrap();
    ns.write_file("/workspace/a.txt", b"v2 that never lands")
        .unwrap();
    ns.write_file("/workspace/c.txt", b"also v2").unwrap();
    let _ = db.save_with("main", &ns, |n| {
        if n == 1 {
            // Proof for the parent that the crash came here, mid-save, and not earlier.
            eprintln!("{CRASH_MARK}");
            std::process::abort(); // a crash with the transaction open
        }
        Ok(())
    });
}

#[test]
fn a_crash_mid_save_keeps_the_previous_state() {
    let path = db_path("crash");
    SqliteStore::open(&path)
        .unwrap()
        .save("main", &sample())
        .unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_helper", "--ignored", "--nocapture"])
        .env("OANIX_CRASH_DB", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains(CRASH_MARK),
        "the helper must reach the abort inside the save (stderr: {stderr})"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.status.signal(),
            Some(6),
            "the helper ends by SIGABRT, not by a panic or an error exit: {:?}",
            status.status
        );
    }
    let back = SqliteStore::open(&path)
        .unwrap()
        .load("main")
        .unwrap()
        .unwrap();
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    persist_suite::assert_previous_state(&back.namespace, "/workspace/c.txt");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    /// Random edits with saves and reloads in between: every load is the live tree.
    #[test]
    fn random_edits_and_saves_load_the_live_tree(
        words in proptest::collection::vec(proptest::prelude::any::<u64>(), 3..450)
    ) {
        run(persist_suite::random_edits_and_saves_load_the_live_tree(store("model"), &words));
    }
}

#[test]
fn a_save_after_an_interrupted_one_is_still_incremental() {
    run(persist_suite::a_save_after_an_interrupted_one_is_still_incremental(store("interrupted")));
}

#[test]
fn two_writers_on_one_database_never_mix_their_saves() {
    run(persist_suite::two_writers_on_one_database_never_mix_their_saves(store("writers")));
}

#[test]
fn a_removed_hard_link_saves_the_new_link_count() {
    run(persist_suite::a_removed_hard_link_saves_the_new_link_count(
        store("nlink"),
    ));
}
