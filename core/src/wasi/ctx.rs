//! The state of one WASI guest: its namespace, file-descriptor table, args and environment.

use super::stdio::{NullInput, OutputPipe};
use super::types::{fdflags, rights, Errno};
use crate::error::FsError;
use crate::namespace::Namespace;
use crate::path::FsPath;
use crate::service::Follow;
use crate::service::{FileHandle, FileService, Interest};
use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Most descriptors one guest may hold open (`EMFILE` past it).
pub const MAX_FDS: usize = 4096;

/// What an fd refers to.
#[derive(Clone)]
pub enum FdKind {
    /// An open file or stream with the fd's own cursor.
    File {
        /// The open handle (shared by nothing else: WASI has no dup).
        handle: Arc<dyn FileHandle>,
        /// Cursor for `fd_read`/`fd_write`/`fd_seek`.
        pos: u64,
    },
    /// A directory.
    Dir {
        /// Its path in the namespace when it was opened.
        path: FsPath,
        /// The preopen this directory was reached from: `..` never climbs above it.
        root: FsPath,
        /// The name a preopen is announced under (`fd_prestat_dir_name`).
        preopen: Option<String>,
        /// For a directory opened by `path_open`, its inode: the fd keeps referring to that
        /// directory when it is renamed (see [`WasiCtx::dir_at`]). Preopens (mount points,
        /// which cannot be renamed) have none.
        ino: Option<u64>,
    },
}

/// One entry of the descriptor table.
#[derive(Clone)]
pub struct FdEntry {
    /// File or directory.
    pub kind: FdKind,
    /// `fdflags` (append, nonblock, sync flags as given).
    pub flags: u16,
    /// Rights as reported by `fd_fdstat_get`; they can only shrink (`fd_fdstat_set_rights`).
    /// A file is open for reading while it has `FD_READ`, for writing while it has
    /// `FD_WRITE`: the rights are the one record of that.
    pub rights_base: u64,
    /// Inheriting rights as reported.
    pub rights_inheriting: u64,
}

impl FdEntry {
    /// A file open for reading and/or writing: the rights say which.
    pub(crate) fn file(handle: Arc<dyn FileHandle>, read: bool, write: bool, flags: u16) -> Self {
        let mut base = rights::FILE;
        if !read {
            base &= !rights::FD_READ;
        }
        if !write {
            base &= !(rights::FD_WRITE | rights::FD_ALLOCATE | rights::FD_FILESTAT_SET_SIZE);
        }
        FdEntry {
            kind: FdKind::File { handle, pos: 0 },
            flags,
            rights_base: base,
            rights_inheriting: 0,
        }
    }

    /// A preopened directory.
    pub(crate) fn preopen(path: FsPath, name: String) -> Self {
        Self::dir(path.clone(), path, Some(name), None)
    }

    /// A directory opened by `path_open`: its own sandbox root, followed by inode.
    pub(crate) fn opened_dir(path: FsPath, ino: u64) -> Self {
        Self::dir(path.clone(), path, None, Some(ino))
    }

    fn dir(path: FsPath, root: FsPath, preopen: Option<String>, ino: Option<u64>) -> Self {
        FdEntry {
            kind: FdKind::Dir {
                path,
                root,
                preopen,
                ino,
            },
            flags: 0,
            rights_base: rights::DIR,
            rights_inheriting: rights::DIR_INHERITING,
        }
    }
}

/// What a preview1 call asks of the host.
pub enum Outcome {
    /// Return this errno to the guest.
    Return(Errno),
    /// The guest called `proc_exit` with this code: stop it.
    Exit(u32),
    /// The call would block: wait for this, then make the same call again.
    Wait(Wait),
    /// The guest did something that must stop it (as wasmtime traps), e.g. `proc_exit` with
    /// a code outside `0..126`: the host ends the run with this message.
    Trap(String),
}

impl Outcome {
    /// `Return(Success)` or `Return(e)`.
    pub fn from_result(r: Result<(), Errno>) -> Self {
        Outcome::Return(r.err().unwrap_or(Errno::Success))
    }
}

/// Something a blocked call waits for: any of some handles becoming ready, or a deadline.
///
/// `Wait` is itself a future resolving when a handle is ready (the host races it against a
/// timer for [`Wait::deadline`]). It never spins: handles wake it through their wakers.
pub struct Wait {
    /// Monotonic deadline in ns ([`crate::clock::monotonic`]), if any.
    pub deadline: Option<u64>,
    /// Handles and the readiness each is waited for.
    pub handles: Vec<(Arc<dyn FileHandle>, Interest)>,
}

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        for (h, interest) in &self.handles {
            if h.poll_ready(*interest, cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

pub(crate) struct PendingPoll {
    pub in_ptr: u32,
    pub nsubs: u32,
    pub deadlines: Vec<Option<u64>>,
}

/// A guest's WASI state. Hosts call [`WasiCtx::dispatch`] (or the per-call methods).
pub struct WasiCtx {
    pub(crate) ns: Namespace,
    pub(crate) fds: Vec<Option<FdEntry>>,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) env: Vec<Vec<u8>>,
    pub(crate) pending_poll: Option<PendingPoll>,
    /// Monotonic ns after which long host work stops (see [`WasiCtx::set_deadline`]).
    pub(crate) deadline: Option<u64>,
}

/// Builds a [`WasiCtx`].
pub struct WasiCtxBuilder {
    ns: Namespace,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdio: [Arc<dyn FileHandle>; 3],
    preopens: Vec<(String, String)>,
}

impl WasiCtxBuilder {
    /// Program name and arguments (`argv[0]` first).
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Standard input (default: empty).
    pub fn stdin(mut self, h: Arc<dyn FileHandle>) -> Self {
        self.stdio[0] = h;
        self
    }

    /// Standard output (default: discarded into an unread pipe).
    pub fn stdout(mut self, h: Arc<dyn FileHandle>) -> Self {
        self.stdio[1] = h;
        self
    }

    /// Standard error (default: discarded into an unread pipe).
    pub fn stderr(mut self, h: Arc<dyn FileHandle>) -> Self {
        self.stdio[2] = h;
        self
    }

    /// Preopens the namespace directory `ns_path`, announced to the guest as `guest_name`.
    pub fn preopen(mut self, guest_name: impl Into<String>, ns_path: impl Into<String>) -> Self {
        self.preopens.push((guest_name.into(), ns_path.into()));
        self
    }

    /// Preopens every mount point under its own path (the default view of a namespace).
    pub fn preopen_mounts(mut self) -> Self {
        for m in self.ns.mounts() {
            let p = m.path.to_absolute();
            self.preopens.push((p.clone(), p));
        }
        self
    }

    /// Checks the preopens and builds the context.
    pub fn build(self) -> Result<WasiCtx, FsError> {
        let [stdin, stdout, stderr] = self.stdio;
        // A file used as stdout/stderr (e.g. /logs/stdout.log) is written in append mode.
        let out_flags = |h: &Arc<dyn FileHandle>| {
            if h.is_seekable() {
                fdflags::APPEND
            } else {
                0
            }
        };
        let (f1, f2) = (out_flags(&stdout), out_flags(&stderr));
        let mut fds = vec![
            Some(FdEntry::file(stdin, true, false, 0)),
            Some(FdEntry::file(stdout, false, true, f1)),
            Some(FdEntry::file(stderr, false, true, f2)),
        ];
        for (name, path) in &self.preopens {
            let p = FsPath::parse(path)?;
            if !self.ns.stat(&p, Follow::Yes)?.is_dir() {
                return Err(FsError::NotADirectory);
            }
            fds.push(Some(FdEntry::preopen(p, name.clone())));
        }
        Ok(WasiCtx {
            ns: self.ns,
            fds,
            args: self.args.into_iter().map(String::into_bytes).collect(),
            env: self
                .env
                .into_iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            pending_poll: None,
            deadline: None,
        })
    }
}

impl WasiCtx {
    /// Starts building a context over `ns`.
    pub fn builder(ns: Namespace) -> WasiCtxBuilder {
        WasiCtxBuilder {
            ns,
            args: Vec::new(),
            env: Vec::new(),
            stdio: [
                Arc::new(NullInput),
                OutputPipe::new().handle(),
                OutputPipe::new().handle(),
            ],
            preopens: Vec::new(),
        }
    }

    /// Sets the run's deadline ([`crate::clock::monotonic`] ns). Calls that do long host
    /// work (large `random_get`) check it as they go and give up with `ETIMEDOUT` once it
    /// has passed; the host, which checks the deadline after every call, then ends the run
    /// as timed out, so a guest cannot outlive its timeout inside one call.
    pub fn set_deadline(&mut self, deadline: Option<u64>) {
        self.deadline = deadline;
    }

    /// Whether the deadline set with [`WasiCtx::set_deadline`] has passed.
    pub fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|d| crate::clock::monotonic() >= d)
    }

    /// The namespace the guest lives in.
    pub fn namespace(&self) -> &Namespace {
        &self.ns
    }

    pub(crate) fn entry(&self, fd: u32) -> Result<&FdEntry, Errno> {
        self.fds
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::Badf)
    }

    pub(crate) fn entry_mut(&mut self, fd: u32) -> Result<&mut FdEntry, Errno> {
        self.fds
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::Badf)
    }

    /// The open file behind `fd` and its cursor, when the fd holds every right in `need`:
    /// `EBADF` for a directory or a missing right (as wasmtime answers a read of a file not
    /// open for reading).
    pub(crate) fn file_fd(&self, fd: u32, need: u64) -> Result<(&Arc<dyn FileHandle>, u64), Errno> {
        let e = self.entry(fd)?;
        match &e.kind {
            FdKind::File { handle, pos } if e.rights_base & need == need => Ok((handle, *pos)),
            _ => Err(Errno::Badf),
        }
    }

    /// The cursor of the file behind `fd` (`EBADF` for a directory).
    pub(crate) fn file_pos_mut(&mut self, fd: u32) -> Result<&mut u64, Errno> {
        match &mut self.entry_mut(fd)?.kind {
            FdKind::File { pos, .. } => Ok(pos),
            FdKind::Dir { .. } => Err(Errno::Badf),
        }
    }

    /// Inserts at the lowest free descriptor.
    pub(crate) fn insert(&mut self, entry: FdEntry) -> Result<u32, Errno> {
        if let Some(i) = self.fds.iter().position(Option::is_none) {
            self.fds[i] = Some(entry);
            return Ok(i as u32);
        }
        if self.fds.len() >= MAX_FDS {
            return Err(Errno::Mfile);
        }
        self.fds.push(Some(entry));
        Ok((self.fds.len() - 1) as u32)
    }

    /// The directory behind `fd` as it is now: its namespace path and the root `..` may
    /// not climb above. A directory opened by `path_open` is found by its inode: renamed
    /// (by this guest or another in the namespace), the fd follows it; removed, or on a
    /// service that cannot say where it went, `ENOENT` (never whatever took its name).
    pub(crate) fn dir_at(&self, fd: u32) -> Result<(Cow<'_, FsPath>, Cow<'_, FsPath>), Errno> {
        let FdKind::Dir {
            path, root, ino, ..
        } = &self.entry(fd)?.kind
        else {
            return Err(Errno::NotDir);
        };
        // A preopen (the hot path: every call on a path under it) is borrowed as it is.
        let Some(ino) = *ino else {
            return Ok((Cow::Borrowed(path), Cow::Borrowed(root)));
        };
        match self.ns.stat(path, Follow::No) {
            Ok(m) if m.ino == ino && m.is_dir() => Ok((Cow::Borrowed(path), Cow::Borrowed(path))),
            _ => {
                let now = self.ns.locate_dir(path, ino).ok_or(Errno::NoEnt)?;
                Ok((Cow::Owned(now.clone()), Cow::Owned(now)))
            }
        }
    }

    /// Resolves `path` relative to the directory fd `dirfd` into a namespace path; `..`
    /// may not climb above the preopen the directory came from (`ENOTCAPABLE`). Also
    /// returns whether the path names a directory by its form ([`requires_dir`]).
    pub(crate) fn resolve_at(&self, dirfd: u32, path: &str) -> Result<(FsPath, bool), Errno> {
        let (base, root) = self.dir_at(dirfd)?;
        if path.is_empty() {
            return Err(Errno::NoEnt);
        }
        if path.contains('\0') {
            return Err(Errno::Inval);
        }
        if path.starts_with('/') {
            return Err(Errno::Perm);
        }
        let min = root.depth();
        let mut parts: Vec<&str> = base.components().collect();
        for comp in path.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    if parts.len() <= min {
                        return Err(Errno::Perm);
                    }
                    parts.pop();
                }
                c => parts.push(c),
            }
        }
        let joined = FsPath::parse(&parts.join("/")).map_err(|e| e.errno())?;
        Ok((joined, requires_dir(path)))
    }
}

/// Whether a guest path names a directory by its form: a trailing `/`, or a last component
/// `.` or `..` (`"f/."` is "the directory f", so `ENOTDIR` when f is a file). Removing such
/// a path operates on the directory's own `.` entry, as POSIX `rmdir`/`unlink` and wasmtime
/// do: `EINVAL` for `rmdir`, `EISDIR` for `unlink`.
pub(crate) fn requires_dir(raw: &str) -> bool {
    raw.ends_with('/') || matches!(raw.rsplit('/').next(), Some("." | ".."))
}
