//! `MemFs`: an in-memory file system with an inode table.
//!
//! - Lookups walk the path one component at a time through per-directory `BTreeMap`s, so
//!   every operation costs O(path depth · log entries), never O(tree).
//! - Handles refer to inodes, not copies: every open handle sees every write at once, and
//!   nothing is written back on drop. An unlinked file lives on while a handle is open.
//! - Rename checks everything before changing anything, under one lock: a failed rename
//!   loses nothing.
//! - Symlinks (relative, or absolute from the service root) and hard links; more than
//!   [`MAX_SYMLINK_HOPS`] hops is `Loop`.
//! - Access times are not updated on read (like `noatime`).

use crate::clock::{self, Timestamp};
use crate::error::{FsError, FsResult};
use crate::path::{validate_name, FsPath};
use crate::service::{
    lock, open_existing, open_missing, DirEntry, FileHandle, FileKind, FileService, Follow,
    Metadata, OpenOptions,
};
use crate::snapshot::ServiceSnapshot;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Inode number.
pub type Ino = u64;
/// The root directory's inode.
pub const ROOT_INO: Ino = 1;
/// Most symlinks followed while resolving one path.
pub const MAX_SYMLINK_HOPS: usize = 40;

mod data;
mod handle;
mod snapshot;

use data::FileData;
use handle::MemHandle;

/// Size limits of a [`MemFs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemFsLimits {
    /// Largest single file; writes past it fail with `FileTooLarge` (`EFBIG`).
    pub max_file_size: u64,
    /// Total bytes of file content; writes past it fail with `NoSpace` (`ENOSPC`).
    pub max_total_bytes: u64,
}

impl Default for MemFsLimits {
    fn default() -> Self {
        MemFsLimits {
            max_file_size: if cfg!(target_arch = "wasm32") {
                256 << 20
            } else {
                4 << 30
            },
            max_total_bytes: u64::MAX,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DirData {
    entries: BTreeMap<String, Slot>,
    next_cookie: u64,
    parent: Ino,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    ino: Ino,
    cookie: u64,
}

#[derive(Debug, Clone)]
pub(crate) enum Data {
    File(FileData),
    Dir(DirData),
    Symlink(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Inode {
    data: Data,
    nlink: u64,
    open: u32,
    /// Bumped on every change to the inode (not on opens): what incremental persistence
    /// compares ([`MemFs::versions`]).
    version: u64,
    atime: Timestamp,
    mtime: Timestamp,
    ctime: Timestamp,
}

impl Inode {
    fn new(data: Data) -> Self {
        let now = clock::now();
        Inode {
            data,
            nlink: 1,
            open: 0,
            version: 0,
            atime: now,
            mtime: now,
            ctime: now,
        }
    }

    fn kind(&self) -> FileKind {
        match self.data {
            Data::File(_) => FileKind::File,
            Data::Dir(_) => FileKind::Dir,
            Data::Symlink(_) => FileKind::Symlink,
        }
    }

    fn size(&self) -> u64 {
        match &self.data {
            Data::File(bytes) => bytes.len(),
            Data::Dir(d) => d.entries.len() as u64,
            Data::Symlink(t) => t.len() as u64,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    inodes: FxHashMap<Ino, Inode>,
    next_ino: Ino,
    total_bytes: u64,
    limits: MemFsLimits,
    readonly: bool,
    /// The last version handed out (see [`Inode`]'s `version`).
    clock: u64,
    /// Identifies this tree (shared by clones) among every MemFs of the process.
    tree_id: u64,
}

/// Source of [`Inner::tree_id`]s.
static NEXT_TREE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Where a path leads: an existing inode, or a missing last name in an existing directory.
enum Walk {
    Found(Ino),
    Missing(Ino, String),
}

/// An in-memory file system. Cloning shares the same tree.
#[derive(Clone, Debug)]
pub struct MemFs {
    inner: Arc<Mutex<Inner>>,
}

impl Default for MemFs {
    fn default() -> Self {
        Self::new()
    }
}

impl MemFs {
    /// Sets the times of `path` (or of the symlink itself when `follow` is false).
    fn set_path_times(
        &self,
        path: &FsPath,
        follow: bool,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
    ) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let ino = inner.resolve(path, follow)?;
        set_node_times(inner.node_mut(ino)?, atime, mtime);
        Ok(())
    }

    /// An empty file system with default limits.
    pub fn new() -> Self {
        Self::with_limits(MemFsLimits::default())
    }

    /// An empty file system with the given limits.
    pub fn with_limits(limits: MemFsLimits) -> Self {
        let mut inodes = FxHashMap::default();
        inodes.insert(
            ROOT_INO,
            Inode::new(Data::Dir(DirData {
                entries: BTreeMap::new(),
                next_cookie: 1,
                parent: ROOT_INO,
            })),
        );
        MemFs {
            inner: Arc::new(Mutex::new(Inner {
                inodes,
                next_ino: ROOT_INO + 1,
                total_bytes: 0,
                limits,
                readonly: false,
                clock: 0,
                tree_id: NEXT_TREE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            })),
        }
    }

    /// Makes every later mutation fail with `ReadOnly` (used by `MapFs`).
    pub(crate) fn freeze(&self) {
        lock(&self.inner).readonly = true;
    }

    /// Total bytes of file content held.
    pub fn total_bytes(&self) -> u64 {
        lock(&self.inner).total_bytes
    }

    /// Number of live inodes (including the root).
    pub fn inode_count(&self) -> usize {
        lock(&self.inner).inodes.len()
    }

    /// Writes a whole file, creating parent directories as needed (a convenience for setup).
    pub fn write_file(&self, path: &str, data: &[u8]) -> FsResult<()> {
        let path = FsPath::parse(path)?;
        if let Some(parent) = path.parent() {
            self.create_dir_all(&parent)?;
        }
        let h = self.open(&path, &OpenOptions::create_truncate())?;
        crate::service::write_all_at(h.as_ref(), data, 0)
    }

    /// Copies the files and directories of `src` (its whole tree; symlinks are skipped)
    /// into this one, over what is there.
    pub fn copy_from(&self, src: &dyn FileService) -> FsResult<()> {
        self.copy_dir(src, &FsPath::root())
    }

    fn copy_dir(&self, src: &dyn FileService, dir: &FsPath) -> FsResult<()> {
        for e in src.readdir(dir)? {
            let p = dir.join_name(&e.name);
            match e.kind {
                FileKind::Dir => {
                    self.create_dir_all(&p)?;
                    self.copy_dir(src, &p)?;
                }
                FileKind::Symlink => {}
                _ => {
                    let h = src.open(&p, &OpenOptions::read())?;
                    self.write_file(p.as_str(), &crate::service::read_all(h.as_ref())?)?;
                }
            }
        }
        Ok(())
    }

    /// Creates a directory and all missing ancestors.
    pub fn create_dir_all(&self, path: &FsPath) -> FsResult<()> {
        let mut cur = FsPath::root();
        for comp in path.components() {
            cur = cur.join_name(comp);
            match self.mkdir(&cur) {
                Ok(()) => {}
                Err(FsError::AlreadyExists) => {
                    if !self.stat(&cur, Follow::Yes)?.is_dir() {
                        return Err(FsError::NotADirectory);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Inner {
    fn node(&self, ino: Ino) -> FsResult<&Inode> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    /// The inode, to change it: its version is bumped.
    fn node_mut(&mut self, ino: Ino) -> FsResult<&mut Inode> {
        self.clock += 1;
        let node = self.inodes.get_mut(&ino).ok_or(FsError::NotFound)?;
        node.version = self.clock;
        Ok(node)
    }

    fn dir(&self, ino: Ino) -> FsResult<&DirData> {
        match &self.node(ino)?.data {
            Data::Dir(d) => Ok(d),
            _ => Err(FsError::NotADirectory),
        }
    }

    fn dir_mut(&mut self, ino: Ino) -> FsResult<&mut DirData> {
        match &mut self.node_mut(ino)?.data {
            Data::Dir(d) => Ok(d),
            _ => Err(FsError::NotADirectory),
        }
    }

    fn check_writable(&self) -> FsResult<()> {
        if self.readonly {
            Err(FsError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Resolves `path` to an inode, following symlinks on the way (and at the end if
    /// `follow_last`).
    fn resolve(&self, path: &FsPath, follow_last: bool) -> FsResult<Ino> {
        match self.walk(path, follow_last)? {
            Walk::Found(ino) => Ok(ino),
            Walk::Missing(..) => Err(FsError::NotFound),
        }
    }

    /// Like [`Self::resolve`], but a missing last component (after following symlinks) is
    /// reported with the directory that would hold it: opening with `create` through a
    /// dangling symlink creates its target, as POSIX `open(O_CREAT)` does.
    fn walk(&self, path: &FsPath, follow_last: bool) -> FsResult<Walk> {
        // The names still to walk, last first (borrowed from the path and from symlink
        // targets: nothing is allocated per name).
        let mut pending: Vec<&str> = path.components().collect();
        pending.reverse();
        let mut cur = ROOT_INO;
        let mut hops = 0usize;
        while let Some(comp) = pending.pop() {
            let dir = self.dir(cur)?;
            match comp {
                "" | "." => continue,
                ".." => {
                    // Paths arrive normalised, so a `..` here came from a symlink target:
                    // above the root it would leave the service (WASI: not capable).
                    if cur == ROOT_INO {
                        return Err(FsError::NotCapable);
                    }
                    cur = dir.parent;
                    continue;
                }
                _ => {}
            }
            let is_last = pending.is_empty();
            let child = match dir.entries.get(comp) {
                Some(slot) => slot.ino,
                None if is_last => return Ok(Walk::Missing(cur, comp.to_string())),
                None => return Err(FsError::NotFound),
            };
            if let Data::Symlink(target) = &self.node(child)?.data {
                if !is_last || follow_last {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(FsError::Loop);
                    }
                    if target.starts_with('/') {
                        // Absolute targets name the host's (or namespace's) root, which a
                        // service cannot reach: refused like wasmtime/cap-std do.
                        return Err(FsError::NotCapable);
                    }
                    pending.extend(target.split('/').rev());
                    continue;
                }
            }
            if !is_last && !matches!(self.node(child)?.data, Data::Dir(_)) {
                return Err(FsError::NotADirectory);
            }
            cur = child;
        }
        Ok(Walk::Found(cur))
    }

    /// Resolves the parent directory of `path` and returns it with the last name.
    fn resolve_parent<'p>(&self, path: &'p FsPath) -> FsResult<(Ino, &'p str)> {
        let (parent, name) = path.split_last().ok_or(FsError::Busy)?;
        let dir = self.resolve(&parent, true)?;
        self.dir(dir)?;
        Ok((dir, name))
    }

    fn lookup(&self, dir: Ino, name: &str) -> FsResult<Option<Ino>> {
        Ok(self.dir(dir)?.entries.get(name).map(|s| s.ino))
    }

    fn alloc(&mut self, data: Data) -> Ino {
        let ino = self.next_ino;
        self.next_ino += 1;
        self.clock += 1;
        let mut node = Inode::new(data);
        node.version = self.clock;
        self.inodes.insert(ino, node);
        ino
    }

    fn insert_entry(&mut self, dir: Ino, name: &str, ino: Ino) -> FsResult<()> {
        let now = clock::now();
        let d = self.dir_mut(dir)?;
        let cookie = d.next_cookie;
        d.next_cookie += 1;
        d.entries.insert(name.to_string(), Slot { ino, cookie });
        let node = self.node_mut(dir)?;
        node.mtime = now;
        node.ctime = now;
        Ok(())
    }

    fn remove_entry(&mut self, dir: Ino, name: &str) -> FsResult<Ino> {
        let now = clock::now();
        let slot = self
            .dir_mut(dir)?
            .entries
            .remove(name)
            .ok_or(FsError::NotFound)?;
        let node = self.node_mut(dir)?;
        node.mtime = now;
        node.ctime = now;
        Ok(slot.ino)
    }

    /// Drops one link to `ino`, freeing it when no links and no open handles remain.
    /// One name of `ino` is gone: its link count drops (a change of the inode, so its
    /// version is bumped and a save writes the new count); freed when nothing holds it.
    fn unlink_inode(&mut self, ino: Ino) {
        let free = match self.node_mut(ino).ok() {
            Some(node) => {
                node.nlink = node.nlink.saturating_sub(1);
                node.ctime = clock::now();
                node.nlink == 0 && node.open == 0
            }
            None => false,
        };
        if free {
            self.free(ino);
        }
    }

    fn free(&mut self, ino: Ino) {
        if let Some(node) = self.inodes.remove(&ino) {
            if let Data::File(bytes) = node.data {
                self.total_bytes -= bytes.len();
            }
        }
    }

    fn metadata(&self, ino: Ino) -> FsResult<Metadata> {
        let node = self.node(ino)?;
        Ok(Metadata {
            kind: node.kind(),
            size: node.size(),
            ino,
            nlink: node.nlink,
            atime: node.atime,
            mtime: node.mtime,
            ctime: node.ctime,
            readonly: self.readonly,
        })
    }

    /// The path of directory `ino`, walking parent links up to the root.
    fn dir_path(&self, mut ino: Ino) -> Option<FsPath> {
        let mut names = Vec::new();
        while ino != ROOT_INO {
            let parent = self.dir(ino).ok()?.parent;
            let (name, _) = self
                .dir(parent)
                .ok()?
                .entries
                .iter()
                .find(|(_, slot)| slot.ino == ino)?;
            names.push(name.clone());
            ino = parent;
        }
        names.reverse();
        FsPath::parse(&names.join("/")).ok()
    }

    /// Whether `ancestor` is `ino` or one of its ancestors (walking parent links).
    fn is_ancestor(&self, ancestor: Ino, mut ino: Ino) -> FsResult<bool> {
        loop {
            if ino == ancestor {
                return Ok(true);
            }
            if ino == ROOT_INO {
                return Ok(false);
            }
            ino = self.dir(ino)?.parent;
        }
    }

    fn resize(&mut self, ino: Ino, new_len: u64) -> FsResult<()> {
        let limits = self.limits;
        if new_len > limits.max_file_size {
            return Err(FsError::FileTooLarge);
        }
        let total = self.total_bytes;
        let node = self.node_mut(ino)?;
        let Data::File(bytes) = &mut node.data else {
            return Err(FsError::IsADirectory);
        };
        let old = bytes.len();
        if new_len > old && total + (new_len - old) > limits.max_total_bytes {
            return Err(FsError::NoSpace);
        }
        bytes.resize(new_len);
        let now = clock::now();
        node.mtime = now;
        node.ctime = now;
        self.total_bytes = total + new_len - old;
        Ok(())
    }

    fn write(&mut self, ino: Ino, buf: &[u8], offset: u64) -> FsResult<usize> {
        let end = offset
            .checked_add(buf.len() as u64)
            .ok_or(FsError::FileTooLarge)?;
        let cur_len = match &self.node(ino)?.data {
            Data::File(b) => b.len(),
            _ => return Err(FsError::IsADirectory),
        };
        if end > cur_len {
            self.resize(ino, end)?;
        }
        let node = self.node_mut(ino)?;
        if let Data::File(bytes) = &mut node.data {
            bytes.write(buf, offset);
        }
        let now = clock::now();
        node.mtime = now;
        node.ctime = now;
        Ok(buf.len())
    }
}

impl FileService for MemFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let mut inner = lock(&self.inner);
        if opts.mutates() {
            inner.check_writable()?;
        }
        // One walk under one lock decides everything (no look-then-open race). An
        // exclusive create never follows a final symlink: the link itself exists.
        let follow = !opts.nofollow && !opts.create_new;
        let ino = match inner.walk(path, follow)? {
            Walk::Found(ino) => {
                open_existing(&inner.metadata(ino)?, opts)?;
                ino
            }
            // Missing, or a dangling symlink followed: create (its target), as POSIX does.
            Walk::Missing(dir, name) => {
                open_missing(opts)?;
                validate_name(&name)?;
                let ino = inner.alloc(Data::File(FileData::default()));
                inner.insert_entry(dir, &name, ino)?;
                ino
            }
        };
        let node = inner.node(ino)?;
        if opts.truncate && matches!(node.data, Data::File(_)) {
            inner.resize(ino, 0)?;
        }
        // Counting opens is no change to persist: no version bump.
        if let Some(node) = inner.inodes.get_mut(&ino) {
            node.open += 1;
        }
        Ok(Box::new(MemHandle {
            inner: self.inner.clone(),
            ino,
            read: opts.read,
            write: opts.write || opts.append,
        }))
    }

    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        let inner = lock(&self.inner);
        let ino = inner.resolve(path, follow == Follow::Yes)?;
        inner.metadata(ino)
    }

    fn dir_path(&self, ino: u64) -> Option<FsPath> {
        lock(&self.inner).dir_path(ino)
    }

    fn mem_tree(&self) -> Option<MemFs> {
        Some(self.clone())
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let inner = lock(&self.inner);
        let ino = inner.resolve(path, true)?;
        let dir = inner.dir(ino)?;
        let mut out = Vec::with_capacity(dir.entries.len());
        for (name, slot) in &dir.entries {
            out.push(DirEntry {
                name: name.clone(),
                kind: inner.node(slot.ino)?.kind(),
                ino: slot.ino,
                cookie: slot.cookie,
            });
        }
        out.sort_by_key(|e| e.cookie);
        Ok(out)
    }

    fn mkdir(&self, path: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let (dir, name) = inner.resolve_parent(path).map_err(|e| match e {
            FsError::Busy => FsError::AlreadyExists,
            e => e,
        })?;
        if inner.lookup(dir, name)?.is_some() {
            return Err(FsError::AlreadyExists);
        }
        let ino = inner.alloc(Data::Dir(DirData {
            entries: BTreeMap::new(),
            next_cookie: 1,
            parent: dir,
        }));
        inner.insert_entry(dir, name, ino)
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let (dir, name) = inner.resolve_parent(path).map_err(|e| match e {
            FsError::Busy => FsError::IsADirectory,
            e => e,
        })?;
        let ino = inner.lookup(dir, name)?.ok_or(FsError::NotFound)?;
        if matches!(inner.node(ino)?.data, Data::Dir(_)) {
            return Err(FsError::IsADirectory);
        }
        inner.remove_entry(dir, name)?;
        inner.unlink_inode(ino);
        Ok(())
    }

    fn remove_dir(&self, path: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let (dir, name) = inner.resolve_parent(path)?;
        let ino = inner.lookup(dir, name)?.ok_or(FsError::NotFound)?;
        match &inner.node(ino)?.data {
            Data::Dir(d) if !d.entries.is_empty() => return Err(FsError::DirectoryNotEmpty),
            Data::Dir(_) => {}
            _ => return Err(FsError::NotADirectory),
        }
        inner.remove_entry(dir, name)?;
        inner.unlink_inode(ino);
        Ok(())
    }

    fn rename(&self, from: &FsPath, to: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let (from_dir, from_name) = inner.resolve_parent(from)?;
        let (to_dir, to_name) = inner.resolve_parent(to)?;
        let src = inner
            .lookup(from_dir, from_name)?
            .ok_or(FsError::NotFound)?;
        let src_is_dir = matches!(inner.node(src)?.data, Data::Dir(_));
        let dst = inner.lookup(to_dir, to_name)?;
        if src_is_dir && inner.is_ancestor(src, to_dir)? {
            // Moving a directory into itself or below.
            return Err(FsError::InvalidInput(
                "cannot move a directory inside itself".into(),
            ));
        }
        if let Some(dst) = dst {
            if dst == src {
                return Ok(());
            }
            if inner.is_ancestor(dst, from_dir)? {
                // Replacing a directory above the source: it holds the source, so it is
                // not empty (Linux checks this before the kinds).
                return Err(FsError::DirectoryNotEmpty);
            }
            match (&inner.node(dst)?.data, src_is_dir) {
                (Data::Dir(d), true) if !d.entries.is_empty() => {
                    return Err(FsError::DirectoryNotEmpty)
                }
                (Data::Dir(_), true) => {}
                (_, true) => return Err(FsError::NotADirectory),
                (Data::Dir(_), false) => return Err(FsError::IsADirectory),
                (_, false) => {}
            }
        }
        // All checks passed: now mutate.
        if let Some(dst) = dst {
            inner.remove_entry(to_dir, to_name)?;
            inner.unlink_inode(dst);
        }
        inner.remove_entry(from_dir, from_name)?;
        inner.insert_entry(to_dir, to_name, src)?;
        if src_is_dir {
            inner.dir_mut(src)?.parent = to_dir;
        }
        inner.node_mut(src)?.ctime = clock::now();
        Ok(())
    }

    fn set_times(
        &self,
        path: &FsPath,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
        follow: Follow,
    ) -> FsResult<()> {
        self.set_path_times(path, follow == Follow::Yes, atime, mtime)
    }

    fn symlink(&self, target: &str, link: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        if target.contains('\0') {
            return Err(FsError::InvalidPath("symlink target contains NUL".into()));
        }
        let (dir, name) = inner.resolve_parent(link).map_err(|e| match e {
            FsError::Busy => FsError::AlreadyExists,
            e => e,
        })?;
        if inner.lookup(dir, name)?.is_some() {
            return Err(FsError::AlreadyExists);
        }
        let ino = inner.alloc(Data::Symlink(target.to_string()));
        inner.insert_entry(dir, name, ino)
    }

    fn readlink(&self, path: &FsPath) -> FsResult<String> {
        let inner = lock(&self.inner);
        let ino = inner.resolve(path, false)?;
        match &inner.node(ino)?.data {
            Data::Symlink(t) => Ok(t.clone()),
            _ => Err(FsError::InvalidInput("not a symbolic link".into())),
        }
    }

    fn link(&self, existing: &FsPath, new: &FsPath) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        let src = inner.resolve(existing, false)?;
        // The order of checks is Linux's (`linkat`): the new name first, then the kind.
        let (dir, name) = inner.resolve_parent(new).map_err(|e| match e {
            FsError::Busy => FsError::AlreadyExists,
            e => e,
        })?;
        if inner.lookup(dir, name)?.is_some() {
            return Err(FsError::AlreadyExists);
        }
        if matches!(inner.node(src)?.data, Data::Dir(_)) {
            return Err(FsError::NotPermitted);
        }
        inner.insert_entry(dir, name, src)?;
        let node = inner.node_mut(src)?;
        node.nlink += 1;
        node.ctime = clock::now();
        Ok(())
    }

    fn snapshot(&self) -> Option<ServiceSnapshot> {
        Some(ServiceSnapshot::Mem(self.to_snapshot()))
    }

    fn kind(&self) -> &'static str {
        "memfs"
    }
}

fn set_node_times(node: &mut Inode, atime: Option<Timestamp>, mtime: Option<Timestamp>) {
    if let Some(a) = atime {
        node.atime = a;
    }
    if let Some(m) = mtime {
        node.mtime = m;
    }
    node.ctime = clock::now();
}

#[cfg(test)]
mod tests;
