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
    let dir = temp_dir(&format!("{}-ws", case.name));
    let ws = case.workspace().expect("case workspace");
    hostfs::write_back(&ws, &FsPath::root(), dir.path()).expect("materialise /workspace");
    let fs = WorkspaceFs::open(dir.path(), false).expect("WorkspaceFs over the temp dir");
    let mut ns = Namespace::new();
    ns.mount(WORKSPACE, Arc::new(fs)).expect("mount /workspace");
    let out = runner.run(bytes, ns, case.config());
    let tree = hostfs::dump_host_dir(dir.path()).expect("read /workspace back");
    Observed::new(out, tree)
}

/// Runs a case on wasmtime-wasi, `/workspace` a fresh temporary host directory.
pub fn run_reference(runner: &ReferenceRunner, case: &Case, bytes: &[u8]) -> Observed {
    let dir = temp_dir(&case.name);
    let ws = case.workspace().expect("case workspace");
    hostfs::write_back(&ws, &FsPath::root(), dir.path()).expect("materialise /workspace");
    let out = runner.run(bytes, &[(dir.path(), WORKSPACE)], &case.config());
    let tree = hostfs::dump_host_dir(dir.path()).expect("read /workspace back");
    Observed::new(out, tree)
}

/// A fresh empty directory under the system temp dir, removed on drop.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("oanix-{tag}-"))
        .tempdir()
        .expect("create temp dir")
}

/// The `oanix` binary: `target/<profile>/oanix`, next to the running test's `deps/`
/// directory (`cargo test --workspace` builds it).
pub fn oanix_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let p = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("oanix");
    assert!(
        p.exists(),
        "{} missing: build it with `cargo build -p oanix-native-runner --bin oanix` \
         (`cargo test --workspace` does)",
        p.display()
    );
    p
}

/// A tokio runtime with two worker threads, for the network tests' servers and clients.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
