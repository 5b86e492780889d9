//! The Nostr test fixtures shared by the native tests and `oanix-nostr-relay` (which serves
//! the Chromium test): a tiny NIP-90 service provider on a relay.

use oanix_core::net::nostr::{Event, Keys, RelayPool};
use oanix_core::net::platform_transport;
use serde_json::json;
use std::sync::{mpsc, Arc, Mutex};

/// A tiny NIP-90 service provider on the relay: kind 5001 → feedback `processing`, then a
/// kind-6001 result whose content is the upper-cased input; kind 5002 → `error` feedback.
pub fn test_provider(url: &str) -> (RelayPool, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Event>();
    let tx = Mutex::new(tx);
    let p = RelayPool::new(
        &[url.to_string()],
        platform_transport(&Default::default()),
        Arc::new(move |ev: &Event, _: &str| {
            let _ = tx.lock().unwrap().send(ev.clone());
        }),
    );
    p.subscribe("jobs", json!({"kinds": [5001, 5002]}));
    let keys = Keys::generate();
    let url = url.to_string();
    let handle = std::thread::spawn(move || {
        let out = RelayPool::new(&[url], platform_transport(&Default::default()), {
            Arc::new(|_: &Event, _: &str| {})
        });
        for job in rx {
            let now = oanix_core::net::nostr::unix_now();
            let tag = |k: &str, v: &str| vec![k.to_string(), v.to_string()];
            let fb = |status: &str, why: &str| {
                Event::sign(
                    &keys,
                    now,
                    7000,
                    vec![
                        vec!["status".into(), status.into(), why.into()],
                        tag("e", &job.id),
                        tag("p", &job.pubkey),
                    ],
                    String::new(),
                )
            };
            if job.kind == 5002 {
                out.publish(&fb("error", "kind 5002 always fails"));
                continue;
            }
            out.publish(&fb("processing", ""));
            let input = job.tag("i").unwrap_or_default().to_uppercase();
            out.publish(&Event::sign(
                &keys,
                now,
                job.kind + 1000,
                vec![
                    tag("request", &job.to_json()),
                    tag("e", &job.id),
                    tag("p", &job.pubkey),
                ],
                input,
            ));
        }
    });
    (p, handle)
}

/// An in-process relay (`MockRelay`, verifies ids and signatures) on a free loopback port.
/// `MockRelay::run` picks a free port and binds it afterwards, so tests starting relays at the
/// same time can collide (`AddrInUse`): that case is retried with a fresh port.
pub async fn mock_relay() -> nostr_relay_builder::prelude::MockRelay {
    let mut last = None;
    for _ in 0..20 {
        match nostr_relay_builder::prelude::MockRelay::run().await {
            Ok(r) => return r,
            Err(e) => last = Some(e),
        }
    }
    panic!("no loopback relay after 20 tries: {last:?}")
}
