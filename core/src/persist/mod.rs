//! Persistence of namespaces: IndexedDB in the browser (`idb`, wasm32), SQLite natively
//! (`sqlite`). Both follow the same rules, implemented once here:
//!
//! - A saved namespace = a manifest (its mount table as a [`NamespaceSnapshot`] with the
//!   MemFs/MapFs inode lists left empty) + its inodes, keyed (mount, layer, ino): SQLite
//!   keeps one row per inode; IndexedDB keeps the inodes a save writes together in packs
//!   (its per-record cost makes one record per inode slow; see the `idb` module).
//! - **Incremental, O(changed)**: every MemFs inode carries a version bumped when it
//!   changes ([`crate::fs::MemFs::versions`]); a save compares versions with those of the
//!   last save or load and copies, encodes and writes only the inodes that changed, deletes
//!   the ones that are gone, and rewrites the small manifest. No file's bytes are read or
//!   hashed to find out what changed, so a one-file edit costs one inode whatever the size
//!   of the namespace.
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

use crate::snapshot::{
    InodeSnapshot, LayerSnapshot, MemFsSnapshot, MountSnapshot, NamespaceSnapshot, NodeSnapshot,
    ServiceSnapshot,
};
use crate::{FsResult, Namespace};
use std::collections::{HashMap, HashSet};

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
    /// Unchanged inode records rewritten to reclaim space (IndexedDB moves the live inodes
    /// out of packs that are mostly garbage; SQLite never does).
    pub compacted: usize,
}

/// A restored namespace and what could not be restored.
pub struct Loaded {
    /// The namespace.
    pub namespace: Namespace,
    /// Unreadable records and mounts that were skipped, one message each.
    pub problems: Vec<String>,
}

/// What a store knows of the records it holds for one namespace: per layer (mount path,
/// layer index), the tree its records were saved or loaded from and each inode's version.
/// Comparing a namespace with it costs one integer lookup per inode (a one-file edit in
/// 10,000 files is compared in well under a millisecond).
#[derive(Debug, Clone, Default)]
pub struct Known {
    layers: HashMap<String, HashMap<u32, Versions>>,
}

/// The inode versions of one layer's tree.
#[derive(Debug, Clone, Default)]
struct Versions {
    tree: u64,
    of: HashMap<u64, u64>,
}

impl Known {
    /// Knows nothing (everything is to be written).
    pub fn new() -> Self {
        Self::default()
    }

    fn layer(&self, mount: &str, layer: u32) -> Option<&Versions> {
        self.layers.get(mount)?.get(&layer)
    }

    /// The tree and version record `k` was saved or loaded from.
    pub fn get(&self, k: &InodeKey) -> Option<(u64, u64)> {
        let l = self.layer(&k.0, k.1)?;
        l.of.get(&k.2).map(|v| (l.tree, *v))
    }

    /// Whether record `k` is known.
    pub fn contains_key(&self, k: &InodeKey) -> bool {
        self.get(k).is_some()
    }

    /// Forgets record `k` (the next split copies it again), returning what was known.
    pub fn remove(&mut self, k: &InodeKey) -> Option<(u64, u64)> {
        let l = self.layers.get_mut(&k.0)?.get_mut(&k.1)?;
        l.of.remove(&k.2).map(|v| (l.tree, v))
    }

    /// Knows record `k` again as `was` (what [`Self::remove`] returned for it), if its
    /// layer is still known from the same tree.
    pub fn restore(&mut self, k: &InodeKey, was: (u64, u64)) {
        if let Some(l) = self.layers.get_mut(&k.0).and_then(|m| m.get_mut(&k.1)) {
            if l.tree == was.0 {
                l.of.insert(k.2, was.1);
            }
        }
    }

    /// How many records are known.
    pub fn len(&self) -> usize {
        self.layers
            .values()
            .flat_map(|m| m.values())
            .map(|l| l.of.len())
            .sum()
    }

    /// Whether no record is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every known record's key.
    pub fn keys(&self) -> impl Iterator<Item = InodeKey> + '_ {
        self.layers.iter().flat_map(|(mount, layers)| {
            layers
                .iter()
                .flat_map(move |(i, l)| l.of.keys().map(move |ino| (mount.clone(), *i, *ino)))
        })
    }

    /// The records known here and not in `now` (deleted since).
    pub fn missing_from(&self, now: &Known) -> Vec<InodeKey> {
        let mut out = Vec::new();
        for (mount, layers) in &self.layers {
            for (i, l) in layers {
                let there = now.layer(mount, *i);
                for ino in l.of.keys() {
                    if !there.is_some_and(|t| t.of.contains_key(ino)) {
                        out.push((mount.clone(), *i, *ino));
                    }
                }
            }
        }
        out
    }
}

/// A namespace cut for saving: the manifest (its mount table as a snapshot with the
/// MemFs/MapFs inode lists left empty), the inode records that changed since `known`, and
/// the fingerprint of every record the namespace has now.
pub struct Split {
    /// The manifest.
    pub manifest: NamespaceSnapshot,
    /// Records to write (new or changed).
    pub changed: Vec<(InodeKey, InodeSnapshot)>,
    /// Every record now, by key.
    pub present: Known,
}

impl Split {
    /// Whether a record the namespace has is neither written by this split nor held by
    /// the store (`existing`): the store lost it, so the save must start from scratch.
    pub fn misses(&self, existing: &HashSet<InodeKey>) -> bool {
        let changed: HashSet<&InodeKey> = self.changed.iter().map(|(k, _)| k).collect();
        self.present
            .keys()
            .any(|k| !existing.contains(&k) && !changed.contains(&k))
    }
}

/// Cuts `ns` for a save against `known` (what the store holds). Only changed inodes are
/// copied; OPFS layers keep their own contents and are left out.
pub fn split(ns: &Namespace, known: &Known) -> Split {
    walk(ns, known, true)
}

/// The fingerprints of every record of `ns` (after a load: what the store now holds).
pub fn fingerprints(ns: &Namespace) -> Known {
    walk(ns, &Known::new(), false).present
}

fn walk(ns: &Namespace, known: &Known, copy: bool) -> Split {
    let mut out = Split {
        manifest: NamespaceSnapshot { mounts: Vec::new() },
        changed: Vec::new(),
        present: Known::new(),
    };
    for m in ns.mounts() {
        let mount = m.path.to_absolute();
        let mut layers = Vec::new();
        for (i, l) in m.layers.iter().enumerate() {
            let kind = l.service.kind().to_string();
            let contents = if kind == crate::services::OPFS_KIND {
                None // OPFS keeps it; re-mounted by its owner
            } else if let Some(tree) = l.service.mem_tree() {
                let (id, next_ino, versions) = tree.versions();
                let before = known.layer(&mount, i as u32).filter(|b| b.tree == id);
                let mut now = Versions {
                    tree: id,
                    of: HashMap::with_capacity(versions.len()),
                };
                let mut changed = Vec::new();
                for (ino, v) in versions {
                    if copy && before.and_then(|b| b.of.get(&ino)) != Some(&v) {
                        changed.push(ino);
                    }
                    now.of.insert(ino, v);
                }
                out.present
                    .layers
                    .entry(mount.clone())
                    .or_default()
                    .insert(i as u32, now);
                for node in tree.inode_snapshots(&changed) {
                    out.changed
                        .push(((mount.clone(), i as u32, node.ino), node));
                }
                let table = MemFsSnapshot {
                    next_ino,
                    inodes: Vec::new(),
                };
                Some(if kind == MAPFS_KIND {
                    ServiceSnapshot::Map(table)
                } else {
                    ServiceSnapshot::Mem(table)
                })
            } else {
                l.service.snapshot()
            };
            layers.push(LayerSnapshot {
                subpath: l.subpath.clone(),
                kind,
                contents,
            });
        }
        out.manifest.mounts.push(MountSnapshot {
            path: m.path,
            layers,
        });
    }
    out
}

/// The kind name of [`crate::fs::MapFs`] (its layers are saved as `Map` tables).
const MAPFS_KIND: &str = "mapfs";

/// What a save must do, given the keys stored: the records to write, the keys to delete,
/// and counts. (The fingerprints after the save are the split's `present`.)
pub struct Plan<'a> {
    /// Records to write.
    pub put: Vec<&'a (InodeKey, InodeSnapshot)>,
    /// Keys to delete.
    pub delete: Vec<InodeKey>,
    /// Unchanged records.
    pub unchanged: usize,
}

/// Plans an incremental save of `split` over the keys the store holds.
pub fn plan<'a, 'k>(
    split: &'a Split,
    existing: impl IntoIterator<Item = &'k InodeKey>,
) -> Plan<'a> {
    Plan {
        put: split.changed.iter().collect(),
        delete: existing
            .into_iter()
            .filter(|k| !split.present.contains_key(k))
            .cloned()
            .collect(),
        unchanged: split.present.len() - split.changed.len(),
    }
}

/// Decoded records (or why each could not be decoded) assembled into a namespace.
pub fn assemble(
    mut manifest: NamespaceSnapshot,
    records: Vec<(InodeKey, Result<InodeSnapshot, String>)>,
    mut problems: Vec<String>,
) -> FsResult<(Loaded, Known)> {
    let mut by_layer: HashMap<(String, u32), Vec<InodeSnapshot>> = HashMap::new();
    for (k, node) in records {
        match node {
            Ok(node) if node.ino == k.2 => {
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
    // Mounts whose every layer keeps its own contents (OPFS, capabilities): skipping them
    // is expected.
    let self_persisting: Vec<crate::FsPath> = manifest
        .mounts
        .iter()
        .filter(|m| {
            m.layers.iter().all(|l| {
                l.kind == crate::services::OPFS_KIND || crate::services::is_capability(&l.kind)
            })
        })
        .map(|m| m.path.clone())
        .collect();
    let self_persisting = |p: &crate::FsPath| self_persisting.contains(p);
    // The records' bytes move into the restored trees (no copy).
    let (namespace, skipped) = Namespace::from_owned_snapshot(manifest)?;
    problems.extend(
        skipped
            .into_iter()
            .filter(|p| !self_persisting(p))
            .map(|p| format!("{}: not restorable, skipped", p.to_absolute())),
    );
    let known = fingerprints(&namespace);
    Ok((
        Loaded {
            namespace,
            problems,
        },
        known,
    ))
}
