//! `oanix-nostr-relay`: a real Nostr relay on `127.0.0.1` (nostr-relay-builder; it checks
//! ids and signatures) with the test NIP-90 provider of `oanix_tests::nostrtest` answering
//! on it. Binds a free port (or `--port N`), prints its URL (`ws://127.0.0.1:<port>`) as the
//! first line of stdout, and serves until killed. Used by the Chromium test `browser_nostr`.
#![forbid(unsafe_code)]

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    use nostr_relay_builder::prelude::{LocalRelay, RelayBuilder};
    use oanix_core::net::nostr::RelayState;
    use std::io::Write;
    let mut args = std::env::args().skip(1);
    let port = match (args.next().as_deref(), args.next()) {
        (Some("--port"), Some(p)) => p.parse().expect("port number"),
        (None, _) => oanix_tests::testserver::closed_port(),
        _ => {
            eprintln!("usage: oanix-nostr-relay [--port N]");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let relay = LocalRelay::new(RelayBuilder::default().port(port));
    rt.block_on(relay.run()).expect("relay");
    let url = rt.block_on(relay.url()).to_string();
    let (provider, _worker) = oanix_tests::nostrtest::test_provider(&url);
    // Ready once the provider's subscription is on the relay: the first line says so.
    while provider.status()[0].state != RelayState::Connected {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    println!("{url}");
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
