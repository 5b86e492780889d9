//! IndexedDB persistence in real headless Chromium: the rules every store keeps (the shared
//! suite in `persist_suite`: round trip, incremental saves, atomicity of an interrupted
//! save, corrupt records, several named namespaces, deletion), and figures.
#![cfg(target_arch = "wasm32")]

mod common;
mod persist_suite;

use oanix_core::persist::{IdbStore, Loaded, SaveStats};
use oanix_core::{FileService, FsError, FsPath, FsResult, MemFs, Namespace};
use persist_suite::Store;
use std::sync::Arc;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A store on a fresh database.
async fn store(tag: &str) -> IdbStore {
    let name = format!("oanix-test-{tag}-{}", js_sys::Math::random());
    IdbStore::open(&name).await.unwrap()
}

impl Store for IdbStore {
    async fn save(&self, name: &str, ns: &Namespace) -> FsResult<SaveStats> {
        IdbStore::save(self, name, ns).await
    }
    async fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        IdbStore::load(self, name).await
    }
    async fn list(&self) -> FsResult<Vec<String>> {
        IdbStore::list(self).await
    }
    async fn delete(&self, name: &str) -> FsResult<()> {
        IdbStore::delete(self, name).await
    }
    async fn reopen(&self) -> Self {
        IdbStore::open(&self.name()).await.unwrap()
    }
    async fn save_interrupted_after_one(&self, name: &str, ns: &Namespace) {
        self.save_interrupted(name, ns, 1).await.unwrap();
    }
    async fn corrupt(&self, name: &str, mount: &str, layer: u32, ino: u64) {
        self.put_raw(name, mount, layer, ino, &"garbage".into())
            .await
            .unwrap();
    }
}

#[wasm_bindgen_test]
async fn round_trip_restores_every_file() {
    persist_suite::round_trip_restores_every_file(store("round").await).await;
}

#[wasm_bindgen_test]
async fn a_one_file_edit_in_a_large_namespace_writes_one_record() {
    persist_suite::a_one_file_edit_in_a_large_namespace_writes_one_record(store("big").await).await;
}

#[wasm_bindgen_test]
async fn an_edit_writes_only_what_changed() {
    persist_suite::an_edit_writes_only_what_changed(store("incr").await).await;
}

#[wasm_bindgen_test]
async fn an_interrupted_save_leaves_the_previous_state() {
    persist_suite::an_interrupted_save_leaves_the_previous_state(store("atomic").await).await;
}

#[wasm_bindgen_test]
async fn a_corrupt_record_is_reported_and_the_rest_loads() {
    persist_suite::a_corrupt_record_is_reported_and_the_rest_loads(store("corrupt").await).await;
}

#[wasm_bindgen_test]
async fn named_namespaces_are_listed_restored_and_deleted() {
    persist_suite::named_namespaces_are_listed_restored_and_deleted(store("named").await).await;
}

/// Loads `name` in a fresh handle (a reload of the page), with no problem.
async fn reload(db: &IdbStore, name: &str) -> (IdbStore, Namespace) {
    let fresh = IdbStore::open(&db.name()).await.unwrap();
    let loaded = fresh.load(name).await.unwrap().expect("saved");
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    (fresh, loaded.namespace)
}

/// Many small saves (each a small pack) are merged, and files deleted along the way stay
/// deleted: a copy of a deleted file left in an older pack does not come back.
#[wasm_bindgen_test]
async fn small_saves_are_merged_and_deleted_files_stay_deleted() {
    let db = store("merge").await;
    let ns = common::sample_namespace();
    db.save("main", &ns).await.unwrap();
    let mut compacted = 0;
    for i in 0..40 {
        ns.write_file(&format!("/workspace/f{i}.txt"), format!("v{i}").as_bytes())
            .unwrap();
        let stats = db.save("main", &ns).await.unwrap();
        // The new file and the directory that changed.
        assert_eq!((stats.written, stats.deleted), (2, 0), "{stats:?}");
        compacted += stats.compacted;
    }
    for i in 0..39 {
        ns.remove_file(&FsPath::parse(&format!("/workspace/f{i}.txt")).unwrap())
            .unwrap();
        let stats = db.save("main", &ns).await.unwrap();
        assert_eq!((stats.written, stats.deleted), (1, 1), "{stats:?}");
        compacted += stats.compacted;
    }
    assert!(compacted > 0, "small packs were never merged");
    let (fresh, back) = reload(&db, "main").await;
    // Seven inodes: /task and its file, /workspace, a.txt, dir, dir/b.txt, f39.txt. No
    // left-over copy of a deleted file came back, even unreachable.
    let idle = fresh.save("main", &back).await.unwrap();
    assert_eq!(
        (idle.written, idle.deleted, idle.unchanged),
        (0, 0, 7),
        "{idle:?}"
    );
    let (_, back) = reload(&fresh, "main").await;
    assert_eq!(back.read_file("/workspace/f39.txt").unwrap(), b"v39");
    for i in 0..39 {
        assert_eq!(
            back.read_file(&format!("/workspace/f{i}.txt")),
            Err(FsError::NotFound),
            "f{i} was deleted"
        );
    }
    assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"alpha");
    assert_eq!(back.read_file("/workspace/dir/b.txt").unwrap(), b"beta");
}

/// Packs that become mostly garbage are emptied into the next save (in the session that
/// loaded them too), and everything still loads.
#[wasm_bindgen_test]
async fn mostly_garbage_packs_are_reclaimed() {
    let db = store("reclaim").await;
    let ws = MemFs::new();
    for i in 0..300 {
        ws.write_file(&format!("/f{i}.bin"), &[1u8; 10_000])
            .unwrap();
    }
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(ws)).unwrap();
    let first = db.save("main", &ns).await.unwrap();
    assert_eq!((first.written, first.compacted), (301, 0), "{first:?}");
    // Rewrite two thirds of the files: the first save's packs are now mostly garbage.
    for i in 0..200 {
        ns.write_file(&format!("/workspace/f{i}.bin"), &[2u8; 10_000])
            .unwrap();
    }
    let edit = db.save("main", &ns).await.unwrap();
    assert_eq!(edit.written, 200, "{edit:?}");
    let (db, back) = reload(&db, "main").await;
    back.write_file("/workspace/f0.bin", b"last").unwrap();
    let after = db.save("main", &back).await.unwrap();
    assert_eq!(after.written, 1, "{after:?}");
    assert!(
        after.compacted > 0,
        "the old packs' live inodes moved: {after:?}"
    );
    let idle = db.save("main", &back).await.unwrap();
    assert_eq!((idle.written, idle.compacted), (0, 0), "{idle:?}");
    let (_, back) = reload(&db, "main").await;
    assert_eq!(back.read_file("/workspace/f0.bin").unwrap(), b"last");
    assert_eq!(back.read_file("/workspace/f1.bin").unwrap(), [2u8; 10_000]);
    assert_eq!(
        back.read_file("/workspace/f299.bin").unwrap(),
        [1u8; 10_000]
    );
}

/// The packs of a mount removed from the namespace are reclaimed, also by a session that
/// loaded the namespace after the removal.
#[wasm_bindgen_test]
async fn a_removed_mount_leaves_no_packs_behind() {
    let db = store("unmount").await;
    let a = MemFs::new();
    for i in 0..8 {
        a.write_file(&format!("/f{i}.bin"), &[7u8; 256 << 10])
            .unwrap();
    }
    let b = Arc::new(MemFs::new());
    b.write_file("/kept.txt", b"kept").unwrap();
    let mut both = Namespace::new();
    both.mount("/a", Arc::new(a)).unwrap();
    both.mount("/b", b.clone()).unwrap();
    db.save("main", &both).await.unwrap();
    assert_eq!(db.pack_count("main").await.unwrap(), 3);
    let mut only_b = Namespace::new();
    only_b.mount("/b", b).unwrap();
    let removed = db.save("main", &only_b).await.unwrap();
    assert_eq!(removed.deleted, 9, "{removed:?}");
    let (fresh, back) = reload(&db, "main").await;
    let idle = fresh.save("main", &back).await.unwrap();
    assert_eq!((idle.written, idle.deleted), (0, 0), "{idle:?}");
    assert_eq!(fresh.pack_count("main").await.unwrap(), 1, "{idle:?}");
    let (_, back) = reload(&fresh, "main").await;
    assert_eq!(back.read_file("/b/kept.txt").unwrap(), b"kept");
    assert_eq!(back.read_file("/a/f0.bin"), Err(FsError::NotFound));
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
    assert_eq!(
        (edit.written, edit.bytes, edit.deleted),
        (1, 6, 0),
        "{edit:?}"
    );
    console_log!(
        "IndexedDB: save {files} files / {mib} MiB: {full_ms:.0} ms ({} records); \
         one-file edit: {edit_ms:.1} ms ({} record); restore: {load_ms:.0} ms",
        full.written,
        edit.written
    );
}

/// Random edits with saves and reloads in between (seeded sequences; natively proptest
/// drives the same scenario on SQLite): every load is the live tree.
#[wasm_bindgen_test]
async fn random_edits_and_saves_load_the_live_tree() {
    for seed in 1..=6 {
        let words = common::seeded_words(seed, 450);
        persist_suite::random_edits_and_saves_load_the_live_tree(store("model").await, &words)
            .await;
    }
}

#[wasm_bindgen_test]
async fn a_save_after_an_interrupted_one_is_still_incremental() {
    persist_suite::a_save_after_an_interrupted_one_is_still_incremental(store("interrupted").await)
        .await;
}

#[wasm_bindgen_test]
async fn two_writers_on_one_database_never_mix_their_saves() {
    persist_suite::two_writers_on_one_database_never_mix_their_saves(store("writers").await).await;
}

/// Saves started while others are in flight (the explorer saves after every change, a job
/// ending among them) run one after another, each from what the one before left: every one
/// is incremental, and a reload after more saves has every file. (Before they waited for
/// each other, a save overlapping another took itself for a first save, and later saves
/// reclaimed packs that held the only copy of unchanged files.)
#[wasm_bindgen_test]
async fn overlapping_saves_run_in_turn() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use wasm_bindgen_futures::{future_to_promise, JsFuture};
    let db = Rc::new(store("overlap").await);
    let ns = common::sample_namespace();
    let file = |i: usize| format!("/workspace/f{i}.txt");
    for i in 0..300 {
        ns.write_file(&file(i), &[i as u8; 10_000]).unwrap();
    }
    db.save("main", &ns).await.unwrap();
    let stats = Rc::new(RefCell::new(Vec::new()));
    let saves = js_sys::Array::new();
    for i in 0..3 {
        ns.write_file(&file(i), b"edited").unwrap();
        let (db, ns, stats) = (db.clone(), ns.clone(), stats.clone());
        saves.push(&future_to_promise(async move {
            let s = db.save("main", &ns).await.unwrap();
            stats.borrow_mut().push(s);
            Ok(wasm_bindgen::JsValue::UNDEFINED)
        }));
    }
    JsFuture::from(js_sys::Promise::all(&saves)).await.unwrap();
    for s in stats.borrow().iter() {
        assert!(s.written <= 3 && s.deleted == 0, "incremental: {s:?}");
    }
    for i in 100..300 {
        ns.write_file(&file(i), b"rewritten").unwrap();
    }
    db.save("main", &ns).await.unwrap();
    let (_, back) = reload(&db, "main").await;
    for i in 0..300 {
        let want: &[u8] = match i {
            0..3 => b"edited",
            3..100 => &[i as u8; 10_000],
            _ => b"rewritten",
        };
        assert_eq!(back.read_file(&file(i)).unwrap(), want, "f{i}");
    }
}

#[wasm_bindgen_test]
async fn a_removed_hard_link_saves_the_new_link_count() {
    persist_suite::a_removed_hard_link_saves_the_new_link_count(store("nlink").await).await;
}
