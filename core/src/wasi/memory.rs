//! Guest memory as the shim sees it: one small, bounds-checked trait.
//!
//! Hosts adapt their memory to [`GuestMemory`]: wasmtime hands the shim the guest's
//! `&mut [u8]` (which implements the trait directly); the browser wraps a `Uint8Array` view
//! of the guest's `WebAssembly.Memory`. Every access is checked: an out-of-range pointer is
//! `EFAULT`, never a panic.

use super::types::IOVEC_SIZE;
use crate::error::Errno;
use std::borrow::Cow;

/// Bounds-checked access to a guest's linear memory.
pub trait GuestMemory {
    /// Copies `out.len()` bytes from `ptr`.
    fn read(&self, ptr: u32, out: &mut [u8]) -> Result<(), Errno>;

    /// Copies `data` to `ptr`.
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno>;

    /// `len` bytes at `ptr`, borrowed when the host can (no copy), else copied.
    ///
    /// The range is checked ([`Self::check`]) before anything is allocated: `len` comes
    /// from the guest, and a length past the memory's end is `EFAULT`, never a buffer of
    /// that size (on wasm32 a 4 GiB request would abort the host with "capacity overflow").
    fn slice(&self, ptr: u32, len: u32) -> Result<Cow<'_, [u8]>, Errno> {
        self.check(ptr, len)?;
        let mut v = vec![0u8; len as usize];
        self.read(ptr, &mut v)?;
        Ok(Cow::Owned(v))
    }

    /// `len` writable bytes at `ptr`, when the host can lend them directly.
    fn slice_mut(&mut self, _ptr: u32, _len: u32) -> Result<Option<&mut [u8]>, Errno> {
        Ok(None)
    }

    /// Whether `len` bytes at `ptr` lie inside memory (`EFAULT` if not), touching nothing.
    fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        if len == 0 {
            return self.read(ptr, &mut []);
        }
        let last = ptr.checked_add(len - 1).ok_or(Errno::Fault)?;
        self.read(last, &mut [0u8])
    }
}

/// `ptr + add` as a guest address: `EFAULT` when it leaves the 32-bit address space (never
/// a wrap onto other guest bytes, never an overflow panic).
pub fn offset(ptr: u32, add: u64) -> Result<u32, Errno> {
    u64::from(ptr)
        .checked_add(add)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or(Errno::Fault)
}

/// Most iovecs one read or write call looks at (POSIX's `IOV_MAX`); the rest of a longer
/// array is left for the guest's next call (a short count), so a call's work is bounded.
pub const MAX_IOVECS: u32 = 1024;

fn range(len: usize, ptr: u32, n: usize) -> Result<std::ops::Range<usize>, Errno> {
    let start = ptr as usize;
    let end = start.checked_add(n).ok_or(Errno::Fault)?;
    if end > len {
        return Err(Errno::Fault);
    }
    Ok(start..end)
}

/// Guest memory the host can lend as a byte slice (wasmtime's `Memory::data_mut`).
pub struct SliceMemory<'a>(pub &'a mut [u8]);

impl GuestMemory for SliceMemory<'_> {
    fn read(&self, ptr: u32, out: &mut [u8]) -> Result<(), Errno> {
        out.copy_from_slice(&self.0[range(self.0.len(), ptr, out.len())?]);
        Ok(())
    }

    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let r = range(self.0.len(), ptr, data.len())?;
        self.0[r].copy_from_slice(data);
        Ok(())
    }

    fn slice(&self, ptr: u32, len: u32) -> Result<Cow<'_, [u8]>, Errno> {
        Ok(Cow::Borrowed(
            &self.0[range(self.0.len(), ptr, len as usize)?],
        ))
    }

    fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<Option<&mut [u8]>, Errno> {
        let r = range(self.0.len(), ptr, len as usize)?;
        Ok(Some(&mut self.0[r]))
    }

    fn check(&self, ptr: u32, len: u32) -> Result<(), Errno> {
        range(self.0.len(), ptr, len as usize).map(|_| ())
    }
}

/// Typed little-endian helpers over any [`GuestMemory`].
pub trait MemExt: GuestMemory {
    /// Reads a `u16`.
    fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        let mut b = [0u8; 2];
        self.read(ptr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Reads a `u32`.
    fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        let mut b = [0u8; 4];
        self.read(ptr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Reads a `u64`.
    fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        self.read(ptr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    /// Writes a `u8`.
    fn write_u8(&mut self, ptr: u32, v: u8) -> Result<(), Errno> {
        self.write(ptr, &[v])
    }
    /// Writes a `u16`.
    fn write_u16(&mut self, ptr: u32, v: u16) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }
    /// Writes a `u32`.
    fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }
    /// Writes a `u64`.
    fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        self.write(ptr, &v.to_le_bytes())
    }
    /// Reads a UTF-8 string (`EILSEQ` if it is not UTF-8).
    fn read_str(&self, ptr: u32, len: u32) -> Result<String, Errno> {
        let bytes = self.slice(ptr, len)?;
        String::from_utf8(bytes.into_owned()).map_err(|_| Errno::Ilseq)
    }
    /// Reads an array of `(buf, len)` iovecs: the whole array must lie in memory (`EFAULT`),
    /// and at most [`MAX_IOVECS`] of them are read.
    fn read_iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        let total = count.checked_mul(IOVEC_SIZE).ok_or(Errno::Fault)?;
        self.check(ptr, total)?;
        let raw = self.slice(ptr, count.min(MAX_IOVECS) * IOVEC_SIZE)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| {
                (
                    u32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
            .collect())
    }
}

impl<M: GuestMemory + ?Sized> MemExt for M {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_is_efault_not_a_panic() {
        let mut bytes = vec![0u8; 16];
        let mut mem = SliceMemory(&mut bytes);
        assert_eq!(mem.write_u32(14, 1), Err(Errno::Fault));
        assert_eq!(mem.read_u64(u32::MAX), Err(Errno::Fault));
        assert_eq!(mem.slice(8, 9).err(), Some(Errno::Fault));
        assert_eq!(mem.read_iovecs(0, u32::MAX).err(), Some(Errno::Fault));
        assert_eq!(mem.check(8, 8), Ok(()));
        assert_eq!(mem.check(8, 9), Err(Errno::Fault));
        assert_eq!(mem.check(u32::MAX, 2), Err(Errno::Fault));
        assert_eq!(offset(u32::MAX - 3, 4), Err(Errno::Fault));
        assert_eq!(offset(u32::MAX - 3, 3), Ok(u32::MAX));
        mem.write_u32(12, 0xdead_beef).unwrap();
        assert_eq!(mem.read_u32(12).unwrap(), 0xdead_beef);
        mem.write(0, &[0xff, 0xfe]).unwrap();
        assert_eq!(mem.read_str(0, 2), Err(Errno::Ilseq));
    }
}
