//! `Namespace`: an agent's world, a table of mounted file services (Plan 9 style).
//!
//! - Raw paths are normalised here, once ([`FsPath::parse`]), before any service sees them.
//! - A path resolves to the mount with the longest prefix **at a component boundary**
//!   (`/taskx` never resolves to `/task`). Lookup walks the path's prefixes through a hash
//!   map, so its cost grows with path depth, not with the number of mounts.
//! - Parents of mount points exist as synthetic read-only directories: with `/task` and
//!   `/cap/http` mounted, `readdir("/")` lists `cap` and `task`.
//! - A mount point is a *union* of layers. [`Namespace::bind`] adds a directory of the
//!   namespace at another path [`BindMode::Before`], [`BindMode::After`] or
//!   [`BindMode::Replace`] (Plan 9 `bind -b`/`-a`/plain, WANIX `bind`). Lookups take the
//!   first layer that has the name; creation goes to the first layer whose directory exists
//!   and is writable; listings merge all layers, earlier layers winning on equal names.
//! - Cloning a namespace copies the mount table; the services themselves are shared, as
//!   after Plan 9's `rfork(RFNAMEG)`.

use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::service::{
    open_dir, read_all, write_all_at, DirEntry, FileHandle, FileKind, FileService, Follow,
    Metadata, OpenOptions,
};
use crate::snapshot::{LayerSnapshot, MountSnapshot, NamespaceSnapshot};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Where a bound directory goes relative to what is already at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindMode {
    /// Only the new directory is seen.
    Replace,
    /// The new directory is searched first.
    Before,
    /// The new directory is searched last.
    After,
}

/// One layer of a union mount: a directory (or file) inside a service.
#[derive(Clone)]
pub struct Layer {
    /// The service.
    pub service: Arc<dyn FileService>,
    /// The directory inside the service that this layer shows.
    pub subpath: FsPath,
}

impl Layer {
    fn at(&self, rest: &FsPath) -> FsPath {
        self.subpath.join(rest)
    }

    fn same_service(&self, other: &Layer) -> bool {
        // Compare data pointers only (vtable pointers may differ between codegen units).
        std::ptr::addr_eq(Arc::as_ptr(&self.service), Arc::as_ptr(&other.service))
    }
}

impl std::fmt::Debug for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service.kind(), self.subpath)
    }
}

/// A mount as listed by [`Namespace::mounts`].
#[derive(Debug, Clone)]
pub struct MountInfo {
    /// The mount point.
    pub path: FsPath,
    /// Its layers, searched in order.
    pub layers: Vec<Layer>,
}

/// A namespace: mount table plus the synthetic directories above mount points.
#[derive(Clone, Default)]
pub struct Namespace {
    mounts: HashMap<String, Vec<Layer>>,
    /// For each strict ancestor of a mount point: child name → number of mounts below it.
    synthetic: HashMap<String, BTreeMap<String, usize>>,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m: Vec<_> = self.mounts.iter().collect();
        m.sort_by(|a, b| a.0.cmp(b.0));
        f.debug_map()
            .entries(m.into_iter().map(|(k, v)| (format!("/{k}"), v)))
            .finish()
    }
}

/// How a path resolves.
struct Resolved<'a> {
    /// The covering mount's layers and the rest of the path below the mount point.
    mount: Option<(&'a [Layer], FsPath)>,
    /// Whether the path is itself a mount point.
    is_mount_point: bool,
    /// Children the path has as a synthetic directory (ancestor of mount points).
    synthetic: Option<&'a BTreeMap<String, usize>>,
    /// Whether the path is the namespace root.
    is_root: bool,
}

impl Resolved<'_> {
    fn is_synthetic_dir(&self) -> bool {
        self.synthetic.is_some()
    }

    /// Whether the namespace itself has a directory here (the root, a mount point or an
    /// ancestor of one), whatever the services below say.
    fn is_namespace_dir(&self) -> bool {
        self.is_synthetic_dir() || self.is_mount_point || self.is_root
    }
}

fn synthetic_ino(path: &FsPath) -> u64 {
    // FNV-1a: stable across runs, with the top bit set to stay clear of service inodes.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.as_str().bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | (1 << 63)
}

impl Namespace {
    /// An empty namespace (only the synthetic root).
    pub fn new() -> Self {
        Self::default()
    }

    /// Mounts `service` at `path`, replacing whatever was there.
    pub fn mount(&mut self, path: &str, service: Arc<dyn FileService>) -> FsResult<()> {
        self.mount_with(path, service, BindMode::Replace)
    }

    /// Mounts a service's root at `path` in a union with what is already there.
    pub fn mount_with(
        &mut self,
        path: &str,
        service: Arc<dyn FileService>,
        mode: BindMode,
    ) -> FsResult<()> {
        let path = FsPath::parse(path)?;
        let layer = Layer {
            service,
            subpath: FsPath::root(),
        };
        self.add_layers(path, vec![layer], mode);
        Ok(())
    }

    /// Makes the directory (or file) at `src` also visible at `dst` (Plan 9 `bind`).
    pub fn bind(&mut self, src: &str, dst: &str, mode: BindMode) -> FsResult<()> {
        let src = FsPath::parse(src)?;
        let dst = FsPath::parse(dst)?;
        let r = self.resolve(&src);
        let Some((layers, rest)) = r.mount else {
            return Err(if r.is_synthetic_dir() {
                FsError::InvalidInput(format!("{src} is a synthetic directory; bind a mount"))
            } else {
                FsError::NotFound
            });
        };
        let found: Vec<Layer> = layers
            .iter()
            .filter(|l| l.service.stat(&l.at(&rest), Follow::Yes).is_ok())
            .map(|l| Layer {
                service: l.service.clone(),
                subpath: l.at(&rest),
            })
            .collect();
        if found.is_empty() {
            return Err(FsError::NotFound);
        }
        self.add_layers(dst, found, mode);
        Ok(())
    }

    /// Removes the mount at `path` (all its layers).
    pub fn unmount(&mut self, path: &str) -> FsResult<()> {
        let path = FsPath::parse(path)?;
        if self.mounts.remove(path.as_str()).is_none() {
            return Err(FsError::InvalidInput(format!(
                "nothing is mounted at {path}"
            )));
        }
        for anc in path.ancestors() {
            let child = path
                .strip_prefix(&anc)
                .and_then(|r| r.components().next().map(str::to_string))
                .unwrap_or_default();
            if let Some(children) = self.synthetic.get_mut(anc.as_str()) {
                if let Some(n) = children.get_mut(&child) {
                    *n -= 1;
                    if *n == 0 {
                        children.remove(&child);
                    }
                }
                if children.is_empty() {
                    self.synthetic.remove(anc.as_str());
                }
            }
        }
        Ok(())
    }

    /// Every mount, sorted by path.
    pub fn mounts(&self) -> Vec<MountInfo> {
        let mut out: Vec<MountInfo> = self
            .mounts
            .iter()
            .map(|(p, layers)| MountInfo {
                path: FsPath::parse(p).unwrap_or_default(),
                layers: layers.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    fn add_layers(&mut self, dst: FsPath, new: Vec<Layer>, mode: BindMode) {
        let existing: Vec<Layer> = if mode == BindMode::Replace {
            Vec::new()
        } else {
            match self.resolve(&dst).mount {
                Some((layers, rest)) => layers
                    .iter()
                    .map(|l| Layer {
                        service: l.service.clone(),
                        subpath: l.at(&rest),
                    })
                    .collect(),
                None => Vec::new(),
            }
        };
        let layers = match mode {
            BindMode::Replace => new,
            BindMode::Before => new.into_iter().chain(existing).collect(),
            BindMode::After => existing.into_iter().chain(new).collect(),
        };
        if self
            .mounts
            .insert(dst.as_str().to_string(), layers)
            .is_none()
        {
            for anc in dst.ancestors() {
                let child = dst
                    .strip_prefix(&anc)
                    .and_then(|r| r.components().next().map(str::to_string))
                    .unwrap_or_default();
                *self
                    .synthetic
                    .entry(anc.as_str().to_string())
                    .or_default()
                    .entry(child)
                    .or_insert(0) += 1;
            }
        }
    }

    fn resolve(&self, path: &FsPath) -> Resolved<'_> {
        let mut mount = None;
        let mut is_mount_point = false;
        for end in path.prefix_ends().into_iter().rev() {
            if let Some(layers) = self.mounts.get(path.prefix_str(end)) {
                is_mount_point = end == path.as_str().len();
                mount = Some((layers.as_slice(), path.suffix_after(end)));
                break;
            }
        }
        let synthetic = self.synthetic.get(path.as_str());
        Resolved {
            mount,
            is_mount_point,
            synthetic,
            is_root: path.is_root(),
        }
    }

    /// The first layer where `rest` exists (by `lstat`), with its metadata.
    fn find<'a>(layers: &'a [Layer], rest: &FsPath) -> FsResult<(&'a Layer, Metadata)> {
        let mut first_err = None;
        for l in layers {
            match l.service.stat(&l.at(rest), Follow::No) {
                Ok(m) => return Ok((l, m)),
                Err(e) => {
                    if first_err.is_none() || first_err == Some(FsError::NotFound) {
                        first_err = Some(e);
                    }
                }
            }
        }
        Err(first_err.unwrap_or(FsError::NotFound))
    }

    /// The layer where a new entry named by `rest` should be created: the first whose
    /// parent directory exists.
    fn create_layer<'a>(layers: &'a [Layer], rest: &FsPath) -> FsResult<&'a Layer> {
        let parent = rest.parent().ok_or(FsError::AlreadyExists)?;
        let mut first_err = None;
        for l in layers {
            match l.service.stat(&l.at(&parent), Follow::Yes) {
                Ok(m) if m.is_dir() => return Ok(l),
                Ok(_) => first_err = first_err.or(Some(FsError::NotADirectory)),
                Err(e) => first_err = first_err.or(Some(e)),
            }
        }
        Err(first_err.unwrap_or(FsError::NotFound))
    }

    /// Runs a creating operation on the first suitable layer, moving on past read-only ones.
    fn create_in<T>(
        layers: &[Layer],
        rest: &FsPath,
        op: impl Fn(&Layer, &FsPath) -> FsResult<T>,
    ) -> FsResult<T> {
        let first = Self::create_layer(layers, rest)?;
        let mut result = op(first, &first.at(rest));
        if result.as_ref().err() == Some(&FsError::ReadOnly) {
            let parent = rest.parent().unwrap_or_default();
            for l in layers.iter().filter(|l| !std::ptr::eq(*l, first)) {
                if l.service
                    .stat(&l.at(&parent), Follow::Yes)
                    .is_ok_and(|m| m.is_dir())
                {
                    result = op(l, &l.at(rest));
                    if result.as_ref().err() != Some(&FsError::ReadOnly) {
                        break;
                    }
                }
            }
        }
        result
    }

    fn synthetic_meta(path: &FsPath) -> Metadata {
        Metadata::synthetic_dir(synthetic_ino(path))
    }

    /// Reads a whole file.
    pub fn read_file(&self, path: &str) -> FsResult<Vec<u8>> {
        let h = self.open(&FsPath::parse(path)?, &OpenOptions::read())?;
        read_all(h.as_ref())
    }

    /// Creates or replaces a whole file.
    pub fn write_file(&self, path: &str, data: &[u8]) -> FsResult<()> {
        let h = self.open(&FsPath::parse(path)?, &OpenOptions::create_truncate())?;
        write_all_at(h.as_ref(), data, 0)?;
        h.sync()
    }

    /// Lists a directory by raw path.
    pub fn list(&self, path: &str) -> FsResult<Vec<DirEntry>> {
        self.readdir(&FsPath::parse(path)?)
    }

    /// Where the directory with inode `ino`, last seen at `near`, is now: asked of the
    /// services of the mount covering `near` ([`FileService::dir_path`]). `None` when it
    /// is gone or its service cannot tell.
    pub fn locate_dir(&self, near: &FsPath, ino: u64) -> Option<FsPath> {
        let end = near
            .prefix_ends()
            .into_iter()
            .rev()
            .find(|&end| self.mounts.contains_key(near.prefix_str(end)))?;
        let mount_point = FsPath::parse(near.prefix_str(end)).ok()?;
        self.mounts[near.prefix_str(end)].iter().find_map(|l| {
            let rest = l.service.dir_path(ino)?.strip_prefix(&l.subpath)?;
            Some(mount_point.join(&rest))
        })
    }

    /// Metadata by raw path.
    pub fn metadata(&self, path: &str) -> FsResult<Metadata> {
        self.stat(&FsPath::parse(path)?, Follow::Yes)
    }

    /// Snapshot of every mount and the contents of layers that support snapshots.
    pub fn snapshot(&self) -> NamespaceSnapshot {
        NamespaceSnapshot {
            mounts: self
                .mounts()
                .into_iter()
                .map(|m| MountSnapshot {
                    path: m.path,
                    layers: m
                        .layers
                        .iter()
                        .map(|l| LayerSnapshot {
                            subpath: l.subpath.clone(),
                            kind: l.service.kind().to_string(),
                            contents: l.service.snapshot(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Rebuilds a namespace from a snapshot. Layers whose contents were not saved (computed
    /// services) are skipped and their mount paths returned, for the caller to re-mount.
    /// Layers that shared one service before share one restored service again.
    pub fn from_snapshot(snap: &NamespaceSnapshot) -> FsResult<(Namespace, Vec<FsPath>)> {
        Self::from_owned_snapshot(snap.clone())
    }

    /// Like [`Self::from_snapshot`], taking the snapshot's file bytes instead of copying
    /// them (what a restore from storage wants).
    pub fn from_owned_snapshot(snap: NamespaceSnapshot) -> FsResult<(Namespace, Vec<FsPath>)> {
        // Layers that shared a service: each layer's first equal layer, found before the
        // snapshots are consumed.
        let all: Vec<_> = snap
            .mounts
            .iter()
            .flat_map(|m| m.layers.iter().map(|l| l.contents.as_ref()))
            .collect();
        let first: Vec<usize> = (0..all.len())
            .map(|i| {
                (0..i)
                    .find(|&j| all[j].is_some() && all[j] == all[i])
                    .unwrap_or(i)
            })
            .collect();
        drop(all);
        let mut ns = Namespace::new();
        let mut skipped = Vec::new();
        let mut restored: HashMap<usize, Arc<dyn FileService>> = HashMap::new();
        let mut index = 0;
        for m in snap.mounts {
            let mut layers = Vec::new();
            for l in m.layers {
                let i = index;
                index += 1;
                let Some(contents) = l.contents else {
                    skipped.push(m.path.clone());
                    continue;
                };
                let service = match restored.get(&first[i]) {
                    Some(svc) => svc.clone(),
                    None => {
                        let svc = contents.into_service(None)?;
                        restored.insert(i, svc.clone());
                        svc
                    }
                };
                layers.push(Layer {
                    service,
                    subpath: l.subpath,
                });
            }
            if !layers.is_empty() {
                ns.add_layers(m.path, layers, BindMode::Replace);
            }
        }
        Ok((ns, skipped))
    }
}

impl FileService for Namespace {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let r = self.resolve(path);
        let opened = match &r.mount {
            // One layer (the usual mount): the service's `open` decides everything, in one
            // lookup, with no look-then-open race.
            Some(([layer], rest)) => layer.service.open(&layer.at(rest), opts),
            // A union: the first layer holding the name opens it; a new name is created in
            // the first layer that can hold it.
            Some((layers, rest)) => match Self::find(layers, rest) {
                Ok((layer, _)) => layer.service.open(&layer.at(rest), opts),
                Err(FsError::NotFound) if opts.create || opts.create_new => {
                    Self::create_in(layers, rest, |l, p| l.service.open(p, opts))
                }
                Err(e) => Err(e),
            },
            None => Err(FsError::NotFound),
        };
        let handle = match opened {
            Err(FsError::NotFound) if r.is_namespace_dir() => {
                return open_dir(Self::synthetic_meta(path), opts)
            }
            Err(FsError::NotFound) if r.mount.is_none() && (opts.create || opts.create_new) => {
                return Err(self.outside_mounts_error(path))
            }
            h => h?,
        };
        // A service that does not check `directory` on its files is held to it here.
        if opts.directory && !handle.metadata()?.is_dir() {
            return Err(FsError::NotADirectory);
        }
        Ok(handle)
    }

    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        let r = self.resolve(path);
        if let Some((layers, rest)) = &r.mount {
            let found = match follow {
                Follow::No => Self::find(layers, rest).map(|(_, m)| m),
                // The first layer where the path leads somewhere (a dangling link in one
                // layer does not hide the next).
                Follow::Yes => {
                    let mut first_err = None;
                    let mut found = None;
                    for l in layers.iter() {
                        match l.service.stat(&l.at(rest), Follow::Yes) {
                            Ok(m) => {
                                found = Some(m);
                                break;
                            }
                            Err(e) => first_err = first_err.or(Some(e)),
                        }
                    }
                    found.ok_or_else(|| first_err.unwrap_or(FsError::NotFound))
                }
            };
            match found {
                Ok(m) => return Ok(m),
                Err(e) if !r.is_namespace_dir() => return Err(e),
                Err(_) => {}
            }
        }
        if r.is_namespace_dir() {
            Ok(Self::synthetic_meta(path))
        } else {
            Err(FsError::NotFound)
        }
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let r = self.resolve(path);
        let n = r.mount.as_ref().map_or(0, |(l, _)| l.len()) as u64 + 1;
        let mut out: Vec<DirEntry> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut any_dir = r.is_namespace_dir();
        let mut first_err = None;
        if let Some((layers, rest)) = &r.mount {
            for (i, l) in layers.iter().enumerate() {
                match l.service.readdir(&l.at(rest)) {
                    Ok(entries) => {
                        any_dir = true;
                        for mut e in entries {
                            if seen.contains_key(&e.name) {
                                continue;
                            }
                            e.cookie = e.cookie.wrapping_mul(n).wrapping_add(i as u64);
                            seen.insert(e.name.clone(), out.len());
                            out.push(e);
                        }
                    }
                    Err(e) => first_err = first_err.or(Some(e)),
                }
            }
        }
        if !any_dir {
            return Err(first_err.unwrap_or(FsError::NotFound));
        }
        if let Some(children) = r.synthetic {
            for (idx, name) in children.keys().enumerate() {
                let child = path.join_name(name);
                match seen.get(name) {
                    // A mount point hides whatever the service had under that name.
                    Some(&i) => {
                        out[i].kind = FileKind::Dir;
                        out[i].ino = synthetic_ino(&child);
                    }
                    None => out.push(DirEntry {
                        name: name.clone(),
                        kind: FileKind::Dir,
                        ino: synthetic_ino(&child),
                        cookie: (idx as u64 + 1).wrapping_mul(n).wrapping_add(n - 1),
                    }),
                }
            }
        }
        out.sort_by_key(|e| e.cookie);
        Ok(out)
    }

    fn mkdir(&self, path: &FsPath) -> FsResult<()> {
        let r = self.resolve(path);
        if r.is_namespace_dir() {
            return Err(FsError::AlreadyExists);
        }
        let Some((layers, rest)) = &r.mount else {
            return Err(self.outside_mounts_error(path));
        };
        match Self::find(layers, rest) {
            Ok(_) => Err(FsError::AlreadyExists),
            Err(FsError::NotFound) => Self::create_in(layers, rest, |l, p| l.service.mkdir(p)),
            Err(e) => Err(e),
        }
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        let (layer, rest) = self.existing(path)?;
        layer.service.remove_file(&layer.at(&rest))
    }

    fn remove_dir(&self, path: &FsPath) -> FsResult<()> {
        let (layer, rest) = self.existing(path)?;
        layer.service.remove_dir(&layer.at(&rest))
    }

    fn rename(&self, from: &FsPath, to: &FsPath) -> FsResult<()> {
        let (src, src_rest) = self.existing(from)?;
        let rt = self.resolve(to);
        if rt.is_namespace_dir() {
            return Err(FsError::Busy);
        }
        let Some((layers, rest)) = &rt.mount else {
            return Err(self.outside_mounts_error(to));
        };
        let dst = match Self::find(layers, rest) {
            Ok((l, _)) => l,
            Err(FsError::NotFound) => Self::create_layer(layers, rest)?,
            Err(e) => return Err(e),
        };
        if !src.same_service(dst) {
            return Err(FsError::CrossDevice);
        }
        src.service.rename(&src.at(&src_rest), &dst.at(rest))
    }

    fn set_times(
        &self,
        path: &FsPath,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
        follow: Follow,
    ) -> FsResult<()> {
        let r = self.resolve(path);
        match &r.mount {
            Some((layers, rest)) => match Self::find(layers, rest) {
                Ok((l, _)) => l.service.set_times(&l.at(rest), atime, mtime, follow),
                Err(_) if r.is_synthetic_dir() || r.is_mount_point => Err(FsError::ReadOnly),
                Err(e) => Err(e),
            },
            None if r.is_synthetic_dir() || path.is_root() => Err(FsError::ReadOnly),
            None => Err(FsError::NotFound),
        }
    }

    fn symlink(&self, target: &str, link: &FsPath) -> FsResult<()> {
        let r = self.resolve(link);
        if r.is_namespace_dir() {
            return Err(FsError::AlreadyExists);
        }
        let Some((layers, rest)) = &r.mount else {
            return Err(self.outside_mounts_error(link));
        };
        match Self::find(layers, rest) {
            Ok(_) => Err(FsError::AlreadyExists),
            Err(FsError::NotFound) => {
                Self::create_in(layers, rest, |l, p| l.service.symlink(target, p))
            }
            Err(e) => Err(e),
        }
    }

    fn readlink(&self, path: &FsPath) -> FsResult<String> {
        let (layer, rest) = self.existing(path)?;
        layer.service.readlink(&layer.at(&rest))
    }

    fn link(&self, existing: &FsPath, new: &FsPath) -> FsResult<()> {
        let (src, src_rest) = self.existing(existing)?;
        let rn = self.resolve(new);
        if rn.is_namespace_dir() {
            return Err(FsError::AlreadyExists);
        }
        let Some((layers, rest)) = &rn.mount else {
            return Err(self.outside_mounts_error(new));
        };
        let dst = match Self::find(layers, rest) {
            Ok(_) => return Err(FsError::AlreadyExists),
            Err(FsError::NotFound) => Self::create_layer(layers, rest)?,
            Err(e) => return Err(e),
        };
        if !src.same_service(dst) {
            return Err(FsError::CrossDevice);
        }
        src.service.link(&src.at(&src_rest), &dst.at(rest))
    }

    fn kind(&self) -> &'static str {
        "namespace"
    }
}

impl Namespace {
    /// The layer holding an existing non-mount-point path (for remove/rename/readlink).
    fn existing(&self, path: &FsPath) -> FsResult<(Layer, FsPath)> {
        let r = self.resolve(path);
        if r.is_namespace_dir() {
            return Err(FsError::Busy);
        }
        let Some((layers, rest)) = &r.mount else {
            return Err(FsError::NotFound);
        };
        let (layer, _) = Self::find(layers, rest)?;
        Ok((layer.clone(), rest.clone()))
    }

    /// Error for creating `path` outside every mount: read-only if its parent is synthetic.
    fn outside_mounts_error(&self, path: &FsPath) -> FsError {
        let parent_synthetic = path
            .parent()
            .is_some_and(|p| p.is_root() || self.synthetic.contains_key(p.as_str()));
        if parent_synthetic {
            FsError::ReadOnly
        } else {
            FsError::NotFound
        }
    }
}
