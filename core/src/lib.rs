//! # OANIX core
//!
//! Plan 9's idea applied to AI agents: every capability is a file service, and an agent's
//! world is a [`Namespace`] of mounted services. This crate builds for native hosts and for
//! `wasm32-unknown-unknown` (the browser) alike.
//!
//! Where things are:
//! - [`FileService`] / [`FileHandle`]: the traits every service implements
//!   ([`service`], including the readiness rule for blocking reads).
//! - [`FsError`] and its one mapping to WASI errnos ([`error`]).
//! - Path normalisation, done once: [`FsPath`] ([`path`]).
//! - Generic services: [`MemFs`], [`MapFs`], [`FuncFs`], [`CowFs`] ([`fs`]).
//! - The mount table with union binds: [`Namespace`] ([`namespace`]).
//! - An agent environment (standard mounts, runs, status): [`env::OanixEnv`] ([`mod@env`]).
//! - Jobs with priorities, limits, timeouts, cancellation, scripts, as files:
//!   [`scheduler::Scheduler`] ([`scheduler`]).
//! - Standard agent services: `/task` ([`services::TaskFs`]) ([`services`]).
//! - Network capabilities as files: `/cap/http` ([`services::HttpFs`]) and `/cap/ws`
//!   ([`services::WsFs`]), granted with a host allowlist ([`net::NetGrant`]); their
//!   transports (reqwest/tokio-tungstenite natively, fetch/WebSocket in the browser) and the
//!   reusable WebSocket object [`net::WsSocket`] are in [`net`].
//! - Nostr as files: `/cap/nostr` ([`services::NostrFs`]: NIP-90 job requests, results,
//!   feedback); events, keys and the relay pool in [`net::nostr`].
//! - Reviewing a run's changes before they land (stage into a [`CowFs`], line diffs):
//!   [`review`].
//! - Serialisable contents for persistence: [`snapshot`]; stores in [`persist`] (IndexedDB
//!   in the browser, SQLite natively).
//! - Clocks that work in the browser: [`clock`].
//! - WASI preview1 for every host: [`wasi`] ([`wasi::WasiCtx`], [`wasi::GuestMemory`]).
//! - Time-slicing a guest: [`instrument::instrument`] rewrites a module to call an imported
//!   `oanix.tick` every thousand function entries or hundred thousand loop iterations
//!   ([`instrument`]).
//! - Running a guest: [`run`] (config and results shared by hosts); the browser host is
//!   `browser::BrowserRunner` (wasm32: `run_module` runs an instrumented guest in place on
//!   the page's thread, time-sliced, stoppable with `browser::RunControl`), the native one
//!   is `oanix-native-runner`.
//!
//! ```
//! use oanix_core::{FileService, MapFs, MemFs, Namespace};
//! use std::sync::Arc;
//!
//! let mut ns = Namespace::new();
//! ns.mount("/task", Arc::new(MapFs::builder().file("spec.json", "{}").build()?))?;
//! ns.mount("/workspace", Arc::new(MemFs::new()))?;
//! ns.write_file("/workspace/notes.txt", b"hello")?;
//! assert_eq!(ns.read_file("/workspace/notes.txt")?, b"hello");
//! let names: Vec<_> = ns.list("/")?.into_iter().map(|e| e.name).collect();
//! assert_eq!(names.len(), 2); // `task` and `workspace`
//! # Ok::<(), oanix_core::FsError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]
// On wasm32 services are single-threaded by design (they may hold JS objects), so an `Arc`
// of one is not `Send`; natively they are `Send + Sync` (see `MaybeSendSync`).
#![cfg_attr(target_arch = "wasm32", allow(clippy::arc_with_non_send_sync))]

#[doc(hidden)]
pub mod bench;
#[cfg(target_arch = "wasm32")]
pub mod browser;
pub mod clock;
pub mod env;
pub mod error;
pub mod fs;
pub mod instrument;
pub mod namespace;
pub mod net;
pub mod path;
pub mod persist;
pub mod review;
pub mod run;
pub mod scheduler;
pub mod service;
pub mod services;
pub mod snapshot;
pub mod wasi;

pub use error::{Errno, FsError, FsResult};
pub use fs::{Change, ChangeKind, CowFs, FuncFs, MapFs, MemFs, MemFsLimits};
pub use namespace::{BindMode, Layer, MountInfo, Namespace};
pub use path::FsPath;
pub use service::{
    DirEntry, FileHandle, FileKind, FileService, Follow, Interest, MaybeSendSync, Metadata,
    OpenOptions,
};
pub use snapshot::{NamespaceSnapshot, ServiceSnapshot};
