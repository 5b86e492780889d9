//! The `nostr_job` guest in headless Chromium, inside a dedicated Web Worker, with
//! `/cap/nostr` over the browser's WebSocket (the same `WsSocket` transport as `/cap/ws`) and
//! `k256` signatures compiled to wasm32: its stdout must equal `tests/nostr_guest.stdout`,
//! the native run's (`nostr.rs`).
//!
//! The relay (with the test provider answering on it) is `oanix-nostr-relay`; its URL
//! arrives at compile time in `OANIX_NOSTR_RELAY_URL` (`scripts/dev.sh test` starts it).
//! Without it the test says so and passes only outside CI: with `CI` or
//! `OANIX_REQUIRE_TEST_SERVER` set (as dev.sh does) it fails.
#![cfg(target_arch = "wasm32")]
// Services are single-threaded on wasm32 (they hold JS objects): an `Arc` of one is not Send.
#![allow(clippy::arc_with_non_send_sync)]

use oanix_core::net::nostr::Keys;
use oanix_core::services::NostrFs;
use oanix_core::Namespace;
use oanix_tests::browser;
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const EXPECTED: &str = include_str!("../nostr_guest.stdout");

#[wasm_bindgen_test]
async fn nostr_guest_in_a_worker_matches_the_native_output() {
    let url = option_env!("OANIX_NOSTR_RELAY_URL");
    let Some(url) = browser::server_url(
        url,
        "OANIX_NOSTR_RELAY_URL",
        "oanix-nostr-relay",
        "browser_nostr",
    ) else {
        return;
    };
    let fs = NostrFs::new(&[url.to_string()], Keys::generate()).expect("nostrfs");
    let mut ns = Namespace::new();
    ns.mount("/cap/nostr", Arc::new(fs)).unwrap();
    let args = vec!["nostr_job".into()];
    browser::assert_guest_stdout("nostr_job", args, ns, Duration::from_secs(60), EXPECTED).await;
}
