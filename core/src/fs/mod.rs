//! Generic file services: in-memory, immutable, computed, and copy-on-write overlay.

mod cow;
mod func;
mod map;
mod mem;
mod restore;

pub use cow::{Change, ChangeKind, CowFs};
pub use func::{FuncFs, ReadFn, WriteFn};
pub use map::{MapFs, MapFsBuilder};
pub use mem::{Ino, MemFs, MemFsLimits, MAX_SYMLINK_HOPS, ROOT_INO};
