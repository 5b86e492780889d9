//! Serialisable snapshots of service contents and of whole namespaces (for persistence).
//!
//! A [`MemFsSnapshot`] is the inode table itself (so hard links survive); a [`CowFs`]
//! snapshot keeps its upper layer and whiteouts (and the base, if the base can be
//! snapshotted); a [`NamespaceSnapshot`] keeps the mount table with each layer's snapshot.
//!
//! [`CowFs`]: crate::fs::CowFs

use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::fs::{CowFs, MapFs, MemFs};
use crate::path::FsPath;
use crate::service::FileService;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One inode of a [`MemFsSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InodeSnapshot {
    /// Inode number.
    pub ino: u64,
    /// Hard-link count.
    pub nlink: u64,
    /// Access time.
    pub atime: Timestamp,
    /// Modification time.
    pub mtime: Timestamp,
    /// Change time.
    pub ctime: Timestamp,
    /// Content.
    pub node: NodeSnapshot,
}

/// Content of one inode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum NodeSnapshot {
    /// A regular file's bytes.
    File {
        /// The bytes.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// A directory: parent inode, next cookie, entries as (name, inode, cookie).
    Dir {
        /// Parent directory inode (the root is its own parent).
        parent: u64,
        /// The cookie the next new entry will get.
        next_cookie: u64,
        /// Entries: name, inode, cookie.
        entries: Vec<(String, u64, u64)>,
    },
    /// A symbolic link's target.
    Symlink {
        /// The target text.
        target: String,
    },
}

/// The inode table of a [`MemFs`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemFsSnapshot {
    /// Next inode number to hand out.
    pub next_ino: u64,
    /// Every live inode, sorted by number.
    pub inodes: Vec<InodeSnapshot>,
}

/// A snapshot of one service's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ServiceSnapshot {
    /// A writable [`MemFs`].
    Mem(MemFsSnapshot),
    /// An immutable [`MapFs`].
    Map(MemFsSnapshot),
    /// A [`CowFs`] overlay.
    Cow {
        /// The base, when it could be snapshotted.
        base: Option<Box<ServiceSnapshot>>,
        /// The upper (changed) layer.
        upper: MemFsSnapshot,
        /// Paths deleted from the base.
        whiteouts: Vec<FsPath>,
        /// Upper directories that hide the base's directory of the same path.
        opaque: Vec<FsPath>,
    },
}

impl ServiceSnapshot {
    /// Rebuilds the service. A `Cow` snapshot without a base needs `base` from the caller.
    pub fn restore(&self, base: Option<Arc<dyn FileService>>) -> FsResult<Arc<dyn FileService>> {
        Ok(match self {
            ServiceSnapshot::Mem(s) => Arc::new(MemFs::from_snapshot(s)?),
            ServiceSnapshot::Map(s) => Arc::new(MapFs::from_snapshot(s)?),
            ServiceSnapshot::Cow {
                base: saved,
                upper,
                whiteouts,
                opaque,
            } => {
                let base = match (saved, base) {
                    (Some(saved), _) => saved.restore(None)?,
                    (None, Some(given)) => given,
                    (None, None) => {
                        return Err(FsError::InvalidInput(
                            "CowFs snapshot has no base and none was given".into(),
                        ))
                    }
                };
                Arc::new(CowFs::from_parts(
                    base,
                    MemFs::from_snapshot(upper)?,
                    whiteouts.iter().cloned().collect(),
                    opaque.iter().cloned().collect(),
                ))
            }
        })
    }
}

/// One layer of a mount in a [`NamespaceSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerSnapshot {
    /// Directory inside the service that the layer shows.
    pub subpath: FsPath,
    /// Service kind (`memfs`, `funcfs`, ...), kept even when the contents are not.
    pub kind: String,
    /// Contents, when the service can be snapshotted.
    pub contents: Option<ServiceSnapshot>,
}

/// One mount point with its union of layers (first layer first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSnapshot {
    /// Where it is mounted.
    pub path: FsPath,
    /// Its layers, searched in order.
    pub layers: Vec<LayerSnapshot>,
}

/// The mount table of a namespace with each layer's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceSnapshot {
    /// Mounts, sorted by path.
    pub mounts: Vec<MountSnapshot>,
}

impl NamespaceSnapshot {
    /// The snapshot without capability layers (`/cap/http`, `/cap/ws`: live sockets, see
    /// [`crate::services::is_capability`]); mounts left with no layer are dropped. A copy of
    /// a namespace sent elsewhere (a worker) mounts its own capabilities from the grant.
    pub fn without_capabilities(mut self) -> Self {
        for m in &mut self.mounts {
            m.layers
                .retain(|l| !crate::services::is_capability(&l.kind));
        }
        self.mounts.retain(|m| !m.layers.is_empty());
        self
    }
}
