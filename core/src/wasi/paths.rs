//! The preview1 `path_*` calls: names resolved against a directory fd
//! ([`WasiCtx::resolve_at`]), then one namespace operation each.

use super::ctx::{requires_dir, FdEntry, FdKind, WasiCtx};
use super::memory::{GuestMemory, MemExt};
use super::preview1::{read_path, times, write_filestat};
use super::types::*;
use crate::error::FsError;
use crate::path::FsPath;
use crate::service::{FileHandle, FileService, Follow, Metadata, OpenOptions};
use std::sync::Arc;

type R = Result<(), Errno>;

impl WasiCtx {
    // ---- paths ---------------------------------------------------------------------

    /// A path argument as the guest wrote it, as it resolves against `dirfd`, and whether
    /// it is in directory form.
    fn named_path(
        &self,
        mem: &dyn GuestMemory,
        dirfd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(String, FsPath, bool), Errno> {
        let raw = read_path(mem, ptr, len)?;
        let (p, dir_form) = self.resolve_at(dirfd, &raw)?;
        Ok((raw, p, dir_form))
    }

    /// A path argument resolved against `dirfd`, and whether it is in directory form.
    fn path(
        &self,
        mem: &dyn GuestMemory,
        dirfd: u32,
        ptr: u32,
        len: u32,
    ) -> Result<(FsPath, bool), Errno> {
        self.named_path(mem, dirfd, ptr, len)
            .map(|(_, p, d)| (p, d))
    }

    /// `path_create_directory(fd, path)`.
    pub fn path_create_directory(&self, mem: &dyn GuestMemory, fd: u32, ptr: u32, len: u32) -> R {
        let (raw, p, _) = self.named_path(mem, fd, ptr, len)?;
        // "f/." or "d/..": the directory itself, which must exist (ENOENT/ENOTDIR) and then
        // does (EEXIST), as mkdir(2) and wasmtime.
        if matches!(raw.rsplit('/').next(), Some("." | "..")) {
            return Err(self.dir_form_answer(&p, Errno::Exist));
        }
        self.ns.mkdir(&p).map_err(Errno::from)
    }

    fn stat_path(&self, p: &FsPath, follow: bool, trailing: bool) -> Result<Metadata, Errno> {
        let m = self.ns.stat(p, Follow::from_bool(follow || trailing))?;
        if trailing && !m.is_dir() {
            return Err(Errno::NotDir);
        }
        Ok(m)
    }

    /// `path_filestat_get(fd, flags, path) -> filestat`.
    pub fn path_filestat_get(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        flags: u32,
        ptr: u32,
        len: u32,
        out: u32,
    ) -> R {
        let (raw, p, _) = self.named_path(mem, fd, ptr, len)?;
        let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
        // As wasmtime: "f/" and "f/." must be directories only when following links.
        let must_be_dir = follow && requires_dir(&raw);
        let m = self.stat_path(&p, follow, must_be_dir)?;
        write_filestat(mem, out, &m)
    }

    /// `path_filestat_set_times(fd, flags, path, atim, mtim, fst_flags)`.
    #[allow(clippy::too_many_arguments)]
    pub fn path_filestat_set_times(
        &self,
        mem: &dyn GuestMemory,
        fd: u32,
        flags: u32,
        ptr: u32,
        len: u32,
        atim: u64,
        mtim: u64,
        fst: u16,
    ) -> R {
        let (a, m) = times(atim, mtim, fst)?;
        let (p, trailing) = self.path(mem, fd, ptr, len)?;
        let follow = flags & lookupflags::SYMLINK_FOLLOW != 0;
        self.stat_path(&p, follow, trailing)?;
        self.ns
            .set_times(&p, a, m, Follow::from_bool(follow))
            .map_err(Errno::from)
    }

    /// `path_link(old_fd, old_flags, old_path, new_fd, new_path)`.
    #[allow(clippy::too_many_arguments)]
    pub fn path_link(
        &self,
        mem: &dyn GuestMemory,
        old_fd: u32,
        old_flags: u32,
        old_ptr: u32,
        old_len: u32,
        new_fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> R {
        // Both fds must be directories; then following a symlink source is not supported
        // (EINVAL, as wasmtime, before the paths are looked at).
        self.resolve_at(old_fd, ".")?;
        self.resolve_at(new_fd, ".")?;
        let old_raw = read_path(mem, old_ptr, old_len)?;
        let new_raw = read_path(mem, new_ptr, new_len)?;
        if old_flags & lookupflags::SYMLINK_FOLLOW != 0 {
            return Err(Errno::Inval);
        }
        // As wasmtime: each name's directory is opened in turn (ENOENT/ENOTDIR/escape)
        // before linking, and a target in directory form ("f/.") names that directory.
        let (old, old_trailing) = self.resolve_at(old_fd, &old_raw)?;
        self.open_parent(&old, old_trailing)?;
        let (new, new_trailing) = self.resolve_at(new_fd, &new_raw)?;
        self.open_parent(&new, new_trailing)?;
        let src = self.stat_path(&old, false, false)?;
        if new_trailing {
            return Err(Errno::Exist);
        }
        // As linkat(2): an existing target is EEXIST before a directory source is EPERM.
        if self.ns.stat(&new, Follow::No).is_ok() {
            return Err(Errno::Exist);
        }
        if src.is_dir() {
            return Err(Errno::Perm);
        }
        if old_trailing {
            return Err(Errno::NotDir);
        }
        self.ns.link(&old, &new).map_err(Errno::from)
    }

    /// Opens the directory a name lives in, as wasmtime does before operating on the name:
    /// its parent, or for a name in directory form ("x/", "x/.") the name itself.
    fn open_parent(&self, p: &FsPath, dir_form: bool) -> R {
        let dir = if dir_form {
            p.clone()
        } else {
            p.parent().unwrap_or_else(FsPath::root)
        };
        match self.ns.stat(&dir, Follow::Yes) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(Errno::NotDir),
            Err(e) => Err(e.into()),
        }
    }

    /// The answer to an operation on a name in directory form ("x/", "x/.", "x/..": the
    /// directory's own entry, as wasmtime and POSIX treat it): `x` must be found (its
    /// lookup error), be a directory (`ENOTDIR`), and then the call's answer for a
    /// directory, `if_dir` (e.g. `EEXIST` to create a link there, `EISDIR` to unlink it).
    fn dir_form_answer(&self, p: &FsPath, if_dir: Errno) -> Errno {
        match self.ns.stat(p, Follow::Yes) {
            Ok(m) if m.is_dir() => if_dir,
            Ok(_) => Errno::NotDir,
            Err(e) => e.into(),
        }
    }

    /// `path_open(fd, dirflags, path, oflags, rights_base, rights_inheriting, fdflags) -> fd`.
    #[allow(clippy::too_many_arguments)]
    pub fn path_open(
        &mut self,
        mem: &mut dyn GuestMemory,
        dirfd: u32,
        dirflags: u32,
        ptr: u32,
        len: u32,
        oflags: u16,
        rights_base: u64,
        _rights_inheriting: u64,
        fdflags: u16,
        out: u32,
    ) -> R {
        let raw = read_path(mem, ptr, len)?;
        if let FdKind::File { .. } = self.entry(dirfd)?.kind {
            return Err(Errno::NotDir);
        }
        let creat = oflags & oflags::CREAT != 0;
        let trunc = oflags & oflags::TRUNC != 0;
        // As wasmtime: the sync flags are not supported, and a directory cannot be
        // created, exclusively opened or truncated by `path_open`.
        if fdflags & (fdflags::DSYNC | fdflags::RSYNC | fdflags::SYNC) != 0 {
            return Err(Errno::NotSup);
        }
        if oflags & oflags::DIRECTORY != 0
            && oflags & (oflags::CREAT | oflags::EXCL | oflags::TRUNC) != 0
        {
            return Err(Errno::Inval);
        }
        let (p, dir_form) = self.resolve_at(dirfd, &raw)?;
        // O_CREAT of a name with a trailing slash is EISDIR, as open(2).
        if creat && raw.ends_with('/') {
            return Err(Errno::IsDir);
        }
        // The rights say how the file is open (as wasmtime: without FD_WRITE it is open
        // for reading even if FD_READ was not asked for); the service's `open` applies
        // every rule about what is at the path, in one step.
        let write = rights_base & rights::FD_WRITE != 0 || trunc;
        let read = rights_base & (rights::FD_READ | rights::FD_READDIR) != 0
            || rights_base & rights::FD_WRITE == 0;
        let opts = OpenOptions {
            read,
            write,
            append: false,
            create: creat,
            create_new: creat && oflags & oflags::EXCL != 0,
            truncate: trunc,
            directory: oflags & oflags::DIRECTORY != 0 || dir_form,
            nofollow: dirflags & lookupflags::SYMLINK_FOLLOW == 0,
        };
        let handle: Arc<dyn FileHandle> = Arc::from(self.ns.open(&p, &opts)?);
        let meta = handle.metadata()?;
        // Like a cap-std `Dir`, every directory fd is its own sandbox: `..` never leads
        // above the directory it was opened on.
        let entry = if meta.is_dir() {
            FdEntry::opened_dir(p, meta.ino)
        } else {
            FdEntry::file(handle, read, write, fdflags)
        };
        let fd = self.insert(entry)?;
        mem.write_u32(out, fd)
    }

    /// `path_readlink(fd, path, buf, buf_len) -> bufused` (truncates to fit, like POSIX).
    #[allow(clippy::too_many_arguments)]
    pub fn path_readlink(
        &self,
        mem: &mut dyn GuestMemory,
        fd: u32,
        ptr: u32,
        len: u32,
        buf: u32,
        buf_len: u32,
        bufused: u32,
    ) -> R {
        let (raw, p, _) = self.named_path(mem, fd, ptr, len)?;
        // A directory (even a mount point) is no symlink; "f/." names a directory.
        if requires_dir(&raw) {
            return Err(self.dir_form_answer(&p, Errno::Inval));
        }
        if self.ns.stat(&p, Follow::No).is_ok_and(|m| m.is_dir()) {
            return Err(Errno::Inval);
        }
        let target = self.ns.readlink(&p).map_err(|e| match e {
            FsError::InvalidInput(_) => Errno::Inval,
            e => e.into(),
        })?;
        let n = target.len().min(buf_len as usize);
        mem.write(buf, &target.as_bytes()[..n])?;
        mem.write_u32(bufused, n as u32)
    }

    /// `path_remove_directory(fd, path)`. A path ending in `/`, `.` or `..` is `EINVAL`.
    pub fn path_remove_directory(&self, mem: &dyn GuestMemory, fd: u32, ptr: u32, len: u32) -> R {
        let (raw, p, _) = self.named_path(mem, fd, ptr, len)?;
        if requires_dir(&raw) {
            return Err(self.dir_form_answer(&p, Errno::Inval));
        }
        if p.is_root() || self.is_preopen_path(&p) {
            return Err(Errno::Busy);
        }
        self.ns.remove_dir(&p).map_err(Errno::from)
    }

    fn is_preopen_path(&self, p: &FsPath) -> bool {
        self.fds
            .iter()
            .flatten()
            .any(|e| matches!(&e.kind, FdKind::Dir { path, preopen: Some(_), .. } if path == p))
    }

    /// `path_rename(fd, old_path, new_fd, new_path)`.
    #[allow(clippy::too_many_arguments)]
    pub fn path_rename(
        &self,
        mem: &dyn GuestMemory,
        fd: u32,
        old_ptr: u32,
        old_len: u32,
        new_fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> R {
        let old_raw = read_path(mem, old_ptr, old_len)?;
        let new_raw = read_path(mem, new_ptr, new_len)?;
        // A last component `.` or `..` is a directory's own entry, which cannot be renamed
        // or replaced (EBUSY, as rename(2) and wasmtime), once the directory is found. As
        // wasmtime, the old name's directory is opened before the new name is looked at.
        let dots = |raw: &str| matches!(raw.rsplit('/').next(), Some("." | ".."));
        let (old, old_dir_form) = self.resolve_at(fd, &old_raw)?;
        self.open_parent(&old, dots(&old_raw))?;
        let (new, new_dir_form) = self.resolve_at(new_fd, &new_raw)?;
        self.open_parent(&new, dots(&new_raw))?;
        if dots(&old_raw) || dots(&new_raw) {
            for (p, raw) in [(&old, &old_raw), (&new, &new_raw)] {
                if dots(raw) && !self.ns.stat(p, Follow::Yes)?.is_dir() {
                    return Err(Errno::NotDir);
                }
            }
            return Err(Errno::Busy);
        }
        let src = self.ns.stat(&old, Follow::No)?;
        if (old_dir_form || new_dir_form) && !src.is_dir() {
            return Err(Errno::NotDir);
        }
        self.ns.rename(&old, &new).map_err(Errno::from)
    }

    /// `path_symlink(old_path, fd, new_path)`.
    pub fn path_symlink(
        &self,
        mem: &dyn GuestMemory,
        old_ptr: u32,
        old_len: u32,
        fd: u32,
        new_ptr: u32,
        new_len: u32,
    ) -> R {
        self.resolve_at(fd, ".")?; // a bad fd is EBADF before anything else
        let target = read_path(mem, old_ptr, old_len)?;
        if target.is_empty() {
            return Err(Errno::NoEnt);
        }
        if target.starts_with('/') {
            return Err(Errno::Perm);
        }
        let (link, trailing) = self.path(mem, fd, new_ptr, new_len)?;
        if trailing {
            return Err(self.dir_form_answer(&link, Errno::Exist));
        }
        self.ns.symlink(&target, &link).map_err(Errno::from)
    }

    /// `path_unlink_file(fd, path)`. A path ending in `/`, `.` or `..` names a directory.
    pub fn path_unlink_file(&self, mem: &dyn GuestMemory, fd: u32, ptr: u32, len: u32) -> R {
        let (raw, p, _) = self.named_path(mem, fd, ptr, len)?;
        if requires_dir(&raw) {
            return Err(self.dir_form_answer(&p, Errno::IsDir));
        }
        self.ns.remove_file(&p).map_err(Errno::from)
    }
}
