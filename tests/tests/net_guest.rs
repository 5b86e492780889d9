#![cfg(not(target_arch = "wasm32"))]
//! The `net` guest (tests/guests/src/bin/net.rs) on the OANIX shim natively, against the
//! loopback test server: its stdout must equal `tests/net_guest.stdout`, which the browser
//! test checks too. wasmtime-wasi has no `/cap`, so the expectation is blessed from this
//! native run: `OANIX_BLESS=1 cargo test -p oanix-tests --test net_guest` (the output
//! holds no port, so any server reproduces it).

use oanix_core::run::RunConfig;
use oanix_native_runner::Runner;
use oanix_tests::netfiles::{grant, make_ns};
use oanix_tests::{native, testserver::TestServer};
use std::time::Duration;

const EXPECTED: &str = include_str!("../net_guest.stdout");

#[test]
fn net_guest_uses_http_and_websockets_through_files_only() {
    // The server the Chromium test uses when dev.sh started one, else an in-process one.
    let local;
    let url = match std::env::var("OANIX_TEST_SERVER_URL") {
        Ok(u) => u,
        Err(_) => {
            local = TestServer::start();
            local.url.clone()
        }
    };
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let cfg = RunConfig {
        args: vec!["net".into(), url.clone()],
        timeout: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    let out = Runner::new()
        .expect("engine")
        .run(&native::guest_bytes("net"), ns, cfg);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.exit_code,
        Some(0),
        "{:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.error
    );
    assert!(
        !stdout.contains(&format!(":{}", url.rsplit(':').next().unwrap())),
        "the port leaked into stdout"
    );
    if std::env::var_os("OANIX_BLESS").is_some() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/net_guest.stdout");
        std::fs::write(p, &stdout).expect("bless");
        return;
    }
    assert_eq!(stdout, EXPECTED);
}
