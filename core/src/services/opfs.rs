//! `OpfsFs` (browser): `/workspace` on the Origin Private File System.
//!
//! OPFS directory operations are asynchronous while a file service answers synchronously, so
//! the service keeps the tree in a [`MemFs`] (loaded from OPFS by [`OpfsFs::open`]) and
//! mirrors every change to OPFS in order: each mutation marks its path dirty, and
//! [`OpfsFs::flush`] (also started automatically once changes pause: [`QUIET_MS`], at most
//! [`MAX_DEFER_MS`] after the first) makes OPFS match the tree at that path — writing the
//! file or directory, or removing what is gone. Files are written in [`CHUNK`]-sized
//! pieces, each awaited, so mirroring a large file never holds the page's thread for long
//! (guests run on that thread too) and a file a guest keeps writing is not re-copied after
//! every write. Each pass writes first and removes after (removals wait for every write
//! queued with them), and a rename queues the new name before the old one: OPFS keeps a
//! full copy of a renamed file under its old or new name throughout. OPFS has no symlinks or hard links: those are
//! refused (`ENOTSUP`). Paths are normalised by [`FsPath`] and OPFS itself refuses `..`, `/`
//! and NUL in names: nothing can leave the directory the service was opened on.

use super::OPFS_KIND;
use crate::error::{FsError, FsResult};
use crate::fs::MemFs;
use crate::path::FsPath;
use crate::service::{DirEntry, FileHandle, FileKind, FileService, Follow, Metadata, OpenOptions};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// How long changes must pause before the background flush mirrors them (ms).
pub const QUIET_MS: f64 = 200.0;
/// The longest a background flush waits for changes to pause (ms).
pub const MAX_DEFER_MS: f64 = 2000.0;
/// Tries of a background flush that failed, before it waits for the next change.
const RETRIES: u32 = 3;
/// Bytes of a file written to OPFS per step.
pub const CHUNK: usize = 4 << 20;

struct Shared {
    mem: MemFs,
    root: JsValue,
    dirty: RefCell<VecDeque<FsPath>>,
    flushing: Cell<bool>,
    error: RefCell<Option<String>>,
    /// When a path was last marked dirty (`Date.now()` ms).
    last_mark: Cell<f64>,
    /// Inodes whose contents changed since their mirroring last started, with the lowest
    /// offset changed: a copy to OPFS whose bytes changed meanwhile is discarded, not
    /// committed half old, half new (bytes appended past what it copied do not matter:
    /// it is the file as it was).
    written: RefCell<HashMap<u64, u64>>,
    /// Renames (new name, old name) since everything was last mirrored: when writing a new
    /// name fails, changes at its old name wait (OPFS holds the data there).
    renames: RefCell<Vec<(FsPath, FsPath)>>,
}

impl Shared {
    /// Notes that the contents of inode `ino` changed from offset `from` on.
    fn changed(&self, ino: u64, from: u64) {
        self.written
            .borrow_mut()
            .entry(ino)
            .and_modify(|o| *o = (*o).min(from))
            .or_insert(from);
    }
}

/// A promise resolved after `ms` (a macrotask: the event loop runs meanwhile).
fn timer(ms: f64) -> JsFuture {
    JsFuture::from(Promise::new(&mut |res, _| {
        if let Ok(f) = Reflect::get(&js_sys::global(), &"setTimeout".into()) {
            let _ = f
                .unchecked_into::<Function>()
                .call2(&JsValue::NULL, &res, &ms.into());
        }
    }))
}

/// A directory of the Origin Private File System as a file service.
#[derive(Clone)]
pub struct OpfsFs {
    shared: Rc<Shared>,
}

fn js(e: JsValue) -> FsError {
    let name = Reflect::get(&e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "NotFoundError" => FsError::NotFound,
        "QuotaExceededError" => FsError::NoSpace,
        "TypeMismatchError" => FsError::NotADirectory,
        "InvalidModificationError" => FsError::DirectoryNotEmpty,
        "NotAllowedError" | "SecurityError" => FsError::PermissionDenied,
        _ => FsError::Io(format!("OPFS: {e:?}")),
    }
}

async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> FsResult<JsValue> {
    let f: Function = Reflect::get(target, &method.into())
        .map_err(js)?
        .dyn_into()
        .map_err(|_| FsError::Io(format!("OPFS: no {method}")))?;
    let arr: Array = args.iter().collect();
    let p: Promise = f.apply(target, &arr).map_err(js)?.unchecked_into();
    JsFuture::from(p).await.map_err(js)
}

fn create(yes: bool) -> JsValue {
    let o = Object::new();
    let _ = Reflect::set(&o, &"create".into(), &yes.into());
    o.into()
}

async fn dir_of(root: &JsValue, parts: &[&str], make: bool) -> FsResult<JsValue> {
    let mut dir = root.clone();
    for p in parts {
        dir = call(&dir, "getDirectoryHandle", &[(*p).into(), create(make)]).await?;
    }
    Ok(dir)
}

/// The entries of an OPFS directory as (name, kind, handle).
async fn entries(dir: &JsValue) -> FsResult<Vec<(String, String, JsValue)>> {
    let it = Reflect::get(dir, &"values".into())
        .map_err(js)?
        .unchecked_into::<Function>()
        .call0(dir)
        .map_err(js)?;
    let mut out = Vec::new();
    loop {
        let step = call(&it, "next", &[]).await?;
        if Reflect::get(&step, &"done".into()).map_err(js)?.is_truthy() {
            return Ok(out);
        }
        let h = Reflect::get(&step, &"value".into()).map_err(js)?;
        let name = Reflect::get(&h, &"name".into())
            .map_err(js)?
            .as_string()
            .unwrap_or_default();
        let kind = Reflect::get(&h, &"kind".into())
            .map_err(js)?
            .as_string()
            .unwrap_or_default();
        out.push((name, kind, h));
    }
}

impl OpfsFs {
    /// Opens (creating) the OPFS directory `name` under the origin's root and loads it.
    pub async fn open(name: &str) -> FsResult<Self> {
        let storage = Reflect::get(&js_sys::global(), &"navigator".into())
            .and_then(|n| Reflect::get(&n, &"storage".into()))
            .map_err(js)?;
        let origin_root = call(&storage, "getDirectory", &[]).await?;
        let root = dir_of(&origin_root, &[name], true).await?;
        let mem = MemFs::new();
        // Load the tree, breadth first.
        let mut pending = vec![(FsPath::root(), root.clone())];
        while let Some((at, dir)) = pending.pop() {
            for (n, kind, h) in entries(&dir).await? {
                let path = at.join_name(&n);
                if kind == "directory" {
                    mem.mkdir(&path)?;
                    pending.push((path, h));
                } else {
                    let file = call(&h, "getFile", &[]).await?;
                    let buf = call(&file, "arrayBuffer", &[]).await?;
                    mem.write_file(path.as_str(), &Uint8Array::new(&buf).to_vec())?;
                }
            }
        }
        Ok(OpfsFs {
            shared: Rc::new(Shared {
                mem,
                root,
                dirty: RefCell::default(),
                flushing: Cell::new(false),
                error: RefCell::default(),
                last_mark: Cell::new(0.0),
                written: RefCell::default(),
                renames: RefCell::default(),
            }),
        })
    }

    /// Makes OPFS match the tree for every change so far, in order. On an error (e.g. quota
    /// exceeded) the path stays queued, the error is kept for [`Self::last_error`], and the
    /// tree in memory is unaffected; the other queued changes are still mirrored, except
    /// removals, and changes at, above or below a path that failed or the old name of one
    /// renamed to it: those wait behind it (OPFS may hold the only copy there).
    ///
    /// One flush runs at a time: this waits for a background flush to finish first (two at
    /// once would race on the same entries: removing one while the other has it open for
    /// writing fails with `NoModificationAllowedError`).
    pub async fn flush(&self) -> FsResult<()> {
        let _ = self.settled().await;
        // `settled` returned right after seeing no flush running, with no await since.
        self.shared.flushing.set(true);
        let r = self.drain().await;
        self.shared.flushing.set(false);
        r
    }

    /// Mirrors queued paths until none is left (the caller holds `flushing`), in two
    /// passes over what is queued: first every write (files and directories the tree holds,
    /// in queue order), then every removal (paths gone from the tree, and entries gone from
    /// the directories written). So nothing is removed from OPFS before every change queued
    /// with it is written: wherever a renamed file's data went (a rename, then a rename of
    /// a directory it was in...), OPFS holds it under its old or new name throughout.
    /// Paths that failed, and those that must wait behind them, are queued again.
    async fn drain(&self) -> FsResult<()> {
        let s = &self.shared;
        let mut held: Vec<FsPath> = Vec::new();
        let mut failed = None;
        loop {
            let mut removals = Vec::new();
            loop {
                // Taken off the queue before it is mirrored: a change made while the
                // mirroring awaits OPFS queues the path again (`mark` skips a path only when
                // it is still waiting at the back), so the change is not lost.
                let next = s.dirty.borrow_mut().pop_front();
                let Some(path) = next else { break };
                if must_wait(s, &held, &path) {
                    held.push(path);
                    continue;
                }
                match write(s, &path).await {
                    Ok(true) => removals.push(path),
                    Ok(false) => {}
                    Err(e) => {
                        *s.error.borrow_mut() = Some(format!("{path}: {e}"));
                        held.push(path);
                        failed.get_or_insert(e);
                    }
                }
            }
            for path in removals {
                // After a failed write, no removal: it may be the old copy of what failed.
                if failed.is_some() {
                    held.push(path);
                } else if let Err(e) = remove_gone(s, &path).await {
                    *s.error.borrow_mut() = Some(format!("{path}: {e}"));
                    held.push(path);
                    failed.get_or_insert(e);
                }
            }
            if failed.is_some() || s.dirty.borrow().is_empty() {
                break;
            }
        }
        match failed {
            None => {
                *s.error.borrow_mut() = None;
                // Every change is mirrored: no copy is running, no old name is needed.
                s.written.borrow_mut().clear();
                s.renames.borrow_mut().clear();
                Ok(())
            }
            Some(e) => {
                // Ahead of anything marked since, in their order.
                let mut d = s.dirty.borrow_mut();
                for p in held.into_iter().rev() {
                    d.push_front(p);
                }
                Err(e)
            }
        }
    }

    /// Waits until no background flush is running (yielding to the event loop meanwhile),
    /// then reports the last mirroring error, if any: the condition tests wait for instead
    /// of a time allowance.
    pub async fn settled(&self) -> Result<(), String> {
        while self.shared.flushing.get() {
            // A macrotask turn (setTimeout 0), so the flush's OPFS promises can progress.
            let _ = timer(0.0).await;
        }
        match self.last_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether the directory holds nothing yet.
    pub fn is_empty(&self) -> bool {
        self.shared
            .mem
            .readdir(&FsPath::root())
            .map_or(true, |e| e.is_empty())
    }

    /// Makes this tree a copy of `src`'s (files, directories; links are skipped) and mirrors
    /// it to OPFS: how a guest's results, computed on a copy in a worker, come back.
    pub fn replace_tree(&self, src: &dyn FileService) -> FsResult<()> {
        let mem = &self.shared.mem;
        clear(mem, &FsPath::root())?;
        mem.copy_from(src)?;
        self.mark(&FsPath::root());
        Ok(())
    }

    /// Whether changes are waiting to reach OPFS (queued, or being written).
    pub fn pending(&self) -> bool {
        self.shared.flushing.get() || !self.shared.dirty.borrow().is_empty()
    }

    /// The last error mirroring to OPFS, if any (e.g. quota exceeded).
    pub fn last_error(&self) -> Option<String> {
        self.shared.error.borrow().clone()
    }

    /// Queues `path` and starts a background flush unless one runs.
    fn mark(&self, path: &FsPath) {
        {
            let mut d = self.shared.dirty.borrow_mut();
            if d.back() != Some(path) {
                d.push_back(path.clone());
            }
        }
        self.shared.last_mark.set(js_sys::Date::now());
        if self.shared.flushing.replace(true) {
            return;
        }
        let me = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // Let a burst of changes (a guest writing a file piece by piece) settle first.
            let first = js_sys::Date::now();
            loop {
                let _ = timer(QUIET_MS).await;
                let now = js_sys::Date::now();
                if now - me.shared.last_mark.get() >= QUIET_MS || now - first >= MAX_DEFER_MS {
                    break;
                }
            }
            let mut retries = 0;
            loop {
                let ok = me.drain().await.is_ok();
                if !ok && retries < RETRIES {
                    // A passing failure (the file busy elsewhere) gets a few more tries;
                    // the error stays visible through `last_error` meanwhile.
                    retries += 1;
                    let _ = timer(1000.0 * f64::from(retries)).await;
                    continue;
                }
                me.shared.flushing.set(false);
                // Stop on error (the next change retries) or when nothing is left; go on if
                // changes arrived after the last check and nobody else took them.
                if !ok || me.shared.dirty.borrow().is_empty() || me.shared.flushing.replace(true) {
                    break;
                }
            }
        });
    }
}

/// Whether `path` must wait behind the paths `held` back (failed, or waiting): it is at,
/// above or below one of them, or of the old name of one renamed to one of them (OPFS
/// may hold that one's only copy there), following renames back.
fn must_wait(s: &Shared, held: &[FsPath], path: &FsPath) -> bool {
    if held.is_empty() {
        return false;
    }
    let related = |a: &FsPath, b: &FsPath| a.starts_with(b) || b.starts_with(a);
    let mut blocked: Vec<FsPath> = held.to_vec();
    let renames = s.renames.borrow();
    loop {
        let more: Vec<FsPath> = renames
            .iter()
            .filter(|(to, from)| !blocked.contains(from) && blocked.iter().any(|b| related(b, to)))
            .map(|(_, from)| from.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        blocked.extend(more);
    }
    blocked.iter().any(|b| related(b, path))
}

/// Writes to OPFS at `path` what the MemFs holds there (recursively), removing nothing
/// but entries of another kind in the way. `true` if [`remove_gone`] has work at `path`:
/// the path is gone from the tree, or is a directory (entries gone from it).
async fn write(s: &Shared, path: &FsPath) -> FsResult<bool> {
    let Some((parent, name)) = path.split_last() else {
        reconcile_dir(s, &s.root, &FsPath::root()).await?;
        return Ok(true);
    };
    match s.mem.stat(path, Follow::No) {
        // Gone, or a parent is no longer a directory (so the entry is gone too).
        Err(FsError::NotFound | FsError::NotADirectory) => Ok(true),
        Err(e) => Err(e),
        Ok(m) => {
            let parts: Vec<&str> = parent.components().collect();
            let dir = make_dirs(&s.root, &parts).await?;
            write_tree(s, &dir, path, name, m.kind).await?;
            Ok(m.kind == FileKind::Dir)
        }
    }
}

/// Removes from OPFS what the MemFs no longer holds at `path`: the entry itself if the
/// path is gone (a parent in OPFS may be missing or a file: then it is not there), or the
/// entries gone from the directory at `path`, recursively.
async fn remove_gone(s: &Shared, path: &FsPath) -> FsResult<()> {
    let parts: Vec<&str> = path.components().collect();
    match s.mem.stat(path, Follow::No) {
        Err(FsError::NotFound | FsError::NotADirectory) => {
            let Some((name, parent)) = parts.split_last() else {
                return Ok(());
            };
            match dir_of(&s.root, parent, false).await {
                Ok(dir) => match call(&dir, "removeEntry", &[(*name).into(), recursive()]).await {
                    Ok(_) | Err(FsError::NotFound) => Ok(()),
                    Err(e) => Err(e),
                },
                Err(FsError::NotFound | FsError::NotADirectory) => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
        Ok(m) if m.kind == FileKind::Dir => match dir_of(&s.root, &parts, false).await {
            Ok(dir) => prune_dir(s, &dir, path).await,
            // Not written (it changed meanwhile: that change is queued).
            Err(FsError::NotFound | FsError::NotADirectory) => Ok(()),
            Err(e) => Err(e),
        },
        Ok(_) => Ok(()),
    }
}

/// Removes from the OPFS directory `dir` the entries the MemFs directory `path` no longer
/// holds, recursively.
async fn prune_dir(s: &Shared, dir: &JsValue, path: &FsPath) -> FsResult<()> {
    let want = match s.mem.readdir(path) {
        Ok(w) => w,
        // Gone meanwhile: that change is queued.
        Err(FsError::NotFound | FsError::NotADirectory) => return Ok(()),
        Err(e) => return Err(e),
    };
    for (n, k, h) in entries(dir).await? {
        match want.iter().find(|e| e.name == n) {
            None => match call(dir, "removeEntry", &[n.into(), recursive()]).await {
                Ok(_) | Err(FsError::NotFound) => {}
                Err(e) => return Err(e),
            },
            Some(e) if e.kind == FileKind::Dir && k == "directory" => {
                Box::pin(prune_dir(s, &h, &path.join_name(&n))).await?;
            }
            // A file, or of another kind than in OPFS: that change is queued.
            Some(_) => {}
        }
    }
    Ok(())
}

/// The OPFS directory at `parts` under `root`, made where missing, and where a file stands
/// in the way replaced by a directory (the tree in memory has directories there; the file's
/// own change is queued too).
async fn make_dirs(root: &JsValue, parts: &[&str]) -> FsResult<JsValue> {
    let mut dir = root.clone();
    for p in parts {
        dir = match call(&dir, "getDirectoryHandle", &[(*p).into(), create(true)]).await {
            Ok(d) => d,
            Err(FsError::NotADirectory) => {
                call(&dir, "removeEntry", &[(*p).into()]).await?;
                call(&dir, "getDirectoryHandle", &[(*p).into(), create(true)]).await?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(dir)
}

fn recursive() -> JsValue {
    let opts = Object::new();
    let _ = Reflect::set(&opts, &"recursive".into(), &true.into());
    opts.into()
}

/// Writes into the OPFS directory `dir` the entries of the MemFs directory `path` (as
/// listed when this starts: what changes meanwhile is queued again); entries gone from it
/// are removed later, by [`remove_gone`].
async fn reconcile_dir(s: &Shared, dir: &JsValue, path: &FsPath) -> FsResult<()> {
    let want = match s.mem.readdir(path) {
        Ok(w) => w,
        // Gone meanwhile (removed or renamed): that change is queued and mirrors it.
        Err(FsError::NotFound | FsError::NotADirectory) => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in &want {
        let child = path.join_name(&e.name);
        Box::pin(write_tree(s, dir, &child, &e.name, e.kind)).await?;
    }
    Ok(())
}

async fn write_tree(
    s: &Shared,
    dir: &JsValue,
    path: &FsPath,
    name: &str,
    kind: FileKind,
) -> FsResult<()> {
    if kind == FileKind::Dir {
        // Replace a file of that name, then mirror the directory's entries.
        let sub = match call(dir, "getDirectoryHandle", &[name.into(), create(true)]).await {
            Ok(d) => d,
            Err(FsError::NotADirectory) => {
                call(dir, "removeEntry", &[name.into()]).await?;
                call(dir, "getDirectoryHandle", &[name.into(), create(true)]).await?
            }
            Err(e) => return Err(e),
        };
        return reconcile_dir(s, &sub, path).await;
    }
    let fh = match call(dir, "getFileHandle", &[name.into(), create(true)]).await {
        Ok(h) => h,
        Err(FsError::NotADirectory) => {
            call(dir, "removeEntry", &[name.into(), recursive()]).await?;
            call(dir, "getFileHandle", &[name.into(), create(true)]).await?
        }
        Err(e) => return Err(e),
    };
    let w = call(&fh, "createWritable", &[]).await?;
    match write_chunks(s, path, &w).await {
        Ok(true) => call(&w, "close", &[]).await.map(|_| ()),
        r => {
            // Nothing half-written replaces the file: on an error the path is queued
            // again; a file gone meanwhile (removed or renamed) has that change queued.
            let _ = call(&w, "abort", &[]).await;
            r.map(|_| ())
        }
    }
}

/// Writes the MemFs file at `path` to the writable stream `w`, [`CHUNK`] bytes at a time;
/// `false` if it is not to be committed: the file is no longer there (its removal or rename
/// is queued), or bytes it copied changed meanwhile (reads and writes interleave across
/// the awaits: the copy may mix old and new pieces; the change marked the path again, so
/// the next pass writes it whole, and OPFS keeps the last whole copy meanwhile). Appends
/// past what it copied keep it: it is the file as it was when the copy started.
async fn write_chunks(s: &Shared, path: &FsPath, w: &JsValue) -> FsResult<bool> {
    let h = match FileService::open(&s.mem, path, &OpenOptions::read()) {
        Ok(h) => h,
        Err(FsError::NotFound | FsError::NotADirectory) => return Ok(false),
        Err(e) => return Err(e),
    };
    let meta = h.metadata()?;
    s.written.borrow_mut().remove(&meta.ino);
    let len = meta.size;
    let mut buf = vec![0u8; (len as usize).min(CHUNK)];
    let mut off = 0u64;
    while off < len {
        // Up to `len`: bytes appended since are not this copy's (it is the file as it was).
        let want = buf.len().min((len - off) as usize);
        let n = h.read_at(&mut buf[..want], off)?;
        if n == 0 {
            break;
        }
        call(w, "write", &[Uint8Array::from(&buf[..n]).into()]).await?;
        off += n as u64;
    }
    Ok(s.written
        .borrow()
        .get(&meta.ino)
        .is_none_or(|from| *from >= off))
}

fn clear(mem: &MemFs, dir: &FsPath) -> FsResult<()> {
    for e in mem.readdir(dir)? {
        let p = dir.join_name(&e.name);
        if e.kind == FileKind::Dir {
            clear(mem, &p)?;
            mem.remove_dir(&p)?;
        } else {
            mem.remove_file(&p)?;
        }
    }
    Ok(())
}

/// A handle whose writes mark the file dirty, at the file's current path: the handle
/// keeps its inode and the path where it last found it, checked (one lookup) on every
/// write. After a rename (of the file or a directory above it) the path no longer leads
/// to the inode and the tree is searched for it once; a file with no name left (removed)
/// marks nothing, its removal is queued already. (OPFS has no hard links, so a file has
/// at most one path.)
struct Tracked {
    inner: Box<dyn FileHandle>,
    fs: OpfsFs,
    ino: u64,
    path: RefCell<FsPath>,
}

impl Tracked {
    /// Marks the file dirty, its contents changed from offset `from` on.
    fn mark(&self, from: u64) {
        self.fs.shared.changed(self.ino, from);
        let mem = &self.fs.shared.mem;
        let here = self.path.borrow().clone();
        if mem.stat(&here, Follow::No).map(|m| m.ino) == Ok(self.ino) {
            self.fs.mark(&here);
            return;
        }
        if self.inner.metadata().map_or(true, |m| m.nlink == 0) {
            return;
        }
        if let Some(now) = find_ino(mem, &FsPath::root(), self.ino) {
            self.fs.mark(&now);
            *self.path.borrow_mut() = now;
        }
    }
}

/// The path of inode `ino` in the tree below `dir`, if it is there.
fn find_ino(mem: &MemFs, dir: &FsPath, ino: u64) -> Option<FsPath> {
    let entries = mem.readdir(dir).ok()?;
    if let Some(e) = entries.iter().find(|e| e.ino == ino) {
        return Some(dir.join_name(&e.name));
    }
    entries
        .iter()
        .filter(|e| e.kind == FileKind::Dir)
        .find_map(|e| find_ino(mem, &dir.join_name(&e.name), ino))
}

impl FileHandle for Tracked {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        let n = self.inner.write_at(buf, offset)?;
        self.mark(offset);
        Ok(n)
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        let end = self.inner.append(buf)?;
        // (Where the bytes went, whether `end` is their start or their end.)
        self.mark(end.saturating_sub(buf.len() as u64));
        Ok(end)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        self.inner.metadata()
    }

    fn set_len(&self, len: u64) -> FsResult<()> {
        let was = self.inner.metadata().map_or(0, |m| m.size);
        self.inner.set_len(len)?;
        self.mark(len.min(was));
        Ok(())
    }

    fn set_times(&self, a: Option<u64>, m: Option<u64>) -> FsResult<()> {
        self.inner.set_times(a, m)
    }
}

impl FileService for OpfsFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let existed = self.shared.mem.stat(path, Follow::No).is_ok();
        let inner = self.shared.mem.open(path, opts)?;
        if !opts.mutates() {
            return Ok(inner);
        }
        if !existed || opts.truncate {
            if let Ok(m) = inner.metadata() {
                self.shared.changed(m.ino, 0);
            }
            self.mark(path);
        }
        Ok(Box::new(Tracked {
            ino: inner.metadata()?.ino,
            inner,
            fs: self.clone(),
            path: RefCell::new(path.clone()),
        }))
    }

    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        self.shared.mem.stat(path, follow)
    }

    fn dir_path(&self, ino: u64) -> Option<FsPath> {
        self.shared.mem.dir_path(ino)
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        self.shared.mem.readdir(path)
    }

    fn mkdir(&self, path: &FsPath) -> FsResult<()> {
        self.shared.mem.mkdir(path)?;
        self.mark(path);
        Ok(())
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        self.shared.mem.remove_file(path)?;
        self.mark(path);
        Ok(())
    }

    fn remove_dir(&self, path: &FsPath) -> FsResult<()> {
        self.shared.mem.remove_dir(path)?;
        self.mark(path);
        Ok(())
    }

    /// The new name is queued before the old one (and a flush writes before it removes),
    /// so OPFS holds the data under one name or the other at every moment: a reload
    /// mid-way, or a failed write of the new name, loses nothing. Queued changes at or
    /// below the old name are dropped: the old name's removal and the new name's write
    /// cover them.
    fn rename(&self, from: &FsPath, to: &FsPath) -> FsResult<()> {
        self.shared.mem.rename(from, to)?;
        self.shared
            .dirty
            .borrow_mut()
            .retain(|q| !q.starts_with(from));
        self.shared
            .renames
            .borrow_mut()
            .push((to.clone(), from.clone()));
        self.mark(to);
        self.mark(from);
        Ok(())
    }

    fn set_times(
        &self,
        path: &FsPath,
        a: Option<u64>,
        m: Option<u64>,
        follow: Follow,
    ) -> FsResult<()> {
        self.shared.mem.set_times(path, a, m, follow)
    }

    fn symlink(&self, _target: &str, _link: &FsPath) -> FsResult<()> {
        Err(FsError::NotSupported)
    }

    fn link(&self, _existing: &FsPath, _new: &FsPath) -> FsResult<()> {
        Err(FsError::NotSupported)
    }

    /// A copy of the in-memory tree (how a worker gets `/workspace`); OPFS itself is the
    /// persistent store, so `persist` stores do not save it again.
    fn snapshot(&self) -> Option<crate::snapshot::ServiceSnapshot> {
        self.shared.mem.snapshot()
    }

    fn kind(&self) -> &'static str {
        OPFS_KIND
    }
}
