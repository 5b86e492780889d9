//! WASI preview1, once, for every host.
//!
//! [`WasiCtx`] holds a guest's state (namespace, fd table, args, env); its methods are the
//! preview1 functions, one per call ([`preview1`]); [`dispatch`] maps imports to them. A
//! host supplies only guest memory ([`GuestMemory`]) and suspension (awaiting
//! [`Outcome::Wait`]); everything else is here, so both hosts behave identically.

pub mod ctx;
pub mod dispatch;
pub mod memory;
pub mod preview1;
pub mod stdio;
pub mod types;

pub use ctx::{FdEntry, FdKind, Outcome, Wait, WasiCtx, WasiCtxBuilder};
pub use dispatch::{Func, Ty, FUNCS, MODULE};
pub use memory::{GuestMemory, MemExt, SliceMemory};
pub use stdio::{InputPipe, NullInput, OutputPipe};
pub use types::Errno;

/// Fills `buf` from the browser's `crypto.getRandomValues` (65536 bytes per call at most).
#[cfg(target_arch = "wasm32")]
pub(crate) fn browser_random(buf: &mut [u8]) -> Result<(), Errno> {
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
