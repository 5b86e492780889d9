//! `CowFs`: a copy-on-write overlay on any base service.
//!
//! Writes go to an upper [`MemFs`]; the base is never touched until [`CowFs::commit`].
//! Lookups try the upper layer first, then the base — unless a *whiteout* hides it.
//!
//! A whiteout on a path hides the base at that path **and everything below it**, and it
//! stays when the path is re-created in the upper layer. That one rule gives the semantics
//! the earlier version got wrong:
//! - delete `/d`, then `mkdir /d`: the new `/d` is empty (base children stay hidden);
//! - a file created under a re-created directory is visible (it lives in the upper layer);
//! - rename copies the merged source up first, then whiteouts both old and replaced paths.
//!
//! [`CowFs::changes`] lists the differences against the base; [`CowFs::commit`] applies
//! them to the base and empties the overlay.
//!
//! Symlinks among a path's directories are resolved in the merged view first (as
//! [`MemFs`] resolves them: relative to the link's directory, or absolute from the root;
//! at most [`MAX_SYMLINK_HOPS`]), so `echo hi > /l/x` with `/l -> d` writes `/d/x` under
//! review as without. Symlinks are made in the overlay too (a moved one stays a symlink),
//! and the commit makes them in the base.

use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::fs::{MemFs, MAX_SYMLINK_HOPS};
use crate::path::FsPath;
use crate::service::{
    open_existing, open_missing, read_all, write_all_at, DirEntry, FileHandle, FileKind,
    FileService, Follow, Metadata, OpenOptions,
};
use crate::snapshot::ServiceSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// What happened to a path, relative to the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Exists in the overlay, not in the base.
    Added,
    /// A file whose contents differ from the base's.
    Modified,
    /// Exists in the base, not in the overlay.
    Deleted,
}

/// One difference between the overlay and its base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The path.
    pub path: FsPath,
    /// Added, modified or deleted.
    pub kind: ChangeKind,
    /// Kind of the object (the base's for deletions).
    pub file_kind: FileKind,
}

struct State {
    upper: MemFs,
    whiteouts: BTreeSet<FsPath>,
}

/// A copy-on-write overlay. Cloning shares the overlay.
#[derive(Clone)]
pub struct CowFs {
    base: Arc<dyn FileService>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for CowFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CowFs")
            .field("base", &self.base.kind())
            .finish()
    }
}

#[derive(Debug, Clone)]
enum Loc {
    Upper(Metadata),
    Base(Metadata),
}

impl Loc {
    fn meta(&self) -> &Metadata {
        match self {
            Loc::Upper(m) | Loc::Base(m) => m,
        }
    }
}

fn upper_ino(ino: u64) -> u64 {
    ino.wrapping_mul(2)
}
fn base_ino(ino: u64) -> u64 {
    ino.wrapping_mul(2).wrapping_add(1)
}

impl CowFs {
    /// An empty overlay on `base`.
    pub fn new(base: Arc<dyn FileService>) -> Self {
        Self::from_parts(base, MemFs::new(), BTreeSet::new(), BTreeSet::new())
    }

    /// Rebuilds from saved parts (`_opaque` is accepted for snapshot compatibility).
    pub fn from_parts(
        base: Arc<dyn FileService>,
        upper: MemFs,
        whiteouts: BTreeSet<FsPath>,
        _opaque: BTreeSet<FsPath>,
    ) -> Self {
        CowFs {
            base,
            state: Arc::new(Mutex::new(State { upper, whiteouts })),
        }
    }

    /// The base service.
    pub fn base(&self) -> &Arc<dyn FileService> {
        &self.base
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::service::lock(&self.state)
    }

    /// Lists every difference from the base: deletions, additions (each descendant of an
    /// added directory too) and modified files, parents before children.
    pub fn changes(&self) -> FsResult<Vec<Change>> {
        let st = self.lock();
        let mut out = Vec::new();
        self.diff_dir(&st, &FsPath::root(), &mut out)?;
        Ok(out)
    }

    /// Applies [`Self::changes`] to the base, then empties the overlay. On error the
    /// overlay is kept (the merged view is unchanged) and the commit can be retried.
    pub fn commit(&self) -> FsResult<Vec<Change>> {
        let mut st = self.lock();
        let mut changes = Vec::new();
        self.diff_dir(&st, &FsPath::root(), &mut changes)?;
        for c in &changes {
            match (c.kind, c.file_kind) {
                (ChangeKind::Deleted, _) => remove_tree(self.base.as_ref(), &c.path)?,
                (_, FileKind::Dir) => self.base.mkdir(&c.path)?,
                (kind, FileKind::Symlink) => {
                    if kind == ChangeKind::Modified {
                        self.base.remove_file(&c.path)?;
                    }
                    self.base.symlink(&st.upper.readlink(&c.path)?, &c.path)?;
                }
                _ => {
                    let data = read_all(st.upper.open(&c.path, &OpenOptions::read())?.as_ref())?;
                    let h = self.base.open(&c.path, &OpenOptions::create_truncate())?;
                    write_all_at(h.as_ref(), &data, 0)?;
                    h.sync()?;
                }
            }
        }
        st.upper = MemFs::new();
        st.whiteouts.clear();
        Ok(changes)
    }

    /// Drops every change: the view is the base again.
    pub fn discard(&self) {
        let mut st = self.lock();
        st.upper = MemFs::new();
        st.whiteouts.clear();
    }

    fn whited_out(st: &State, path: &FsPath) -> bool {
        path.ancestors()
            .iter()
            .chain(std::iter::once(path))
            .any(|a| st.whiteouts.contains(a))
    }

    /// The base's metadata of `path`, if the base has it and no whiteout hides it.
    fn base_visible(&self, st: &State, path: &FsPath) -> Option<Metadata> {
        if Self::whited_out(st, path) {
            return None;
        }
        self.base.stat(path, Follow::No).ok()
    }

    fn locate(&self, st: &State, path: &FsPath) -> FsResult<Loc> {
        match st.upper.stat(path, Follow::No) {
            Ok(m) => return Ok(Loc::Upper(m)),
            Err(FsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        if Self::whited_out(st, path) {
            return Err(FsError::NotFound);
        }
        match self.base.stat(path, Follow::No) {
            Ok(m) => Ok(Loc::Base(m)),
            Err(e) => Err(e),
        }
    }

    /// `path` with the symlinks among its directories resolved in the merged view, and its
    /// last name too if `follow_last`. A missing directory is kept as it is (the operation
    /// reports it).
    fn resolve(&self, st: &State, path: &FsPath, follow_last: bool) -> FsResult<FsPath> {
        let (walk, last) = match path.split_last() {
            None => return Ok(path.clone()),
            Some(_) if follow_last => (path.clone(), None),
            Some((parent, _)) if parent.is_root() => return Ok(path.clone()),
            Some((parent, last)) => (parent, Some(last)),
        };
        let mut todo: Vec<String> = walk.components().rev().map(String::from).collect();
        let mut cur = FsPath::root();
        let mut hops = 0;
        while let Some(name) = todo.pop() {
            match name.as_str() {
                "" | "." => continue,
                ".." => {
                    cur = cur.parent().unwrap_or_else(FsPath::root);
                    continue;
                }
                _ => {}
            }
            let next = cur.join_name(&name);
            let loc = match self.locate(st, &next) {
                Ok(loc) if loc.meta().kind == FileKind::Symlink => loc,
                Ok(loc) if loc.meta().is_dir() => {
                    cur = next;
                    continue;
                }
                // Missing, not a directory, unreadable: the rest is left as it is, for the
                // operation to report in its usual order.
                _ => {
                    cur = next;
                    for rest in todo.drain(..).rev() {
                        match rest.as_str() {
                            "" | "." => {}
                            // `..` out of a directory that is not there (from a symlink
                            // target): nothing to walk back from.
                            ".." => return Err(FsError::NotFound),
                            _ => cur = cur.join_name(&rest),
                        }
                    }
                    continue;
                }
            };
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(FsError::Loop);
            }
            let target = match loc {
                Loc::Upper(_) => st.upper.readlink(&next)?,
                Loc::Base(_) => self.base.readlink(&next)?,
            };
            if target.starts_with('/') {
                cur = FsPath::root();
            }
            todo.extend(target.split('/').rev().map(String::from));
        }
        Ok(match last {
            Some(last) => cur.join_name(last),
            None => cur,
        })
    }

    /// `path` with the symlinks among its directories resolved (not its last name).
    fn resolve_dirs(&self, st: &State, path: &FsPath) -> FsResult<FsPath> {
        self.resolve(st, path, false)
    }

    fn merged_meta(&self, loc: &Loc) -> Metadata {
        let mut m = loc.meta().clone();
        m.ino = match loc {
            Loc::Upper(_) => upper_ino(m.ino),
            Loc::Base(_) => base_ino(m.ino),
        };
        m.readonly = false;
        m
    }

    fn require_dir(&self, st: &State, path: &FsPath) -> FsResult<()> {
        match self.locate(st, path)? {
            loc if loc.meta().is_dir() => Ok(()),
            _ => Err(FsError::NotADirectory),
        }
    }

    /// Makes `dir` (a directory of the merged view) and its ancestors exist in the upper
    /// layer, as plain directories that still let the base show through.
    fn ensure_upper_dir(&self, st: &State, dir: &FsPath) -> FsResult<()> {
        let mut cur = FsPath::root();
        for comp in dir.components() {
            cur = cur.join_name(comp);
            match st.upper.stat(&cur, Follow::No) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => return Err(FsError::NotADirectory),
                Err(FsError::NotFound) => {
                    self.require_dir(st, &cur)?;
                    st.upper.mkdir(&cur)?;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Where a new directory or symlink named `path` goes in the upper layer (its
    /// directories resolved and made there): `EEXIST` if the merged view has the name.
    fn new_name(&self, st: &State, path: &FsPath) -> FsResult<FsPath> {
        let path = self.resolve_dirs(st, path)?;
        match self.locate(st, &path) {
            Ok(_) => return Err(FsError::AlreadyExists),
            Err(FsError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let parent = path.parent().ok_or(FsError::AlreadyExists)?;
        self.require_dir(st, &parent)?;
        self.ensure_upper_dir(st, &parent)?;
        Ok(path)
    }

    /// Copies a base file into the upper layer (contents unless `skip_data`).
    fn copy_up_file(&self, st: &State, path: &FsPath, skip_data: bool) -> FsResult<()> {
        if let Some(parent) = path.parent() {
            self.ensure_upper_dir(st, &parent)?;
        }
        if self.base.stat(path, Follow::No)?.kind == FileKind::Symlink {
            // A symlink (moved, say) stays one: its target, not what it points to.
            return st.upper.symlink(&self.base.readlink(path)?, path);
        }
        let data = if skip_data {
            Vec::new()
        } else {
            read_all(self.base.open(path, &OpenOptions::read())?.as_ref())?
        };
        let h = st.upper.open(path, &OpenOptions::create_truncate())?;
        write_all_at(h.as_ref(), &data, 0)?;
        if let Ok(m) = self.base.stat(path, Follow::Yes) {
            h.set_times(Some(m.atime), Some(m.mtime))?;
        }
        Ok(())
    }

    /// Copies the merged subtree at `path` into the upper layer.
    fn copy_up_tree(&self, st: &State, path: &FsPath) -> FsResult<()> {
        match self.locate(st, path)? {
            Loc::Base(m) if !m.is_dir() => self.copy_up_file(st, path, false),
            Loc::Upper(m) if !m.is_dir() => Ok(()),
            _ => {
                self.ensure_upper_dir(st, path)?;
                for e in self.merged_readdir(st, path)? {
                    self.copy_up_tree(st, &path.join_name(&e.name))?;
                }
                Ok(())
            }
        }
    }

    fn merged_readdir(&self, st: &State, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let loc = self.locate(st, path)?;
        if !loc.meta().is_dir() {
            return Err(FsError::NotADirectory);
        }
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if let Loc::Upper(_) = loc {
            for mut e in st.upper.readdir(path)? {
                seen.insert(e.name.clone());
                e.ino = upper_ino(e.ino);
                e.cookie = e.cookie.wrapping_mul(2);
                out.push(e);
            }
        }
        if self.base_visible(st, path).is_some_and(|m| m.is_dir()) {
            for mut e in self.base.readdir(path)? {
                if seen.contains(&e.name) || st.whiteouts.contains(&path.join_name(&e.name)) {
                    continue;
                }
                e.ino = base_ino(e.ino);
                e.cookie = e.cookie.wrapping_mul(2).wrapping_add(1);
                out.push(e);
            }
        }
        out.sort_by_key(|e| e.cookie);
        Ok(out)
    }

    fn diff_dir(&self, st: &State, dir: &FsPath, out: &mut Vec<Change>) -> FsResult<()> {
        let base_entries = match self.base.readdir(dir) {
            Ok(v) => v,
            Err(FsError::NotFound) | Err(FsError::NotADirectory) => Vec::new(),
            Err(e) => return Err(e),
        };
        let merged = self.merged_readdir(st, dir)?;
        let merged_names: HashSet<&str> = merged.iter().map(|e| e.name.as_str()).collect();
        for b in &base_entries {
            let p = dir.join_name(&b.name);
            if !merged_names.contains(b.name.as_str()) {
                out.push(Change {
                    path: p,
                    kind: ChangeKind::Deleted,
                    file_kind: b.kind,
                });
            }
        }
        for m in &merged {
            let p = dir.join_name(&m.name);
            let base = base_entries.iter().find(|b| b.name == m.name);
            let in_upper = st.upper.stat(&p, Follow::No).is_ok();
            let hidden = Self::whited_out(st, &p);
            match base {
                Some(b) if b.kind != m.kind || hidden => {
                    // Replaced: the old one goes, the new one comes.
                    out.push(Change {
                        path: p.clone(),
                        kind: ChangeKind::Deleted,
                        file_kind: b.kind,
                    });
                    self.push_added(st, &p, m.kind, out)?;
                }
                Some(_) if m.kind == FileKind::Dir => {
                    // Whiteouts below `p` sort after it, but not necessarily first:
                    // `/a-b` sorts between `/a` and `/a/x`. Scan the string-prefix run.
                    let touched = in_upper
                        || st
                            .whiteouts
                            .range(p.clone()..)
                            .take_while(|w| w.as_str().starts_with(p.as_str()))
                            .any(|w| w.starts_with(&p));
                    if touched {
                        self.diff_dir(st, &p, out)?;
                    }
                }
                Some(_) => {
                    if in_upper && self.file_differs(st, &p)? {
                        out.push(Change {
                            path: p,
                            kind: ChangeKind::Modified,
                            file_kind: m.kind,
                        });
                    }
                }
                None => self.push_added(st, &p, m.kind, out)?,
            }
        }
        Ok(())
    }

    fn push_added(
        &self,
        st: &State,
        path: &FsPath,
        kind: FileKind,
        out: &mut Vec<Change>,
    ) -> FsResult<()> {
        out.push(Change {
            path: path.clone(),
            kind: ChangeKind::Added,
            file_kind: kind,
        });
        if kind == FileKind::Dir {
            for e in self.merged_readdir(st, path)? {
                self.push_added(st, &path.join_name(&e.name), e.kind, out)?;
            }
        }
        Ok(())
    }

    fn file_differs(&self, st: &State, path: &FsPath) -> FsResult<bool> {
        if st.upper.stat(path, Follow::No)?.kind == FileKind::Symlink {
            return Ok(st.upper.readlink(path)? != self.base.readlink(path)?);
        }
        let a = read_all(st.upper.open(path, &OpenOptions::read())?.as_ref())?;
        let b = read_all(self.base.open(path, &OpenOptions::read())?.as_ref())?;
        Ok(a != b)
    }
}

/// Removes a file or a whole directory tree from a service.
fn remove_tree(fs: &dyn FileService, path: &FsPath) -> FsResult<()> {
    let meta = fs.stat(path, Follow::No)?;
    if meta.is_dir() {
        for e in fs.readdir(path)? {
            remove_tree(fs, &path.join_name(&e.name))?;
        }
        fs.remove_dir(path)
    } else {
        fs.remove_file(path)
    }
}

impl FileService for CowFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let st = self.lock();
        // A final symlink is followed (a write goes to its target, the link stays) unless
        // the open must not follow it.
        let follow = !(opts.nofollow || opts.create_new);
        let path = &self.resolve(&st, path, follow)?;
        let found = match self.locate(&st, path) {
            Ok(loc) => Some(loc),
            Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        match found {
            Some(loc) => {
                // A symlink here is one the open must not follow (resolved otherwise).
                open_existing(loc.meta(), opts)?;
                let writes = opts.write || opts.append || opts.truncate;
                match loc {
                    Loc::Upper(_) => st.upper.open(path, opts),
                    Loc::Base(_) if !writes => self.base.open(path, opts),
                    Loc::Base(_) => {
                        self.copy_up_file(&st, path, opts.truncate)?;
                        st.upper.open(path, opts)
                    }
                }
            }
            None => {
                open_missing(opts)?;
                let parent = path.parent().ok_or(FsError::IsADirectory)?;
                self.require_dir(&st, &parent)?;
                self.ensure_upper_dir(&st, &parent)?;
                st.upper.open(path, opts)
            }
        }
    }

    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        let st = self.lock();
        let path = &self.resolve(&st, path, follow == Follow::Yes)?;
        // With Follow::Yes a final symlink was resolved above.
        Ok(self.merged_meta(&self.locate(&st, path)?))
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let st = self.lock();
        let path = &self.resolve(&st, path, true)?;
        self.merged_readdir(&st, path)
    }

    fn mkdir(&self, path: &FsPath) -> FsResult<()> {
        let st = self.lock();
        let path = self.new_name(&st, path)?;
        st.upper.mkdir(&path)
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        let mut st = self.lock();
        let path = &self.resolve_dirs(&st, path)?;
        let loc = self.locate(&st, path)?;
        if loc.meta().is_dir() {
            return Err(FsError::IsADirectory);
        }
        let in_base = self.base_visible(&st, path).is_some();
        if let Loc::Upper(_) = loc {
            st.upper.remove_file(path)?;
        }
        if in_base {
            st.whiteouts.insert(path.clone());
        }
        Ok(())
    }

    fn remove_dir(&self, path: &FsPath) -> FsResult<()> {
        let mut st = self.lock();
        let path = &self.resolve_dirs(&st, path)?;
        if path.is_root() {
            return Err(FsError::Busy);
        }
        let loc = self.locate(&st, path)?;
        if !loc.meta().is_dir() {
            return Err(FsError::NotADirectory);
        }
        if !self.merged_readdir(&st, path)?.is_empty() {
            return Err(FsError::DirectoryNotEmpty);
        }
        let in_base = self.base_visible(&st, path).is_some();
        if let Loc::Upper(_) = loc {
            st.upper.remove_dir(path)?;
        }
        if in_base {
            add_whiteout(&mut st, path);
        }
        Ok(())
    }

    fn rename(&self, from: &FsPath, to: &FsPath) -> FsResult<()> {
        let mut st = self.lock();
        let (from, to) = (&self.resolve_dirs(&st, from)?, &self.resolve_dirs(&st, to)?);
        // Same order of checks as MemFs: both parents, then the source, then the target.
        let from_parent = from.parent().ok_or(FsError::Busy)?;
        self.require_dir(&st, &from_parent)?;
        let to_parent = to.parent().ok_or(FsError::Busy)?;
        self.require_dir(&st, &to_parent)?;
        let src = self.locate(&st, from)?;
        let src_is_dir = src.meta().is_dir();
        if src_is_dir && to.starts_with(from) && to != from {
            return Err(FsError::InvalidInput(
                "cannot move a directory inside itself".into(),
            ));
        }
        if from == to {
            return Ok(());
        }
        let dst = match self.locate(&st, to) {
            Ok(loc) => Some(loc),
            Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        if dst.is_some() && from.starts_with(to) {
            // The target holds the source, so it is not empty (Linux checks this first).
            return Err(FsError::DirectoryNotEmpty);
        }
        if let Some(dst) = &dst {
            match (dst.meta().is_dir(), src_is_dir) {
                (true, true) => {
                    if !self.merged_readdir(&st, to)?.is_empty() {
                        return Err(FsError::DirectoryNotEmpty);
                    }
                }
                (false, true) => return Err(FsError::NotADirectory),
                (true, false) => return Err(FsError::IsADirectory),
                (false, false) => {}
            }
        }
        // Checks done; from here on only upper/whiteout changes.
        let from_in_base = self.base_visible(&st, from).is_some();
        let to_in_base = self.base_visible(&st, to).is_some();
        self.copy_up_tree(&st, from)?;
        self.ensure_upper_dir(&st, &to_parent)?;
        st.upper.rename(from, to)?;
        if from_in_base {
            add_whiteout(&mut st, from);
        }
        if to_in_base || src_is_dir {
            // Hide whatever the base has at `to`: the moved tree is complete in the upper.
            add_whiteout(&mut st, to);
        }
        Ok(())
    }

    fn set_times(
        &self,
        path: &FsPath,
        atime: Option<Timestamp>,
        mtime: Option<Timestamp>,
        follow: Follow,
    ) -> FsResult<()> {
        let st = self.lock();
        let path = &self.resolve(&st, path, follow == Follow::Yes)?;
        let loc = self.locate(&st, path)?;
        if follow == Follow::No && loc.meta().kind == FileKind::Symlink {
            // A symlink's own times cannot be set here.
            return Err(FsError::NotSupported);
        }
        match loc {
            Loc::Base(m) if m.is_dir() => self.ensure_upper_dir(&st, path)?,
            Loc::Base(_) => self.copy_up_file(&st, path, false)?,
            Loc::Upper(_) => {}
        }
        st.upper.set_times(path, atime, mtime, follow)
    }

    fn symlink(&self, target: &str, link: &FsPath) -> FsResult<()> {
        let st = self.lock();
        let link = self.new_name(&st, link)?;
        st.upper.symlink(target, &link)
    }

    fn readlink(&self, path: &FsPath) -> FsResult<String> {
        let st = self.lock();
        let path = &self.resolve_dirs(&st, path)?;
        match self.locate(&st, path)? {
            Loc::Upper(_) => st.upper.readlink(path),
            Loc::Base(_) => self.base.readlink(path),
        }
    }

    fn snapshot(&self) -> Option<ServiceSnapshot> {
        let st = self.lock();
        Some(ServiceSnapshot::Cow {
            base: self.base.snapshot().map(Box::new),
            upper: st.upper.to_snapshot(),
            whiteouts: st.whiteouts.iter().cloned().collect(),
            opaque: Vec::new(),
        })
    }

    fn kind(&self) -> &'static str {
        "cowfs"
    }
}

fn add_whiteout(st: &mut State, path: &FsPath) {
    // A whiteout covers everything below it: drop the ones it makes redundant.
    st.whiteouts.retain(|w| !w.starts_with(path));
    st.whiteouts.insert(path.clone());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> FsPath {
        FsPath::parse(s).unwrap()
    }

    fn base() -> Arc<MemFs> {
        let fs = MemFs::new();
        fs.write_file("/d/a.txt", b"A").unwrap();
        fs.write_file("/d/sub/b.txt", b"B").unwrap();
        fs.write_file("/top.txt", b"T").unwrap();
        Arc::new(fs)
    }

    fn read(fs: &dyn FileService, path: &str) -> FsResult<Vec<u8>> {
        read_all(fs.open(&p(path), &OpenOptions::read())?.as_ref())
    }

    fn names(fs: &dyn FileService, path: &str) -> Vec<String> {
        let mut v: Vec<_> = fs
            .readdir(&p(path))
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        v.sort();
        v
    }

    /// Under review, a path through a directory symlink of the base reaches the directory
    /// it points to, as it does without review; the commit writes there.
    #[test]
    fn paths_through_directory_symlinks_resolve_as_in_the_base() {
        let b = base();
        b.symlink("d", &p("/l")).unwrap();
        b.symlink("/d/sub", &p("/abs")).unwrap();
        b.symlink("l/../top-dir", &p("/dangling")).unwrap();
        let cow = CowFs::new(b.clone());
        let h = cow
            .open(&p("/l/new.txt"), &OpenOptions::create_truncate())
            .unwrap();
        write_all_at(h.as_ref(), b"new", 0).unwrap();
        let h = cow
            .open(&p("/l/a.txt"), &OpenOptions::read_write())
            .unwrap();
        write_all_at(h.as_ref(), b"a", 0).unwrap();
        cow.mkdir(&p("/abs/made")).unwrap();
        cow.rename(&p("/l/sub/b.txt"), &p("/abs/made/b.txt"))
            .unwrap();
        assert_eq!(read(&cow, "/d/new.txt").unwrap(), b"new");
        assert_eq!(names(&cow, "/l"), ["a.txt", "new.txt", "sub"]);
        assert_eq!(read(&cow, "/l/sub/made/b.txt").unwrap(), b"B");
        assert_eq!(
            read(b.as_ref(), "/d/a.txt").unwrap(),
            b"A",
            "the base is untouched"
        );
        assert_eq!(
            cow.open(&p("/dangling/x"), &OpenOptions::create_truncate())
                .err(),
            Some(FsError::NotFound)
        );
        cow.commit().unwrap();
        assert_eq!(read(b.as_ref(), "/d/new.txt").unwrap(), b"new");
        assert_eq!(read(b.as_ref(), "/d/a.txt").unwrap(), b"a");
        assert_eq!(read(b.as_ref(), "/d/sub/made/b.txt").unwrap(), b"B");
        assert_eq!(read(b.as_ref(), "/d/sub/b.txt"), Err(FsError::NotFound));
        assert_eq!(b.readlink(&p("/l")).unwrap(), "d", "the link itself stays");
        // A write through a symlink to a file goes to the file; the link stays a link.
        b.symlink("top.txt", &p("/top-link")).unwrap();
        let cow = CowFs::new(b.clone());
        let h = cow
            .open(&p("/top-link"), &OpenOptions::create_truncate())
            .unwrap();
        write_all_at(h.as_ref(), b"via link", 0).unwrap();
        cow.commit().unwrap();
        assert_eq!(read(b.as_ref(), "/top.txt").unwrap(), b"via link");
        assert_eq!(b.readlink(&p("/top-link")).unwrap(), "top.txt");
    }

    /// Symlinks under review: made in the overlay, followed there, listed as changes and
    /// made in the base by the commit; a base symlink moved stays a symlink.
    #[test]
    fn symlinks_are_made_moved_and_committed() {
        let b = base();
        b.symlink("a.txt", &p("/d/old-link")).unwrap();
        let cow = CowFs::new(b.clone());
        cow.symlink("sub/b.txt", &p("/d/new-link")).unwrap();
        assert_eq!(read(&cow, "/d/new-link").unwrap(), b"B");
        assert_eq!(
            cow.symlink("x", &p("/d/a.txt")),
            Err(FsError::AlreadyExists)
        );
        cow.rename(&p("/d/old-link"), &p("/moved-link")).unwrap();
        assert_eq!(cow.readlink(&p("/moved-link")).unwrap(), "a.txt");
        assert_eq!(b.readlink(&p("/d/new-link")), Err(FsError::NotFound));
        let changes = cow.changes().unwrap();
        for (path, kind) in [
            ("/d/new-link", ChangeKind::Added),
            ("/d/old-link", ChangeKind::Deleted),
            ("/moved-link", ChangeKind::Added),
        ] {
            assert!(
                changes.iter().any(|c| c.path == p(path) && c.kind == kind),
                "{path}: {changes:?}"
            );
        }
        cow.commit().unwrap();
        assert_eq!(b.readlink(&p("/d/new-link")).unwrap(), "sub/b.txt");
        assert_eq!(read(b.as_ref(), "/d/new-link").unwrap(), b"B");
        assert_eq!(b.readlink(&p("/moved-link")).unwrap(), "a.txt");
        assert_eq!(b.readlink(&p("/d/old-link")), Err(FsError::NotFound));
    }

    #[test]
    fn writes_stay_in_the_overlay() {
        let b = base();
        let cow = CowFs::new(b.clone());
        let h = cow
            .open(&p("/top.txt"), &OpenOptions::read_write())
            .unwrap();
        h.write_at(b"X", 0).unwrap();
        assert_eq!(read(&cow, "/top.txt").unwrap(), b"X");
        assert_eq!(read(b.as_ref(), "/top.txt").unwrap(), b"T");
        assert_eq!(
            cow.changes().unwrap(),
            vec![Change {
                path: p("/top.txt"),
                kind: ChangeKind::Modified,
                file_kind: FileKind::File
            }]
        );
    }

    #[test]
    fn changes_see_a_deletion_below_a_dir_whose_sibling_name_extends_it() {
        // Found by the widened model: the whiteout of `/d-x` sorts between `/d` and
        // `/d/sub`, and hid the deletion inside `/d` from `changes`.
        let b = base();
        b.write_file("/d-x", b"X").unwrap();
        let cow = CowFs::new(b);
        cow.remove_file(&p("/d-x")).unwrap();
        cow.remove_file(&p("/d/a.txt")).unwrap();
        let deleted = |path: &str, file_kind| Change {
            path: p(path),
            kind: ChangeKind::Deleted,
            file_kind,
        };
        let mut changes = cow.changes().unwrap();
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(
            changes,
            vec![
                deleted("/d-x", FileKind::File),
                deleted("/d/a.txt", FileKind::File)
            ]
        );
    }

    #[test]
    fn deleted_dir_recreated_does_not_resurrect_children() {
        let cow = CowFs::new(base());
        cow.remove_file(&p("/d/sub/b.txt")).unwrap();
        cow.remove_dir(&p("/d/sub")).unwrap();
        cow.remove_file(&p("/d/a.txt")).unwrap();
        cow.remove_dir(&p("/d")).unwrap();
        assert_eq!(cow.stat(&p("/d"), Follow::Yes), Err(FsError::NotFound));
        cow.mkdir(&p("/d")).unwrap();
        assert!(names(&cow, "/d").is_empty());
        assert_eq!(read(&cow, "/d/a.txt"), Err(FsError::NotFound));
        // A file created under the re-created dir is visible.
        cow.open(&p("/d/new"), &OpenOptions::create_truncate())
            .unwrap();
        assert_eq!(names(&cow, "/d"), ["new"]);
    }

    #[test]
    fn rename_dir_moves_base_children_and_hides_source() {
        let b = base();
        let cow = CowFs::new(b.clone());
        cow.rename(&p("/d"), &p("/e")).unwrap();
        assert_eq!(cow.stat(&p("/d"), Follow::Yes), Err(FsError::NotFound));
        assert_eq!(read(&cow, "/e/sub/b.txt").unwrap(), b"B");
        assert_eq!(names(&cow, "/"), ["e", "top.txt"]);
        cow.mkdir(&p("/d")).unwrap();
        assert!(names(&cow, "/d").is_empty());
        let changes = cow.commit().unwrap();
        assert!(changes.contains(&Change {
            path: p("/e/sub/b.txt"),
            kind: ChangeKind::Added,
            file_kind: FileKind::File
        }));
        assert_eq!(read(b.as_ref(), "/e/a.txt").unwrap(), b"A");
        assert!(names(b.as_ref(), "/d").is_empty());
        assert!(cow.changes().unwrap().is_empty());
    }

    #[test]
    fn rename_errors_change_nothing() {
        let cow = CowFs::new(base());
        assert_eq!(
            cow.rename(&p("/top.txt"), &p("/d")),
            Err(FsError::IsADirectory)
        );
        assert_eq!(
            cow.rename(&p("/d"), &p("/top.txt")),
            Err(FsError::NotADirectory)
        );
        cow.mkdir(&p("/empty")).unwrap();
        assert_eq!(
            cow.rename(&p("/empty"), &p("/d")),
            Err(FsError::DirectoryNotEmpty)
        );
        assert_eq!(cow.rename(&p("/missing"), &p("/x")), Err(FsError::NotFound));
        assert_eq!(
            cow.rename(&p("/top.txt"), &p("/nodir/x")),
            Err(FsError::NotFound)
        );
        assert_eq!(read(&cow, "/top.txt").unwrap(), b"T");
        assert_eq!(names(&cow, "/d"), ["a.txt", "sub"]);
    }
}
