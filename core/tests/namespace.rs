//! Namespace behaviour: mount resolution, synthetic directories, union binds, errors,
//! snapshots. Runs natively and in headless Chromium.
// Services are single-threaded on wasm32 by design (see `MaybeSendSync`).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

use oanix_core::Follow;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use oanix_core::{
    BindMode, CowFs, Errno, FileKind, FileService, FsError, FsPath, FuncFs, MapFs, MemFs,
    Namespace, OpenOptions,
};
use std::sync::Arc;

fn p(s: &str) -> FsPath {
    FsPath::parse(s).unwrap()
}

fn names(ns: &Namespace, path: &str) -> Vec<String> {
    ns.list(path).unwrap().into_iter().map(|e| e.name).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn standard() -> (Namespace, MemFs) {
    let mut ns = Namespace::new();
    let task = MapFs::builder()
        .file("spec.json", r#"{"goal":"demo"}"#)
        .build()
        .unwrap();
    let ws = MemFs::new();
    ns.mount("/task", Arc::new(task)).unwrap();
    ns.mount("/workspace", Arc::new(ws.clone())).unwrap();
    ns.mount("/cap/http", Arc::new(MemFs::new())).unwrap();
    ns.mount("/cap/ws", Arc::new(MemFs::new())).unwrap();
    (ns, ws)
}

#[test]
fn resolution_is_at_component_boundaries() {
    let (mut ns, _) = standard();
    ns.mount("/taskx", Arc::new(MemFs::new())).unwrap();
    ns.write_file("/taskx/own", b"x").unwrap();
    assert_eq!(
        ns.read_file("/task/spec.json").unwrap(),
        br#"{"goal":"demo"}"#
    );
    assert_eq!(ns.read_file("/taskx/spec.json"), Err(FsError::NotFound));
    assert_eq!(names(&ns, "/taskx"), ["own"]);
    assert_eq!(ns.read_file("/task/own"), Err(FsError::NotFound));
}

#[test]
fn parents_of_mount_points_are_synthetic_read_only_dirs() {
    let (ns, _) = standard();
    assert_eq!(sorted(names(&ns, "/")), ["cap", "task", "workspace"]);
    assert_eq!(sorted(names(&ns, "/cap")), ["http", "ws"]);
    assert_eq!(ns.metadata("/cap").unwrap().kind, FileKind::Dir);
    assert!(ns.metadata("/").unwrap().readonly);
    assert_eq!(ns.write_file("/cap/new", b"x"), Err(FsError::ReadOnly));
    assert_eq!(ns.write_file("/new", b"x"), Err(FsError::ReadOnly));
    assert_eq!(ns.mkdir(&p("/cap")), Err(FsError::AlreadyExists));
    assert_eq!(ns.mkdir(&p("/other")), Err(FsError::ReadOnly));
    assert_eq!(ns.remove_dir(&p("/cap")), Err(FsError::Busy));
    assert_eq!(ns.remove_dir(&p("/workspace")), Err(FsError::Busy));
    assert_eq!(ns.rename(&p("/workspace"), &p("/w2")), Err(FsError::Busy));
    assert_eq!(ns.metadata("/nothing"), Err(FsError::NotFound));
    assert_eq!(ns.list("/cap/none"), Err(FsError::NotFound));
    assert_eq!(
        ns.open(&p("/cap"), &OpenOptions::read_write()).err(),
        Some(FsError::IsADirectory)
    );
}

#[test]
fn mount_point_under_a_mounted_service_is_listed_once() {
    let mut ns = Namespace::new();
    let root = MemFs::new();
    root.write_file("/cap", b"a file shadowed by the mount")
        .unwrap();
    root.write_file("/etc/motd", b"hi").unwrap();
    ns.mount("/", Arc::new(root)).unwrap();
    ns.mount("/cap/http", Arc::new(MemFs::new())).unwrap();
    let entries = ns.list("/").unwrap();
    let cap: Vec<_> = entries.iter().filter(|e| e.name == "cap").collect();
    assert_eq!(cap.len(), 1);
    assert_eq!(cap[0].kind, FileKind::Dir);
    assert_eq!(names(&ns, "/cap"), ["http"]);
    assert_eq!(ns.read_file("/etc/motd").unwrap(), b"hi");
}

#[test]
fn bind_before_after_and_replace_make_unions() {
    let mut ns = Namespace::new();
    let a = MemFs::new();
    a.write_file("/bin/ls", b"a-ls").unwrap();
    a.write_file("/bin/cat", b"a-cat").unwrap();
    let b = MemFs::new();
    b.write_file("/ls", b"b-ls").unwrap();
    b.write_file("/grep", b"b-grep").unwrap();
    ns.mount("/a", Arc::new(a.clone())).unwrap();
    ns.mount("/b", Arc::new(b.clone())).unwrap();

    // After: the existing directory wins on equal names.
    let mut after = ns.clone();
    after.bind("/b", "/a/bin", BindMode::After).unwrap();
    assert_eq!(after.read_file("/a/bin/ls").unwrap(), b"a-ls");
    assert_eq!(after.read_file("/a/bin/grep").unwrap(), b"b-grep");
    assert_eq!(sorted(names(&after, "/a/bin")), ["cat", "grep", "ls"]);

    // Before: the bound directory wins, and new files are created in it.
    let mut before = ns.clone();
    before.bind("/b", "/a/bin", BindMode::Before).unwrap();
    assert_eq!(before.read_file("/a/bin/ls").unwrap(), b"b-ls");
    assert_eq!(before.read_file("/a/bin/cat").unwrap(), b"a-cat");
    before.write_file("/a/bin/new", b"n").unwrap();
    assert!(b.stat(&p("/new"), Follow::Yes).is_ok());
    assert_eq!(a.stat(&p("/bin/new"), Follow::Yes), Err(FsError::NotFound));

    // Replace: only the bound directory.
    let mut replace = ns.clone();
    replace.bind("/b", "/a/bin", BindMode::Replace).unwrap();
    assert_eq!(sorted(names(&replace, "/a/bin")), ["grep", "ls", "new"]);

    // The original namespace is untouched by its clones' binds.
    assert_eq!(sorted(names(&ns, "/a/bin")), ["cat", "ls"]);

    // Cookies of a union listing are unique and sorted.
    let listing = after.list("/a/bin").unwrap();
    let cookies: Vec<u64> = listing.iter().map(|e| e.cookie).collect();
    let mut sorted_cookies = cookies.clone();
    sorted_cookies.sort();
    sorted_cookies.dedup();
    assert_eq!(cookies, sorted_cookies);
}

#[test]
fn union_creation_skips_a_read_only_first_layer() {
    let mut ns = Namespace::new();
    let ro = MapFs::builder().file("readme", "ro").build().unwrap();
    let rw = MemFs::new();
    ns.mount("/u", Arc::new(rw.clone())).unwrap();
    ns.mount_with("/u", Arc::new(ro), BindMode::Before).unwrap();
    assert_eq!(ns.read_file("/u/readme").unwrap(), b"ro");
    ns.write_file("/u/out.txt", b"written").unwrap();
    assert_eq!(ns.read_file("/u/out.txt").unwrap(), b"written");
    assert!(rw.stat(&p("/out.txt"), Follow::Yes).is_ok());
    assert_eq!(ns.write_file("/u/readme", b"x"), Err(FsError::ReadOnly));
}

#[test]
fn unmount_removes_the_mount_and_its_synthetic_parents() {
    let (mut ns, _) = standard();
    ns.unmount("/cap/http").unwrap();
    assert_eq!(names(&ns, "/cap"), ["ws"]);
    ns.unmount("/cap/ws").unwrap();
    assert_eq!(ns.metadata("/cap"), Err(FsError::NotFound));
    assert_eq!(sorted(names(&ns, "/")), ["task", "workspace"]);
    assert!(matches!(
        ns.unmount("/cap/ws"),
        Err(FsError::InvalidInput(_))
    ));
}

#[test]
fn clones_share_services_but_not_mount_tables() {
    let (ns, ws) = standard();
    let mut child = ns.clone();
    child.unmount("/task").unwrap();
    child
        .write_file("/workspace/shared.txt", b"both see me")
        .unwrap();
    assert_eq!(
        ns.read_file("/workspace/shared.txt").unwrap(),
        b"both see me"
    );
    assert!(ws.stat(&p("/shared.txt"), Follow::Yes).is_ok());
    assert!(ns.metadata("/task/spec.json").is_ok());
    assert_eq!(child.metadata("/task/spec.json"), Err(FsError::NotFound));
}

#[test]
fn rename_within_a_mount_works_and_across_mounts_is_exdev() {
    let (ns, _) = standard();
    ns.write_file("/workspace/a.txt", b"A").unwrap();
    ns.rename(&p("/workspace/a.txt"), &p("/workspace/b.txt"))
        .unwrap();
    assert_eq!(ns.read_file("/workspace/b.txt").unwrap(), b"A");
    let err = ns
        .rename(&p("/workspace/b.txt"), &p("/cap/http/b.txt"))
        .unwrap_err();
    assert_eq!(err, FsError::CrossDevice);
    assert_eq!(err.errno(), Errno::Xdev);
    assert_eq!(ns.read_file("/workspace/b.txt").unwrap(), b"A");
}

#[test]
fn every_bad_input_has_its_errno() {
    let (ns, _) = standard();
    ns.write_file("/workspace/f", b"x").unwrap();
    ns.mkdir(&p("/workspace/d")).unwrap();
    ns.write_file("/workspace/d/inner", b"").unwrap();
    let cases: Vec<(FsError, Errno)> = vec![
        (
            ns.read_file("/workspace/missing").unwrap_err(),
            Errno::NoEnt,
        ),
        (
            ns.write_file("/workspace/no/parent", b"").unwrap_err(),
            Errno::NoEnt,
        ),
        (
            ns.write_file("/workspace/f/child", b"").unwrap_err(),
            Errno::NotDir,
        ),
        (ns.list("/workspace/f").unwrap_err(), Errno::NotDir),
        (
            ns.remove_dir(&p("/workspace/d")).unwrap_err(),
            Errno::NotEmpty,
        ),
        (ns.mkdir(&p("/workspace/d")).unwrap_err(), Errno::Exist),
        (
            ns.write_file("/task/spec.json", b"{}").unwrap_err(),
            Errno::Rofs,
        ),
        (
            ns.remove_file(&p("/task/spec.json")).unwrap_err(),
            Errno::Rofs,
        ),
        (
            ns.read_file("/workspace/bad\0name").unwrap_err(),
            Errno::Inval,
        ),
        (
            ns.remove_file(&p("/workspace/d")).unwrap_err(),
            Errno::IsDir,
        ),
        (
            ns.metadata(&"x/".repeat(3000)).unwrap_err(),
            Errno::NameTooLong,
        ),
    ];
    for (i, (err, errno)) in cases.into_iter().enumerate() {
        assert_eq!(err.errno(), errno, "case {i}: {err}");
    }
}

#[test]
fn dotdot_is_clamped_at_the_root_before_services_see_it() {
    let (ns, _) = standard();
    ns.write_file("/workspace/../../workspace/./x//y.txt", b"")
        .unwrap_err();
    ns.mkdir(&p("/workspace/x")).unwrap();
    ns.write_file("/../workspace/./x//y.txt/", b"ok").unwrap();
    assert_eq!(ns.read_file("/workspace/x/../x/y.txt").unwrap(), b"ok");
    assert_eq!(
        ns.read_file("/workspace/../../../task/spec.json").unwrap(),
        br#"{"goal":"demo"}"#
    );
}

#[test]
fn namespace_snapshot_round_trips_through_json() {
    let (mut ns, _) = standard();
    ns.write_file("/workspace/dir/file.txt", b"").unwrap_err();
    ns.mkdir(&p("/workspace/dir")).unwrap();
    ns.write_file("/workspace/dir/file.txt", b"persist me")
        .unwrap();
    let base = MemFs::new();
    base.write_file("/base.txt", b"base").unwrap();
    base.write_file("/gone.txt", b"gone").unwrap();
    let cow = CowFs::new(Arc::new(base));
    ns.mount("/overlay", Arc::new(cow)).unwrap();
    ns.write_file("/overlay/base.txt", b"changed").unwrap();
    ns.remove_file(&p("/overlay/gone.txt")).unwrap();
    let status = FuncFs::new()
        .read_only("/status", || Ok(b"live".to_vec()))
        .unwrap();
    ns.mount("/status", Arc::new(status)).unwrap();

    let json = serde_json::to_string(&ns.snapshot()).unwrap();
    let snap = serde_json::from_str(&json).unwrap();
    let (back, skipped) = Namespace::from_snapshot(&snap).unwrap();
    assert_eq!(skipped, vec![p("/status")]);
    assert_eq!(
        back.read_file("/workspace/dir/file.txt").unwrap(),
        b"persist me"
    );
    assert_eq!(
        back.read_file("/task/spec.json").unwrap(),
        br#"{"goal":"demo"}"#
    );
    assert_eq!(back.read_file("/overlay/base.txt").unwrap(), b"changed");
    assert_eq!(back.read_file("/overlay/gone.txt"), Err(FsError::NotFound));
    assert_eq!(back.write_file("/task/x", b""), Err(FsError::ReadOnly));
    assert_eq!(sorted(names(&back, "/cap")), ["http", "ws"]);
}

/// A service mounted at two paths comes back as one service (a write through one path is
/// seen through the other), from a borrowed snapshot and from an owned one.
#[test]
fn a_shared_service_is_restored_shared() {
    let shared = Arc::new(MemFs::new());
    shared.write_file("/f.txt", b"one").unwrap();
    let mut ns = Namespace::new();
    ns.mount("/a", shared.clone()).unwrap();
    ns.mount("/b", shared).unwrap();
    let snap = ns.snapshot();
    let (by_ref, _) = Namespace::from_snapshot(&snap).unwrap();
    let (owned, _) = Namespace::from_owned_snapshot(snap).unwrap();
    for back in [by_ref, owned] {
        back.write_file("/a/f.txt", b"two").unwrap();
        assert_eq!(back.read_file("/b/f.txt").unwrap(), b"two");
    }
}
