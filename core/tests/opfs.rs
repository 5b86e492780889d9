//! OpfsFs in headless Chromium (dedicated worker) on the real Origin Private File System:
//! changes are mirrored to OPFS (checked through the raw OPFS API), a fresh open restores
//! them, renames/removals are mirrored, links are refused, paths cannot escape.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::arc_with_non_send_sync)]

use js_sys::{Function, Promise, Reflect, Uint8Array};
use oanix_core::services::opfs::{MAX_DEFER_MS, QUIET_MS};
use oanix_core::services::OpfsFs;
use oanix_core::Follow;
use oanix_core::{FileService, FsError, FsPath, Namespace, OpenOptions};
use std::sync::Arc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;

fn p(s: &str) -> FsPath {
    FsPath::parse(s).unwrap()
}

async fn call(t: &JsValue, m: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(t, &m.into())?.unchecked_into();
    let arr: js_sys::Array = args.iter().collect();
    JsFuture::from(f.apply(t, &arr)?.unchecked_into::<Promise>()).await
}

/// Reads `dir/.../file` straight from OPFS (not through the service).
async fn raw_read(root_name: &str, path: &[&str]) -> Option<Vec<u8>> {
    let storage = Reflect::get(
        &Reflect::get(&js_sys::global(), &"navigator".into()).ok()?,
        &"storage".into(),
    )
    .ok()?;
    let mut dir = call(&storage, "getDirectory", &[]).await.ok()?;
    dir = call(&dir, "getDirectoryHandle", &[root_name.into()])
        .await
        .ok()?;
    let (file, dirs) = path.split_last()?;
    for d in dirs {
        dir = call(&dir, "getDirectoryHandle", &[(*d).into()])
            .await
            .ok()?;
    }
    let fh = call(&dir, "getFileHandle", &[(*file).into()]).await.ok()?;
    let f = call(&fh, "getFile", &[]).await.ok()?;
    let buf = call(&f, "arrayBuffer", &[]).await.ok()?;
    Some(Uint8Array::new(&buf).to_vec())
}

fn unique(tag: &str) -> String {
    format!("oanix-test-{tag}-{}", (js_sys::Math::random() * 1e9) as u64)
}

#[wasm_bindgen_test]
async fn changes_are_mirrored_and_restored() {
    let name = unique("mirror");
    let fs = OpfsFs::open(&name).await.unwrap();
    fs.mkdir(&p("/src")).unwrap();
    let h = fs
        .open(&p("/src/main.txt"), &OpenOptions::create_truncate())
        .unwrap();
    h.write_at(b"hello ", 0).unwrap();
    h.write_at(b"opfs", 6).unwrap();
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(fs.clone())).unwrap();
    ns.write_file("/workspace/notes.md", b"# notes").unwrap();
    fs.flush().await.unwrap();
    assert_eq!(
        raw_read(&name, &["src", "main.txt"]).await.unwrap(),
        b"hello opfs"
    );
    assert_eq!(raw_read(&name, &["notes.md"]).await.unwrap(), b"# notes");

    fs.rename(&p("/src"), &p("/lib")).unwrap();
    fs.remove_file(&p("/notes.md")).unwrap();
    fs.flush().await.unwrap();
    assert!(
        raw_read(&name, &["src", "main.txt"]).await.is_none(),
        "old path removed"
    );
    assert_eq!(
        raw_read(&name, &["lib", "main.txt"]).await.unwrap(),
        b"hello opfs"
    );
    assert!(raw_read(&name, &["notes.md"]).await.is_none());

    let again = OpfsFs::open(&name).await.unwrap();
    let h = again
        .open(&p("/lib/main.txt"), &OpenOptions::read())
        .unwrap();
    assert_eq!(
        oanix_core::service::read_all(h.as_ref()).unwrap(),
        b"hello opfs"
    );
    assert_eq!(
        again.stat(&p("/notes.md"), Follow::Yes),
        Err(FsError::NotFound)
    );
    let names: Vec<String> = again
        .readdir(&p("/"))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["lib"]);
}

#[wasm_bindgen_test]
async fn background_flush_happens_without_asking() {
    let name = unique("auto");
    let fs = OpfsFs::open(&name).await.unwrap();
    let h = fs
        .open(&p("/a.txt"), &OpenOptions::create_truncate())
        .unwrap();
    h.write_at(b"auto", 0).unwrap();
    // Nobody called flush: the write itself started one. Wait for it to finish (the
    // condition, not a time allowance), then look at OPFS directly.
    fs.settled().await.unwrap();
    assert_eq!(
        raw_read(&name, &["a.txt"]).await.as_deref(),
        Some(&b"auto"[..]),
        "the change reached OPFS without an explicit flush"
    );
}

#[wasm_bindgen_test]
async fn links_are_refused_and_paths_stay_inside() {
    let name = unique("inside");
    let fs = OpfsFs::open(&name).await.unwrap();
    assert_eq!(fs.symlink("x", &p("/l")), Err(FsError::NotSupported));
    fs.open(&p("/f"), &OpenOptions::create_truncate()).unwrap();
    assert_eq!(fs.link(&p("/f"), &p("/g")), Err(FsError::NotSupported));
    // `..` is clamped before the service sees it: this names /f inside the directory.
    fs.open(&p("/../../f"), &OpenOptions::create_truncate())
        .unwrap()
        .write_at(b"still inside", 0)
        .unwrap();
    fs.flush().await.unwrap();
    assert_eq!(raw_read(&name, &["f"]).await.unwrap(), b"still inside");
    assert!(FsPath::parse("/a\0b").is_err());
}

/// The model tests' random sequences (names incl. long and non-ASCII ones, writes past the
/// end, appends, set-times) on OpfsFs: every result as the model says; after a flush, a
/// fresh open from OPFS holds exactly the model's tree.
#[wasm_bindgen_test]
async fn random_sequences_match_the_model_and_survive_a_reopen() {
    let names = ["a", "b", "c", "a", "b", "ü-ñ", "a-longer-name-0123456789"];
    for seed in 1..=6u64 {
        let name = unique("model");
        let fs = OpfsFs::open(&name).await.unwrap();
        let mut model = common::Model::default();
        let ops = common::ops_from_words(&common::seeded_words(seed, 300), &names, false);
        for (i, op) in ops.iter().enumerate() {
            assert_eq!(
                common::apply_service(&fs, op),
                model.apply(op),
                "op {i}: {op:?} after {:?}",
                &ops[..i]
            );
        }
        fs.flush().await.unwrap();
        let again = OpfsFs::open(&name).await.unwrap();
        assert_eq!(common::dump(&again), model, "reopened after {ops:?}");
    }
}

#[wasm_bindgen_test]
async fn a_large_file_written_piece_by_piece_is_mirrored_whole() {
    // 9 MiB in 4 KiB writes, with pauses (macrotasks) in between as a guest on the page
    // has: the background flush may start mid-way; what OPFS holds in the end is the whole
    // file (written in chunks, several pages of the MemFs).
    let name = unique("large");
    let fs = OpfsFs::open(&name).await.unwrap();
    let h = fs
        .open(&p("/big.bin"), &OpenOptions::create_truncate())
        .unwrap();
    let mut want = Vec::new();
    for i in 0..(9 * 256) {
        let chunk = [(i % 251) as u8; 4096];
        h.write_at(&chunk, want.len() as u64).unwrap();
        want.extend_from_slice(&chunk);
        if i % 256 == 0 {
            sleep_ms(30).await;
        }
    }
    drop(h);
    fs.settled().await.unwrap();
    let got = raw_read(&name, &["big.bin"])
        .await
        .expect("big.bin in OPFS");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "OPFS holds the file's last contents");
}

/// A macrotask pause of `ms`.
async fn sleep_ms(ms: i32) {
    let p = Promise::new(&mut |res, _| {
        let st: Function = Reflect::get(&js_sys::global(), &"setTimeout".into())
            .unwrap()
            .unchecked_into();
        st.call2(&JsValue::NULL, &res, &ms.into()).unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

/// The OPFS directory the test's service was opened on (raw, not through the service).
async fn raw_root(root_name: &str) -> JsValue {
    let storage = Reflect::get(
        &Reflect::get(&js_sys::global(), &"navigator".into()).unwrap(),
        &"storage".into(),
    )
    .unwrap();
    let dir = call(&storage, "getDirectory", &[]).await.unwrap();
    call(&dir, "getDirectoryHandle", &[root_name.into()])
        .await
        .unwrap()
}

/// The committed size of `dir/.../file` in OPFS, if it is there.
async fn raw_size(root_name: &str, path: &[&str]) -> Option<f64> {
    let mut dir = raw_root(root_name).await;
    let (file, dirs) = path.split_last()?;
    for d in dirs {
        dir = call(&dir, "getDirectoryHandle", &[(*d).into()])
            .await
            .ok()?;
    }
    let fh = call(&dir, "getFileHandle", &[(*file).into()]).await.ok()?;
    let f = call(&fh, "getFile", &[]).await.ok()?;
    Reflect::get(&f, &"size".into()).ok()?.as_f64()
}

fn read_service(fs: &OpfsFs, path: &str) -> Vec<u8> {
    let h = fs.open(&p(path), &OpenOptions::read()).unwrap();
    oanix_core::service::read_all(h.as_ref()).unwrap()
}

/// Steps the event loop (zero timers) until the background mirroring has settled,
/// calling `probe` between steps.
async fn step_until_settled(fs: &OpfsFs, mut probe: impl AsyncFnMut(u32)) {
    let mut step = 0;
    while fs.pending() {
        probe(step).await;
        sleep_ms(0).await;
        step += 1;
    }
    probe(step).await;
}

#[wasm_bindgen_test]
async fn a_rename_keeps_a_full_copy_in_opfs_at_every_moment() {
    let name = unique("rename-order");
    let fs = OpfsFs::open(&name).await.unwrap();
    let want: Vec<u8> = (0..9 << 20).map(|i: u32| (i % 253) as u8).collect();
    fs.mkdir(&p("/dir")).unwrap();
    fs.open(&p("/dir/big.bin"), &OpenOptions::create_truncate())
        .unwrap()
        .write_at(&want, 0)
        .unwrap();
    fs.flush().await.unwrap();
    let full = want.len() as f64;
    // A file renamed: OPFS holds it whole under the old or the new name throughout.
    fs.rename(&p("/dir/big.bin"), &p("/big2.bin")).unwrap();
    step_until_settled(&fs, async |step| {
        let old = raw_size(&name, &["dir", "big.bin"]).await;
        let new = raw_size(&name, &["big2.bin"]).await;
        assert!(
            old == Some(full) || new == Some(full),
            "step {step}: old {old:?}, new {new:?}"
        );
    })
    .await;
    fs.settled().await.unwrap();
    assert_eq!(raw_size(&name, &["dir", "big.bin"]).await, None);
    assert!(raw_read(&name, &["big2.bin"]).await.unwrap() == want);
    // A directory renamed: the same.
    fs.rename(&p("/big2.bin"), &p("/dir/big.bin")).unwrap();
    fs.flush().await.unwrap();
    fs.rename(&p("/dir"), &p("/dir2")).unwrap();
    step_until_settled(&fs, async |step| {
        let old = raw_size(&name, &["dir", "big.bin"]).await;
        let new = raw_size(&name, &["dir2", "big.bin"]).await;
        assert!(
            old == Some(full) || new == Some(full),
            "dir, step {step}: old {old:?}, new {new:?}"
        );
    })
    .await;
    fs.settled().await.unwrap();
    assert_eq!(raw_size(&name, &["dir", "big.bin"]).await, None);
    assert!(raw_read(&name, &["dir2", "big.bin"]).await.unwrap() == want);
}

#[wasm_bindgen_test]
async fn a_file_moved_out_of_a_renamed_directory_keeps_a_full_copy_throughout() {
    // `mv x a; mv a/big q` within one quiet period: OPFS holds big under /x; /a's write
    // (an empty directory) and /x's removal are queued before /q: the removal must not
    // run before /q is written.
    let name = unique("rename-chain");
    let fs = OpfsFs::open(&name).await.unwrap();
    let want: Vec<u8> = (0..9 << 20).map(|i: u32| (i % 251) as u8).collect();
    fs.mkdir(&p("/x")).unwrap();
    put(&fs, "/x/big", &want);
    fs.flush().await.unwrap();
    let full = want.len() as f64;
    fs.rename(&p("/x"), &p("/a")).unwrap();
    fs.rename(&p("/a/big"), &p("/q")).unwrap();
    step_until_settled(&fs, async |step| {
        let x = raw_size(&name, &["x", "big"]).await;
        let a = raw_size(&name, &["a", "big"]).await;
        let q = raw_size(&name, &["q"]).await;
        assert!(
            [x, a, q].contains(&Some(full)),
            "step {step}: /x/big {x:?}, /a/big {a:?}, /q {q:?}"
        );
    })
    .await;
    fs.settled().await.unwrap();
    assert_eq!(raw_size(&name, &["x", "big"]).await, None);
    assert_eq!(raw_size(&name, &["a", "big"]).await, None);
    assert!(raw_read(&name, &["q"]).await.unwrap() == want);
}

#[wasm_bindgen_test]
async fn a_rename_whose_new_name_cannot_be_written_keeps_the_old_copy() {
    // The new name is locked (a sync access handle, as a worker holds): writing it fails
    // until the lock goes. Meanwhile the old copy stays, and other changes still reach OPFS.
    let name = unique("rename-locked");
    let fs = OpfsFs::open(&name).await.unwrap();
    fs.open(&p("/a"), &OpenOptions::create_truncate())
        .unwrap()
        .write_at(b"precious", 0)
        .unwrap();
    fs.flush().await.unwrap();
    let root = raw_root(&name).await;
    let fh = call(&root, "getFileHandle", &["b".into(), js_create()])
        .await
        .unwrap();
    let lock = call(&fh, "createSyncAccessHandle", &[]).await.unwrap();
    fs.rename(&p("/a"), &p("/b")).unwrap();
    put(&fs, "/g", b"other");
    // A new /a must not replace the old copy either while /b is not written.
    put(&fs, "/a", b"new");
    // The background flush's first pass (its retries come a second later): /b fails,
    // /g is written anyway.
    let mut waited = 0;
    while fs.last_error().is_none() || raw_read(&name, &["g"]).await.is_none() {
        assert!(
            waited < 3000,
            "/g not mirrored; error {:?}",
            fs.last_error()
        );
        sleep_ms(10).await;
        waited += 10;
    }
    sleep_ms(300).await;
    assert!(fs.last_error().unwrap().contains("/b"), "/b is locked");
    assert_eq!(raw_read(&name, &["a"]).await.unwrap(), b"precious");
    assert_eq!(raw_read(&name, &["g"]).await.unwrap(), b"other");
    call_sync(&lock, "close");
    fs.flush().await.unwrap();
    assert_eq!(fs.last_error(), None);
    assert_eq!(raw_read(&name, &["a"]).await.unwrap(), b"new");
    assert_eq!(raw_read(&name, &["b"]).await.unwrap(), b"precious");
}

fn js_create() -> JsValue {
    let o = js_sys::Object::new();
    Reflect::set(&o, &"create".into(), &true.into()).unwrap();
    o.into()
}

fn call_sync(t: &JsValue, m: &str) {
    let f: Function = Reflect::get(t, &m.into()).unwrap().unchecked_into();
    f.call0(t).unwrap();
}

/// Creates (truncating) `path` holding `data`, through the service.
fn put(fs: &OpfsFs, path: &str, data: &[u8]) {
    fs.open(&p(path), &OpenOptions::create_truncate())
        .unwrap()
        .write_at(data, 0)
        .unwrap();
}

#[wasm_bindgen_test]
async fn a_path_that_cannot_be_mirrored_does_not_block_later_changes() {
    // Within one quiet period: /d a directory with a file, both removed, then /d a file.
    // The queue holds /d/f, whose parent is now a file: that entry is simply gone.
    let name = unique("stuck");
    let fs = OpfsFs::open(&name).await.unwrap();
    fs.mkdir(&p("/d")).unwrap();
    put(&fs, "/d/f", b"f");
    fs.remove_file(&p("/d/f")).unwrap();
    fs.remove_dir(&p("/d")).unwrap();
    put(&fs, "/d", b"x");
    put(&fs, "/g", b"g");
    fs.flush().await.unwrap();
    let again = OpfsFs::open(&name).await.unwrap();
    assert_eq!(read_service(&again, "/d"), b"x");
    assert_eq!(read_service(&again, "/g"), b"g");
    // The same with OPFS already holding /d as a directory with /d/f in it.
    fs.remove_file(&p("/d")).unwrap();
    fs.mkdir(&p("/d")).unwrap();
    put(&fs, "/d/f", b"f");
    fs.flush().await.unwrap();
    put(&fs, "/d/f", b"f2");
    fs.remove_file(&p("/d/f")).unwrap();
    fs.remove_dir(&p("/d")).unwrap();
    put(&fs, "/d", b"y");
    put(&fs, "/g", b"g2");
    fs.flush().await.unwrap();
    let again = OpfsFs::open(&name).await.unwrap();
    assert_eq!(read_service(&again, "/d"), b"y");
    assert_eq!(read_service(&again, "/g"), b"g2");
}

#[wasm_bindgen_test]
async fn writes_through_a_handle_opened_before_a_rename_reach_opfs() {
    let name = unique("renamed-handle");
    let fs = OpfsFs::open(&name).await.unwrap();
    let h = fs.open(&p("/a"), &OpenOptions::create_truncate()).unwrap();
    h.write_at(b"1", 0).unwrap();
    fs.mkdir(&p("/dir")).unwrap();
    let inner = fs
        .open(&p("/dir/f"), &OpenOptions::create_truncate())
        .unwrap();
    inner.write_at(b"1", 0).unwrap();
    fs.flush().await.unwrap();
    fs.rename(&p("/a"), &p("/b")).unwrap();
    fs.rename(&p("/dir"), &p("/dir2")).unwrap();
    fs.flush().await.unwrap();
    h.write_at(b"2", 1).unwrap();
    inner.write_at(b"2", 1).unwrap();
    fs.flush().await.unwrap();
    let again = OpfsFs::open(&name).await.unwrap();
    assert_eq!(read_service(&again, "/b"), b"12");
    assert_eq!(read_service(&again, "/dir2/f"), b"12");
    // A handle on a removed file marks nothing (and does not fail).
    fs.remove_file(&p("/b")).unwrap();
    h.write_at(b"3", 2).unwrap();
    fs.flush().await.unwrap();
    assert_eq!(raw_read(&name, &["b"]).await, None);
}

/// The first and last bytes and the size of the committed `file` at the top of the OPFS
/// directory (read again when a commit replaced it under the read: `NotReadableError`).
async fn raw_ends(root_name: &str, file: &str) -> (u8, u8, f64) {
    let dir = raw_root(root_name).await;
    let fh = call(&dir, "getFileHandle", &[file.into()]).await.unwrap();
    'again: for _ in 0..10 {
        let f = call(&fh, "getFile", &[]).await.unwrap();
        let size = Reflect::get(&f, &"size".into()).unwrap().as_f64().unwrap();
        let mut ends = [0u8; 2];
        for (i, at) in [0.0, size - 1.0].into_iter().enumerate() {
            let slice: Function = Reflect::get(&f, &"slice".into()).unwrap().unchecked_into();
            let part = slice.call2(&f, &at.into(), &(at + 1.0).into()).unwrap();
            let Ok(buf) = call(&part, "arrayBuffer", &[]).await else {
                continue 'again;
            };
            ends[i] = Uint8Array::new(&buf).to_vec()[0];
        }
        return (ends[0], ends[1], size);
    }
    panic!("{file} could not be read");
}

#[wasm_bindgen_test]
async fn a_file_rewritten_while_it_is_mirrored_is_never_committed_half_old_half_new() {
    // The file (two CHUNKs long) is rewritten whole, one value at a time, with a macrotask
    // pause after each rewrite, while the background flush copies it chunk by chunk across
    // awaits. Every state the file really had is uniform: OPFS must hold one of those at
    // every step, never a copy whose chunks were read at different times.
    let name = unique("mix");
    let fs = OpfsFs::open(&name).await.unwrap();
    const LEN: usize = 5 << 20;
    put(&fs, "/f", &vec![1u8; LEN]);
    fs.flush().await.unwrap();
    let h = fs.open(&p("/f"), &OpenOptions::read_write()).unwrap();
    h.write_at(&vec![2u8; LEN], 0).unwrap();
    // Let the background flush start (it waits for changes to pause).
    sleep_ms(QUIET_MS as i32 + 20).await;
    for v in 3..40u8 {
        sleep_ms(0).await;
        h.write_at(&vec![v; LEN], 0).unwrap();
        let (first, last, size) = raw_ends(&name, "f").await;
        assert_eq!(size, LEN as f64);
        assert_eq!(first, last, "after writing {v}: OPFS holds a mix");
    }
    drop(h);
    fs.flush().await.unwrap();
    assert_eq!(raw_ends(&name, "f").await, (39, 39, LEN as f64));
}

#[wasm_bindgen_test]
async fn a_file_appended_to_while_it_is_mirrored_still_reaches_opfs() {
    // Appends past what a copy read leave that copy the file as it was: it is committed,
    // so a file a guest keeps appending to is mirrored meanwhile (not only once it stops).
    // Appends go on past MAX_DEFER_MS, so the background flush copies while they do.
    let name = unique("append");
    let fs = OpfsFs::open(&name).await.unwrap();
    const LEN: usize = 5 << 20;
    const PIECE: usize = 16 << 10;
    put(&fs, "/log", &vec![7u8; LEN]);
    fs.flush().await.unwrap();
    let h = fs.open(&p("/log"), &OpenOptions::append()).unwrap();
    let start = js_sys::Date::now();
    let mut appended = 0;
    let mut grew = false;
    while js_sys::Date::now() - start < MAX_DEFER_MS + 800.0 {
        h.append(&[7u8; PIECE]).unwrap();
        appended += 1;
        sleep_ms(0).await;
        let (first, last, size) = raw_ends(&name, "log").await;
        assert_eq!((first, last), (7, 7));
        assert!(size <= (LEN + appended * PIECE) as f64);
        assert_eq!(
            (size as usize - LEN) % PIECE,
            0,
            "a whole number of appends"
        );
        grew |= size > LEN as f64;
    }
    assert!(grew, "OPFS got a longer copy while appends went on");
    drop(h);
    fs.flush().await.unwrap();
    let want = (LEN + appended * PIECE) as f64;
    assert_eq!(raw_ends(&name, "log").await, (7, 7, want));
}
