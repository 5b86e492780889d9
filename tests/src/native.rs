//! Running cases natively: on the OANIX shim over wasmtime, and on wasmtime-wasi.

use crate::{service_tree, Case, Observed, WORKSPACE};
use oanix_core::services::WorkspaceFs;
use oanix_core::{FsPath, Namespace};
use oanix_native_runner::{hostfs, reference::ReferenceRunner, Runner};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the test command puts the guests: `<target>/wasm32-wasip1/release/<guest>.wasm`.
pub fn guest_path(guest: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target
        .join("wasm32-wasip1/release")
        .join(format!("{guest}.wasm"))
}

/// The guest's bytes; panics with the command that builds them when they are missing.
pub fn guest_bytes(guest: &str) -> Vec<u8> {
    let p = guest_path(guest);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "guest {} not built ({e}); build the guests with `./scripts/dev.sh guests`",
            p.display()
        )
    })
}

/// Runs a case on the OANIX shim (wasmtime host), `/workspace` a fresh MemFs.
pub fn run_shim(runner: &Runner, case: &Case, bytes: &[u8]) -> Observed {
    let ws = Arc::new(case.workspace().expect("case workspace"));
    let mut ns = Namespace::new();
    ns.mount(WORKSPACE, ws.clone()).expect("mount /workspace");
    let out = runner.run(bytes, ns, case.config());
    let tree = service_tree(ws.as_ref(), &FsPath::root()).expect("read /workspace back");
    Observed::new(out, tree)
}

/// Runs a case on the OANIX shim with `/workspace` on a real host directory: a fresh temp
/// dir holding the case's files, served by [`WorkspaceFs`] (the service `oanix run --mount`
/// uses). The tree is read back from the host directory itself, not through the service.
pub fn run_shim_on_host_dir(runner: &Runner, case: &Case, bytes: &[u8]) -> Observed {
    let dir = TempDir::new(&format!("{}-ws", case.name));
    let ws = case.workspace().expect("case workspace");
    hostfs::write_back(&ws, &FsPath::root(), &dir.0).expect("materialise /workspace");
    let fs = WorkspaceFs::open(&dir.0, false).expect("WorkspaceFs over the temp dir");
    let mut ns = Namespace::new();
    ns.mount(WORKSPACE, Arc::new(fs)).expect("mount /workspace");
    let out = runner.run(bytes, ns, case.config());
    let tree = hostfs::dump_host_dir(&dir.0).expect("read /workspace back");
    Observed::new(out, tree)
}

/// Runs a case on wasmtime-wasi, `/workspace` a fresh temporary host directory.
pub fn run_reference(runner: &ReferenceRunner, case: &Case, bytes: &[u8]) -> Observed {
    let dir = TempDir::new(&case.name);
    let ws = case.workspace().expect("case workspace");
    hostfs::write_back(&ws, &FsPath::root(), &dir.0).expect("materialise /workspace");
    let out = runner.run(bytes, &[(&dir.0, WORKSPACE)], &case.config());
    let tree = hostfs::dump_host_dir(&dir.0).expect("read /workspace back");
    Observed::new(out, tree)
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh empty directory under the system temp dir.
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "oanix-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
