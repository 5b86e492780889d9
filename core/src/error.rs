//! Errors of file services and their one mapping to WASI preview1 errnos.
//!
//! Every [`FsError`] variant maps to exactly one [`Errno`] in [`FsError::errno`]; no other
//! place in OANIX converts errors to errnos.

use std::fmt;

/// A WASI preview1 `errno` value (numbering from `wasi_snapshot_preview1.witx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
#[allow(missing_docs)] // names are the spec's own
pub enum Errno {
    Success = 0,
    TooBig = 1,
    Acces = 2,
    AddrInUse = 3,
    AddrNotAvail = 4,
    AfNoSupport = 5,
    Again = 6,
    Already = 7,
    Badf = 8,
    BadMsg = 9,
    Busy = 10,
    Canceled = 11,
    Child = 12,
    ConnAborted = 13,
    ConnRefused = 14,
    ConnReset = 15,
    Deadlk = 16,
    DestAddrReq = 17,
    Dom = 18,
    Dquot = 19,
    Exist = 20,
    Fault = 21,
    Fbig = 22,
    HostUnreach = 23,
    Idrm = 24,
    Ilseq = 25,
    InProgress = 26,
    Intr = 27,
    Inval = 28,
    Io = 29,
    IsConn = 30,
    IsDir = 31,
    Loop = 32,
    Mfile = 33,
    Mlink = 34,
    MsgSize = 35,
    Multihop = 36,
    NameTooLong = 37,
    NetDown = 38,
    NetReset = 39,
    NetUnreach = 40,
    Nfile = 41,
    NoBufs = 42,
    NoDev = 43,
    NoEnt = 44,
    NoExec = 45,
    NoLck = 46,
    NoLink = 47,
    NoMem = 48,
    NoMsg = 49,
    NoProtoOpt = 50,
    NoSpc = 51,
    NoSys = 52,
    NotConn = 53,
    NotDir = 54,
    NotEmpty = 55,
    NotRecoverable = 56,
    NotSock = 57,
    NotSup = 58,
    NoTty = 59,
    Nxio = 60,
    Overflow = 61,
    OwnerDead = 62,
    Perm = 63,
    Pipe = 64,
    Proto = 65,
    ProtoNoSupport = 66,
    ProtoType = 67,
    Range = 68,
    Rofs = 69,
    Spipe = 70,
    Srch = 71,
    Stale = 72,
    TimedOut = 73,
    TxtBsy = 74,
    Xdev = 75,
    NotCapable = 76,
}

impl Errno {
    /// The raw value a preview1 function returns.
    pub fn raw(self) -> u16 {
        self as u16
    }
}

/// Result of a file-service operation.
pub type FsResult<T> = Result<T, FsError>;

/// What went wrong in a file-service operation. Each variant is one WASI errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// No such file or directory (`ENOENT`).
    NotFound,
    /// The path already exists (`EEXIST`).
    AlreadyExists,
    /// A path component, or the target, is not a directory (`ENOTDIR`).
    NotADirectory,
    /// The operation needs a non-directory but found a directory (`EISDIR`).
    IsADirectory,
    /// The directory is not empty (`ENOTEMPTY`).
    DirectoryNotEmpty,
    /// The service, mount or file is read-only (`EROFS`).
    ReadOnly,
    /// Access denied by the file's or handle's permissions (`EACCES`).
    PermissionDenied,
    /// The operation is not permitted here (`EPERM`), e.g. truncating an append-only log.
    NotPermitted,
    /// The path is malformed: NUL byte, empty component where a name is required (`EINVAL`).
    InvalidPath(String),
    /// An argument or written content is invalid, with the reason (`EINVAL`).
    InvalidInput(String),
    /// A name or path is longer than the service allows (`ENAMETOOLONG`).
    NameTooLong,
    /// The service does not support this operation (`ENOTSUP`).
    NotSupported,
    /// The handle is not open for this kind of access (`EBADF`).
    BadHandle,
    /// No data yet; wait for readiness with [`crate::FileHandle::poll_ready`] (`EAGAIN`).
    WouldBlock,
    /// Too many symbolic links, or a link loop (`ELOOP`).
    Loop,
    /// Rename or link across services (`EXDEV`).
    CrossDevice,
    /// The file is in use or a mount point (`EBUSY`).
    Busy,
    /// Out of space or over a size cap (`ENOSPC`).
    NoSpace,
    /// The file would grow past the largest size allowed (`EFBIG`).
    FileTooLarge,
    /// The peer went away; writing to a closed stream (`EPIPE`).
    BrokenPipe,
    /// The operation was cancelled (`ECANCELED`).
    Cancelled,
    /// Invalid bytes in text that must be UTF-8 (`EILSEQ`).
    IllegalSequence,
    /// The path leads outside the capability granted (`ENOTCAPABLE`).
    NotCapable,
    /// A value does not fit the type it must be reported in, e.g. a host file time past
    /// year 2554 as 64-bit nanoseconds (`EOVERFLOW`).
    Overflow,
    /// An underlying I/O failure, with its message (`EIO`).
    Io(String),
}

impl FsError {
    /// The one mapping from [`FsError`] to a WASI errno.
    pub fn errno(&self) -> Errno {
        match self {
            FsError::NotFound => Errno::NoEnt,
            FsError::AlreadyExists => Errno::Exist,
            FsError::NotADirectory => Errno::NotDir,
            FsError::IsADirectory => Errno::IsDir,
            FsError::DirectoryNotEmpty => Errno::NotEmpty,
            FsError::ReadOnly => Errno::Rofs,
            FsError::PermissionDenied => Errno::Acces,
            FsError::NotPermitted => Errno::Perm,
            FsError::InvalidPath(_) => Errno::Inval,
            FsError::InvalidInput(_) => Errno::Inval,
            FsError::NameTooLong => Errno::NameTooLong,
            FsError::NotSupported => Errno::NotSup,
            FsError::BadHandle => Errno::Badf,
            FsError::WouldBlock => Errno::Again,
            FsError::Loop => Errno::Loop,
            FsError::CrossDevice => Errno::Xdev,
            FsError::Busy => Errno::Busy,
            FsError::NoSpace => Errno::NoSpc,
            FsError::FileTooLarge => Errno::Fbig,
            FsError::BrokenPipe => Errno::Pipe,
            FsError::Cancelled => Errno::Canceled,
            FsError::IllegalSequence => Errno::Ilseq,
            FsError::NotCapable => Errno::NotCapable,
            FsError::Overflow => Errno::Overflow,
            FsError::Io(_) => Errno::Io,
        }
    }
}

impl From<std::io::Error> for FsError {
    /// The one mapping from a host I/O error (by its Linux errno) to a service error;
    /// anything without a closer match is `EIO`.
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(2) => FsError::NotFound,                     // ENOENT
            Some(17) => FsError::AlreadyExists,               // EEXIST
            Some(20) => FsError::NotADirectory,               // ENOTDIR
            Some(21) => FsError::IsADirectory,                // EISDIR
            Some(39) => FsError::DirectoryNotEmpty,           // ENOTEMPTY
            Some(40) => FsError::Loop,                        // ELOOP
            Some(18) => FsError::CrossDevice,                 // EXDEV
            Some(22) => FsError::InvalidInput(e.to_string()), // EINVAL
            Some(28) => FsError::NoSpace,                     // ENOSPC
            Some(32) => FsError::BrokenPipe,                  // EPIPE
            Some(36) => FsError::NameTooLong,                 // ENAMETOOLONG
            Some(13) => FsError::PermissionDenied,            // EACCES
            Some(1) => FsError::NotPermitted,                 // EPERM
            Some(30) => FsError::ReadOnly,                    // EROFS
            Some(16) => FsError::Busy,                        // EBUSY
            Some(27) => FsError::FileTooLarge,                // EFBIG
            Some(9) => FsError::BadHandle,                    // EBADF
            Some(95) => FsError::NotSupported,                // EOPNOTSUPP
            _ => match e.kind() {
                std::io::ErrorKind::BrokenPipe => FsError::BrokenPipe,
                std::io::ErrorKind::StorageFull => FsError::NoSpace,
                _ => FsError::Io(e.to_string()),
            },
        }
    }
}

impl From<FsError> for Errno {
    /// [`FsError::errno`], so `?` turns a service error into the guest's errno.
    fn from(e: FsError) -> Self {
        e.errno()
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::NotFound => f.write_str("no such file or directory"),
            FsError::AlreadyExists => f.write_str("file exists"),
            FsError::NotADirectory => f.write_str("not a directory"),
            FsError::IsADirectory => f.write_str("is a directory"),
            FsError::DirectoryNotEmpty => f.write_str("directory not empty"),
            FsError::ReadOnly => f.write_str("read-only file system"),
            FsError::PermissionDenied => f.write_str("permission denied"),
            FsError::NotPermitted => f.write_str("operation not permitted"),
            FsError::InvalidPath(why) => write!(f, "invalid path: {why}"),
            FsError::InvalidInput(why) => write!(f, "invalid input: {why}"),
            FsError::NameTooLong => f.write_str("file name too long"),
            FsError::NotSupported => f.write_str("operation not supported"),
            FsError::BadHandle => f.write_str("bad file handle for this operation"),
            FsError::WouldBlock => f.write_str("no data yet (would block)"),
            FsError::Loop => f.write_str("too many levels of symbolic links"),
            FsError::CrossDevice => f.write_str("cross-device link or rename"),
            FsError::Busy => f.write_str("resource busy"),
            FsError::NoSpace => f.write_str("no space left"),
            FsError::FileTooLarge => f.write_str("file too large"),
            FsError::BrokenPipe => f.write_str("broken pipe"),
            FsError::Cancelled => f.write_str("cancelled"),
            FsError::IllegalSequence => f.write_str("invalid UTF-8"),
            FsError::NotCapable => f.write_str("path outside the granted capability"),
            FsError::Overflow => f.write_str("value too large for its type"),
            FsError::Io(msg) => write!(f, "I/O error: {msg}"),
        }
    }
}

impl std::error::Error for FsError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_values_follow_the_witx_numbering() {
        assert_eq!(Errno::Success.raw(), 0);
        assert_eq!(Errno::Exist.raw(), 20);
        assert_eq!(Errno::Inval.raw(), 28);
        assert_eq!(Errno::NoEnt.raw(), 44);
        assert_eq!(Errno::NotDir.raw(), 54);
        assert_eq!(Errno::NotEmpty.raw(), 55);
        assert_eq!(Errno::Rofs.raw(), 69);
        assert_eq!(Errno::NotCapable.raw(), 76);
    }

    #[test]
    fn each_error_maps_to_its_errno() {
        assert_eq!(FsError::NotFound.errno(), Errno::NoEnt);
        assert_eq!(FsError::ReadOnly.errno(), Errno::Rofs);
        assert_eq!(FsError::InvalidInput("x".into()).errno(), Errno::Inval);
        assert_eq!(FsError::WouldBlock.errno(), Errno::Again);
        assert_eq!(FsError::CrossDevice.errno(), Errno::Xdev);
        assert_eq!(FsError::Overflow.errno(), Errno::Overflow);
        assert_eq!(Errno::from(FsError::Busy), Errno::Busy);
    }

    #[test]
    fn host_io_errors_map_to_their_errno() {
        let os = std::io::Error::from_raw_os_error;
        assert_eq!(FsError::from(os(28)).errno(), Errno::NoSpc);
        assert_eq!(FsError::from(os(32)).errno(), Errno::Pipe);
        assert_eq!(FsError::from(os(5)).errno(), Errno::Io);
        let other = std::io::Error::other("boom");
        assert_eq!(FsError::from(other).errno(), Errno::Io);
    }
}
