//! The persistence rules every store keeps (see `oanix_core::persist`), written once and run
//! on both stores: IndexedDB in headless Chromium (`persist_idb.rs`) and SQLite natively
//! (`persist_sqlite.rs`). Each test file implements [`Store`] for its store and calls these
//! with a fresh, empty database.

use crate::common::sample_namespace as sample;
use oanix_core::persist::{Loaded, SaveStats};
use oanix_core::{FileService, FsError, FsPath, FsResult, Namespace};

/// What the suite needs of a store. The IndexedDB store is asynchronous; the SQLite one is
/// not, and its test runs these futures with a poll that never waits.
pub trait Store: Sized {
    /// Saves `ns` as `name`, writing only what changed.
    async fn save(&self, name: &str, ns: &Namespace) -> FsResult<SaveStats>;
    /// Restores `name` (`None` if never saved).
    async fn load(&self, name: &str) -> FsResult<Option<Loaded>>;
    /// The saved names, sorted.
    async fn list(&self) -> FsResult<Vec<String>>;
    /// Deletes `name`.
    async fn delete(&self, name: &str) -> FsResult<()>;
    /// A new handle on the same database, sharing nothing with this one (what a reload of
    /// the page or a new process sees).
    async fn reopen(&self) -> Self;
    /// Saves `ns` as `name` but stops the save after one record was written (an error, a
    /// tab closed): asserts that the store reported the interruption.
    async fn save_interrupted_after_one(&self, name: &str, ns: &Namespace);
    /// Overwrites one inode record with something that does not parse.
    async fn corrupt(&self, name: &str, mount: &str, layer: u32, ino: u64);
}

/// `ns` is the sample as first saved (`/workspace/a.txt` is `alpha`) and `missing` is not
/// there: what is left after a save that did not land, or of a record that did not load.
pub fn assert_previous_state(ns: &Namespace, missing: &str) {
    assert_eq!(ns.read_file("/workspace/a.txt").unwrap(), b"alpha");
    assert_eq!(ns.read_file(missing), Err(FsError::NotFound), "{missing}");
}

/// Loads `name`, which must have been saved.
async fn load<S: Store>(db: &S, name: &str) -> Loaded {
    db.load(name).await.unwrap().expect("saved")
}

/// Everything comes back, in a fresh handle: files, directories, and a MapFs read-only.
pub async fn round_trip_restores_every_file<S: Store>(db: S) {
    let ns = sample();
    let stats = db.save("main", &ns).await.unwrap();
    assert!(stats.written >= 5, "{stats:?}");
    let loaded = load(&db.reopen().await, "main").await;
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

/// Saves are incremental: nothing when nothing changed, one record for an edit, a delete
/// and the directory that lost the entry for a removal; a fresh handle sees the result.
pub async fn an_edit_writes_only_what_changed<S: Store>(db: S) {
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
    for db in [&db, &db.reopen().await] {
        let back = load(db, "main").await;
        assert!(back.problems.is_empty(), "{:?}", back.problems);
        let back = back.namespace;
        assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"ALPHA!");
        assert_eq!(
            back.read_file("/workspace/dir/b.txt"),
            Err(FsError::NotFound)
        );
        assert_eq!(back.read_file("/task/spec.json").unwrap(), b"{}");
        assert_eq!(back.write_file("/task/x", b"no"), Err(FsError::ReadOnly));
    }
}

/// O(changed) by construction: in a namespace of a thousand files, a one-file edit writes
/// one record of that file's bytes and leaves every other record alone, in the session that
/// saved it and in one that loaded it; reading files writes nothing.
pub async fn a_one_file_edit_in_a_large_namespace_writes_one_record<S: Store>(db: S) {
    let ns = sample();
    ns.mkdir(&FsPath::parse("/workspace/many").unwrap())
        .unwrap();
    for i in 0..1000 {
        ns.write_file(&format!("/workspace/many/f{i:04}.txt"), &[b'x'; 100])
            .unwrap();
    }
    let first = db.save("big", &ns).await.unwrap();
    assert_eq!(first.bytes, 100_000 + 5 + 4 + 2, "{first:?}");
    let total = first.written;
    ns.read_file("/workspace/many/f0500.txt").unwrap();
    let read = db.save("big", &ns).await.unwrap();
    assert_eq!(
        (read.written, read.deleted),
        (0, 0),
        "a read changes nothing: {read:?}"
    );
    ns.write_file("/workspace/many/f0007.txt", b"edited")
        .unwrap();
    let edit = db.save("big", &ns).await.unwrap();
    assert_eq!(
        (edit.written, edit.bytes, edit.deleted),
        (1, 6, 0),
        "{edit:?}"
    );
    assert_eq!(edit.unchanged, total - 1);
    // A fresh handle (a reload): the loaded namespace is known to match the store.
    let db = db.reopen().await;
    let back = load(&db, "big").await.namespace;
    back.write_file("/workspace/many/f0999.txt", b"again")
        .unwrap();
    let after_load = db.save("big", &back).await.unwrap();
    assert_eq!(
        (after_load.written, after_load.bytes, after_load.deleted),
        (1, 5, 0),
        "{after_load:?}"
    );
    let back = load(&db.reopen().await, "big").await.namespace;
    assert_eq!(
        back.read_file("/workspace/many/f0007.txt").unwrap(),
        b"edited"
    );
    assert_eq!(
        back.read_file("/workspace/many/f0999.txt").unwrap(),
        b"again"
    );
    assert_eq!(
        back.read_file("/workspace/many/f0001.txt").unwrap(),
        [b'x'; 100]
    );
}

/// A save stopped halfway leaves the previous state, whole.
pub async fn an_interrupted_save_leaves_the_previous_state<S: Store>(db: S) {
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    ns.write_file("/workspace/a.txt", b"half-saved").unwrap();
    ns.write_file("/workspace/new.txt", b"new").unwrap();
    db.save_interrupted_after_one("main", &ns).await;
    let back = load(&db.reopen().await, "main").await;
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_previous_state(&back.namespace, "/workspace/new.txt");
}

/// An unreadable record is reported and skipped (the entry naming it is dropped); the rest
/// loads.
pub async fn a_corrupt_record_is_reported_and_the_rest_loads<S: Store>(db: S) {
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    let ino = ns.metadata("/workspace/dir/b.txt").unwrap().ino;
    db.corrupt("main", "/workspace", 0, ino).await;
    let loaded = load(&db, "main").await;
    assert!(
        loaded.problems.iter().any(|p| p.contains("unreadable")),
        "{:?}",
        loaded.problems
    );
    assert_previous_state(&loaded.namespace, "/workspace/dir/b.txt");
}

/// Several namespaces in one database: listed, each restored, one deleted without touching
/// the other.
pub async fn named_namespaces_are_listed_restored_and_deleted<S: Store>(db: S) {
    let two = sample();
    two.write_file("/workspace/a.txt", b"second").unwrap();
    db.save("one", &sample()).await.unwrap();
    db.save("two", &two).await.unwrap();
    assert_eq!(db.list().await.unwrap(), ["one", "two"]);
    let back = load(&db, "two").await.namespace;
    assert_eq!(back.read_file("/workspace/a.txt").unwrap(), b"second");
    db.delete("one").await.unwrap();
    assert_eq!(db.list().await.unwrap(), ["two"]);
    assert!(db.load("one").await.unwrap().is_none());
    let still = load(&db, "two").await.namespace;
    assert_eq!(still.read_file("/workspace/a.txt").unwrap(), b"second");
}

/// The `/workspace` service of `ns` (the MemFs the suite edits).
fn workspace(ns: &Namespace) -> std::sync::Arc<dyn FileService> {
    ns.mounts()
        .into_iter()
        .find(|m| m.path.to_absolute() == "/workspace")
        .and_then(|m| m.layers.first().map(|l| l.service.clone()))
        .expect("/workspace mounted")
}

/// Model-based: random operations on `/workspace` (a MemFs) against the reference model,
/// with saves after some of them and, now and then, a reload that goes on editing what it
/// loaded (as the explorer does after a page reload). Every load gives exactly the live tree
/// and reports no problem; a save right after a load writes and deletes nothing (the
/// loaded state is the saved one). This drives the incremental machinery — dirty inodes,
/// packs merged and reclaimed, deletions — through sequences no hand-written test lists.
pub async fn random_edits_and_saves_load_the_live_tree<S: Store>(db: S, words: &[u64]) {
    use crate::common::{apply_service, dump, ops_from_words, Model};
    const NAMES: &[&str] = &["a", "b", "c", "a", "ü-ñ", "a-longer-name-0123456789"];
    let mut db = db;
    let mut ns = Namespace::new();
    ns.mount("/workspace", std::sync::Arc::new(oanix_core::MemFs::new()))
        .unwrap();
    let mut model = Model::default();
    let ops = ops_from_words(words, NAMES, false);
    let mut saved = false;
    let mut since_save = 0;
    for (i, op) in ops.iter().enumerate() {
        since_save += 1;
        // The op's first word also picks what goes with it: one time in twelve a 700 KiB
        // file is rewritten first (so saves span several of IndexedDB's 1 MiB packs), a
        // save follows one time in three, a reload (after saving) one time in twelve.
        let pick = words[3 * i] >> 40;
        if pick % 12 == 5 {
            let big = vec![i as u8; 700 << 10];
            let op = crate::common::Op::Write(format!("big{}", pick % 2), 0, big);
            assert_eq!(
                apply_service(workspace(&ns).as_ref(), &op),
                model.apply(&op)
            );
        }
        let got = apply_service(workspace(&ns).as_ref(), op);
        assert_eq!(got, model.apply(op), "op {i}: {op:?}");
        if pick.is_multiple_of(3) || pick % 12 == 1 {
            // O(changed): an operation touches at most four inode records (a rename: the
            // moved inode, both directories, a replaced target); the first save writes the
            // root too.
            let stats = db.save("main", &ns).await.unwrap();
            let touched = stats.written + stats.deleted;
            assert!(
                touched <= 4 * since_save + 1,
                "op {i}: {since_save} ops: {stats:?}"
            );
            (saved, since_save) = (true, 0);
        }
        if pick % 12 == 1 && saved {
            db = db.reopen().await;
            let loaded = load(&db, "main").await;
            assert!(loaded.problems.is_empty(), "op {i}: {:?}", loaded.problems);
            ns = loaded.namespace;
            assert_eq!(dump(workspace(&ns).as_ref()), model, "after op {i}");
            let idle = db.save("main", &ns).await.unwrap();
            assert_eq!((idle.written, idle.deleted), (0, 0), "op {i}: {idle:?}");
        }
    }
    db.save("main", &ns).await.unwrap();
    let loaded = load(&db.reopen().await, "main").await;
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(dump(workspace(&loaded.namespace).as_ref()), model);
}

/// A save interrupted (rolled back) leaves the store's view of the database as it was: the
/// next save is still incremental (a record per edited file), and loads the edits.
pub async fn a_save_after_an_interrupted_one_is_still_incremental<S: Store>(db: S) {
    let ns = sample();
    db.save("main", &ns).await.unwrap();
    ns.write_file("/workspace/a.txt", b"edited").unwrap();
    ns.write_file("/workspace/dir/b.txt", b"edited too")
        .unwrap();
    db.save_interrupted_after_one("main", &ns).await;
    let stats = db.save("main", &ns).await.unwrap();
    assert_eq!((stats.written, stats.deleted), (2, 0), "{stats:?}");
    let back = load(&db.reopen().await, "main").await;
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(
        back.namespace.read_file("/workspace/a.txt").unwrap(),
        b"edited"
    );
    assert_eq!(
        back.namespace.read_file("/workspace/dir/b.txt").unwrap(),
        b"edited too"
    );
}

/// Two handles on one database (two tabs, two processes) saving the same name in turn:
/// each save whose view is stale (the other saved since) replaces the namespace whole, so
/// a load gives exactly the last writer's tree — never a mix, never a file lost.
pub async fn two_writers_on_one_database_never_mix_their_saves<S: Store>(one: S) {
    use crate::common::dump;
    let ns1 = sample();
    for i in 0..20 {
        ns1.write_file(
            &format!("/workspace/f{i}.txt"),
            format!("one {i}").as_bytes(),
        )
        .unwrap();
    }
    one.save("main", &ns1).await.unwrap();
    let two = one.reopen().await;
    let ns2 = load(&two, "main").await.namespace;
    // Both go on from the same saved state, differently.
    ns1.write_file("/workspace/a.txt", b"one's edit").unwrap();
    one.save("main", &ns1).await.unwrap();
    ns2.write_file("/workspace/dir/b.txt", b"two's edit")
        .unwrap();
    ns2.remove_file(&FsPath::parse("/workspace/f3.txt").unwrap())
        .unwrap();
    let stale = two.save("main", &ns2).await.unwrap();
    assert!(
        stale.written >= 20,
        "a stale view rewrites the whole namespace: {stale:?}"
    );
    let back = load(&one.reopen().await, "main").await;
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    let ws = |ns: &Namespace| dump(workspace(ns).as_ref());
    assert_eq!(ws(&back.namespace), ws(&ns2), "the last writer's tree");
    // The first writer again: its view is stale now, and it wins whole.
    ns1.write_file("/workspace/f5.txt", b"one again").unwrap();
    one.save("main", &ns1).await.unwrap();
    let back = load(&two.reopen().await, "main").await;
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(ws(&back.namespace), ws(&ns1));
    // Once in step, saves are incremental again.
    ns1.write_file("/workspace/f6.txt", b"x").unwrap();
    let stats = one.save("main", &ns1).await.unwrap();
    assert_eq!((stats.written, stats.deleted), (1, 0), "{stats:?}");
}

/// A hard link removed between saves: the remaining name's link count is saved (one), so
/// after a reload removing it frees the file.
pub async fn a_removed_hard_link_saves_the_new_link_count<S: Store>(db: S) {
    use oanix_core::Follow;
    let ns = sample();
    let (a, b) = (
        FsPath::parse("/workspace/a.txt").unwrap(),
        FsPath::parse("/workspace/b-link.txt").unwrap(),
    );
    ns.link(&a, &b).unwrap();
    db.save("main", &ns).await.unwrap();
    ns.remove_file(&b).unwrap();
    let stats = db.save("main", &ns).await.unwrap();
    // The directory that lost the name and the inode whose count changed.
    assert_eq!((stats.written, stats.deleted), (2, 0), "{stats:?}");
    let back = load(&db.reopen().await, "main").await.namespace;
    assert_eq!(back.stat(&a, Follow::Yes).unwrap().nlink, 1);
    assert_eq!(back.stat(&b, Follow::Yes), Err(FsError::NotFound));
}
