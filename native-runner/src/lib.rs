//! OANIX native runner: runs WASI preview1 modules in an OANIX namespace on wasmtime,
//! through `oanix-core`'s shim ([`Runner`]), and on `wasmtime-wasi` as the reference for
//! parity checks ([`reference`]).
//!
//! No `unsafe` code but at one place: loading a compiled module from the disk cache
//! (`cache::deserialize_verified`, which wasmtime marks `unsafe`), allowed there alone
//! with its `SAFETY:` argument.
#![deny(unsafe_code)]

pub mod cache;
pub mod cli;
mod engine;
mod host;
pub mod hostfs;
pub mod netcaps;
pub mod nostrcli;
pub mod provider;
pub mod reference;

pub use cache::DiskCache;
pub use host::{Runner, MEMORY_CACHED_MODULES};
pub use hostfs::{load_dir, namespace_from_mounts, render_tree};

pub use oanix_core::run::{RunConfig, RunError, RunOutput};
