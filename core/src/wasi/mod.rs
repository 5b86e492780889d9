//! WASI preview1, once, for every host.
//!
//! [`WasiCtx`] holds a guest's state (namespace, fd table, args, env); its methods are the
//! preview1 functions, one per call: [`preview1`] (args, clocks, descriptors, processes),
//! `paths` (the `path_*` calls), `poll` (`poll_oneoff`) and `random` (`random_get`), with
//! the struct layouts in `abi`. [`dispatch`] maps imports to them. A host supplies only
//! guest memory ([`GuestMemory`]) and suspension (awaiting [`Outcome::Wait`]); everything
//! else is here, so both hosts behave identically.

mod abi;
pub mod ctx;
pub mod dispatch;
pub mod memory;
mod paths;
mod poll;
pub mod preview1;
mod random;
pub mod stdio;
pub mod types;

pub use ctx::{FdEntry, FdKind, Outcome, Wait, WasiCtx, WasiCtxBuilder};
pub use dispatch::{Func, FuncSpec, Ty, FUNCS, MODULE};
pub use memory::{GuestMemory, MemExt, SliceMemory};
pub use stdio::{InputPipe, NullInput, OutputPipe};
pub use types::Errno;
