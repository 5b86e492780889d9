//! Serialisable snapshots of service contents and of whole namespaces (for persistence).
//!
//! A [`MemFsSnapshot`] is the inode table itself (so hard links survive); a [`CowFs`]
//! snapshot keeps its upper layer and whiteouts (and the base, if the base can be
//! snapshotted); a [`NamespaceSnapshot`] keeps the mount table with each layer's snapshot.
//!
//! This module is plain data and depends on no service. Services make their snapshots with
//! [`FileService::snapshot`]; [`ServiceSnapshot::restore`] (in `fs/restore.rs`) and
//! [`Namespace::from_snapshot`] rebuild them; [`NamespaceSnapshot::without_capabilities`]
//! (in [`crate::services`]) drops the capability layers.
//!
//! [`CowFs`]: crate::fs::CowFs
//! [`MapFs`]: crate::fs::MapFs
//! [`MemFs`]: crate::fs::MemFs
//! [`FileService::snapshot`]: crate::FileService::snapshot
//! [`Namespace::from_snapshot`]: crate::Namespace::from_snapshot

use crate::clock::Timestamp;
use crate::path::FsPath;
use serde::{Deserialize, Serialize};

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

/// The inode table of a [`MemFs`](crate::fs::MemFs).
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
    /// A writable [`MemFs`](crate::fs::MemFs).
    Mem(MemFsSnapshot),
    /// An immutable [`MapFs`](crate::fs::MapFs).
    Map(MemFsSnapshot),
    /// A [`CowFs`](crate::fs::CowFs) overlay.
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
