//! Running operations on a `FileService` (MemFs, WorkspaceFs).

use super::{Mode, Op, Outcome, SLOTS, V};
use oanix_core::service::{read_all, write_all_at};
use oanix_core::Follow;
use oanix_core::{FileHandle, FileKind, FileService, FsError, FsPath, OpenOptions};

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

pub(super) fn meta_v(kind: FileKind, size: u64, nlink: u64) -> V {
    let sized = matches!(kind, FileKind::File | FileKind::Symlink);
    V::Meta(kind, sized.then_some(size), sized.then_some(nlink))
}

pub(super) fn times_v(at: Option<u64>, mt: Option<u64>, got_a: u64, got_m: u64) -> V {
    V::Times(at.map(|_| got_a), mt.map(|_| got_m))
}

pub(super) struct SvcRunner<'a> {
    fs: &'a dyn FileService,
    handles: Vec<Option<(Box<dyn FileHandle>, Mode)>>,
}

impl<'a> SvcRunner<'a> {
    pub(super) fn new(fs: &'a dyn FileService) -> Self {
        SvcRunner {
            fs,
            handles: (0..SLOTS).map(|_| None).collect(),
        }
    }

    pub(super) fn run(&mut self, op: &Op) -> Outcome {
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
