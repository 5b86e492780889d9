//! Workloads for benchmarks, shared by the native bench binary (`cargo bench`) and the
//! browser bench test, so both hosts measure exactly the same thing. Figures only: nothing
//! here asserts a speed.

use crate::clock::monotonic;
use crate::path::FsPath;
use crate::service::Follow;
use crate::service::{FileService, OpenOptions};
use crate::{MemFs, Namespace};
use std::sync::Arc;

/// One measured workload.
#[derive(Debug, Clone)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// How many operations.
    pub ops: u64,
    /// Elapsed nanoseconds.
    pub nanos: u64,
}

impl Figure {
    /// Operations per second.
    pub fn per_sec(&self) -> f64 {
        self.ops as f64 / (self.nanos.max(1) as f64 / 1e9)
    }

    /// Nanoseconds per operation.
    pub fn ns_per_op(&self) -> f64 {
        self.nanos as f64 / self.ops.max(1) as f64
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<44} {:>12.0} ops/s {:>10.1} ns/op",
            self.name,
            self.per_sec(),
            self.ns_per_op()
        )
    }
}

fn time(name: &str, ops: u64, mut f: impl FnMut()) -> Figure {
    let start = monotonic();
    f();
    Figure {
        name: name.to_string(),
        ops,
        nanos: monotonic() - start,
    }
}

/// MemFs stat, 4 KiB read and 4 KiB write throughput on a file at depth 4.
pub fn memfs_ops(n: u64) -> Vec<Figure> {
    let fs = MemFs::new();
    fs.write_file("/a/b/c/file.bin", &vec![7u8; 1 << 20]).ok();
    let path = FsPath::parse("/a/b/c/file.bin").unwrap_or_default();
    let h = fs.open(&path, &OpenOptions::read_write());
    let Ok(h) = h else { return Vec::new() };
    let mut buf = vec![0u8; 4096];
    let data = vec![1u8; 4096];
    let mut sink = 0u64;
    let figures = vec![
        time("memfs stat (depth 4)", n, || {
            for _ in 0..n {
                sink += fs.stat(&path, Follow::Yes).map(|m| m.size).unwrap_or(0);
            }
        }),
        time("memfs read_at 4 KiB", n, || {
            for i in 0..n {
                sink += h.read_at(&mut buf, (i * 4096) % (1 << 20)).unwrap_or(0) as u64;
            }
        }),
        time("memfs write_at 4 KiB", n, || {
            for i in 0..n {
                sink += h.write_at(&data, (i * 4096) % (1 << 20)).unwrap_or(0) as u64;
            }
        }),
        time("memfs open+close", n, || {
            for _ in 0..n {
                sink += fs.open(&path, &OpenOptions::read()).is_ok() as u64;
            }
        }),
    ];
    std::hint::black_box(sink);
    figures
}

/// Namespace path resolution (stat through the mount table) with `mounts` mounts.
pub fn resolution(mounts: usize, n: u64) -> Figure {
    let mut ns = Namespace::new();
    let target = MemFs::new();
    target.write_file("/deep/er/file.txt", b"x").ok();
    for i in 0..mounts.saturating_sub(1) {
        ns.mount(&format!("/svc/m{i:04}"), Arc::new(MemFs::new()))
            .ok();
    }
    ns.mount("/workspace", Arc::new(target)).ok();
    let path = FsPath::parse("/workspace/deep/er/file.txt").unwrap_or_default();
    let mut sink = 0u64;
    let fig = time(&format!("namespace stat, {mounts} mounts"), n, || {
        for _ in 0..n {
            sink += ns.stat(&path, Follow::Yes).map(|m| m.size).unwrap_or(0);
        }
    });
    std::hint::black_box(sink);
    fig
}

/// Every figure the foundation reports.
pub fn all(n: u64) -> Vec<Figure> {
    let mut v = memfs_ops(n);
    v.push(resolution(1, n));
    v.push(resolution(1000, n));
    v
}
