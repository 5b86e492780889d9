//! The standard services of an agent's namespace (Sprint 4 of the spec): `/task`, `/logs`
//! ([`LogsFs`]) and `/jobs` ([`JobsFs`]). Each is a small file service with a fixed table
//! of files.
//!
//! Capabilities (granted per environment, see [`crate::net::NetGrant`]): `/cap/http`
//! ([`HttpFs`]), `/cap/ws` ([`WsFs`]) and `/cap/nostr` ([`NostrFs`], NIP-01/NIP-90 jobs);
//! their transports and the Nostr relay client live in [`crate::net`].

mod ctl;
pub mod http;
pub mod jobs;
pub mod logs;
pub mod nostr;
#[cfg(target_arch = "wasm32")]
pub mod opfs;
pub mod task;
#[cfg(not(target_arch = "wasm32"))]
pub mod workspace;
pub mod ws;

pub use http::HttpFs;
pub use jobs::JobsFs;
pub use logs::{LogLimits, LogsFs};
pub use nostr::NostrFs;
#[cfg(target_arch = "wasm32")]
pub use opfs::OpfsFs;
pub use task::{TaskFs, TaskSpec, TaskState, TaskStatus, TaskStatusHandle};
#[cfg(not(target_arch = "wasm32"))]
pub use workspace::WorkspaceFs;
pub use ws::WsFs;

use crate::clock::Timestamp;
use crate::service::{FileKind, Metadata};
use crate::snapshot::NamespaceSnapshot;

/// [`FileService::kind`](crate::FileService::kind) of the OPFS workspace: persistence stores
/// skip such layers (OPFS is their store) and keep only the mount point.
pub const OPFS_KIND: &str = "opfs";

/// [`FileService::kind`](crate::FileService::kind) of [`HttpFs`].
pub const HTTP_KIND: &str = "httpfs";
/// [`FileService::kind`](crate::FileService::kind) of [`WsFs`].
pub const WS_KIND: &str = "wsfs";

/// Whether a service kind is a capability (live sockets, granted per environment): never
/// copied into a snapshot's restore or a persisted namespace; its owner mounts it again
/// from the grant.
pub fn is_capability(kind: &str) -> bool {
    kind == HTTP_KIND || kind == WS_KIND
}

impl NamespaceSnapshot {
    /// The snapshot without capability layers (`/cap/http`, `/cap/ws`: live sockets, see
    /// [`is_capability`]); mounts left with no layer are dropped. A copy of a namespace sent
    /// elsewhere (a worker) mounts its own capabilities from the grant.
    pub fn without_capabilities(mut self) -> Self {
        for m in &mut self.mounts {
            m.layers.retain(|l| !is_capability(&l.kind));
        }
        self.mounts.retain(|m| !m.layers.is_empty());
        self
    }
}

/// Metadata of a regular file in a fixed-table service.
pub(crate) fn file_meta(ino: u64, size: u64, time: Timestamp, readonly: bool) -> Metadata {
    Metadata {
        kind: FileKind::File,
        size,
        ino,
        nlink: 1,
        atime: time,
        mtime: time,
        ctime: time,
        readonly,
    }
}
