//! `WorkspaceFs` (native): a real directory as a file service, confined to it.
//!
//! Every operation goes through a [`cap_std::fs::Dir`] opened on the root: paths are
//! resolved relative to that directory handle, component by component, so nothing can
//! reach outside it — not `..` (already clamped by [`FsPath`]), not absolute symlinks, not
//! relative symlinks that climb out (also dangling ones, or ones the guest creates), and not
//! a directory swapped for a symlink between a check and the open (there is no separate
//! check: the open itself is confined). Escapes fail with `NotCapable` (`ENOTCAPABLE`).
//! In read-only mode every write is refused with `ReadOnly` (`EROFS`): write, append,
//! create, truncate, mkdir, remove, rename, link, symlink and set-times.

use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::service::{
    open_existing, open_missing, DirEntry, FileHandle, FileKind, FileService, Follow, Metadata,
    OpenOptions,
};
use cap_fs_ext::OsMetadataExt;
use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, SystemTimeSpec};
use cap_std::fs::Dir;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A host directory, confined.
pub struct WorkspaceFs {
    root: Dir,
    readonly: bool,
    host_path: PathBuf,
}

/// Maps a host I/O error to the service error: [`FsError`]'s one mapping, plus cap-std's
/// errno-less refusal of a path leading outside the root.
fn io(e: std::io::Error) -> FsError {
    if e.raw_os_error().is_none() && e.kind() == std::io::ErrorKind::PermissionDenied {
        return FsError::NotCapable;
    }
    FsError::from(e)
}

/// A host time as ns since the epoch (times before it read as 0). `EOVERFLOW` past year
/// 2554, where 64-bit nanoseconds end (as wasmtime answers), never a wrap or a panic.
fn time(t: i64, nsec: i64) -> FsResult<Timestamp> {
    (t.max(0) as u64)
        .checked_mul(1_000_000_000)
        .and_then(|ns| ns.checked_add(nsec.max(0) as u64))
        .ok_or(FsError::Overflow)
}

fn meta(m: &cap_std::fs::Metadata, readonly: bool) -> FsResult<Metadata> {
    let ft = m.file_type();
    Ok(Metadata {
        kind: if ft.is_dir() {
            FileKind::Dir
        } else if ft.is_symlink() {
            FileKind::Symlink
        } else {
            FileKind::File
        },
        size: m.len(),
        ino: m.ino(),
        nlink: m.nlink(),
        atime: time(m.atime(), m.atime_nsec())?,
        mtime: time(m.mtime(), m.mtime_nsec())?,
        ctime: time(m.ctime(), m.ctime_nsec())?,
        readonly,
    })
}

fn spec(t: Option<Timestamp>) -> Option<SystemTimeSpec> {
    t.map(|ns| {
        SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns),
        ))
    })
}

/// The relative host path of a normalised service path (`.` for the root).
fn rel(path: &FsPath) -> &Path {
    if path.is_root() {
        Path::new(".")
    } else {
        Path::new(path.as_str().trim_start_matches('/'))
    }
}

impl WorkspaceFs {
    /// Confines a service to the host directory `dir` (which must exist).
    pub fn open(dir: impl AsRef<Path>, readonly: bool) -> FsResult<Self> {
        let root = Dir::open_ambient_dir(dir.as_ref(), cap_std::ambient_authority()).map_err(io)?;
        Ok(WorkspaceFs {
            root,
            readonly,
            host_path: dir.as_ref().to_path_buf(),
        })
    }

    /// The host directory.
    pub fn host_path(&self) -> &Path {
        &self.host_path
    }

    fn writable(&self) -> FsResult<()> {
        if self.readonly {
            Err(FsError::ReadOnly)
        } else {
            Ok(())
        }
    }
}

impl FileService for WorkspaceFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        if opts.mutates() {
            self.writable()?;
        }
        let mut o = cap_std::fs::OpenOptions::new();
        // The host needs write access to create or truncate; what the caller may do with the
        // handle is still decided by the caller (the WASI fd's rights).
        let host_write = opts.write || opts.truncate || opts.create || opts.create_new;
        o.read(opts.read || !opts.mutates())
            .write(host_write && !opts.append)
            .append(opts.append)
            .create(opts.create)
            .create_new(opts.create_new)
            .truncate(opts.truncate);
        o.follow(if opts.nofollow {
            FollowSymlinks::No
        } else {
            FollowSymlinks::Yes
        });
        // A FIFO, socket or device in the host directory is refused, not opened: opening a
        // FIFO blocks the host thread until a writer comes (past any timeout). Guests cannot
        // create such files, so looking first is enough.
        let existing = if opts.nofollow {
            self.root.symlink_metadata(rel(path))
        } else {
            self.root.metadata(rel(path))
        };
        match existing {
            Ok(m) => {
                let ft = m.file_type();
                if !(ft.is_file() || ft.is_dir() || ft.is_symlink()) {
                    return Err(FsError::NotSupported);
                }
                // The rules every service applies (the host would answer some of them in
                // its own words, e.g. ELOOP for a symlink asked for as a directory).
                open_existing(&meta(&m, self.readonly)?, opts)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => open_missing(opts)?,
            Err(_) => {}
        }
        let file = self.root.open_with(rel(path), &o).map_err(io)?;
        let std_file = file.into_std();
        let m = std_file.metadata().map_err(io)?;
        if m.is_dir() {
            if opts.mutates() {
                return Err(FsError::IsADirectory);
            }
        } else if opts.directory {
            return Err(FsError::NotADirectory);
        }
        Ok(Box::new(HostFile {
            file: std_file,
            readonly: self.readonly,
            write: opts.write || opts.append,
        }))
    }

    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        let m = match follow {
            Follow::Yes => self.root.metadata(rel(path)),
            Follow::No => self.root.symlink_metadata(rel(path)),
        };
        meta(&m.map_err(io)?, self.readonly)
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for e in self.root.read_dir(rel(path)).map_err(io)? {
            let e = e.map_err(io)?;
            let ft = e.file_type().map_err(io)?;
            entries.push(DirEntry {
                name: e.file_name().to_string_lossy().into_owned(),
                kind: if ft.is_dir() {
                    FileKind::Dir
                } else if ft.is_symlink() {
                    FileKind::Symlink
                } else {
                    FileKind::File
                },
                ino: cap_fs_ext::DirEntryExt::full_metadata(&e)
                    .map(|m| m.ino())
                    .unwrap_or(0),
                cookie: 0,
            });
        }
        // A real directory has no stable order: sort by name, cookies follow it.
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        for (i, e) in entries.iter_mut().enumerate() {
            e.cookie = i as u64 + 1;
        }
        Ok(entries)
    }

    fn mkdir(&self, path: &FsPath) -> FsResult<()> {
        self.writable()?;
        self.root.create_dir(rel(path)).map_err(io)
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        self.writable()?;
        self.root.remove_file(rel(path)).map_err(io)
    }

    fn remove_dir(&self, path: &FsPath) -> FsResult<()> {
        self.writable()?;
        if path.is_root() {
            return Err(FsError::Busy);
        }
        self.root.remove_dir(rel(path)).map_err(io)
    }

    fn rename(&self, from: &FsPath, to: &FsPath) -> FsResult<()> {
        self.writable()?;
        self.root.rename(rel(from), &self.root, rel(to)).map_err(io)
    }

    fn set_times(
        &self,
        path: &FsPath,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
        follow: Follow,
    ) -> FsResult<()> {
        self.writable()?;
        let (a, m) = (spec(atime), spec(mtime));
        match follow {
            Follow::Yes => self.root.set_times(rel(path), a, m),
            Follow::No => self.root.set_symlink_times(rel(path), a, m),
        }
        .map_err(io)
    }

    fn symlink(&self, target: &str, link: &FsPath) -> FsResult<()> {
        self.writable()?;
        // The link is created as written; following it later is confined like any path.
        self.root.symlink(target, rel(link)).map_err(io)
    }

    fn readlink(&self, path: &FsPath) -> FsResult<String> {
        self.root
            .read_link_contents(rel(path))
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(io)
    }

    fn link(&self, existing: &FsPath, new: &FsPath) -> FsResult<()> {
        self.writable()?;
        self.root
            .hard_link(rel(existing), &self.root, rel(new))
            .map_err(io)
    }

    fn kind(&self) -> &'static str {
        if self.readonly {
            "workspacefs (read-only)"
        } else {
            "workspacefs"
        }
    }
}

/// An open host file (positional I/O).
struct HostFile {
    file: std::fs::File,
    readonly: bool,
    /// Opened for writing: without it `set_len` is `BadHandle`, like every other service
    /// (Linux's `ftruncate` would say `EINVAL`).
    write: bool,
}

impl FileHandle for HostFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        self.file.read_at(buf, offset).map_err(io)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        if self.readonly {
            return Err(FsError::ReadOnly);
        }
        self.file.write_at(buf, offset).map_err(io)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        let m = self.file.metadata().map_err(io)?;
        let cm = cap_std::fs::Metadata::from_just_metadata(m);
        meta(&cm, self.readonly)
    }

    fn set_len(&self, len: u64) -> FsResult<()> {
        if self.readonly {
            return Err(FsError::ReadOnly);
        }
        if !self.write {
            return Err(FsError::BadHandle);
        }
        self.file.set_len(len).map_err(io)
    }

    fn set_times(&self, atime: Option<Timestamp>, mtime: Option<Timestamp>) -> FsResult<()> {
        if self.readonly {
            return Err(FsError::ReadOnly);
        }
        let mut t = std::fs::FileTimes::new();
        let at = |ns: Timestamp| std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns);
        if let Some(a) = atime {
            t = t.set_accessed(at(a));
        }
        if let Some(m) = mtime {
            t = t.set_modified(at(m));
        }
        self.file.set_times(t).map_err(io)
    }

    fn sync(&self) -> FsResult<()> {
        self.file.sync_all().map_err(io)
    }
}
