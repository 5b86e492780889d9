//! `oanix run`'s own inputs are bounded and checked: the module and `--map` files are
//! regular files read with a size limit (a FIFO is refused, not waited on), a mount point
//! given twice or a `--map` under a `--mount` is an error (the earlier one used to vanish),
//! and absurd `--timeout` / `--max-memory` values are refused. Each is a clear message and
//! exit 125, never a panic.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const OANIX: &str = env!("CARGO_BIN_EXE_oanix");

fn hello() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/wat/hello.wat")
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oanix-cli-input-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn oanix(args: &[&str]) -> Output {
    Command::new(OANIX)
        .args(args)
        .env("OANIX_CACHE_DIR", tempdir("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Asserts exit 125 with `want` in the message and no panic.
fn refused(out: &Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(err.contains(want), "want {want:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn absurd_timeouts_and_zero_memory_are_refused() {
    let h = hello();
    let h = h.to_str().unwrap();
    for t in ["1e300s", "99999999999999999999h", "400d", "0s", "abc"] {
        let out = oanix(&["run", "--timeout", t, h]);
        refused(&out, "--timeout");
    }
    refused(
        &oanix(&["run", "--timeout", "99999999999999999999h", h]),
        "too long",
    );
    refused(&oanix(&["run", "--timeout", "9000h", h]), "too long");
    refused(&oanix(&["run", "--max-memory", "0", h]), "must be positive");
    refused(
        &oanix(&["run", "--max-memory", "0MiB", h]),
        "must be positive",
    );
    refused(
        &oanix(&["run", "--max-memory", "99999999999999GiB", h]),
        "too large",
    );
    // Sane values still run.
    let out = oanix(&["run", "--timeout", "30s", "--max-memory", "64MiB", h]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hi\n");
}

#[test]
fn mounts_at_the_same_point_and_maps_under_mounts_are_refused() {
    let d = tempdir("mounts");
    let (a, b) = (d.join("a"), d.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let f = d.join("spec.json");
    std::fs::write(&f, "{}").unwrap();
    let h = hello();
    let h = h.to_str().unwrap();
    let ma = format!("/ws={}", a.display());
    let mb = format!("/ws/={}", b.display());
    refused(
        &oanix(&["run", "--mount", &ma, "--mount", &mb, h]),
        "same point",
    );
    let map = format!("/ws/sub/spec.json={}", f.display());
    refused(
        &oanix(&["run", "--mount", &ma, "--map", &map, h]),
        "under --mount",
    );
    let map_at = format!("/ws/spec.json={}", f.display());
    refused(
        &oanix(&["run", "--mount", &ma, "--map", &map_at, h]),
        "under --mount",
    );
    let twice = format!("/task/spec.json={}", f.display());
    refused(
        &oanix(&["run", "--map", &twice, "--map", &twice, h]),
        "mapped twice",
    );
    // Side by side is fine.
    let ok_map = format!("/task/spec.json={}", f.display());
    let out = oanix(&["run", "--mount", &ma, "--map", &ok_map, h]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn module_and_map_files_must_be_regular_and_bounded() {
    let d = tempdir("files");
    let fifo = d.join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    // Nobody writes the FIFO: reading it would block forever; it is refused at once.
    refused(
        &oanix(&["run", fifo.to_str().unwrap()]),
        "not a regular file",
    );
    let map = format!("/task/spec.json={}", fifo.display());
    refused(
        &oanix(&["run", "--map", &map, hello().to_str().unwrap()]),
        "not a regular file",
    );
    refused(
        &oanix(&[
            "run",
            "--map",
            "/task/x=/dev/zero",
            hello().to_str().unwrap(),
        ]),
        "not a regular file",
    );
    refused(&oanix(&["run", d.to_str().unwrap()]), "not a regular file");
    // Past the --map limit (256 MiB): a sparse file, refused before it is read.
    let big = d.join("big.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let map = format!("/task/big.bin={}", big.display());
    refused(
        &oanix(&["run", "--map", &map, hello().to_str().unwrap()]),
        "too large",
    );
    refused(
        &oanix(&["run", d.join("missing.wasm").to_str().unwrap()]),
        "cannot read",
    );
}

#[test]
fn bad_flags_are_usage_errors_with_exit_125() {
    let out = oanix(&["run", "--no-such-flag", hello().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(125));
    let out = oanix(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
}
