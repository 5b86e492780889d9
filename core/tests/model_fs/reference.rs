//! Running operations on `std::fs`: the reference, with the differences from the services
//! that are legitimate normalised here, each documented where it is done.

use super::svc::{meta_v, times_v};
use super::{Mode, Op, Outcome, V};
use oanix_core::{Errno, FileKind};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;

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

pub(super) struct StdRunner {
    pub(super) root: PathBuf,
    pub(super) handles: Vec<Option<(File, Mode)>>,
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
    pub(super) fn parent_err(&self, p: &str) -> Option<Errno> {
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
    pub(super) fn ws_expectation(
        &self,
        op: &Op,
        linux: &Outcome,
        parent_errs: Option<Errno>,
    ) -> Outcome {
        match (op, parent_errs) {
            (Op::Link(..), Some(e)) if linux.is_err() => Err(e),
            _ => linux.clone(),
        }
    }

    pub(super) fn run(&mut self, op: &Op) -> Outcome {
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
