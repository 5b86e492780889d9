//! WorkspaceFs on a real directory: everything works inside, and a battery of escape
//! attempts (`..`, absolute and relative symlinks — dangling, guest-made, swapped in during
//! a race — hard links, renames, set-times, removals) gets 0 escapes. Read-only mode refuses
//! every write.
#![cfg(not(target_arch = "wasm32"))]

use oanix_core::services::WorkspaceFs;
use oanix_core::Follow;
use oanix_core::{FileService, FsError, FsPath, OpenOptions};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn p(s: &str) -> FsPath {
    FsPath::parse(s).unwrap()
}

struct Fixture {
    base: PathBuf,
    ws: PathBuf,
    outside: PathBuf,
}

impl Fixture {
    fn new(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!("oanix-ws-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let ws = base.join("ws");
        let outside = base.join("outside");
        std::fs::create_dir_all(ws.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "SECRET").unwrap();
        std::fs::write(ws.join("inner.txt"), "inner").unwrap();
        symlink("/etc", ws.join("abs")).unwrap();
        symlink("..", ws.join("up")).unwrap();
        symlink("../outside/secret.txt", ws.join("secret_link")).unwrap();
        symlink("../outside/nope.txt", ws.join("dangling")).unwrap();
        symlink("sub/../../outside", ws.join("deep")).unwrap();
        symlink("inner.txt", ws.join("ok_link")).unwrap();
        Fixture { base, ws, outside }
    }

    /// The outside directory exactly as created: names and contents.
    fn outside_untouched(&self) -> bool {
        let mut names: Vec<String> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names == ["secret.txt"]
            && std::fs::read_to_string(self.outside.join("secret.txt")).unwrap() == "SECRET"
            && !self.base.join("newdir").exists()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn read(fs: &WorkspaceFs, path: &str) -> Result<Vec<u8>, FsError> {
    let h = fs.open(&p(path), &OpenOptions::read())?;
    oanix_core::service::read_all(h.as_ref())
}

#[test]
fn works_inside_the_directory() {
    let f = Fixture::new("inside");
    let fs = WorkspaceFs::open(&f.ws, false).unwrap();
    assert_eq!(read(&fs, "/inner.txt").unwrap(), b"inner");
    assert_eq!(
        read(&fs, "/ok_link").unwrap(),
        b"inner",
        "a symlink staying inside works"
    );
    let h = fs
        .open(&p("/new.txt"), &OpenOptions::create_truncate())
        .unwrap();
    h.write_at(b"hello", 0).unwrap();
    h.write_at(b"!", 5).unwrap();
    assert_eq!(std::fs::read(f.ws.join("new.txt")).unwrap(), b"hello!");
    fs.mkdir(&p("/sub/deeper")).unwrap();
    fs.rename(&p("/new.txt"), &p("/sub/deeper/moved.txt"))
        .unwrap();
    assert!(f.ws.join("sub/deeper/moved.txt").exists());
    let names: Vec<String> = fs
        .readdir(&p("/sub"))
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["deeper"]);
    assert_eq!(fs.readlink(&p("/ok_link")).unwrap(), "inner.txt");
    assert_eq!(
        fs.stat(&p("/missing"), Follow::Yes).unwrap_err(),
        FsError::NotFound
    );
    assert_eq!(
        fs.remove_dir(&p("/sub")).unwrap_err(),
        FsError::DirectoryNotEmpty
    );
    fs.set_times(
        &p("/inner.txt"),
        Some(1_000_000_000),
        Some(2_000_000_000),
        Follow::Yes,
    )
    .unwrap();
    assert_eq!(
        fs.stat(&p("/inner.txt"), Follow::Yes).unwrap().mtime,
        2_000_000_000
    );
    assert!(f.outside_untouched());
}

#[test]
fn escape_battery_has_zero_escapes() {
    let f = Fixture::new("escape");
    let fs = WorkspaceFs::open(&f.ws, false).unwrap();
    let mut escapes = Vec::new();
    let mut attempt = |what: &str, r: Result<(), FsError>| {
        if r.is_ok() {
            escapes.push(what.to_string());
        }
    };
    let read_secret = |path: &str| -> Result<(), FsError> {
        let data = read(&fs, path)?;
        if data == b"SECRET" {
            Ok(())
        } else {
            Err(FsError::NotFound)
        }
    };
    attempt("absolute symlink", read(&fs, "/abs/passwd").map(|_| ()));
    attempt("dir symlink to ..", read_secret("/up/outside/secret.txt"));
    attempt("relative file symlink out", read_secret("/secret_link"));
    attempt("symlink via sub/../..", read_secret("/deep/secret.txt"));
    attempt(
        "clamped .. in the path",
        read_secret("/../outside/secret.txt"),
    );
    attempt(
        "create through a dangling symlink",
        fs.open(&p("/dangling"), &OpenOptions::create_truncate())
            .map(|_| ()),
    );
    attempt(
        "create via dir symlink",
        fs.open(&p("/up/outside/new.txt"), &OpenOptions::create_truncate())
            .map(|_| ()),
    );
    attempt("mkdir via dir symlink", fs.mkdir(&p("/up/newdir")));
    attempt(
        "rename out",
        fs.rename(&p("/inner.txt"), &p("/up/outside/moved.txt")),
    );
    attempt(
        "stat outside",
        fs.stat(&p("/up/outside/secret.txt"), Follow::Yes)
            .map(|_| ()),
    );
    attempt("readdir outside", fs.readdir(&p("/up")).map(|_| ()));
    attempt(
        "remove outside",
        fs.remove_file(&p("/up/outside/secret.txt")),
    );
    attempt(
        "set times through a symlink",
        fs.set_times(&p("/secret_link"), Some(0), Some(0), Follow::Yes),
    );
    // A symlink the guest makes itself is confined like any other.
    fs.symlink("../../outside", &p("/sub/made")).unwrap();
    attempt("guest-made symlink", read_secret("/sub/made/secret.txt"));
    attempt(
        "write through guest-made symlink",
        fs.open(&p("/sub/made/secret.txt"), &OpenOptions::read_write())
            .and_then(|h| h.write_at(b"PWNED!", 0).map(|_| ())),
    );
    // A hard link of the escaping symlink, then following it. Linux hard-links the symlink
    // itself (linkat without AT_SYMLINK_FOLLOW): the link must be made, and be refused when
    // followed like the symlink it is.
    fs.link(&p("/secret_link"), &p("/hard"))
        .expect("a hard link of a symlink inside the mount can be made");
    attempt("hard link of an escaping symlink", read_secret("/hard"));
    assert!(
        FsPath::parse("/inner.txt\0/x").is_err(),
        "NUL bytes never reach the service"
    );
    assert!(escapes.is_empty(), "escapes: {escapes:?}");
    assert!(f.outside_untouched(), "nothing outside changed");
}

#[test]
fn racing_a_symlink_swap_never_escapes() {
    let f = Fixture::new("race");
    let fs = Arc::new(WorkspaceFs::open(&f.ws, false).unwrap());
    let race = f.ws.join("race");
    std::fs::create_dir(&race).unwrap();
    std::fs::write(race.join("secret.txt"), "inside").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (race, stop) = (race.clone(), stop.clone());
        let parked = f.ws.join("parked");
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // Swap the directory for a symlink pointing outside, then back.
                let _ = std::fs::rename(&race, &parked);
                let _ = symlink("../outside", &race);
                let _ = std::fs::remove_file(&race);
                let _ = std::fs::rename(&parked, &race);
            }
        })
    };
    let mut leaked = 0;
    let mut inside = 0;
    // Reads that met the swapped-in symlink and were refused by the confinement: proof that
    // the race really presented the escaping state, not only the real directory.
    let mut refused = 0;
    // Read until both states were seen (bounded: the swapper needs the other core now and
    // then), at least 3,000 times.
    for i in 0..400_000 {
        match read(&fs, "/race/secret.txt") {
            Ok(d) if d == b"SECRET" => leaked += 1,
            Ok(_) => inside += 1,
            Err(FsError::NotCapable) => refused += 1,
            Err(_) => {}
        }
        if i >= 3000 && inside > 0 && refused > 0 {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert_eq!(
        leaked, 0,
        "the outside file was read through the swapped symlink"
    );
    assert!(
        inside > 0,
        "the race ran (some reads saw the real directory)"
    );
    assert!(
        refused > 0,
        "the race ran (some reads met the swapped-in symlink and were refused)"
    );
    assert!(f.outside_untouched());
}

#[test]
fn read_only_mode_refuses_every_write() {
    let f = Fixture::new("ro");
    let fs = WorkspaceFs::open(&f.ws, true).unwrap();
    assert_eq!(
        read(&fs, "/inner.txt").unwrap(),
        b"inner",
        "reading still works"
    );
    let ro = Err::<(), _>(FsError::ReadOnly);
    let open = |o: OpenOptions| fs.open(&p("/inner.txt"), &o).map(|_| ());
    assert_eq!(open(OpenOptions::read_write()), ro);
    assert_eq!(open(OpenOptions::append()), ro);
    assert_eq!(open(OpenOptions::create_truncate()), ro);
    assert_eq!(
        fs.open(&p("/new.txt"), &OpenOptions::create_truncate())
            .map(|_| ()),
        ro
    );
    assert_eq!(fs.mkdir(&p("/d")), ro);
    assert_eq!(fs.remove_file(&p("/inner.txt")), ro);
    assert_eq!(fs.remove_dir(&p("/sub")), ro);
    assert_eq!(fs.rename(&p("/inner.txt"), &p("/x")), ro);
    assert_eq!(fs.link(&p("/inner.txt"), &p("/x")), ro);
    assert_eq!(fs.symlink("inner.txt", &p("/x")), ro);
    assert_eq!(
        fs.set_times(&p("/inner.txt"), Some(0), Some(0), Follow::Yes),
        ro
    );
    let h = fs.open(&p("/inner.txt"), &OpenOptions::read()).unwrap();
    assert_eq!(h.write_at(b"x", 0), Err(FsError::ReadOnly));
    assert_eq!(h.set_len(0), Err(FsError::ReadOnly));
    assert_eq!(h.set_times(Some(0), None), Err(FsError::ReadOnly));
    assert_eq!(
        std::fs::read_to_string(f.ws.join("inner.txt")).unwrap(),
        "inner"
    );
    assert!(!Path::new(&f.ws.join("new.txt")).exists());
}
