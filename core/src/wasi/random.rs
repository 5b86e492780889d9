//! `random_get`: the host's randomness (the OS's on native, `crypto.getRandomValues` in the
//! browser), filled in bounded chunks so a huge request still honours the deadline.

use super::ctx::WasiCtx;
use super::memory::{offset, GuestMemory};
use super::types::Errno;

/// `random_get` fills this many bytes between deadline checks.
pub const RANDOM_CHUNK: u32 = 1 << 20;

fn fill_random(buf: &mut [u8]) -> Result<(), Errno> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        getrandom::fill(buf).map_err(|_| Errno::Io)
    }
    #[cfg(target_arch = "wasm32")]
    {
        browser_random(buf)
    }
}

/// Fills `buf` from the browser's `crypto.getRandomValues` (65536 bytes per call at most).
#[cfg(target_arch = "wasm32")]
fn browser_random(buf: &mut [u8]) -> Result<(), Errno> {
    use wasm_bindgen::JsCast;
    let crypto =
        js_sys::Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|_| Errno::NoSys)?;
    let get: js_sys::Function = js_sys::Reflect::get(&crypto, &"getRandomValues".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or(Errno::NoSys)?;
    for chunk in buf.chunks_mut(65536) {
        let arr = js_sys::Uint8Array::new_with_length(chunk.len() as u32);
        get.call1(&crypto, &arr).map_err(|_| Errno::Io)?;
        arr.copy_to(chunk);
    }
    Ok(())
}

impl WasiCtx {
    /// `random_get(buf, len)`: filled in chunks of [`RANDOM_CHUNK`] bytes, checking the
    /// deadline between them (a 4 GiB request cannot hold the host past the timeout).
    pub fn random_get(&self, mem: &mut dyn GuestMemory, buf: u32, len: u32) -> Result<(), Errno> {
        mem.check(buf, len)?;
        let mut tmp = Vec::new();
        let mut done = 0u32;
        while done < len {
            if self.past_deadline() {
                return Err(Errno::TimedOut);
            }
            let n = (len - done).min(RANDOM_CHUNK);
            let at = offset(buf, u64::from(done))?;
            match mem.slice_mut(at, n)? {
                Some(slice) => fill_random(slice)?,
                None => {
                    tmp.resize(n as usize, 0);
                    fill_random(&mut tmp)?;
                    mem.write(at, &tmp)?;
                }
            }
            done += n;
        }
        Ok(())
    }
}
