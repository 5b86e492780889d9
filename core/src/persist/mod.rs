//! Persistence of namespaces: IndexedDB in the browser (`idb`, wasm32), SQLite natively
//! (`sqlite`). Both follow the same rules, implemented once here:
//!
//! - A saved namespace = a manifest (its mount table as a [`NamespaceSnapshot`] with the
//!   MemFs/MapFs inode lists left empty) + one record per inode, keyed (mount, layer, ino).
//! - **Incremental**: a save writes only the inodes whose digest changed since the last save
//!   or load, deletes the ones that are gone, and rewrites the small manifest.
//! - **Atomic**: one transaction covers a save; on any error it is rolled back, so an
//!   interrupted save (error, crash, tab closed) leaves the previous state.
//! - **Corruption is reported, not fatal**: an unreadable record is listed in
//!   [`Loaded::problems`] and skipped (directory entries pointing at it are dropped).
//! - **Quota / disk full** becomes [`crate::FsError::NoSpace`]; earlier saves stay intact.

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(not(target_arch = "wasm32"))]
pub mod sqlite;

#[cfg(target_arch = "wasm32")]
pub use idb::IdbStore;
#[cfg(not(target_arch = "wasm32"))]
pub use sqlite::SqliteStore;

use crate::snapshot::{InodeSnapshot, NamespaceSnapshot, NodeSnapshot, ServiceSnapshot};
use crate::{FsResult, Namespace};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Identifies one inode record: mount path, layer index, inode number.
pub type InodeKey = (String, u32, u64);

/// What a save did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaveStats {
    /// Inode records written (changed or new).
    pub written: usize,
    /// Inode records deleted.
    pub deleted: usize,
    /// Inode records left untouched.
    pub unchanged: usize,
    /// Bytes of file data written.
    pub bytes: u64,
}

/// A restored namespace and what could not be restored.
pub struct Loaded {
    /// The namespace.
    pub namespace: Namespace,
    /// Unreadable records and mounts that were skipped, one message each.
    pub problems: Vec<String>,
}

/// A digest of an inode's contents and times (what "changed" means for a save).
pub fn digest(i: &InodeSnapshot) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (i.ino, i.nlink, i.atime, i.mtime, i.ctime).hash(&mut h);
    match &i.node {
        NodeSnapshot::File { data } => (0u8, data).hash(&mut h),
        NodeSnapshot::Dir {
            parent,
            next_cookie,
            entries,
        } => (1u8, parent, next_cookie, entries).hash(&mut h),
        NodeSnapshot::Symlink { target } => (2u8, target).hash(&mut h),
    }
    h.finish()
}

/// The inode tables of a namespace's MemFs/MapFs layers, by key, and the manifest (the
/// snapshot with those tables emptied).
pub fn split(ns: &Namespace) -> (NamespaceSnapshot, Vec<(InodeKey, InodeSnapshot)>) {
    let mut snap = ns.snapshot();
    let mut inodes = Vec::new();
    for m in &mut snap.mounts {
        let mount = m.path.to_absolute();
        for (i, layer) in m.layers.iter_mut().enumerate() {
            if layer.kind == crate::services::OPFS_KIND {
                layer.contents = None; // OPFS keeps it; re-mounted by its owner
            }
            if let Some(ServiceSnapshot::Mem(t) | ServiceSnapshot::Map(t)) = &mut layer.contents {
                for node in t.inodes.drain(..) {
                    inodes.push(((mount.clone(), i as u32, node.ino), node));
                }
            }
        }
    }
    (snap, inodes)
}

/// What a save must do, given the keys stored and the digests known from the last save or
/// load: the records to write, the keys to delete, the new digests, and counts.
pub struct Plan<'a> {
    /// Records to write.
    pub put: Vec<&'a (InodeKey, InodeSnapshot)>,
    /// Keys to delete.
    pub delete: Vec<InodeKey>,
    /// Digests after the save.
    pub digests: HashMap<InodeKey, u64>,
    /// Unchanged records.
    pub unchanged: usize,
}

/// Plans an incremental save of `inodes` over `existing` keys.
pub fn plan<'a>(
    inodes: &'a [(InodeKey, InodeSnapshot)],
    existing: &HashSet<InodeKey>,
    known: &HashMap<InodeKey, u64>,
) -> Plan<'a> {
    let mut plan = Plan {
        put: Vec::new(),
        delete: Vec::new(),
        digests: HashMap::new(),
        unchanged: 0,
    };
    for rec in inodes {
        let d = digest(&rec.1);
        plan.digests.insert(rec.0.clone(), d);
        if existing.contains(&rec.0) && known.get(&rec.0) == Some(&d) {
            plan.unchanged += 1;
        } else {
            plan.put.push(rec);
        }
    }
    plan.delete = existing
        .iter()
        .filter(|k| !plan.digests.contains_key(*k))
        .cloned()
        .collect();
    plan
}

/// Decoded records (or why each could not be decoded) assembled into a namespace.
pub fn assemble(
    mut manifest: NamespaceSnapshot,
    records: Vec<(InodeKey, Result<InodeSnapshot, String>)>,
    mut problems: Vec<String>,
) -> FsResult<(Loaded, HashMap<InodeKey, u64>)> {
    let mut by_layer: HashMap<(String, u32), Vec<InodeSnapshot>> = HashMap::new();
    let mut digests = HashMap::new();
    for (k, node) in records {
        match node {
            Ok(node) if node.ino == k.2 => {
                digests.insert(k.clone(), digest(&node));
                by_layer.entry((k.0, k.1)).or_default().push(node);
            }
            Ok(_) => problems.push(format!("{}: inode {} has a mismatched number", k.0, k.2)),
            Err(e) => problems.push(format!("{}: inode {} is unreadable ({e})", k.0, k.2)),
        }
    }
    for m in &mut manifest.mounts {
        let mount = m.path.to_absolute();
        for (i, layer) in m.layers.iter_mut().enumerate() {
            if let Some(ServiceSnapshot::Mem(t) | ServiceSnapshot::Map(t)) = &mut layer.contents {
                let mut nodes = by_layer
                    .remove(&(mount.clone(), i as u32))
                    .unwrap_or_default();
                // Drop directory entries whose inode did not load.
                let present: HashSet<u64> = nodes.iter().map(|n| n.ino).collect();
                for n in &mut nodes {
                    if let NodeSnapshot::Dir { entries, .. } = &mut n.node {
                        entries.retain(|(entry, ino, _)| {
                            let ok = present.contains(ino);
                            if !ok {
                                problems.push(format!("{mount}: entry {entry:?} lost"));
                            }
                            ok
                        });
                    }
                }
                t.inodes = nodes;
            }
        }
    }
    let (namespace, skipped) = Namespace::from_snapshot(&manifest)?;
    let self_persisting = |p: &crate::FsPath| {
        manifest.mounts.iter().any(|m| {
            &m.path == p
                && m.layers.iter().all(|l| {
                    l.kind == crate::services::OPFS_KIND || crate::services::is_capability(&l.kind)
                })
        })
    };
    problems.extend(
        skipped
            .into_iter()
            .filter(|p| !self_persisting(p))
            .map(|p| format!("{}: not restorable, skipped", p.to_absolute())),
    );
    Ok((
        Loaded {
            namespace,
            problems,
        },
        digests,
    ))
}
