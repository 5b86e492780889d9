//! Guest-chosen lengths never become host allocations (issue 14): the largest single
//! allocation the shim makes is measured with a counting global allocator while a guest
//! asks for 4 GiB, through a memory that cannot lend slices (as the browser's cannot).

use oanix_core::wasi::{Errno, Func, Outcome, WasiCtx};
use oanix_core::{MemFs, Namespace};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod common;
use common::CopyingMemory;

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn errno(o: Outcome) -> Errno {
    match o {
        Outcome::Return(e) => e,
        _ => panic!("expected an errno"),
    }
}

#[test]
fn four_gib_lengths_allocate_nothing_of_that_size() {
    let mut ns = Namespace::new();
    ns.mount("/w", Arc::new(MemFs::new())).unwrap();
    ns.write_file("/w/a", b"x").unwrap();
    let mut ctx = WasiCtx::builder(ns).preopen("/w", "/w").build().unwrap();
    let mut mem = CopyingMemory(vec![0u8; 1 << 20]);
    LARGEST.store(0, Ordering::Relaxed);
    let huge = 0xFFFF_0000i64;
    let calls: [(Func, Vec<i64>); 5] = [
        (Func::fd_readdir, vec![3, 0, huge, 0, 16]),
        (Func::random_get, vec![0, huge]),
        (Func::fd_write, vec![1, 0, 0x1FFF_FFFF, 16]),
        (Func::path_create_directory, vec![3, 0, huge]),
        // 0x0500_0000 subscriptions of 48 bytes: 3.75 GiB of them, past the 1 MiB memory
        // (in the browser host this aborted with "capacity overflow" before the check).
        (Func::poll_oneoff, vec![0, 0, 0x0500_0000, 0]),
    ];
    for (f, args) in calls {
        assert_eq!(
            errno(ctx.dispatch(&mut mem, f, &args)),
            Errno::Fault,
            "{f:?}"
        );
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 64 << 20, "largest allocation {largest} bytes");

    // Within memory, a readdir with a 1 MiB buffer allocates by what it produces.
    LARGEST.store(0, Ordering::Relaxed);
    let e = ctx.dispatch(&mut mem, Func::fd_readdir, &[3, 0, 1 << 20, 0, 16]);
    assert_eq!(errno(e), Errno::Success);
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest < 64 << 10, "largest allocation {largest} bytes");
}
