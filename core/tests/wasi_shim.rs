//! The shim called directly (no engine): the documented places where OANIX follows the
//! preview1 spec rather than wasmtime, and bounds checks on guest memory.

use oanix_core::wasi::{types::rights, Errno, GuestMemory, SliceMemory, WasiCtx};
use oanix_core::{MemFs, Namespace};
use std::sync::Arc;

mod common;
use common::CopyingMemory;

fn ctx() -> WasiCtx {
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(MemFs::new())).unwrap();
    WasiCtx::builder(ns)
        .preopen("/workspace", "/workspace")
        .build()
        .unwrap()
}

fn rights_of(w: &WasiCtx, fd: u32) -> (u64, u64) {
    let mut mem = vec![0u8; 64];
    w.fd_fdstat_get(&mut SliceMemory(&mut mem), fd, 0).unwrap();
    (
        u64::from_le_bytes(mem[8..16].try_into().unwrap()),
        u64::from_le_bytes(mem[16..24].try_into().unwrap()),
    )
}

#[test]
fn rights_only_shrink() {
    // wasmtime answers NOTSUP to fd_fdstat_set_rights; the spec lets rights shrink only.
    let mut w = ctx();
    let (base, inh) = rights_of(&w, 3);
    assert_eq!(
        base & rights::PATH_FILESTAT_SET_SIZE,
        0,
        "as wasmtime reports"
    );
    let smaller = base & !rights::PATH_RENAME_SOURCE;
    assert_eq!(w.fd_fdstat_set_rights(3, smaller, inh), Ok(()));
    assert_eq!(rights_of(&w, 3), (smaller, inh));
    assert_eq!(w.fd_fdstat_set_rights(3, base, inh), Err(Errno::NotCapable));
    assert_eq!(w.fd_fdstat_set_rights(99, 0, 0), Err(Errno::Badf));
}

#[test]
fn invalid_clock_is_inval_and_cputime_is_badf() {
    // wasmtime traps on an out-of-range clock id; OANIX returns INVAL.
    let w = ctx();
    let mut mem = vec![0u8; 16];
    let mut m = SliceMemory(&mut mem);
    assert_eq!(w.clock_res_get(&mut m, 99, 0), Err(Errno::Inval));
    assert_eq!(w.clock_res_get(&mut m, 2, 0), Err(Errno::Badf));
    assert_eq!(w.clock_res_get(&mut m, 1, 0), Ok(()));
    // The result pointer out of range: EFAULT, no panic.
    assert_eq!(w.clock_res_get(&mut m, 1, 12), Err(Errno::Fault));
    assert_eq!(w.clock_res_get(&mut m, 1, u32::MAX), Err(Errno::Fault));
}

#[test]
fn a_subscription_array_past_memory_is_efault_on_every_memory() {
    // poll_oneoff(0, 0, 0x0500_0000, 0): 3.75 GiB of subscriptions in a 64 KiB memory.
    // EFAULT whether the host lends slices (wasmtime) or copies (the browser).
    let mut w = ctx();
    let mut bytes = vec![0u8; 65536];
    let r = w.poll_oneoff(&mut SliceMemory(&mut bytes), 0, 0, 0x0500_0000, 0);
    assert!(matches!(r, Err(Errno::Fault)), "{:?}", r.map(|_| ()));
    let mut copying = CopyingMemory(vec![0u8; 65536]);
    let r = w.poll_oneoff(&mut copying, 0, 0, 0x0500_0000, 0);
    assert!(matches!(r, Err(Errno::Fault)), "{:?}", r.map(|_| ()));
    // The defaults check before they copy: a range past the end is EFAULT, at the end fine.
    assert_eq!(copying.slice(65535, 2).err(), Some(Errno::Fault));
    assert_eq!(copying.slice(u32::MAX, u32::MAX).err(), Some(Errno::Fault));
    assert_eq!(copying.slice(65534, 2).map(|s| s.len()), Ok(2));
}
