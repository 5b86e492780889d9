#![cfg(not(target_arch = "wasm32"))]
//! 1,000 requests through `/cap/http` in a loop: no fd or memory growth. Alone in its own
//! test binary, so no other test's allocations or sockets disturb the counts.

use oanix_tests::netfiles::{grant, make_ns, request};
use oanix_tests::testserver::TestServer;
use serde_json::json;

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_thousand_requests_leak_no_fds_or_memory() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let one = |i: usize| {
        let r = request(
            &ns,
            json!({"method": "POST", "url": format!("{}/echo", srv.url), "body": i.to_string()}),
        );
        assert_eq!(r["body"], i.to_string());
    };
    for i in 0..100 {
        one(i);
    }
    let (fds, rss) = (open_fds(), rss_kib());
    for i in 0..1000 {
        one(i);
    }
    let (fds2, rss2) = (open_fds(), rss_kib());
    assert!(fds2 <= fds + 2, "fds grew from {fds} to {fds2}");
    assert!(
        rss2 < rss + 8 * 1024,
        "RSS grew from {rss} KiB to {rss2} KiB"
    );
    assert_eq!(srv.hits(), 1100);
}
