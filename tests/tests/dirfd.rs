//! A directory fd refers to the directory, not to its path: while one guest holds a
//! directory open, another guest in the same namespace renames it and puts a new directory
//! under the old name; the first guest's fd still leads to the renamed one. When the
//! directory is removed instead, the fd answers ENOENT, never for a stranger's directory.
#![cfg(not(target_arch = "wasm32"))]

use oanix_core::run::RunConfig;
use oanix_core::wasi::{InputPipe, OutputPipe};
use oanix_core::{MemFs, Namespace};
use oanix_native_runner::Runner;
use oanix_tests::native::guest_bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn config(args: &[&str], stdin: InputPipe, stdout: Option<OutputPipe>) -> RunConfig {
    RunConfig {
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin,
        stdout,
        timeout: Some(Duration::from_secs(30)),
        ..RunConfig::default()
    }
}

/// Runs `dirfd d f` in one thread; once it has its fd, runs `fsutil` with `changes` in
/// another (a second guest, same namespace), then lets the first go on. Returns the first
/// guest's output and the second's exit code.
fn hold_dir_while(changes: &[&str]) -> (String, Option<i32>) {
    let ws = MemFs::new();
    ws.write_file("/d/f", b"old").unwrap();
    let mut ns = Namespace::new();
    ns.mount("/workspace", Arc::new(ws)).unwrap();
    let stdin = InputPipe::open();
    let stdout = OutputPipe::new();
    std::thread::scope(|s| {
        let holder = {
            let (ns, stdin, stdout) = (ns.clone(), stdin.clone(), stdout.clone());
            s.spawn(move || {
                let runner = Runner::new().unwrap();
                let cfg = config(&["dirfd", "d", "f"], stdin, Some(stdout));
                runner.run(&guest_bytes("dirfd"), ns, cfg)
            })
        };
        let start = Instant::now();
        while !String::from_utf8_lossy(&stdout.contents()).contains("opened") {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "dirfd never opened d"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let args: Vec<&str> = std::iter::once("fsutil")
            .chain(changes.iter().copied())
            .collect();
        let other = Runner::new().unwrap().run(
            &guest_bytes("fsutil"),
            ns.clone(),
            config(&args, InputPipe::from_bytes(""), None),
        );
        stdin.push(b"go\n");
        stdin.close();
        let out = holder.join().unwrap();
        assert_eq!(out.exit_code, Some(0), "{out:?}");
        (
            String::from_utf8_lossy(&stdout.contents()).into_owned(),
            other.exit_code,
        )
    })
}

#[test]
fn a_directory_fd_follows_its_directory_when_another_guest_renames_it() {
    let (out, code) = hold_dir_while(&[
        "mv",
        "/workspace/d",
        "/workspace/e",
        "mkdir",
        "/workspace/d",
        "write",
        "/workspace/d/f",
        "new",
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "opened\nf: old\n");
}

#[test]
fn a_directory_fd_of_a_removed_directory_finds_nothing_under_its_old_name() {
    let (out, code) = hold_dir_while(&[
        "rm",
        "/workspace/d/f",
        "rmdir",
        "/workspace/d",
        "mkdir",
        "/workspace/d",
        "write",
        "/workspace/d/f",
        "stranger",
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "opened\nopen f: NOENT\n");
}
