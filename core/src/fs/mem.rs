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
use crate::service::{DirEntry, FileHandle, FileKind, FileService, Metadata, OpenOptions};
use crate::snapshot::{InodeSnapshot, MemFsSnapshot, NodeSnapshot, ServiceSnapshot};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// Inode number.
pub type Ino = u64;
/// The root directory's inode.
pub const ROOT_INO: Ino = 1;
/// Most symlinks followed while resolving one path.
pub const MAX_SYMLINK_HOPS: usize = 40;

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
    File(Vec<u8>),
    Dir(DirData),
    Symlink(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Inode {
    data: Data,
    nlink: u64,
    open: u32,
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
            Data::File(bytes) => bytes.len() as u64,
            Data::Dir(d) => d.entries.len() as u64,
            Data::Symlink(t) => t.len() as u64,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    inodes: HashMap<Ino, Inode>,
    next_ino: Ino,
    total_bytes: u64,
    limits: MemFsLimits,
    readonly: bool,
}

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

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
        let mut inodes = HashMap::new();
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

    /// Creates a directory and all missing ancestors.
    pub fn create_dir_all(&self, path: &FsPath) -> FsResult<()> {
        let mut cur = FsPath::root();
        for comp in path.components() {
            cur = cur.join_name(comp);
            match self.mkdir(&cur) {
                Ok(()) => {}
                Err(FsError::AlreadyExists) => {
                    if !self.stat(&cur)?.is_dir() {
                        return Err(FsError::NotADirectory);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Rebuilds a file system from a snapshot, checking that it is consistent.
    pub fn from_snapshot(snap: &MemFsSnapshot) -> FsResult<Self> {
        let fs = MemFs::new();
        {
            let mut inner = lock(&fs.inner);
            inner.inodes.clear();
            let mut total = 0u64;
            for node in &snap.inodes {
                let data = match &node.node {
                    NodeSnapshot::File { data } => {
                        total += data.len() as u64;
                        Data::File(data.clone())
                    }
                    NodeSnapshot::Symlink { target } => Data::Symlink(target.clone()),
                    NodeSnapshot::Dir {
                        parent,
                        next_cookie,
                        entries,
                    } => {
                        let mut map = BTreeMap::new();
                        for (name, ino, cookie) in entries {
                            validate_name(name)?;
                            map.insert(
                                name.clone(),
                                Slot {
                                    ino: *ino,
                                    cookie: *cookie,
                                },
                            );
                        }
                        Data::Dir(DirData {
                            entries: map,
                            next_cookie: *next_cookie,
                            parent: *parent,
                        })
                    }
                };
                let inode = Inode {
                    data,
                    nlink: node.nlink,
                    open: 0,
                    atime: node.atime,
                    mtime: node.mtime,
                    ctime: node.ctime,
                };
                if inner.inodes.insert(node.ino, inode).is_some() {
                    return Err(bad_snapshot(format!("inode {} appears twice", node.ino)));
                }
            }
            inner.total_bytes = total;
            inner.next_ino = snap
                .next_ino
                .max(inner.inodes.keys().max().copied().unwrap_or(0) + 1);
            match inner.inodes.get(&ROOT_INO) {
                Some(root) if matches!(root.data, Data::Dir(_)) => {}
                _ => return Err(bad_snapshot("no root directory".into())),
            }
            for (ino, inode) in &inner.inodes {
                if let Data::Dir(d) = &inode.data {
                    if !inner.inodes.contains_key(&d.parent) {
                        return Err(bad_snapshot(format!("dir {ino} has a missing parent")));
                    }
                    for (name, slot) in &d.entries {
                        if !inner.inodes.contains_key(&slot.ino) {
                            return Err(bad_snapshot(format!(
                                "entry {name:?} of dir {ino} points to missing inode {}",
                                slot.ino
                            )));
                        }
                    }
                }
            }
        }
        Ok(fs)
    }

    /// A serialisable copy of the whole inode table.
    pub fn to_snapshot(&self) -> MemFsSnapshot {
        let inner = lock(&self.inner);
        let mut inodes: Vec<InodeSnapshot> = inner
            .inodes
            .iter()
            .filter(|(_, i)| i.nlink > 0)
            .map(|(ino, i)| InodeSnapshot {
                ino: *ino,
                nlink: i.nlink,
                atime: i.atime,
                mtime: i.mtime,
                ctime: i.ctime,
                node: match &i.data {
                    Data::File(b) => NodeSnapshot::File { data: b.clone() },
                    Data::Symlink(t) => NodeSnapshot::Symlink { target: t.clone() },
                    Data::Dir(d) => NodeSnapshot::Dir {
                        parent: d.parent,
                        next_cookie: d.next_cookie,
                        entries: d
                            .entries
                            .iter()
                            .map(|(n, s)| (n.clone(), s.ino, s.cookie))
                            .collect(),
                    },
                },
            })
            .collect();
        inodes.sort_by_key(|i| i.ino);
        MemFsSnapshot {
            next_ino: inner.next_ino,
            inodes,
        }
    }
}

fn bad_snapshot(why: String) -> FsError {
    FsError::InvalidInput(format!("corrupt MemFs snapshot: {why}"))
}

impl Inner {
    fn node(&self, ino: Ino) -> FsResult<&Inode> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    fn node_mut(&mut self, ino: Ino) -> FsResult<&mut Inode> {
        self.inodes.get_mut(&ino).ok_or(FsError::NotFound)
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
        let mut pending: VecDeque<String> = path.components().map(str::to_string).collect();
        let mut cur = ROOT_INO;
        let mut hops = 0usize;
        while let Some(comp) = pending.pop_front() {
            let dir = self.dir(cur)?;
            match comp.as_str() {
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
            let child = match dir.entries.get(&comp) {
                Some(slot) => slot.ino,
                None if is_last => return Ok(Walk::Missing(cur, comp)),
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
                    for part in target.split('/').rev() {
                        pending.push_front(part.to_string());
                    }
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
        self.inodes.insert(ino, Inode::new(data));
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
    fn unlink_inode(&mut self, ino: Ino) {
        let free = match self.inodes.get_mut(&ino) {
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
                self.total_bytes -= bytes.len() as u64;
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
        let old = bytes.len() as u64;
        if new_len > old && total + (new_len - old) > limits.max_total_bytes {
            return Err(FsError::NoSpace);
        }
        bytes.resize(new_len as usize, 0);
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
            Data::File(b) => b.len() as u64,
            _ => return Err(FsError::IsADirectory),
        };
        if end > cur_len {
            self.resize(ino, end)?;
        }
        let node = self.node_mut(ino)?;
        if let Data::File(bytes) = &mut node.data {
            bytes[offset as usize..end as usize].copy_from_slice(buf);
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
        let ino = if opts.create || opts.create_new {
            let (dir, name) = inner.resolve_parent(path).map_err(|e| match e {
                FsError::Busy => FsError::IsADirectory,
                e => e,
            })?;
            match inner.lookup(dir, name)? {
                Some(_) if opts.create_new => return Err(FsError::AlreadyExists),
                Some(_) => match inner.walk(path, !opts.nofollow)? {
                    Walk::Found(ino) => ino,
                    // A dangling symlink: create its target.
                    Walk::Missing(dir, name) => {
                        validate_name(&name)?;
                        let ino = inner.alloc(Data::File(Vec::new()));
                        inner.insert_entry(dir, &name, ino)?;
                        ino
                    }
                },
                None => {
                    let ino = inner.alloc(Data::File(Vec::new()));
                    inner.insert_entry(dir, name, ino)?;
                    ino
                }
            }
        } else {
            inner.resolve(path, !opts.nofollow)?
        };
        let node = inner.node(ino)?;
        match node.data {
            Data::Symlink(_) => return Err(FsError::Loop),
            Data::Dir(_) if opts.write || opts.append || opts.truncate => {
                return Err(FsError::IsADirectory)
            }
            Data::File(_) if opts.directory => return Err(FsError::NotADirectory),
            _ => {}
        }
        if opts.truncate && matches!(node.data, Data::File(_)) {
            inner.resize(ino, 0)?;
        }
        inner.node_mut(ino)?.open += 1;
        Ok(Box::new(MemHandle {
            inner: self.inner.clone(),
            ino,
            read: opts.read,
            write: opts.write || opts.append,
        }))
    }

    fn stat(&self, path: &FsPath) -> FsResult<Metadata> {
        let inner = lock(&self.inner);
        let ino = inner.resolve(path, true)?;
        inner.metadata(ino)
    }

    fn lstat(&self, path: &FsPath) -> FsResult<Metadata> {
        let inner = lock(&self.inner);
        let ino = inner.resolve(path, false)?;
        inner.metadata(ino)
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
    ) -> FsResult<()> {
        self.set_path_times(path, true, atime, mtime)
    }

    fn set_times_nofollow(
        &self,
        path: &FsPath,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
    ) -> FsResult<()> {
        self.set_path_times(path, false, atime, mtime)
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

/// An open MemFs file: a reference to the inode, never a copy.
struct MemHandle {
    inner: Arc<Mutex<Inner>>,
    ino: Ino,
    read: bool,
    write: bool,
}

impl MemHandle {
    fn check_write(&self, inner: &Inner) -> FsResult<()> {
        if !self.write {
            return Err(FsError::BadHandle);
        }
        inner.check_writable()
    }
}

impl FileHandle for MemHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        if !self.read {
            return Err(FsError::BadHandle);
        }
        let inner = lock(&self.inner);
        match &inner.node(self.ino)?.data {
            Data::File(bytes) => {
                let len = bytes.len() as u64;
                if offset >= len {
                    return Ok(0);
                }
                let start = offset as usize;
                let n = buf.len().min(bytes.len() - start);
                buf[..n].copy_from_slice(&bytes[start..start + n]);
                Ok(n)
            }
            Data::Dir(_) => Err(FsError::IsADirectory),
            Data::Symlink(_) => Err(FsError::InvalidInput("symlink".into())),
        }
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        inner.write(self.ino, buf, offset)
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        let end = inner.node(self.ino)?.size();
        let n = inner.write(self.ino, buf, end)?;
        Ok(end + n as u64)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        lock(&self.inner).metadata(self.ino)
    }

    fn set_len(&self, len: u64) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        inner.resize(self.ino, len)
    }

    fn set_times(&self, atime: Option<Timestamp>, mtime: Option<Timestamp>) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        set_node_times(inner.node_mut(self.ino)?, atime, mtime);
        Ok(())
    }
}

impl Drop for MemHandle {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        let free = match inner.inodes.get_mut(&self.ino) {
            Some(node) => {
                node.open = node.open.saturating_sub(1);
                node.open == 0 && node.nlink == 0
            }
            None => false,
        };
        if free {
            inner.free(self.ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::read_all;

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
        assert_eq!(fs.stat(&p("/f")), Err(FsError::NotFound));
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
        assert_eq!(fs.stat(&p("/a")), Err(FsError::NotFound));
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
        assert_eq!(fs.stat(&p("/abs")), Err(FsError::NotCapable));
        fs.symlink("../dir/file", &p("/escape")).unwrap();
        assert_eq!(fs.stat(&p("/escape")), Err(FsError::NotCapable));
        assert_eq!(fs.stat(&p("/loop1")), Err(FsError::Loop));
        assert_eq!(fs.stat(&p("/dangling")), Err(FsError::NotFound));
        assert_eq!(fs.lstat(&p("/dangling")).unwrap().kind, FileKind::Symlink);
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
        assert_eq!(fs.stat(&p("/a")).unwrap().nlink, 2);
        fs.write_file("/b", b"two").unwrap();
        assert_eq!(read(&fs, "/a"), b"two");
        fs.remove_file(&p("/a")).unwrap();
        assert_eq!(read(&fs, "/b"), b"two");
        assert_eq!(fs.stat(&p("/b")).unwrap().nlink, 1);
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
}
