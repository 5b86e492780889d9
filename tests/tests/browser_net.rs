//! The `net` guest in headless Chromium, inside a dedicated Web Worker, on the browser host
//! with `/cap/http` and `/cap/ws` (fetch and WebSocket): its stdout must equal
//! `tests/net_guest.stdout`, the native run's (see `net_guest.rs`).
//!
//! The loopback test server's URL arrives at compile time in `OANIX_TEST_SERVER_URL`
//! (`scripts/dev.sh test` starts `oanix-testserver` and always sets it). Without it the test
//! says so and passes only outside CI: with `CI` or `OANIX_REQUIRE_TEST_SERVER` set (as
//! dev.sh does) it fails.
#![cfg(target_arch = "wasm32")]
// Services are single-threaded on wasm32 (they hold JS objects): an `Arc` of one is not Send.
#![allow(clippy::arc_with_non_send_sync)]

use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{HttpFs, WsFs};
use oanix_core::Namespace;
use oanix_tests::browser;
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const EXPECTED: &str = include_str!("../net_guest.stdout");

#[wasm_bindgen_test]
async fn net_guest_in_a_worker_matches_the_native_output() {
    let url = option_env!("OANIX_TEST_SERVER_URL");
    let Some(url) = browser::server_url(
        url,
        "OANIX_TEST_SERVER_URL",
        "oanix-testserver",
        "browser_net",
    ) else {
        return;
    };
    let grant = NetGrant::new(Allowlist::parse(["127.0.0.1"]).unwrap());
    let mut ns = Namespace::new();
    ns.mount("/cap/http", Arc::new(HttpFs::new(grant.clone())))
        .unwrap();
    ns.mount("/cap/ws", Arc::new(WsFs::new(grant))).unwrap();
    let args = vec!["net".into(), url.into()];
    browser::assert_guest_stdout("net", args, ns, Duration::from_secs(30), EXPECTED).await;
}
