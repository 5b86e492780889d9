#![cfg(not(target_arch = "wasm32"))]
//! `oanix run --cap http --cap ws --allow-net 127.0.0.1 net.wasm`: the CLI grants the
//! network capabilities (the `oanix` binary of native-runner, built by `cargo test
//! --workspace`), and refuses inconsistent network flags with exit status 125.

use oanix_tests::{native, testserver::TestServer};
use std::process::Command;

const EXPECTED: &str = include_str!("../net_guest.stdout");

#[test]
fn run_with_cap_flags_matches_the_blessed_guest_output() {
    let srv = TestServer::start();
    let wasm = native::guest_path("net");
    let out = Command::new(native::oanix_bin())
        .args([
            "run",
            "--cap",
            "http",
            "--cap",
            "ws",
            "--allow-net",
            "127.0.0.1:1",
            "--allow-net",
            "127.0.0.1,*.example.org",
        ])
        .arg(&wasm)
        .args(["--", &srv.url])
        .output()
        .expect("run oanix");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, EXPECTED);
}

#[test]
fn without_the_grant_there_is_no_network_and_bad_flags_are_refused() {
    let srv = TestServer::start();
    let wasm = native::guest_path("net");
    // No --cap: no /cap at all, the guest fails on its first open.
    let out = Command::new(native::oanix_bin())
        .arg("run")
        .arg(&wasm)
        .args(["--", &srv.url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(srv.hits(), 0);
    for (flags, msg) in [
        (&["--allow-net", "127.0.0.1"][..], "no effect without --cap"),
        (&["--cap", "http"][..], "needs --allow-net"),
        (
            &["--cap", "http", "--allow-net", "a/b"][..],
            "allowlist entry",
        ),
        (
            &["--cap", "ftp", "--allow-net", "127.0.0.1"][..],
            "invalid value",
        ),
    ] {
        let out = Command::new(native::oanix_bin())
            .arg("run")
            .args(flags)
            .arg(&wasm)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(msg), "{flags:?}: {err}");
        assert_ne!(out.status.code(), Some(0), "{flags:?}");
    }
    let out = Command::new(native::oanix_bin())
        .args(["run", "--cap", "http", "--allow-net", "a/b"])
        .arg(&wasm)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
}
