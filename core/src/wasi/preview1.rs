//! The preview1 functions, one method per call, in the order of the spec's docs: args,
//! environment, clocks, descriptors, processes and sockets here; the `path_*` calls in
//! `paths.rs`, `poll_oneoff` in `poll.rs`, `random_get` in `random.rs`.
//!
//! Each takes the guest memory and the call's raw arguments and returns
//! `Result<(), Errno>`; calls that may block return an [`Outcome`] instead.

use super::abi;
use super::ctx::{FdKind, Outcome, Wait, WasiCtx};
use super::memory::{offset, GuestMemory, MemExt};
use super::types::*;
use crate::clock;
use crate::error::FsError;
use crate::service::Follow;
use crate::service::{DirEntry, FileHandle, FileKind, FileService, Interest, Metadata};

type R = Result<(), Errno>;

/// Most bytes one `fd_read`/`fd_write`/`fd_pread`/`fd_pwrite` moves: a larger request gets
/// a short count (which guests handle, as POSIX allows), so one call's work and buffer are
/// bounded and the count always fits the `u32` it is reported in.
pub const MAX_IO_BYTES: u32 = 16 << 20;

pub use super::random::RANDOM_CHUNK;

/// Longest path a call reads from the guest (`ENAMETOOLONG` past it, before any copy).
pub const MAX_PATH_BYTES: u32 = 64 << 10;

/// The one buffer a read or write call moves: the first non-empty iovec (as wasmtime
/// does; a short count is what POSIX allows and guests handle), checked to lie in memory
/// (`EFAULT`, nothing done), clipped to [`MAX_IO_BYTES`]. `None` when all are empty.
fn first_iov(mem: &dyn GuestMemory, iovs: &[(u32, u32)]) -> Result<Option<(u32, u32)>, Errno> {
    match iovs.iter().find(|&&(_, len)| len > 0) {
        Some(&(ptr, len)) => {
            mem.check(ptr, len)?;
            Ok(Some((ptr, len.min(MAX_IO_BYTES))))
        }
        None => Ok(None),
    }
}

/// A file offset a call may use: at most `i64::MAX` (`EINVAL`), as POSIX's `off_t`.
pub(super) fn file_offset(offset: u64) -> Result<u64, Errno> {
    if offset > i64::MAX as u64 {
        return Err(Errno::Inval);
    }
    Ok(offset)
}

pub(super) fn write_filestat(mem: &mut dyn GuestMemory, ptr: u32, m: &Metadata) -> R {
    mem.write(ptr, &abi::filestat(m))
}

/// Resolves `fstflags` into optional new (atime, mtime).
pub(super) fn times(atim: u64, mtim: u64, flags: u16) -> Result<(Option<u64>, Option<u64>), Errno> {
    use fstflags::*;
    if flags & !(ATIM | ATIM_NOW | MTIM | MTIM_NOW) != 0
        || (flags & ATIM != 0 && flags & ATIM_NOW != 0)
        || (flags & MTIM != 0 && flags & MTIM_NOW != 0)
    {
        return Err(Errno::Inval);
    }
    let now = clock::now();
    let pick = |set: u16, set_now: u16, v: u64| {
        if flags & set_now != 0 {
            Some(now)
        } else if flags & set != 0 {
            Some(v)
        } else {
            None
        }
    };
    Ok((pick(ATIM, ATIM_NOW, atim), pick(MTIM, MTIM_NOW, mtim)))
}

/// A host-side length as a guest `u32` (`EOVERFLOW` if it does not fit).
pub(super) fn len32(n: usize) -> Result<u32, Errno> {
    u32::try_from(n).map_err(|_| Errno::Overflow)
}

/// A path argument: in memory (`EFAULT`), at most [`MAX_PATH_BYTES`] (`ENAMETOOLONG`),
/// UTF-8 (`EILSEQ`).
pub(super) fn read_path(mem: &dyn GuestMemory, ptr: u32, len: u32) -> Result<String, Errno> {
    mem.check(ptr, len)?;
    if len > MAX_PATH_BYTES {
        return Err(Errno::NameTooLong);
    }
    mem.read_str(ptr, len)
}

impl WasiCtx {
    // ---- args and environment ------------------------------------------------------

    /// Writes NUL-terminated strings at `buf` and their addresses at `ptrs`. Both areas are
    /// built on the host and must lie in memory (`EFAULT`, nothing written, otherwise).
    fn write_strings(mem: &mut dyn GuestMemory, list: &[Vec<u8>], ptrs: u32, buf: u32) -> R {
        let mut addrs = Vec::with_capacity(list.len() * 4);
        let mut strings = Vec::new();
        for s in list {
            addrs.extend_from_slice(&offset(buf, strings.len() as u64)?.to_le_bytes());
            strings.extend_from_slice(s);
            strings.push(0);
        }
        let (n_addrs, n_strings) = (len32(addrs.len())?, len32(strings.len())?);
        mem.check(ptrs, n_addrs)?;
        mem.check(buf, n_strings)?;
        mem.write(buf, &strings)?;
        mem.write(ptrs, &addrs)
    }

    fn write_sizes(mem: &mut dyn GuestMemory, list: &[Vec<u8>], count: u32, size: u32) -> R {
        let bytes: usize = list.iter().map(|s| s.len() + 1).sum();
        let (n, bytes) = (len32(list.len())?, len32(bytes)?);
        mem.check(count, 4)?;
        mem.check(size, 4)?;
        mem.write_u32(count, n)?;
        mem.write_u32(size, bytes)
    }

    /// `args_get(argv, argv_buf)`.
    pub fn args_get(&self, mem: &mut dyn GuestMemory, argv: u32, argv_buf: u32) -> R {
        Self::write_strings(mem, &self.args, argv, argv_buf)
    }

    /// `args_sizes_get() -> (argc, argv_buf_size)`.
    pub fn args_sizes_get(&self, mem: &mut dyn GuestMemory, argc: u32, size: u32) -> R {
        Self::write_sizes(mem, &self.args, argc, size)
    }

    /// `environ_get(environ, environ_buf)`.
    pub fn environ_get(&self, mem: &mut dyn GuestMemory, environ: u32, buf: u32) -> R {
        Self::write_strings(mem, &self.env, environ, buf)
    }

    /// `environ_sizes_get() -> (count, buf_size)`.
    pub fn environ_sizes_get(&self, mem: &mut dyn GuestMemory, count: u32, size: u32) -> R {
        Self::write_sizes(mem, &self.env, count, size)
    }

    // ---- clocks (random_get: see `random.rs`) ---------------------------------------

    /// `clock_res_get(id) -> timestamp`.
    pub fn clock_res_get(&self, mem: &mut dyn GuestMemory, id: u32, out: u32) -> R {
        let res = match id {
            clockid::REALTIME => 1_000,
            clockid::MONOTONIC => 1_000,
            // CPU-time clocks are not provided (as in wasmtime): BADF.
            clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => return Err(Errno::Badf),
            _ => return Err(Errno::Inval),
        };
        mem.write_u64(out, res)
    }

    /// `clock_time_get(id, precision) -> timestamp`.
    pub fn clock_time_get(&self, mem: &mut dyn GuestMemory, id: u32, _prec: u64, out: u32) -> R {
        let t = match id {
            clockid::REALTIME => clock::now(),
            clockid::MONOTONIC => clock::monotonic(),
            clockid::PROCESS_CPUTIME_ID | clockid::THREAD_CPUTIME_ID => return Err(Errno::Badf),
            _ => return Err(Errno::Inval),
        };
        mem.write_u64(out, t)
    }

    // ---- descriptors ---------------------------------------------------------------

    /// `fd_advise(fd, offset, len, advice)`: accepted and ignored for files.
    pub fn fd_advise(&self, fd: u32, _offset: u64, _len: u64, advice: u32) -> R {
        if advice > 5 {
            return Err(Errno::Inval);
        }
        self.file_fd(fd, 0).map(|_| ())
    }

    /// `fd_allocate(fd, offset, len)`: not supported, as in wasmtime (preview2 dropped it;
    /// guests fall back to writing or `fd_filestat_set_size`). BADF for a non-file fd.
    pub fn fd_allocate(&self, fd: u32, _offset: u64, _len: u64) -> R {
        self.file_fd(fd, 0)?;
        Err(Errno::NotSup)
    }

    /// `fd_close(fd)`.
    pub fn fd_close(&mut self, fd: u32) -> R {
        self.entry(fd)?;
        self.fds[fd as usize] = None;
        Ok(())
    }

    /// `fd_datasync(fd)`: `EBADF` for a directory, as in wasmtime.
    pub fn fd_datasync(&self, fd: u32) -> R {
        self.fd_sync(fd)
    }

    /// `fd_fdstat_get(fd) -> fdstat`.
    pub fn fd_fdstat_get(&self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> R {
        let e = self.entry(fd)?;
        let ft = match &e.kind {
            FdKind::Dir { .. } => filetype::DIRECTORY,
            FdKind::File { handle, .. } => abi::filetype(handle.metadata()?.kind),
        };
        let b = abi::fdstat(ft, e.flags, e.rights_base, e.rights_inheriting);
        mem.write(out, &b)
    }

    /// `fd_fdstat_set_flags(fd, flags)`: `APPEND` and `NONBLOCK` can change.
    pub fn fd_fdstat_set_flags(&mut self, fd: u32, flags: u16) -> R {
        let e = self.entry_mut(fd)?;
        if let FdKind::Dir { .. } = e.kind {
            return Err(Errno::Badf);
        }
        // Only APPEND and NONBLOCK can change; the sync flags and unknown bits are EINVAL
        // (as wasmtime).
        if flags & !(fdflags::APPEND | fdflags::NONBLOCK) != 0 {
            return Err(Errno::Inval);
        }
        e.flags = flags;
        Ok(())
    }

    /// `fd_fdstat_set_rights(fd, base, inheriting)`: rights may only shrink (`NOTCAPABLE`
    /// otherwise). Dropping `FD_READ`/`FD_WRITE` from a file makes reads/writes `BADF`; other
    /// rights are reported, not enforced, as in wasmtime (the namespace is the boundary).
    pub fn fd_fdstat_set_rights(&mut self, fd: u32, base: u64, inheriting: u64) -> R {
        let e = self.entry_mut(fd)?;
        if base & !e.rights_base != 0 || inheriting & !e.rights_inheriting != 0 {
            return Err(Errno::NotCapable);
        }
        e.rights_base = base;
        e.rights_inheriting = inheriting;
        Ok(())
    }

    /// `fd_filestat_get(fd) -> filestat`.
    pub fn fd_filestat_get(&self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> R {
        let meta = match &self.entry(fd)?.kind {
            FdKind::File { handle, .. } => handle.metadata(),
            FdKind::Dir { .. } => self.ns.stat(&self.dir_at(fd)?.0, Follow::Yes),
        }?;
        write_filestat(mem, out, &meta)
    }

    /// `fd_filestat_set_size(fd, size)`.
    pub fn fd_filestat_set_size(&self, fd: u32, size: u64) -> R {
        let (handle, _) = self.file_fd(fd, 0)?;
        if self.entry(fd)?.rights_base & rights::FD_WRITE == 0 {
            // ftruncate(2) of a descriptor not open for writing, as wasmtime answers.
            return Err(Errno::Inval);
        }
        handle.set_len(file_offset(size)?).map_err(Errno::from)
    }

    /// `fd_filestat_set_times(fd, atim, mtim, fst_flags)`.
    pub fn fd_filestat_set_times(&self, fd: u32, atim: u64, mtim: u64, flags: u16) -> R {
        let (a, m) = times(atim, mtim, flags)?;
        match &self.entry(fd)?.kind {
            FdKind::File { handle, .. } => handle.set_times(a, m),
            FdKind::Dir { .. } => self.ns.set_times(&self.dir_at(fd)?.0, a, m, Follow::Yes),
        }
        .map_err(Errno::from)
    }

    /// Reads into the first non-empty iovec from `offset` with one read of the handle;
    /// `Ok(None)` means "would block, nothing read".
    fn read_iovs(
        mem: &mut dyn GuestMemory,
        handle: &dyn FileHandle,
        iovs: &[(u32, u32)],
        offset: u64,
    ) -> Result<Option<u32>, Errno> {
        let Some((ptr, len)) = first_iov(mem, iovs)? else {
            return Ok(Some(0));
        };
        let r = match mem.slice_mut(ptr, len)? {
            Some(dst) => handle.read_at(dst, offset),
            None => {
                let mut tmp = vec![0u8; len as usize];
                let r = handle.read_at(&mut tmp, offset);
                if let Ok(n) = r {
                    mem.write(ptr, &tmp[..n.min(tmp.len())])?;
                }
                r
            }
        };
        match r {
            Ok(n) => Ok(Some(len32(n.min(len as usize))?)),
            Err(FsError::WouldBlock) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the first non-empty iovec at `offset` (or appends) with one write of the
    /// handle; returns the count and the new end. `Ok(None)` means "would block, nothing
    /// written". A stream (not seekable) may take part of the buffer (a nearly full pipe):
    /// the count is what it took.
    fn write_iovs(
        mem: &dyn GuestMemory,
        handle: &dyn FileHandle,
        iovs: &[(u32, u32)],
        offset: Option<u64>,
    ) -> Result<Option<(u32, Option<u64>)>, Errno> {
        let Some((ptr, len)) = first_iov(mem, iovs)? else {
            return Ok(Some((0, None)));
        };
        if offset.is_none() && !handle.is_seekable() {
            // A pipe takes what fits: copy only that out of the guest's memory (a browser
            // copy of a 16 MiB buffer per 64 KiB taken would be quadratic).
            let len = match handle.write_room() {
                Some(0) => return Ok(None),
                Some(room) => len.min(u32::try_from(room).unwrap_or(u32::MAX)),
                None => len,
            };
            let data = mem.slice(ptr, len)?;
            return match handle.write_at(&data, 0) {
                Ok(n) => Ok(Some((len32(n.min(len as usize))?, None))),
                Err(FsError::WouldBlock) => Ok(None),
                Err(e) => Err(e.into()),
            };
        }
        let data = mem.slice(ptr, len)?;
        let r = match offset {
            None => handle.append(&data),
            Some(at) => {
                let end =
                    file_offset(at.saturating_add(u64::from(len))).map_err(|_| Errno::Fbig)?;
                crate::service::write_all_at(handle, &data, at).map(|_| end)
            }
        };
        match r {
            Ok(end) => Ok(Some((len, Some(end)))),
            Err(FsError::WouldBlock) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn wait_for(&self, fd: u32, interest: Interest) -> Result<Outcome, Errno> {
        if self.entry(fd)?.flags & fdflags::NONBLOCK != 0 {
            return Err(Errno::Again);
        }
        let (handle, _) = self.file_fd(fd, 0)?;
        Ok(Outcome::Wait(Wait {
            deadline: None,
            handles: vec![(handle.clone(), interest)],
        }))
    }

    /// `fd_pread(fd, iovs, offset) -> nread`.
    pub fn fd_pread(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nread: u32,
    ) -> Result<Outcome, Errno> {
        let (handle, _) = self.file_fd(fd, rights::FD_READ)?;
        if !handle.is_seekable() {
            return Err(Errno::Spipe);
        }
        let iovs = mem.read_iovecs(iovs, iovs_len)?;
        mem.check(nread, 4)?;
        let offset = file_offset(offset)?;
        match Self::read_iovs(mem, handle.as_ref(), &iovs, offset)? {
            Some(n) => mem
                .write_u32(nread, n)
                .map(|_| Outcome::Return(Errno::Success)),
            None => self.wait_for(fd, Interest::Read),
        }
    }

    /// `fd_prestat_get(fd) -> prestat`.
    pub fn fd_prestat_get(&self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> R {
        match &self.entry(fd)?.kind {
            FdKind::Dir {
                preopen: Some(name),
                ..
            } => mem.write(out, &abi::prestat_dir(len32(name.len())?)),
            _ => Err(Errno::Badf),
        }
    }

    /// `fd_prestat_dir_name(fd, path, path_len)`.
    pub fn fd_prestat_dir_name(&self, mem: &mut dyn GuestMemory, fd: u32, ptr: u32, len: u32) -> R {
        match &self.entry(fd)?.kind {
            FdKind::Dir {
                preopen: Some(name),
                ..
            } => {
                if (len as usize) < name.len() {
                    return Err(Errno::NameTooLong);
                }
                mem.write(ptr, name.as_bytes())
            }
            _ => Err(Errno::Badf),
        }
    }

    /// `fd_pwrite(fd, iovs, offset) -> nwritten`.
    pub fn fd_pwrite(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        offset: u64,
        nwritten: u32,
    ) -> Result<Outcome, Errno> {
        let (handle, _) = self.file_fd(fd, rights::FD_WRITE)?;
        if !handle.is_seekable() {
            return Err(Errno::Spipe);
        }
        let iovs = mem.read_iovecs(iovs, iovs_len)?;
        mem.check(nwritten, 4)?;
        let offset = file_offset(offset)?;
        match Self::write_iovs(mem, handle.as_ref(), &iovs, Some(offset))? {
            Some((n, _)) => mem
                .write_u32(nwritten, n)
                .map(|_| Outcome::Return(Errno::Success)),
            None => self.wait_for(fd, Interest::Write),
        }
    }

    /// `fd_read(fd, iovs) -> nread`.
    pub fn fd_read(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    ) -> Result<Outcome, Errno> {
        let (handle, pos) = self.file_fd(fd, rights::FD_READ)?;
        let handle = handle.clone();
        let iovs = mem.read_iovecs(iovs, iovs_len)?;
        mem.check(nread, 4)?;
        match Self::read_iovs(mem, handle.as_ref(), &iovs, pos)? {
            Some(n) => {
                let pos = self.file_pos_mut(fd)?;
                *pos = pos.saturating_add(u64::from(n));
                mem.write_u32(nread, n)?;
                Ok(Outcome::Return(Errno::Success))
            }
            None => self.wait_for(fd, Interest::Read),
        }
    }

    /// `fd_readdir(fd, buf, buf_len, cookie) -> bufused`. Lists `.` and `..` first.
    pub fn fd_readdir(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        buf: u32,
        buf_len: u32,
        cookie: u64,
        bufused: u32,
    ) -> R {
        let FdKind::Dir { .. } = &self.entry(fd)?.kind else {
            return Err(Errno::Badf); // as wasmtime: a file fd lacks the FD_READDIR right
        };
        let (dir, _) = self.dir_at(fd)?;
        let path: &crate::path::FsPath = &dir;
        let dir_ino = self.ns.stat(path, Follow::Yes)?.ino;
        let parent_ino = path
            .parent()
            .and_then(|p| self.ns.stat(&p, Follow::Yes).ok())
            .map_or(dir_ino, |m| m.ino);
        let mut entries: Vec<DirEntry> = vec![
            DirEntry {
                name: ".".into(),
                kind: FileKind::Dir,
                ino: dir_ino,
                cookie: 1,
            },
            DirEntry {
                name: "..".into(),
                kind: FileKind::Dir,
                ino: parent_ino,
                cookie: 2,
            },
        ];
        entries.extend(self.ns.readdir(path)?.into_iter().map(|mut e| {
            e.cookie += 2;
            e
        }));
        mem.check(buf, buf_len)?;
        mem.check(bufused, 4)?;
        // Grown by what is produced (never `buf_len` up front: a hostile 4 GiB length must
        // not become a 4 GiB allocation).
        let mut out: Vec<u8> = Vec::new();
        for e in entries.iter().filter(|e| e.cookie > cookie) {
            if out.len() >= buf_len as usize {
                break;
            }
            let d = abi::dirent(e.cookie, e.ino, len32(e.name.len())?, e.kind);
            out.extend_from_slice(&d);
            out.extend_from_slice(e.name.as_bytes());
        }
        out.truncate(buf_len as usize);
        mem.write(buf, &out)?;
        mem.write_u32(bufused, out.len() as u32)
    }

    /// `fd_renumber(fd, to)`: moves `fd` onto `to`, closing what `to` was.
    pub fn fd_renumber(&mut self, fd: u32, to: u32) -> R {
        self.entry(fd)?;
        self.entry(to)?;
        if fd != to {
            let e = self.fds[fd as usize].take();
            self.fds[to as usize] = e;
        }
        Ok(())
    }

    /// `fd_seek(fd, offset, whence) -> newoffset`.
    pub fn fd_seek(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        offset: i64,
        whence: u8,
        out: u32,
    ) -> R {
        let (handle, pos) = self.file_fd(fd, 0)?;
        if !handle.is_seekable() {
            return Err(Errno::Spipe);
        }
        let base = match whence {
            whence::SET => 0i128,
            whence::CUR => pos as i128,
            whence::END => handle.metadata()?.size as i128,
            _ => return Err(Errno::Inval),
        };
        let new = base + offset as i128;
        if new < 0 || new > i64::MAX as i128 {
            return Err(Errno::Inval);
        }
        *self.file_pos_mut(fd)? = new as u64;
        mem.write_u64(out, new as u64)
    }

    /// `fd_sync(fd)`: `EBADF` for a directory, as in wasmtime.
    pub fn fd_sync(&self, fd: u32) -> R {
        self.file_fd(fd, 0)?.0.sync().map_err(Errno::from)
    }

    /// `fd_tell(fd) -> offset`.
    pub fn fd_tell(&self, mem: &mut dyn GuestMemory, fd: u32, out: u32) -> R {
        let (handle, pos) = self.file_fd(fd, 0)?;
        if !handle.is_seekable() {
            return Err(Errno::Spipe);
        }
        mem.write_u64(out, pos)
    }

    /// `fd_write(fd, iovs) -> nwritten`.
    pub fn fd_write(
        &mut self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        iovs: u32,
        iovs_len: u32,
        nwritten: u32,
    ) -> Result<Outcome, Errno> {
        let append = self.entry(fd)?.flags & fdflags::APPEND != 0;
        let (handle, pos) = self.file_fd(fd, rights::FD_WRITE)?;
        let handle = handle.clone();
        let iovs = mem.read_iovecs(iovs, iovs_len)?;
        mem.check(nwritten, 4)?;
        let at = if append || !handle.is_seekable() {
            None
        } else {
            Some(pos)
        };
        match Self::write_iovs(mem, handle.as_ref(), &iovs, at)? {
            Some((n, end)) => {
                if let Some(end) = end.filter(|_| handle.is_seekable()) {
                    *self.file_pos_mut(fd)? = end;
                }
                mem.write_u32(nwritten, n)?;
                Ok(Outcome::Return(Errno::Success))
            }
            None => self.wait_for(fd, Interest::Write),
        }
    }

    // ---- processes, sockets (poll_oneoff: see `poll.rs`) ------------------------------

    /// `proc_exit(code)`: the host stops the guest. Codes from 126 up (and so any negative
    /// `i32`) are not exit statuses a guest may choose, as in wasmtime: they trap rather than
    /// look like a success or a host status (126 invalid module, 134 trap, ...).
    pub fn proc_exit(&self, code: u32) -> Outcome {
        if code >= 126 {
            return Outcome::Trap("exit with invalid exit status outside of [0..126)".into());
        }
        Outcome::Exit(code)
    }

    /// `proc_raise(sig)`: signals are not supported (`ENOTSUP`, as wasmtime-wasi).
    pub fn proc_raise(&self, _sig: u32) -> R {
        Err(Errno::NotSup)
    }

    /// `sched_yield()`.
    pub fn sched_yield(&self) -> R {
        Ok(())
    }

    fn not_socket(&self, fd: u32) -> R {
        self.entry(fd)?;
        Err(Errno::NotSock)
    }

    /// `sock_accept(fd, flags) -> fd`: no sockets are ever handed to guests.
    pub fn sock_accept(&self, fd: u32) -> R {
        self.not_socket(fd)
    }

    /// `sock_recv`: see [`Self::sock_accept`].
    pub fn sock_recv(&self, fd: u32) -> R {
        self.not_socket(fd)
    }

    /// `sock_send`: see [`Self::sock_accept`].
    pub fn sock_send(&self, fd: u32) -> R {
        self.not_socket(fd)
    }

    /// `sock_shutdown`: see [`Self::sock_accept`].
    pub fn sock_shutdown(&self, fd: u32) -> R {
        self.not_socket(fd)
    }
}
