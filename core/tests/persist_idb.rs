//! IndexedDB persistence in real headless Chromium: round trip, incremental saves, atomicity
//! of an interrupted save, corrupt records, several named namespaces, deletion.
#![cfg(target_arch = "wasm32")]

mod common;
use oanix_core::persist::IdbStore;
use oanix_core::{FileService, FsError, FsPath, MemFs, Namespace};
use std::sync::Arc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

use common::sample_namespace as sample;

async fn store(tag: &str) -> IdbStore {
    let name = format!("oanix-test-{tag}-{}", js_sys::Math::random());
    IdbStore::open(&name).await.unwrap()
}

#[wasm_bindgen_test]
async fn round_trip_restores_every_file() {
    let db = store("round").await;
    let ns = sample();
    let stats = db.save("main", &ns).await.unwrap();
    assert!(stats.written >= 5, "{stats:?}");
    let loaded = db.load("main").await.unwrap().expect("saved");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    let back = loaded.namespace;
    assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"alpha");
    assert_eq!(back.read_file("/workspace/dir/b.txt").unwrap(), b"beta");
    assert_eq!(back.read_file("/task/spec.json").unwrap(), b"{}");
    assert_eq!(
        back.write_file("/task/x", b"no"),
        Err(FsError::ReadOnly),
        "MapFs comes back read-only"
    );
    assert!(db.load("never-saved").await.unwrap().is_none());
}

#[wasm_bindgen_test]
async fn an_edit_writes_only_what_changed() {
    let db = store("incr").await;
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    let again = db.save("main", &ns).await.unwrap();
    assert_eq!(again.written, 0, "nothing changed: {again:?}");
    ns.write_file("/workspace/a.txt", b"ALPHA!").unwrap();
    let edit = db.save("main", &ns).await.unwrap();
    assert_eq!(edit.written, 1, "only the edited file's inode: {edit:?}");
    assert_eq!(edit.bytes, 6);
    ns.remove_file(&FsPath::parse("/workspace/dir/b.txt").unwrap())
        .unwrap();
    let removed = db.save("main", &ns).await.unwrap();
    assert_eq!(removed.deleted, 1, "{removed:?}");
    assert_eq!(
        removed.written, 1,
        "the directory that lost an entry: {removed:?}"
    );
    let back = db.load("main").await.unwrap().unwrap().namespace;
    assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"ALPHA!");
    assert_eq!(
        back.read_file("/workspace/dir/b.txt"),
        Err(FsError::NotFound)
    );
}

#[wasm_bindgen_test]
async fn an_interrupted_save_leaves_the_previous_state() {
    let db = store("atomic").await;
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    ns.write_file("/workspace/a.txt", b"half-saved").unwrap();
    ns.write_file("/workspace/new.txt", b"new").unwrap();
    db.save_interrupted("main", &ns, 1).await.unwrap();
    let fresh = IdbStore::open(&db_name(&db)).await.unwrap();
    let back = fresh.load("main").await.unwrap().unwrap();
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(
        back.namespace.read_file("/workspace/a.txt").unwrap(),
        b"alpha"
    );
    assert_eq!(
        back.namespace.read_file("/workspace/new.txt"),
        Err(FsError::NotFound)
    );
}

fn db_name(db: &IdbStore) -> String {
    db.name()
}

#[wasm_bindgen_test]
async fn a_corrupt_record_is_reported_and_the_rest_loads() {
    let db = store("corrupt").await;
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    let ino = ns.metadata("/workspace/dir/b.txt").unwrap().ino;
    db.put_raw("main", "/workspace", 0, ino, &"garbage".into())
        .await
        .unwrap();
    let loaded = db.load("main").await.unwrap().unwrap();
    assert!(
        loaded.problems.iter().any(|p| p.contains("unreadable")),
        "{:?}",
        loaded.problems
    );
    assert_eq!(
        loaded.namespace.read_file("/workspace/a.txt").unwrap(),
        b"alpha"
    );
    assert_eq!(
        loaded.namespace.read_file("/workspace/dir/b.txt"),
        Err(FsError::NotFound)
    );
}

#[wasm_bindgen_test]
async fn named_namespaces_are_listed_restored_and_deleted() {
    let db = store("named").await;
    let one = sample();
    let two = sample();
    two.write_file("/workspace/a.txt", b"second").unwrap();
    db.save("one", &one).await.unwrap();
    db.save("two", &two).await.unwrap();
    assert_eq!(db.list().await.unwrap(), vec!["one", "two"]);
    let back = db.load("two").await.unwrap().unwrap().namespace;
    assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"second");
    db.delete("one").await.unwrap();
    assert_eq!(db.list().await.unwrap(), vec!["two"]);
    assert!(db.load("one").await.unwrap().is_none());
    let still = db.load("two").await.unwrap().unwrap().namespace;
    assert_eq!(still.read_file("/workspace/a.txt").unwrap(), b"second");
}

/// Figures (printed; nothing timed is asserted): persist N files / M bytes, a one-file edit
/// afterwards, and a restore. Small in the test command; `./scripts/dev.sh bench` sets
/// OANIX_BENCH_IDB_FILES=10000 and OANIX_BENCH_IDB_MIB=100 at compile time.
#[wasm_bindgen_test]
async fn print_indexeddb_figures() {
    let files: usize = option_env!("OANIX_BENCH_IDB_FILES")
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mib: usize = option_env!("OANIX_BENCH_IDB_MIB")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let size = (mib << 20) / files;
    let ws = MemFs::new();
    for i in 0..files {
        let data = vec![(i % 251) as u8; size];
        ws.write_file(&format!("/d{}/f{i}.bin", i % 100), &data)
            .unwrap();
    }
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(ws)).unwrap();
    let db = store("bench").await;
    let now = || js_sys::Date::now();
    let t = now();
    let full = db.save("bench", &ns).await.unwrap();
    let full_ms = now() - t;
    ns.write_file("/workspace/d7/f7.bin", b"edited").unwrap();
    let t = now();
    let edit = db.save("bench", &ns).await.unwrap();
    let edit_ms = now() - t;
    let fresh = IdbStore::open(&db.name()).await.unwrap();
    let t = now();
    let loaded = fresh.load("bench").await.unwrap().unwrap();
    let load_ms = now() - t;
    assert!(loaded.problems.is_empty());
    assert_eq!(
        loaded.namespace.read_file("/workspace/d7/f7.bin").unwrap(),
        b"edited"
    );
    assert_eq!(edit.written, 1, "{edit:?}");
    console_log!(
        "IndexedDB: save {files} files / {mib} MiB: {full_ms:.0} ms ({} records); \
         one-file edit: {edit_ms:.1} ms ({} record); restore: {load_ms:.0} ms",
        full.written,
        edit.written
    );
}
