//! The byte layouts of preview1's structs, as the guest sees them (little-endian, witx
//! alignment): encoding `filestat`, `fdstat`, `dirent`, `prestat` and `event`, decoding
//! `subscription`. Nothing here touches guest memory or state; the calls in
//! [`super::preview1`] and [`super::poll`] write or read the bytes.

use super::types::*;
use crate::service::{FileKind, Metadata};

/// The preview1 `filetype` of a service's [`FileKind`].
pub(crate) fn filetype(kind: FileKind) -> u8 {
    match kind {
        FileKind::File => filetype::REGULAR_FILE,
        FileKind::Dir => filetype::DIRECTORY,
        FileKind::Symlink => filetype::SYMBOLIC_LINK,
        FileKind::Stream => filetype::CHARACTER_DEVICE,
    }
}

/// `filestat`: dev (always 0), ino, filetype, nlink, size, atim, mtim, ctim.
pub(crate) fn filestat(m: &Metadata) -> [u8; FILESTAT_SIZE as usize] {
    let mut b = [0u8; FILESTAT_SIZE as usize];
    b[0..8].copy_from_slice(&0u64.to_le_bytes()); // dev
    b[8..16].copy_from_slice(&m.ino.to_le_bytes());
    b[16] = filetype(m.kind);
    b[24..32].copy_from_slice(&m.nlink.to_le_bytes());
    b[32..40].copy_from_slice(&m.size.to_le_bytes());
    b[40..48].copy_from_slice(&m.atime.to_le_bytes());
    b[48..56].copy_from_slice(&m.mtime.to_le_bytes());
    b[56..64].copy_from_slice(&m.ctime.to_le_bytes());
    b
}

/// `fdstat`: filetype, fdflags, rights base and inheriting.
pub(crate) fn fdstat(ft: u8, flags: u16, base: u64, inheriting: u64) -> [u8; FDSTAT_SIZE as usize] {
    let mut b = [0u8; FDSTAT_SIZE as usize];
    b[0] = ft;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&base.to_le_bytes());
    b[16..24].copy_from_slice(&inheriting.to_le_bytes());
    b
}

/// `dirent` header (the name's bytes follow it): next cookie, ino, name length, filetype.
pub(crate) fn dirent(
    cookie: u64,
    ino: u64,
    name_len: u32,
    kind: FileKind,
) -> [u8; DIRENT_SIZE as usize] {
    let mut d = [0u8; DIRENT_SIZE as usize];
    d[0..8].copy_from_slice(&cookie.to_le_bytes());
    d[8..16].copy_from_slice(&ino.to_le_bytes());
    d[16..20].copy_from_slice(&name_len.to_le_bytes());
    d[20] = filetype(kind);
    d
}

/// `prestat` of a preopened directory whose name is `name_len` bytes long.
pub(crate) fn prestat_dir(name_len: u32) -> [u8; PRESTAT_SIZE as usize] {
    let mut b = [0u8; PRESTAT_SIZE as usize];
    b[0] = PREOPENTYPE_DIR;
    b[4..8].copy_from_slice(&name_len.to_le_bytes());
    b
}

/// One `event` of `poll_oneoff`'s output.
pub(crate) struct Event(pub(crate) [u8; EVENT_SIZE as usize]);

impl Event {
    /// An event for the subscription with `userdata` and `tag`: no error, nothing available.
    pub(crate) fn new(userdata: u64, tag: u8) -> Self {
        let mut ev = [0u8; EVENT_SIZE as usize];
        ev[0..8].copy_from_slice(&userdata.to_le_bytes());
        ev[10] = tag;
        Event(ev)
    }

    /// Sets the event's error.
    pub(crate) fn set_error(&mut self, e: Errno) {
        self.0[8..10].copy_from_slice(&e.raw().to_le_bytes());
    }

    /// Sets `fd_readwrite.nbytes` (bytes available).
    pub(crate) fn set_nbytes(&mut self, n: u64) {
        self.0[16..24].copy_from_slice(&n.to_le_bytes());
    }
}

/// The fields of one `subscription` the shim uses; which apply depends on `tag`.
pub(crate) struct Subscription {
    /// Returned in the event.
    pub(crate) userdata: u64,
    /// `eventtype`: clock, fd_read or fd_write.
    pub(crate) tag: u8,
    /// Clock: the clock id; fd_read/fd_write: the fd.
    pub(crate) id_or_fd: u32,
    /// Clock: the timeout (relative, or absolute with `SUBSCRIPTION_CLOCK_ABSTIME`).
    pub(crate) timeout: u64,
    /// Clock: `subclockflags`.
    pub(crate) flags: u16,
}

impl Subscription {
    /// Decodes a `SUBSCRIPTION_SIZE`-byte subscription.
    pub(crate) fn decode(s: &[u8]) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap_or_default());
        Subscription {
            userdata: u64_at(0),
            tag: s[8],
            id_or_fd: u32_at(16),
            timeout: u64_at(24),
            flags: u16::from_le_bytes(s[40..42].try_into().unwrap_or_default()),
        }
    }
}
