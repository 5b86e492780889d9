//! The file requests: the mount table, the tree, listings, the file view, and the edits
//! the explorer makes (create, write, rename, remove).

use crate::proto::{Entry, FileRequest, Listing, Mount, Reply, Shown, TreeRow, TREE_MAX_ROWS};
use oanix_core::{FileKind, FileService, FsError, FsPath, Namespace, OpenOptions};

/// Answers a file request on `ns`.
pub(super) fn handle(ns: &Namespace, request: FileRequest) -> Result<Reply, FsError> {
    Ok(match request {
        FileRequest::Mounts => Reply::Mounts(mounts(ns)),
        FileRequest::Tree => {
            let mut rows = Vec::new();
            walk(ns, &FsPath::root(), 0, &mut rows);
            Reply::Tree(rows)
        }
        FileRequest::IsDir { path } => Reply::IsDir(ns.metadata(&path)?.is_dir()),
        FileRequest::List { path } => Reply::Listing(list(ns, &path)?),
        FileRequest::Show { path, limit, tail } => Reply::Shown(show(ns, &path, limit, tail)?),
        FileRequest::Read { path } => Reply::Bytes(ns.read_file(&path)?),
        FileRequest::Write { path, bytes } => {
            ns.write_file(&path, &bytes)?;
            Reply::Done
        }
        FileRequest::Create { path, folder } => {
            let p = FsPath::parse(&path)?;
            if ns.metadata(&path).is_ok() {
                return Err(FsError::AlreadyExists);
            }
            if folder {
                ns.mkdir(&p)?;
            } else {
                ns.write_file(&path, b"")?;
            }
            Reply::Done
        }
        FileRequest::Rename { from, to } => {
            let (f, t) = (FsPath::parse(&from)?, FsPath::parse(&to)?);
            if ns.metadata(&to).is_ok() {
                return Err(FsError::AlreadyExists);
            }
            ns.rename(&f, &t)?;
            Reply::Done
        }
        FileRequest::Remove { path } => {
            ns.remove_file(&FsPath::parse(&path)?)?;
            Reply::Done
        }
    })
}

fn mounts(ns: &Namespace) -> Vec<Mount> {
    ns.mounts()
        .into_iter()
        .map(|m| {
            let kinds: Vec<&str> = m.layers.iter().map(|l| l.service.kind()).collect();
            Mount {
                path: m.path.to_absolute(),
                kinds: kinds.join(" + "),
            }
        })
        .collect()
}

fn sorted(ns: &Namespace, dir: &FsPath) -> Result<Vec<oanix_core::DirEntry>, FsError> {
    let mut v = ns.readdir(dir)?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

fn walk(ns: &Namespace, dir: &FsPath, depth: usize, out: &mut Vec<TreeRow>) {
    let Ok(entries) = sorted(ns, dir) else {
        return;
    };
    for e in entries {
        if out.len() >= TREE_MAX_ROWS {
            return;
        }
        let path = dir.join_name(&e.name);
        let is_dir = e.kind == FileKind::Dir;
        out.push(TreeRow {
            path: path.to_absolute(),
            name: e.name,
            depth,
            is_dir,
        });
        if is_dir && depth < 8 {
            walk(ns, &path, depth + 1, out);
        }
    }
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::File => "file",
        FileKind::Dir => "dir",
        FileKind::Symlink => "symlink",
        FileKind::Stream => "stream",
    }
}

fn list(ns: &Namespace, path: &str) -> Result<Listing, FsError> {
    let p = FsPath::parse(path)?;
    let entries = sorted(ns, &p)?
        .into_iter()
        .map(|e| {
            let full = p.join_name(&e.name).to_absolute();
            let size = ns.metadata(&full).map_or(0, |m| m.size);
            Entry {
                path: full,
                name: e.name,
                kind: kind_name(e.kind).into(),
                size,
            }
        })
        .collect();
    Ok(Listing {
        entries,
        writable: dir_writable(ns, path),
    })
}

fn show(ns: &Namespace, path: &str, limit: u64, tail: bool) -> Result<Shown, FsError> {
    let can = abilities(ns, path);
    if ns.metadata(path)?.kind == FileKind::Stream {
        // Reading a stream takes what a program was to read (a response, a message).
        return Ok(Shown {
            bytes: Vec::new(),
            size: 0,
            save: can.0,
            rename_delete: can.1,
            stream: true,
        });
    }
    let h = ns.open(&FsPath::parse(path)?, &OpenOptions::read())?;
    let size = h.metadata()?.size;
    let start = if tail { size.saturating_sub(limit) } else { 0 };
    let want = usize::try_from(limit.min(size - start)).map_err(|_| FsError::FileTooLarge)?;
    let mut bytes = vec![0u8; want];
    let mut got = 0;
    while got < want {
        let n = h.read_at(&mut bytes[got..], start + got as u64)?;
        if n == 0 {
            break;
        }
        got += n;
    }
    bytes.truncate(got);
    Ok(Shown {
        bytes,
        size,
        save: can.0,
        rename_delete: can.1,
        stream: false,
    })
}

/// The kind of the service mounted where `path` is (its longest mount prefix).
fn mount_kind(ns: &Namespace, path: &str) -> &'static str {
    ns.mounts()
        .into_iter()
        .filter(|m| {
            let mp = m.path.to_absolute();
            mp == "/" || path == mp || path.starts_with(&format!("{mp}/"))
        })
        .max_by_key(|m| m.path.as_str().len())
        .and_then(|m| m.layers.first().map(|l| l.service.kind()))
        .unwrap_or("")
}

/// What the file view offers for `path`: (save, rename and delete) — only what its
/// service can do.
fn abilities(ns: &Namespace, path: &str) -> (bool, bool) {
    let writable = ns.metadata(path).is_ok_and(|m| !m.readonly);
    match mount_kind(ns, path) {
        // Fixed sets of files: some writable in place (result.json, a job's ctl), none
        // renamed or deleted.
        "taskfs" | "jobsfs" | "funcfs" => (writable, false),
        // Append-only logs: a save would truncate (refused), nothing is removed.
        "logsfs" => (false, false),
        _ => (writable, writable),
    }
}

/// Whether new files can be made in `dir` (a writable directory of a general service).
fn dir_writable(ns: &Namespace, dir: &str) -> bool {
    let writable = ns.metadata(dir).is_ok_and(|m| !m.readonly);
    writable
        && !matches!(
            mount_kind(ns, dir),
            "taskfs" | "jobsfs" | "funcfs" | "logsfs"
        )
}
