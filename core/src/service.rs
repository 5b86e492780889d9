//! The [`FileService`] and [`FileHandle`] traits every OANIX service implements.
//!
//! A service sees only normalised [`FsPath`]s relative to its own root (the namespace strips
//! the mount point). Every method has a default, so a service implements only what it does:
//! mutations default to [`FsError::ReadOnly`], links to [`FsError::NotSupported`].
//!
//! # Blocking without spinning
//!
//! Capability files (HTTP responses, WebSocket frames, Nostr events) may have no data yet. The
//! rule is readiness, in the style of `mio`/`tokio`:
//!
//! 1. `read_at`/`write_at` never wait. With nothing to give they return
//!    [`FsError::WouldBlock`] (`EAGAIN`).
//! 2. [`FileHandle::poll_ready`] reports whether the handle is ready for an [`Interest`]. When
//!    it is not, it stores the task's [`Waker`](std::task::Waker) and returns
//!    [`Poll::Pending`]; the service wakes it when data (or an error, or end of stream)
//!    arrives. In-memory services are always ready (the default).
//! 3. A host turns that into blocking: it wraps `poll_ready` in `std::future::poll_fn` and
//!    awaits it, then retries the read. Natively that future is awaited inside wasmtime's
//!    async host functions; in the browser it becomes a `Promise` returned to a
//!    `WebAssembly.Suspending` import (JSPI), so the page never blocks. `poll_oneoff` polls
//!    every subscribed handle with one waker plus a timer. Nobody spins.
//!
//! # Threads
//!
//! Natively, services are shared across threads, so the traits require `Send + Sync` there;
//! on `wasm32` they require nothing, so a service may hold JS objects. See [`MaybeSendSync`].

use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::snapshot::ServiceSnapshot;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

/// `Send + Sync` natively; no bound on wasm32 (where JS objects are neither).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}

/// `Send + Sync` natively; no bound on wasm32 (where JS objects are neither).
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// What kind of object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only from `lstat`/`readdir`; `stat` follows links).
    Symlink,
    /// A stream or device-like file (no meaningful size, not seekable).
    Stream,
}

/// Metadata of a file, directory or link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// File, directory, symlink or stream.
    pub kind: FileKind,
    /// Size in bytes (for a symlink, the length of its target).
    pub size: u64,
    /// Inode-like id, unique within the service while the object exists.
    pub ino: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Last access time (ns since the epoch).
    pub atime: Timestamp,
    /// Last content modification time.
    pub mtime: Timestamp,
    /// Last metadata change time.
    pub ctime: Timestamp,
    /// Whether writes are refused.
    pub readonly: bool,
}

impl Metadata {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Dir
    }

    /// Metadata for a synthetic directory (mount-point parents, FuncFs directories).
    pub fn synthetic_dir(ino: u64) -> Self {
        Metadata {
            kind: FileKind::Dir,
            size: 0,
            ino,
            nlink: 1,
            atime: 0,
            mtime: 0,
            ctime: 0,
            readonly: true,
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirEntry {
    /// The entry's name (one component).
    pub name: String,
    /// Its kind, not following symlinks.
    pub kind: FileKind,
    /// Its inode-like id.
    pub ino: u64,
    /// Position cookie: pass it back to resume the listing *after* this entry.
    ///
    /// Listings are sorted by cookie; cookies stay valid while the directory changes
    /// (entries added later get larger cookies, removed ones simply disappear).
    pub cookie: u64,
}

/// How to open a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenOptions {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Every write goes to the end of the file.
    pub append: bool,
    /// Create the file if missing.
    pub create: bool,
    /// Fail with `AlreadyExists` if the file exists (implies `create`).
    pub create_new: bool,
    /// Truncate to zero length on open (needs `write`).
    pub truncate: bool,
    /// The path must be a directory.
    pub directory: bool,
    /// Do not follow a symlink in the last component (opening one fails with `Loop`).
    pub nofollow: bool,
}

impl OpenOptions {
    /// Read-only.
    pub fn read() -> Self {
        OpenOptions {
            read: true,
            ..Default::default()
        }
    }

    /// Read and write an existing file.
    pub fn read_write() -> Self {
        OpenOptions {
            read: true,
            write: true,
            ..Default::default()
        }
    }

    /// Write, creating or truncating (like `File::create`).
    pub fn create_truncate() -> Self {
        OpenOptions {
            write: true,
            create: true,
            truncate: true,
            ..Default::default()
        }
    }

    /// Append, creating if missing.
    pub fn append() -> Self {
        OpenOptions {
            write: true,
            append: true,
            create: true,
            ..Default::default()
        }
    }

    /// Whether this open can change the file or the tree.
    pub fn mutates(&self) -> bool {
        self.write || self.append || self.create || self.create_new || self.truncate
    }
}

/// Readiness a host may wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Data (or end of stream, or an error) available to read.
    Read,
    /// Room to write.
    Write,
}

/// An open file. Positional: the cursor belongs to whoever holds the handle (the WASI fd
/// table). Several handles on one file see each other's writes at once.
pub trait FileHandle: MaybeSendSync {
    /// Reads at `offset` into `buf`; `Ok(0)` at end of file, `WouldBlock` when no data yet.
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        Err(FsError::BadHandle)
    }

    /// Writes `buf` at `offset`, returning how many bytes were taken.
    fn write_at(&self, _buf: &[u8], _offset: u64) -> FsResult<usize> {
        Err(FsError::BadHandle)
    }

    /// Appends `buf` atomically at the current end; returns the new end of file.
    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        let end = self.metadata()?.size;
        let n = self.write_at(buf, end)?;
        Ok(end + n as u64)
    }

    /// Metadata of the open object.
    fn metadata(&self) -> FsResult<Metadata>;

    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, _len: u64) -> FsResult<()> {
        Err(FsError::BadHandle)
    }

    /// Sets access/modify times; `None` leaves a time unchanged.
    fn set_times(&self, _atime: Option<Timestamp>, _mtime: Option<Timestamp>) -> FsResult<()> {
        Err(FsError::NotSupported)
    }

    /// Flushes buffered data to the service's backing store.
    fn sync(&self) -> FsResult<()> {
        Ok(())
    }

    /// Whether offsets mean anything (false for streams: the host refuses seeks with `ESPIPE`).
    fn is_seekable(&self) -> bool {
        true
    }

    /// For a stream that takes part of a write when it is nearly full (a pipe): how many
    /// bytes a write could take now (`Some(0)`: it would block). `None`: no such limit (the
    /// default; a write is taken whole or refused). The shim copies no more than this out
    /// of the guest's memory.
    fn write_room(&self) -> Option<usize> {
        None
    }

    /// Readiness for `interest`; see the module docs. Default: always ready.
    fn poll_ready(&self, _interest: Interest, _cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Whether an operation on a path whose last component is a symlink acts on the link's
/// target ([`Follow::Yes`], as `stat`) or on the link itself ([`Follow::No`], as `lstat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// Follow a symlink to its target.
    Yes,
    /// Act on the symlink itself.
    No,
}

impl Follow {
    /// [`Follow::Yes`] when `follow`.
    pub fn from_bool(follow: bool) -> Self {
        if follow {
            Follow::Yes
        } else {
            Follow::No
        }
    }
}

/// A file service: a tree of files mounted somewhere in a [`crate::Namespace`].
pub trait FileService: MaybeSendSync {
    /// Opens (and perhaps creates) the file at `path`.
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>>;

    /// Metadata of `path`; `follow` says whether a symlink there is followed (`stat`) or
    /// described itself (`lstat`). A service without symlinks ignores it.
    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata>;

    /// Lists a directory, sorted by [`DirEntry::cookie`]; no `.`/`..` entries.
    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>>;

    /// Creates a directory; its parent must exist.
    fn mkdir(&self, _path: &FsPath) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    /// Removes a non-directory.
    fn remove_file(&self, _path: &FsPath) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    /// Removes an empty directory.
    fn remove_dir(&self, _path: &FsPath) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    /// Renames atomically with POSIX overwrite rules: a file may replace a file, a directory
    /// may replace an empty directory; on any error nothing changes.
    fn rename(&self, _from: &FsPath, _to: &FsPath) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    /// Sets times of `path` (of a symlink's target, or with [`Follow::No`] of the link
    /// itself); `None` leaves a time unchanged.
    fn set_times(
        &self,
        _path: &FsPath,
        _atime: Option<Timestamp>,
        _mtime: Option<Timestamp>,
        _follow: Follow,
    ) -> FsResult<()> {
        Err(FsError::ReadOnly)
    }

    /// Creates a symlink at `link` whose content is `target` (not checked).
    fn symlink(&self, _target: &str, _link: &FsPath) -> FsResult<()> {
        Err(FsError::NotSupported)
    }

    /// Reads a symlink's target.
    fn readlink(&self, _path: &FsPath) -> FsResult<String> {
        Err(FsError::NotSupported)
    }

    /// Creates a hard link `new` to the existing non-directory `existing`.
    fn link(&self, _existing: &FsPath, _new: &FsPath) -> FsResult<()> {
        Err(FsError::NotSupported)
    }

    /// The path now of the directory whose inode is `ino`, for a service that can tell (it
    /// keeps parent links); `None` otherwise. A directory fd uses it to follow its
    /// directory through renames.
    fn dir_path(&self, _ino: u64) -> Option<FsPath> {
        None
    }

    /// The in-memory tree holding this service's contents, if it is one (MemFs, MapFs):
    /// lets persistence save only the inodes that changed ([`crate::fs::MemFs::versions`])
    /// instead of copying the whole tree.
    fn mem_tree(&self) -> Option<crate::fs::MemFs> {
        None
    }

    /// A serialisable copy of the contents, if the service can make one.
    fn snapshot(&self) -> Option<ServiceSnapshot> {
        None
    }

    /// A short name of the service kind, shown by explorers (`memfs`, `mapfs`, ...).
    fn kind(&self) -> &'static str {
        "service"
    }
}

/// The rules of `open` for something that already exists at the path (after following a
/// final symlink unless [`OpenOptions::nofollow`]); every service applies them, so they are
/// written once: a non-directory asked for as a directory is `NotADirectory`, an exclusive
/// create `AlreadyExists`, a directory opened to write, truncate or create `IsADirectory`,
/// and a symlink reached with `nofollow` `Loop`.
pub fn open_existing(meta: &Metadata, opts: &OpenOptions) -> FsResult<()> {
    if opts.directory && !meta.is_dir() {
        return Err(FsError::NotADirectory);
    }
    if opts.create_new {
        return Err(FsError::AlreadyExists);
    }
    if meta.is_dir() {
        if opts.write || opts.append || opts.truncate || opts.create {
            return Err(FsError::IsADirectory);
        }
    } else if meta.kind == FileKind::Symlink {
        return Err(FsError::Loop);
    }
    Ok(())
}

/// The rule of `open` for a name that does not exist: created as an empty file when asked
/// (`Ok(())`, the caller creates it), `IsADirectory` when it was asked for as a directory
/// (only files are created by `open`), else `NotFound`.
pub fn open_missing(opts: &OpenOptions) -> FsResult<()> {
    if !(opts.create || opts.create_new) {
        return Err(FsError::NotFound);
    }
    if opts.directory {
        return Err(FsError::IsADirectory);
    }
    Ok(())
}

/// Opens a directory whose metadata is `meta`: [`open_existing`]'s rules, then a handle
/// that describes it (a directory's entries are read with [`FileService::readdir`]).
pub fn open_dir(meta: Metadata, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
    open_existing(&meta, opts)?;
    Ok(Box::new(DirHandle(meta)))
}

/// A handle on a directory of a service whose directories are not files of their own
/// (synthetic trees): it answers `metadata` and nothing else.
pub struct DirHandle(pub Metadata);

impl FileHandle for DirHandle {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        Err(FsError::IsADirectory)
    }
    fn metadata(&self) -> FsResult<Metadata> {
        Ok(self.0.clone())
    }
}

/// Locks `m`, taking the data even if a thread panicked while holding it: every lock in
/// OANIX guards state that stays consistent between statements (a panic cannot leave it
/// half-updated in a way later calls would misread), so poisoning is not an error here.
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    unpoison(m.lock())
}

/// The guard of a lock result, poisoned or not (the rule of [`lock`], for the results of
/// `Condvar::wait` and the like).
pub fn unpoison<G>(r: std::sync::LockResult<G>) -> G {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Copies `data` from `offset` into `buf` and returns the count (0 at or past the end):
/// `read_at` of a handle over bytes in memory.
pub(crate) fn read_at_bytes(data: &[u8], buf: &mut [u8], offset: u64) -> usize {
    let start = offset.min(data.len() as u64) as usize;
    let n = buf.len().min(data.len() - start);
    buf[..n].copy_from_slice(&data[start..start + n]);
    n
}

/// Reads a whole handle from offset 0 (retrying short reads).
pub fn read_all(handle: &dyn FileHandle) -> FsResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = handle.read_at(&mut buf, out.len() as u64)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Writes all of `data` at `offset` (retrying short writes).
pub fn write_all_at(handle: &dyn FileHandle, mut data: &[u8], mut offset: u64) -> FsResult<()> {
    while !data.is_empty() {
        let n = handle.write_at(data, offset)?;
        if n == 0 {
            return Err(FsError::NoSpace);
        }
        data = &data[n..];
        offset += n as u64;
    }
    Ok(())
}
