//! MemFs unit tests.

use super::*;
use crate::service::{read_all, Follow};

fn p(s: &str) -> FsPath {
    FsPath::parse(s).unwrap()
}

fn read(fs: &MemFs, path: &str) -> Vec<u8> {
    read_all(fs.open(&p(path), &OpenOptions::read()).unwrap().as_ref()).unwrap()
}

#[test]
fn handles_share_writes_immediately() {
    let fs = MemFs::new();
    let a = fs.open(&p("/f"), &OpenOptions::create_truncate()).unwrap();
    let b = fs.open(&p("/f"), &OpenOptions::read()).unwrap();
    a.write_at(b"hello", 0).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(b.read_at(&mut buf, 0).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    drop(b);
    a.write_at(b"J", 0).unwrap();
    assert_eq!(read(&fs, "/f"), b"Jello");
}

#[test]
fn unlinked_file_lives_while_open() {
    let fs = MemFs::new();
    fs.write_file("/f", b"data").unwrap();
    let h = fs.open(&p("/f"), &OpenOptions::read()).unwrap();
    fs.remove_file(&p("/f")).unwrap();
    assert_eq!(fs.stat(&p("/f"), Follow::Yes), Err(FsError::NotFound));
    assert_eq!(read_all(h.as_ref()).unwrap(), b"data");
    let inodes = fs.inode_count();
    drop(h);
    assert_eq!(fs.inode_count(), inodes - 1);
    assert_eq!(fs.total_bytes(), 0);
}

#[test]
fn rename_to_bad_destination_loses_nothing() {
    let fs = MemFs::new();
    fs.write_file("/a.txt", b"keep").unwrap();
    fs.mkdir(&p("/d")).unwrap();
    fs.write_file("/d/x", b"x").unwrap();
    assert_eq!(
        fs.rename(&p("/a.txt"), &p("/missing/b.txt")),
        Err(FsError::NotFound)
    );
    assert_eq!(
        fs.rename(&p("/a.txt"), &p("/d")),
        Err(FsError::IsADirectory)
    );
    assert_eq!(
        fs.rename(&p("/a.txt"), &p("/d/x/y")),
        Err(FsError::NotADirectory)
    );
    fs.mkdir(&p("/e")).unwrap();
    assert_eq!(
        fs.rename(&p("/e"), &p("/d")),
        Err(FsError::DirectoryNotEmpty)
    );
    assert_eq!(
        fs.rename(&p("/e"), &p("/a.txt")),
        Err(FsError::NotADirectory)
    );
    assert!(matches!(
        fs.rename(&p("/d"), &p("/d/sub")),
        Err(FsError::InvalidInput(_))
    ));
    assert_eq!(read(&fs, "/a.txt"), b"keep");
    assert_eq!(read(&fs, "/d/x"), b"x");
}

#[test]
fn rename_overwrites_files_and_empty_dirs() {
    let fs = MemFs::new();
    fs.write_file("/a", b"A").unwrap();
    fs.write_file("/b", b"B").unwrap();
    fs.rename(&p("/a"), &p("/b")).unwrap();
    assert_eq!(read(&fs, "/b"), b"A");
    assert_eq!(fs.stat(&p("/a"), Follow::Yes), Err(FsError::NotFound));
    fs.mkdir(&p("/d1")).unwrap();
    fs.write_file("/d1/f", b"F").unwrap();
    fs.mkdir(&p("/d2")).unwrap();
    fs.rename(&p("/d1"), &p("/d2")).unwrap();
    assert_eq!(read(&fs, "/d2/f"), b"F");
    // The moved directory's `..` now points at its new parent.
    fs.mkdir(&p("/n")).unwrap();
    fs.rename(&p("/d2"), &p("/n/d2")).unwrap();
    fs.symlink("../../b", &p("/n/d2/up")).unwrap();
    assert_eq!(read(&fs, "/n/d2/up"), b"A");
}

#[test]
fn symlinks_and_loops() {
    let fs = MemFs::new();
    fs.write_file("/dir/file", b"content").unwrap();
    fs.symlink("dir", &p("/rel")).unwrap();
    fs.symlink("/dir/file", &p("/abs")).unwrap();
    fs.symlink("loop2", &p("/loop1")).unwrap();
    fs.symlink("loop1", &p("/loop2")).unwrap();
    fs.symlink("nowhere", &p("/dangling")).unwrap();
    assert_eq!(read(&fs, "/rel/file"), b"content");
    assert_eq!(fs.stat(&p("/abs"), Follow::Yes), Err(FsError::NotCapable));
    fs.symlink("../dir/file", &p("/escape")).unwrap();
    assert_eq!(
        fs.stat(&p("/escape"), Follow::Yes),
        Err(FsError::NotCapable)
    );
    assert_eq!(fs.stat(&p("/loop1"), Follow::Yes), Err(FsError::Loop));
    assert_eq!(
        fs.stat(&p("/dangling"), Follow::Yes),
        Err(FsError::NotFound)
    );
    assert_eq!(
        fs.stat(&p("/dangling"), Follow::No).unwrap().kind,
        FileKind::Symlink
    );
    assert_eq!(fs.readlink(&p("/abs")).unwrap(), "/dir/file");
    assert!(matches!(
        fs.readlink(&p("/dir")),
        Err(FsError::InvalidInput(_))
    ));
    let nofollow = OpenOptions {
        read: true,
        nofollow: true,
        ..Default::default()
    };
    assert_eq!(fs.open(&p("/abs"), &nofollow).err(), Some(FsError::Loop));
}

#[test]
fn hard_links_share_content() {
    let fs = MemFs::new();
    fs.write_file("/a", b"one").unwrap();
    fs.link(&p("/a"), &p("/b")).unwrap();
    assert_eq!(fs.stat(&p("/a"), Follow::Yes).unwrap().nlink, 2);
    fs.write_file("/b", b"two").unwrap();
    assert_eq!(read(&fs, "/a"), b"two");
    fs.remove_file(&p("/a")).unwrap();
    assert_eq!(read(&fs, "/b"), b"two");
    assert_eq!(fs.stat(&p("/b"), Follow::Yes).unwrap().nlink, 1);
    fs.mkdir(&p("/d")).unwrap();
    assert_eq!(fs.link(&p("/d"), &p("/d2")), Err(FsError::NotPermitted));
}

#[test]
fn error_paths_give_the_right_errors() {
    let fs = MemFs::new();
    fs.write_file("/f", b"x").unwrap();
    fs.mkdir(&p("/d")).unwrap();
    fs.write_file("/d/inner", b"").unwrap();
    let create = OpenOptions::create_truncate();
    assert_eq!(
        fs.open(&p("/nope/f"), &create).err(),
        Some(FsError::NotFound)
    );
    assert_eq!(
        fs.open(&p("/f/g"), &create).err(),
        Some(FsError::NotADirectory)
    );
    assert_eq!(
        fs.open(&p("/d"), &create).err(),
        Some(FsError::IsADirectory)
    );
    let excl = OpenOptions {
        write: true,
        create_new: true,
        ..Default::default()
    };
    assert_eq!(fs.open(&p("/f"), &excl).err(), Some(FsError::AlreadyExists));
    assert_eq!(fs.mkdir(&p("/d")), Err(FsError::AlreadyExists));
    assert_eq!(fs.mkdir(&p("/")), Err(FsError::AlreadyExists));
    assert_eq!(fs.mkdir(&p("/x/y")), Err(FsError::NotFound));
    assert_eq!(fs.remove_dir(&p("/d")), Err(FsError::DirectoryNotEmpty));
    assert_eq!(fs.remove_dir(&p("/f")), Err(FsError::NotADirectory));
    assert_eq!(fs.remove_file(&p("/d")), Err(FsError::IsADirectory));
    assert_eq!(fs.remove_file(&p("/missing")), Err(FsError::NotFound));
    assert_eq!(fs.readdir(&p("/f")), Err(FsError::NotADirectory));
    let ro = fs.open(&p("/f"), &OpenOptions::read()).unwrap();
    assert_eq!(ro.write_at(b"x", 0), Err(FsError::BadHandle));
    assert_eq!(ro.set_len(0), Err(FsError::BadHandle));
    let wo = fs.open(&p("/f"), &OpenOptions::append()).unwrap();
    assert_eq!(wo.read_at(&mut [0u8; 4], 0), Err(FsError::BadHandle));
}

#[test]
fn limits_refuse_huge_writes() {
    let fs = MemFs::with_limits(MemFsLimits {
        max_file_size: 1024,
        max_total_bytes: 1500,
    });
    let h = fs.open(&p("/f"), &OpenOptions::create_truncate()).unwrap();
    assert_eq!(h.write_at(b"x", 1 << 40), Err(FsError::FileTooLarge));
    assert_eq!(h.write_at(b"x", u64::MAX), Err(FsError::FileTooLarge));
    h.write_at(&[1u8; 1000], 0).unwrap();
    let g = fs.open(&p("/g"), &OpenOptions::create_truncate()).unwrap();
    assert_eq!(g.write_at(&[1u8; 600], 0), Err(FsError::NoSpace));
    assert_eq!(fs.total_bytes(), 1000);
    h.set_len(10).unwrap();
    g.write_at(&[1u8; 600], 0).unwrap();
    assert_eq!(fs.total_bytes(), 610);
}

#[test]
fn readdir_cookies_are_stable() {
    let fs = MemFs::new();
    for name in ["c", "a", "b"] {
        fs.write_file(&format!("/{name}"), b"").unwrap();
    }
    let first = fs.readdir(&FsPath::root()).unwrap();
    let names: Vec<_> = first.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["c", "a", "b"]);
    // Resume after "a" while the directory changes: "a" removed, "d" added.
    let after = first[1].cookie;
    fs.remove_file(&p("/a")).unwrap();
    fs.write_file("/d", b"").unwrap();
    let rest: Vec<_> = fs
        .readdir(&FsPath::root())
        .unwrap()
        .into_iter()
        .filter(|e| e.cookie > after)
        .map(|e| e.name)
        .collect();
    assert_eq!(rest, ["b", "d"]);
}

#[test]
fn snapshot_round_trips_and_rejects_corruption() {
    let fs = MemFs::new();
    fs.write_file("/a/b/c.txt", b"deep").unwrap();
    fs.symlink("a/b", &p("/ln")).unwrap();
    fs.link(&p("/a/b/c.txt"), &p("/hard")).unwrap();
    let snap = fs.to_snapshot();
    let back = MemFs::from_snapshot(&snap).unwrap();
    assert_eq!(read(&back, "/ln/c.txt"), b"deep");
    back.write_file("/hard", b"new").unwrap();
    assert_eq!(read(&back, "/a/b/c.txt"), b"new");
    assert_eq!(read(&fs, "/a/b/c.txt"), b"deep");
    let mut broken = snap.clone();
    broken.inodes.retain(|i| i.ino != ROOT_INO);
    assert!(matches!(
        MemFs::from_snapshot(&broken),
        Err(FsError::InvalidInput(_))
    ));
}
