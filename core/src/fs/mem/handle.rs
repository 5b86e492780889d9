//! An open [`MemFs`](super::MemFs) file.

use super::{set_node_times, Data, Inner, Ino};
use crate::clock::Timestamp;
use crate::error::{FsError, FsResult};
use crate::service::{lock, FileHandle, Metadata};
use std::sync::{Arc, Mutex};

/// An open MemFs file: a reference to the inode, never a copy.
pub(super) struct MemHandle {
    pub(super) inner: Arc<Mutex<Inner>>,
    pub(super) ino: Ino,
    pub(super) read: bool,
    pub(super) write: bool,
}

impl MemHandle {
    fn check_write(&self, inner: &Inner) -> FsResult<()> {
        if !self.write {
            return Err(FsError::BadHandle);
        }
        inner.check_writable()
    }
}

impl FileHandle for MemHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        if !self.read {
            return Err(FsError::BadHandle);
        }
        let inner = lock(&self.inner);
        match &inner.node(self.ino)?.data {
            Data::File(bytes) => Ok(bytes.read(buf, offset)),
            Data::Dir(_) => Err(FsError::IsADirectory),
            Data::Symlink(_) => Err(FsError::InvalidInput("symlink".into())),
        }
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        inner.write(self.ino, buf, offset)
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        let end = inner.node(self.ino)?.size();
        let n = inner.write(self.ino, buf, end)?;
        Ok(end + n as u64)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        lock(&self.inner).metadata(self.ino)
    }

    fn set_len(&self, len: u64) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        self.check_write(&inner)?;
        inner.resize(self.ino, len)
    }

    fn set_times(&self, atime: Option<Timestamp>, mtime: Option<Timestamp>) -> FsResult<()> {
        let mut inner = lock(&self.inner);
        inner.check_writable()?;
        set_node_times(inner.node_mut(self.ino)?, atime, mtime);
        Ok(())
    }
}

impl Drop for MemHandle {
    fn drop(&mut self) {
        let mut inner = lock(&self.inner);
        let free = match inner.inodes.get_mut(&self.ino) {
            Some(node) => {
                node.open = node.open.saturating_sub(1);
                node.open == 0 && node.nlink == 0
            }
            None => false,
        };
        if free {
            inner.free(self.ino);
        }
    }
}
