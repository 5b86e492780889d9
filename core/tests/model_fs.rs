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
#![cfg(not(target_arch = "wasm32"))]

use oanix_core::service::{read_all, write_all_at};
use oanix_core::services::WorkspaceFs;
use oanix_core::Follow;
use oanix_core::{Errno, FileHandle, FileKind, FileService, FsError, FsPath, MemFs, OpenOptions};
use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Names used in paths: short ones collide often; a long and a non-ASCII one check that
/// names pass through unchanged.
const NAMES: &[&str] = &[
    "a",
    "b",
    "a",
    "b",
    "ü-ñ",
    "a-much-longer-file-name-0123456789",
];
/// Components of symlink targets: names, `.`, and `..` (which may climb out of the root).
const TARGET_PARTS: &[&str] = &["a", "b", ".", "..", "a", "b", "zz"];
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

// ---------------------------------------------------------------------------------------
// Generator

/// One operation per four words (so that shrinking a failing case drops whole operations).
fn ops_from_words(words: &[[u64; 4]]) -> Vec<Op> {
    let path = |w: u64| -> String {
        let depth = if w % 4 == 3 { 2 } else { 1 };
        let mut bits = w / 4;
        let mut parts = Vec::new();
        for _ in 0..depth {
            parts.push(NAMES[(bits % NAMES.len() as u64) as usize]);
            bits /= NAMES.len() as u64;
        }
        parts.join("/")
    };
    let target = |w: u64| -> String {
        let n = 1 + (w % 3) as usize;
        let mut bits = w / 3;
        let mut parts = Vec::new();
        for _ in 0..n {
            parts.push(TARGET_PARTS[(bits % TARGET_PARTS.len() as u64) as usize]);
            bits /= TARGET_PARTS.len() as u64;
        }
        parts.join("/")
    };
    // Mostly a few bytes; sometimes a few KiB, so writes cross page-sized boundaries.
    let data = |w: u64| -> Vec<u8> {
        let len = if w.is_multiple_of(8) {
            (w >> 8) % 4000
        } else {
            (w >> 8) % 7
        } as usize;
        let seed = (w >> 24) as u8;
        (0..len)
            .map(|i| seed.wrapping_add((i as u8).wrapping_mul(31)))
            .collect()
    };
    // Offsets up to 6000: past the end of a small file, leaving a hole of zeros.
    let offset = |w: u64| -> u64 {
        if w.is_multiple_of(5) {
            (w >> 40) % 6000
        } else {
            (w >> 40) % 9
        }
    };
    let time = |w: u64| -> Option<u64> {
        // Whole microseconds: every Linux file system here stores them exactly.
        (!w.is_multiple_of(3)).then(|| 1_000_000_000 + (w >> 4) % 3_000_000_000_000 * 1_000)
    };
    let slot = |w: u64| (w % SLOTS as u64) as usize;
    let mut ops = Vec::new();
    for &[k, a, b, c] in words {
        let op = match k % 32 {
            0 | 1 => Op::Mkdir(path(a)),
            2..=4 => Op::WriteAt(path(a), offset(c), data(b)),
            5 => Op::Append(path(a), data(b)),
            6 => Op::Create(path(a)),
            7 => Op::CreateNew(path(a)),
            8 => Op::SetLen(path(a), offset(b)),
            9 => Op::Read(path(a)),
            10 => Op::RemoveFile(path(a)),
            11 => Op::RemoveDir(path(a)),
            12 | 13 => Op::Rename(path(a), path(b)),
            14 => Op::Stat(path(a)),
            15 => Op::Lstat(path(a)),
            16 => Op::Readdir(if a % 3 == 0 { String::new() } else { path(a) }),
            17 | 18 => Op::Symlink(target(b), path(a)),
            19 => Op::Readlink(path(a)),
            20 => Op::Link(path(a), path(b)),
            21 if k % 64 < 32 => Op::Link(path(a), path(b)),
            21 => Op::SetTimes(path(a), time(b), time(c)),
            22 | 23 => {
                let mode = [Mode::R, Mode::W, Mode::Rw, Mode::A][(c % 4) as usize];
                Op::Open(slot(b), path(a), mode)
            }
            24 | 25 => Op::HWrite(slot(a), offset(c), data(b)),
            26 => Op::HAppend(slot(a), data(b)),
            27 => Op::HRead(slot(a)),
            28 => Op::HSetLen(slot(a), offset(b)),
            29 => Op::HStat(slot(a)),
            30 => Op::HSetTimes(slot(a), time(b), time(c)),
            _ => Op::Close(slot(a)),
        };
        ops.push(op);
    }
    ops
}

// ---------------------------------------------------------------------------------------
// Running on a FileService (MemFs, WorkspaceFs)

fn opts(mode: Mode) -> OpenOptions {
    match mode {
        Mode::R => OpenOptions::read(),
        Mode::W => OpenOptions {
            write: true,
            create: true,
            ..Default::default()
        },
        Mode::Rw => OpenOptions {
            read: true,
            write: true,
            create: true,
            ..Default::default()
        },
        Mode::A => OpenOptions {
            read: true,
            append: true,
            create: true,
            ..Default::default()
        },
    }
}

fn meta_v(kind: FileKind, size: u64, nlink: u64) -> V {
    let sized = matches!(kind, FileKind::File | FileKind::Symlink);
    V::Meta(kind, sized.then_some(size), sized.then_some(nlink))
}

fn times_v(at: Option<u64>, mt: Option<u64>, got_a: u64, got_m: u64) -> V {
    V::Times(at.map(|_| got_a), mt.map(|_| got_m))
}

struct SvcRunner<'a> {
    fs: &'a dyn FileService,
    handles: Vec<Option<(Box<dyn FileHandle>, Mode)>>,
}

impl<'a> SvcRunner<'a> {
    fn new(fs: &'a dyn FileService) -> Self {
        SvcRunner {
            fs,
            handles: (0..SLOTS).map(|_| None).collect(),
        }
    }

    fn run(&mut self, op: &Op) -> Outcome {
        let p = |s: &str| FsPath::parse(s);
        let fs = self.fs;
        let r: Result<V, FsError> = (|| {
            Ok(match op {
                Op::Mkdir(a) => fs.mkdir(&p(a)?).map(|_| V::Unit)?,
                Op::WriteAt(a, off, data) => {
                    let h = fs.open(&p(a)?, &opts(Mode::W))?;
                    write_all_at(h.as_ref(), data, *off)?;
                    V::Unit
                }
                Op::Append(a, data) => {
                    let h = fs.open(&p(a)?, &OpenOptions::append())?;
                    h.append(data)?;
                    V::Unit
                }
                Op::Create(a) => {
                    fs.open(&p(a)?, &OpenOptions::create_truncate())?;
                    V::Unit
                }
                Op::CreateNew(a) => {
                    let o = OpenOptions {
                        write: true,
                        create_new: true,
                        ..Default::default()
                    };
                    fs.open(&p(a)?, &o)?;
                    V::Unit
                }
                Op::SetLen(a, len) => {
                    let h = fs.open(&p(a)?, &OpenOptions::read_write())?;
                    h.set_len(*len)?;
                    V::Unit
                }
                Op::Read(a) => {
                    let h = fs.open(&p(a)?, &OpenOptions::read())?;
                    V::Bytes(read_all(h.as_ref())?)
                }
                Op::RemoveFile(a) => fs.remove_file(&p(a)?).map(|_| V::Unit)?,
                Op::RemoveDir(a) => fs.remove_dir(&p(a)?).map(|_| V::Unit)?,
                Op::Rename(a, b) => fs.rename(&p(a)?, &p(b)?).map(|_| V::Unit)?,
                Op::Stat(a) => {
                    let m = fs.stat(&p(a)?, Follow::Yes)?;
                    meta_v(m.kind, m.size, m.nlink)
                }
                Op::Lstat(a) => {
                    let m = fs.stat(&p(a)?, Follow::No)?;
                    meta_v(m.kind, m.size, m.nlink)
                }
                Op::Readdir(a) => {
                    let mut e: Vec<(String, FileKind)> = fs
                        .readdir(&p(a)?)?
                        .into_iter()
                        .map(|e| (e.name, e.kind))
                        .collect();
                    e.sort_by(|x, y| x.0.cmp(&y.0));
                    V::Entries(e)
                }
                Op::Symlink(t, a) => fs.symlink(t, &p(a)?).map(|_| V::Unit)?,
                Op::Readlink(a) => V::Target(fs.readlink(&p(a)?)?),
                Op::Link(a, b) => fs.link(&p(a)?, &p(b)?).map(|_| V::Unit)?,
                Op::SetTimes(a, at, mt) => {
                    fs.set_times(&p(a)?, *at, *mt, Follow::Yes)?;
                    let m = fs.stat(&p(a)?, Follow::Yes)?;
                    times_v(*at, *mt, m.atime, m.mtime)
                }
                Op::Open(s, a, mode) => {
                    self.handles[*s] = None;
                    let h = fs.open(&p(a)?, &opts(*mode))?;
                    self.handles[*s] = Some((h, *mode));
                    V::Unit
                }
                Op::Close(s) => {
                    self.handles[*s] = None;
                    V::Unit
                }
                Op::HWrite(s, ..)
                | Op::HAppend(s, _)
                | Op::HRead(s)
                | Op::HSetLen(s, _)
                | Op::HStat(s)
                | Op::HSetTimes(s, ..) => {
                    let Some((h, mode)) = &self.handles[*s] else {
                        return Ok(V::NoHandle);
                    };
                    let h = h.as_ref();
                    match op {
                        // On Linux a positional write on an O_APPEND descriptor appends
                        // anyway; WASI hosts append too. So on an append handle it appends.
                        Op::HWrite(_, _, data) | Op::HAppend(_, data) if *mode == Mode::A => {
                            h.append(data)?;
                        }
                        Op::HWrite(_, off, data) => write_all_at(h, data, *off)?,
                        Op::HAppend(_, data) => {
                            h.append(data)?;
                        }
                        Op::HRead(_) => return Ok(V::Bytes(read_all(h)?)),
                        Op::HSetLen(_, len) => h.set_len(*len)?,
                        Op::HStat(_) => {
                            let m = h.metadata()?;
                            return Ok(meta_v(m.kind, m.size, m.nlink));
                        }
                        Op::HSetTimes(_, at, mt) => {
                            h.set_times(*at, *mt)?;
                            let m = h.metadata()?;
                            return Ok(times_v(*at, *mt, m.atime, m.mtime));
                        }
                        _ => unreachable!(),
                    }
                    V::Unit
                }
            })
        })();
        r.map_err(|e| e.errno())
    }
}

// ---------------------------------------------------------------------------------------
// Running on std::fs (the reference)

/// Linux errno -> WASI errno: the test's own table, independent of WorkspaceFs's.
fn errno_of(e: &std::io::Error) -> Errno {
    match e.raw_os_error() {
        Some(1) => Errno::Perm,
        Some(2) => Errno::NoEnt,
        Some(9) => Errno::Badf,
        Some(13) => Errno::Acces,
        Some(16) => Errno::Busy,
        Some(17) => Errno::Exist,
        Some(18) => Errno::Xdev,
        Some(20) => Errno::NotDir,
        Some(21) => Errno::IsDir,
        Some(22) => Errno::Inval,
        Some(36) => Errno::NameTooLong,
        Some(39) => Errno::NotEmpty,
        Some(40) => Errno::Loop,
        Some(95) => Errno::NotSup,
        _ => panic!("unexpected host error {e:?}"),
    }
}

struct StdRunner {
    root: PathBuf,
    handles: Vec<Option<(File, Mode)>>,
}

impl StdRunner {
    fn host(&self, p: &str) -> PathBuf {
        if p.is_empty() {
            self.root.clone()
        } else {
            self.root.join(p)
        }
    }

    /// Whether resolving `p` (following the last symlink if `follow_last`) climbs above
    /// the root. The real file system would follow such a path outside; the services
    /// refuse it with ENOTCAPABLE (WASI's answer for a path leaving the capability), so the
    /// reference checks it first and answers the same. Resolution stops (no escape) at a
    /// missing component or a non-directory: the operation itself then fails inside.
    fn escapes(&self, p: &str, follow_last: bool) -> bool {
        let mut pending: VecDeque<String> = p
            .split('/')
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect();
        let mut stack: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop_front() {
            match c.as_str() {
                "." => continue,
                ".." => {
                    if stack.pop().is_none() {
                        return true;
                    }
                    continue;
                }
                _ => {}
            }
            let is_last = pending.is_empty();
            let mut here = self.root.clone();
            here.extend(&stack);
            here.push(&c);
            match std::fs::symlink_metadata(&here) {
                Err(_) => return false,
                Ok(m) if m.file_type().is_symlink() && (!is_last || follow_last) => {
                    hops += 1;
                    if hops > 40 {
                        return false;
                    }
                    let t = std::fs::read_link(&here).unwrap();
                    let t = t.to_str().unwrap();
                    if t.starts_with('/') {
                        return true;
                    }
                    for part in t.split('/').rev().filter(|c| !c.is_empty()) {
                        pending.push_front(part.to_string());
                    }
                }
                Ok(m) => {
                    if !is_last && !m.is_dir() {
                        return false;
                    }
                    stack.push(c);
                }
            }
        }
        false
    }

    /// The error of resolving `p`'s parent directory, if any.
    fn parent_err(&self, p: &str) -> Option<Errno> {
        if self.escapes(p, false) {
            return Some(Errno::NotCapable);
        }
        let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
        match std::fs::metadata(self.host(parent)) {
            Err(e) => Some(errno_of(&e)),
            Ok(m) if !m.is_dir() => Some(Errno::NotDir),
            Ok(_) => None,
        }
    }

    /// What WorkspaceFs should answer, given Linux's answer `linux` (computed before `op`
    /// ran). Difference (documented): cap-std, and so wasmtime, opens the parent
    /// directories of both paths of a hard link before linking, so when the source is
    /// missing *and* the destination's parent is bad it reports the destination's error,
    /// where Linux's `linkat` looks up the source first.
    fn ws_expectation(&self, op: &Op, linux: &Outcome, parent_errs: Option<Errno>) -> Outcome {
        match (op, parent_errs) {
            (Op::Link(..), Some(e)) if linux.is_err() => Err(e),
            _ => linux.clone(),
        }
    }

    fn run(&mut self, op: &Op) -> Outcome {
        use std::fs;
        // Paths each operation resolves, and whether it follows a final symlink.
        let checks: Vec<(&str, bool)> = match op {
            Op::Mkdir(a)
            | Op::RemoveFile(a)
            | Op::RemoveDir(a)
            | Op::Lstat(a)
            | Op::Readlink(a)
            // O_CREAT|O_EXCL never follows a final symlink (EEXIST).
            | Op::CreateNew(a)
            | Op::Symlink(_, a) => vec![(a, false)],
            // renameat resolves both parents (in order) before looking anything up.
            Op::Rename(a, b) => {
                if let Some(e) = self.parent_err(a).or_else(|| self.parent_err(b)) {
                    return Err(e);
                }
                vec![]
            }
            // linkat looks the source up completely before the destination.
            Op::Link(a, b) => {
                if self.escapes(a, false) {
                    return Err(Errno::NotCapable);
                }
                if let Err(e) = std::fs::symlink_metadata(self.host(a)) {
                    return Err(errno_of(&e));
                }
                vec![(b, false)]
            }
            Op::WriteAt(a, ..)
            | Op::Append(a, _)
            | Op::Create(a)
            | Op::SetLen(a, _)
            | Op::Read(a)
            | Op::Stat(a)
            | Op::Readdir(a)
            | Op::SetTimes(a, ..)
            | Op::Open(_, a, _) => vec![(a, true)],
            _ => vec![],
        };
        for (p, follow) in checks {
            if self.escapes(p, follow) {
                if let Op::Open(s, ..) = op {
                    self.handles[*s] = None;
                }
                return Err(Errno::NotCapable);
            }
        }
        let r: std::io::Result<V> = (|| {
            Ok(match op {
                Op::Mkdir(a) => fs::create_dir(self.host(a)).map(|_| V::Unit)?,
                Op::WriteAt(a, off, data) => {
                    let f = File::options()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(self.host(a))?;
                    f.write_all_at(data, *off)?;
                    V::Unit
                }
                Op::Append(a, data) => {
                    let mut f = File::options()
                        .append(true)
                        .create(true)
                        .open(self.host(a))?;
                    f.write_all(data)?;
                    V::Unit
                }
                Op::Create(a) => File::create(self.host(a)).map(|_| V::Unit)?,
                Op::CreateNew(a) => File::create_new(self.host(a)).map(|_| V::Unit)?,
                Op::SetLen(a, len) => {
                    let f = File::options().read(true).write(true).open(self.host(a))?;
                    f.set_len(*len)?;
                    V::Unit
                }
                Op::Read(a) => V::Bytes(fs::read(self.host(a))?),
                Op::RemoveFile(a) => fs::remove_file(self.host(a)).map(|_| V::Unit)?,
                Op::RemoveDir(a) => fs::remove_dir(self.host(a)).map(|_| V::Unit)?,
                Op::Rename(a, b) => fs::rename(self.host(a), self.host(b)).map(|_| V::Unit)?,
                Op::Stat(a) => std_meta(&fs::metadata(self.host(a))?),
                Op::Lstat(a) => std_meta(&fs::symlink_metadata(self.host(a))?),
                Op::Readdir(a) => {
                    let mut e = Vec::new();
                    for d in fs::read_dir(self.host(a))? {
                        let d = d?;
                        e.push((
                            d.file_name().into_string().unwrap(),
                            kind_of(d.file_type()?),
                        ));
                    }
                    e.sort_by(|x, y| x.0.cmp(&y.0));
                    V::Entries(e)
                }
                Op::Symlink(t, a) => {
                    std::os::unix::fs::symlink(t, self.host(a)).map(|_| V::Unit)?
                }
                Op::Readlink(a) => V::Target(
                    fs::read_link(self.host(a))?
                        .into_os_string()
                        .into_string()
                        .unwrap(),
                ),
                Op::Link(a, b) => fs::hard_link(self.host(a), self.host(b)).map(|_| V::Unit)?,
                Op::SetTimes(a, at, mt) => {
                    File::open(self.host(a))?.set_times(file_times(*at, *mt))?;
                    let m = fs::metadata(self.host(a))?;
                    times_v(
                        *at,
                        *mt,
                        ns(m.atime(), m.atime_nsec()),
                        ns(m.mtime(), m.mtime_nsec()),
                    )
                }
                Op::Open(s, a, mode) => {
                    self.handles[*s] = None;
                    let mut o = File::options();
                    match mode {
                        Mode::R => o.read(true),
                        Mode::W => o.write(true).create(true),
                        Mode::Rw => o.read(true).write(true).create(true),
                        Mode::A => o.read(true).append(true).create(true),
                    };
                    let f = o.open(self.host(a))?;
                    self.handles[*s] = Some((f, *mode));
                    V::Unit
                }
                Op::Close(s) => {
                    self.handles[*s] = None;
                    V::Unit
                }
                Op::HWrite(s, ..)
                | Op::HAppend(s, _)
                | Op::HRead(s)
                | Op::HSetLen(s, _)
                | Op::HStat(s)
                | Op::HSetTimes(s, ..) => {
                    let Some((f, mode)) = &self.handles[*s] else {
                        return Ok(V::NoHandle);
                    };
                    let mode = *mode;
                    match op {
                        Op::HWrite(_, _, data) | Op::HAppend(_, data) if mode == Mode::A => {
                            // O_APPEND: every write goes to the end.
                            let mut w: &File = f;
                            w.write_all(data)?;
                        }
                        Op::HWrite(_, off, data) => f.write_all_at(data, *off)?,
                        Op::HAppend(_, data) => {
                            // One write even when empty, like `FileHandle::append`: a
                            // zero-byte write on a read-only descriptor is still EBADF.
                            let end = f.metadata()?.len();
                            let n = f.write_at(data, end)?;
                            f.write_all_at(&data[n..], end + n as u64)?;
                        }
                        Op::HRead(_) => {
                            let mut out = Vec::new();
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                let n = f.read_at(&mut buf, out.len() as u64)?;
                                if n == 0 {
                                    break;
                                }
                                out.extend_from_slice(&buf[..n]);
                            }
                            return Ok(V::Bytes(out));
                        }
                        Op::HSetLen(_, len) => {
                            // Difference (documented): ftruncate on a descriptor not open
                            // for writing is EINVAL on Linux; the services answer EBADF
                            // (the handle lacks the right), as WASI does for a missing
                            // right. Normalised here to the services' answer.
                            if mode == Mode::R {
                                return Err(std::io::Error::from_raw_os_error(9));
                            }
                            f.set_len(*len)?
                        }
                        Op::HStat(_) => return Ok(std_meta(&f.metadata()?)),
                        Op::HSetTimes(_, at, mt) => {
                            f.set_times(file_times(*at, *mt))?;
                            let m = f.metadata()?;
                            return Ok(times_v(
                                *at,
                                *mt,
                                ns(m.atime(), m.atime_nsec()),
                                ns(m.mtime(), m.mtime_nsec()),
                            ));
                        }
                        _ => unreachable!(),
                    }
                    V::Unit
                }
            })
        })();
        r.map_err(|e| errno_of(&e))
    }
}

fn ns(s: i64, n: i64) -> u64 {
    s as u64 * 1_000_000_000 + n as u64
}

fn file_times(at: Option<u64>, mt: Option<u64>) -> std::fs::FileTimes {
    let t = |ns: u64| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns);
    let mut ft = std::fs::FileTimes::new();
    if let Some(a) = at {
        ft = ft.set_accessed(t(a));
    }
    if let Some(m) = mt {
        ft = ft.set_modified(t(m));
    }
    ft
}

fn kind_of(t: std::fs::FileType) -> FileKind {
    if t.is_dir() {
        FileKind::Dir
    } else if t.is_symlink() {
        FileKind::Symlink
    } else {
        FileKind::File
    }
}

fn std_meta(m: &std::fs::Metadata) -> V {
    meta_v(kind_of(m.file_type()), m.len(), m.nlink())
}

// ---------------------------------------------------------------------------------------
// Final trees

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    /// Bytes, link count, and the first path (in sorted order) naming the same inode.
    File(Vec<u8>, u64, String),
    /// Target, link count, first path naming the same inode.
    Symlink(String, u64, String),
}

type Tree = BTreeMap<String, Node>;

/// Replaces inode numbers by the first path naming the inode (comparable across systems).
fn canonical(raw: BTreeMap<String, (Node, u64)>) -> Tree {
    let mut first: BTreeMap<u64, String> = BTreeMap::new();
    for (p, (_, ino)) in &raw {
        first.entry(*ino).or_insert_with(|| p.clone());
    }
    raw.into_iter()
        .map(|(p, (n, ino))| {
            let f = first[&ino].clone();
            let n = match n {
                Node::File(b, l, _) => Node::File(b, l, f),
                Node::Symlink(t, l, _) => Node::Symlink(t, l, f),
                d => d,
            };
            (p, n)
        })
        .collect()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn dump_service(fs: &dyn FileService) -> Tree {
    fn walk(fs: &dyn FileService, dir: &str, out: &mut BTreeMap<String, (Node, u64)>) {
        for e in fs.readdir(&FsPath::parse(dir).unwrap()).unwrap() {
            let p = join(dir, &e.name);
            let fp = FsPath::parse(&p).unwrap();
            let m = fs.stat(&fp, Follow::No).unwrap();
            let n = match m.kind {
                FileKind::Dir => {
                    walk(fs, &p, out);
                    Node::Dir
                }
                FileKind::Symlink => Node::Symlink(fs.readlink(&fp).unwrap(), m.nlink, p.clone()),
                _ => {
                    let h = fs.open(&fp, &OpenOptions::read()).unwrap();
                    Node::File(read_all(h.as_ref()).unwrap(), m.nlink, p.clone())
                }
            };
            out.insert(p, (n, m.ino));
        }
    }
    let mut raw = BTreeMap::new();
    walk(fs, "", &mut raw);
    canonical(raw)
}

fn dump_host(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &str, out: &mut BTreeMap<String, (Node, u64)>) {
        let host = if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(dir)
        };
        for e in std::fs::read_dir(host).unwrap() {
            let e = e.unwrap();
            let p = join(dir, e.file_name().to_str().unwrap());
            let m = std::fs::symlink_metadata(root.join(&p)).unwrap();
            let n = if m.is_dir() {
                walk(root, &p, out);
                Node::Dir
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(root.join(&p)).unwrap();
                Node::Symlink(t.to_str().unwrap().to_string(), m.nlink(), p.clone())
            } else {
                let b = std::fs::read(root.join(&p)).unwrap();
                Node::File(b, m.nlink(), p.clone())
            };
            out.insert(p, (n, m.ino()));
        }
    }
    let mut raw = BTreeMap::new();
    walk(root, "", &mut raw);
    canonical(raw)
}

// ---------------------------------------------------------------------------------------
// The check

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
