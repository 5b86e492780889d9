//! What the native-runner tests share: the guests and WAT modules they run, temp
//! directories, and for the hostile tests, WAT modules importing every preview1 function,
//! run on the OANIX shim (native host) and on wasmtime-wasi over identical fresh directories.
#![allow(dead_code)] // each test binary uses a part

use oanix_core::services::WorkspaceFs;
use oanix_core::wasi::{Ty, FUNCS, MODULE};
use oanix_core::Namespace;
use oanix_native_runner::{hostfs, reference::ReferenceRunner, RunConfig, RunOutput, Runner};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where errnos are recorded (one byte each) before `$flush` writes them to stdout.
pub const REC: u32 = 0x8000;

/// The import section: every preview1 function as `$name`.
pub fn imports() -> String {
    let mut s = String::new();
    for f in FUNCS {
        let (name, params) = (f.name, f.params);
        let ps: Vec<&str> = params
            .iter()
            .map(|t| match t {
                Ty::I32 => "i32",
                Ty::I64 => "i64",
            })
            .collect();
        let result = if f.returns_errno { "(result i32)" } else { "" };
        s.push_str(&format!(
            "(import \"{MODULE}\" \"{name}\" (func ${name} (param {}) {result}))\n",
            ps.join(" ")
        ));
    }
    s
}

/// A command module: `pages` of memory, `data` segments, and a `_start` running `body`,
/// where `(call $rec X)` records errno `X` and everything recorded is written to stdout
/// at the end (one byte per errno).
pub fn module(pages: u32, data: &str, body: &str) -> String {
    format!(
        r#"(module
{imports}
(memory (export "memory") {pages})
{data}
(global $n (mut i32) (i32.const 0))
(func $rec (param $e i32)
  (i32.store8 (i32.add (i32.const {REC}) (global.get $n)) (local.get $e))
  (global.set $n (i32.add (global.get $n) (i32.const 1))))
(func $flush
  (i32.store (i32.const 0x7ff0) (i32.const {REC}))
  (i32.store (i32.const 0x7ff4) (global.get $n))
  (drop (call $fd_write (i32.const 1) (i32.const 0x7ff0) (i32.const 1) (i32.const 0x7ff8))))
(func (export "_start")
{body}
  (call $flush))
)"#,
        imports = imports()
    )
}

/// A fresh empty directory under the system temp dir, removed on drop.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    temp_dir_in(&std::env::temp_dir(), tag)
}

/// A fresh empty directory under `base`, removed on drop.
pub fn temp_dir_in(base: &Path, tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("oanix-{tag}-"))
        .tempdir_in(base)
        .expect("create temp dir")
}

/// A WAT module of `tests/wat`.
pub fn wat(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/wat/{name}.wat"))
}

/// A guest of `tests/guests`, built into `<target>/wasm32-wasip1/release` by
/// `./scripts/dev.sh guests` (the test fails saying so when it is missing).
pub fn guest(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let p = target.join(format!("wasm32-wasip1/release/{name}.wasm"));
    assert!(
        p.exists(),
        "guest {} not built: run `./scripts/dev.sh guests`",
        p.display()
    );
    p
}

/// What a run showed: how it ended, its stdout, and the directory afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// Exit code, or the error kind.
    pub end: String,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Every file and directory under the preopen (`None` for a directory).
    pub tree: BTreeMap<String, Option<Vec<u8>>>,
}

fn end(out: &RunOutput) -> String {
    if let Some(e) = &out.error {
        // Shown when a test fails.
        eprintln!(
            "run ended: {}",
            e.to_string()
                .lines()
                .take(12)
                .collect::<Vec<_>>()
                .join(" / ")
        );
    }
    match (&out.exit_code, &out.error) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(e)) => e.kind().to_string(),
        (None, None) => "nothing".into(),
    }
}

/// Fills `dir` with the starting tree every case sees.
pub fn seed(dir: &Path) {
    std::fs::write(dir.join("f"), b"0123456789").unwrap();
    std::fs::create_dir(dir.join("d")).unwrap();
    std::fs::write(dir.join("d/g"), b"hello").unwrap();
    std::fs::create_dir(dir.join("e")).unwrap();
}

/// Runs `wat` on the OANIX shim with a seeded host directory preopened as `/w` (fd 3).
pub fn run_shim(runner: &Runner, wat: &str, cfg: RunConfig) -> Seen {
    let dir = temp_dir("shim");
    seed(dir.path());
    let mut ns = Namespace::new();
    ns.mount(
        "/w",
        Arc::new(WorkspaceFs::open(dir.path(), false).unwrap()),
    )
    .unwrap();
    let out = runner.run(wat.as_bytes(), ns, cfg);
    Seen {
        end: end(&out),
        stdout: out.stdout,
        tree: hostfs::dump_host_dir(dir.path()).unwrap(),
    }
}

/// Runs `wat` on wasmtime-wasi with a seeded host directory preopened as `/w` (fd 3).
pub fn run_reference(runner: &ReferenceRunner, wat: &str, cfg: RunConfig) -> Seen {
    let dir = temp_dir("ref");
    seed(dir.path());
    let out = runner.run(wat.as_bytes(), &[(dir.path(), "/w")], &cfg);
    Seen {
        end: end(&out),
        stdout: out.stdout,
        tree: hostfs::dump_host_dir(dir.path()).unwrap(),
    }
}
