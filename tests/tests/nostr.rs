#![cfg(not(target_arch = "wasm32"))]
//! `/cap/nostr` and the relay client natively, against a real relay on loopback
//! (`nostr-relay-builder`'s in-process relay, which checks ids and signatures), with the
//! `nostr` crate as an independent check of our ids and BIP-340 signatures.

use nostr::JsonUtil as _;
use nostr_relay_builder::prelude::{LocalRelay, MockRelay, RelayBuilder};
use oanix_core::net::nostr::{Event, Keys, RelayPool, RelayState, RelayStatus};
use oanix_core::net::platform_transport;
use oanix_core::run::RunConfig;
use oanix_core::services::NostrFs;
use oanix_core::{FileHandle, FileService, FsPath, Namespace, OpenOptions};
use oanix_native_runner::Runner;
use oanix_tests::native;
use oanix_tests::nostrtest::test_provider;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Waits (polling every 10 ms, up to 20 s) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A relay on loopback with the test provider connected to it: the relay and the provider
/// (both to keep for the whole test) and the relay's URL.
fn relay_with_provider(
    rt: &tokio::runtime::Runtime,
) -> (MockRelay, (RelayPool, std::thread::JoinHandle<()>), String) {
    let relay = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let url = rt.block_on(relay.url()).to_string();
    let provider = test_provider(&url);
    wait_for("provider connected", || {
        provider.0.status()[0].state == RelayState::Connected
    });
    (relay, provider, url)
}

fn pool(url: &str) -> (RelayPool, Arc<Mutex<Vec<Event>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let p = RelayPool::new(
        &[url.to_string()],
        platform_transport(&Default::default()),
        Arc::new(move |ev: &Event, _: &str| g.lock().unwrap().push(ev.clone())),
    );
    (p, got)
}

fn open(fs: &NostrFs, path: &str, opts: &OpenOptions) -> Box<dyn FileHandle> {
    fs.open(&FsPath::parse(path).unwrap(), opts).expect("open")
}

fn status(p: &RelayPool) -> RelayStatus {
    p.status().into_iter().next().expect("one relay")
}

#[test]
fn our_ids_and_signatures_match_the_nostr_crate_both_ways() {
    let keys = Keys::generate();
    let tags = vec![
        vec![
            "i".to_string(),
            "hé \"quoted\"\n\ttab".into(),
            "text".into(),
        ],
        vec!["param".into(), "k".into(), "v".into()],
    ];
    let ours = Event::sign(&keys, 1_750_000_000, 5001, tags, "line\nbreak \\ ✓".into());
    let theirs = nostr::Event::from_json(ours.to_json()).expect("nostr parses our event");
    theirs
        .verify()
        .expect("nostr verifies our id and signature");
    assert_eq!(theirs.id.to_hex(), ours.id);

    let nk = nostr::Keys::generate();
    let ev = nostr::EventBuilder::new(nostr::Kind::Custom(6001), "résultat\n\"ok\"")
        .tags([nostr::Tag::parse(["e", &ours.id]).unwrap()])
        .sign_with_keys(&nk)
        .unwrap();
    let parsed: Event = serde_json::from_str(&ev.as_json()).unwrap();
    parsed.verify().expect("we verify the nostr crate's event");
    let mut tampered = parsed.clone();
    tampered.content.push('!');
    assert!(tampered.verify().is_err());
}

#[test]
fn a_verifying_relay_accepts_our_events_and_rejects_a_tampered_one() {
    let rt = native::rt();
    let relay = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let url = rt.block_on(relay.url()).to_string();
    let (p, _) = pool(&url);
    let keys = Keys::generate();
    let ev = Event::sign(&keys, 1_750_000_000, 5001, vec![], "good".into());
    p.publish(&ev);
    wait_for("OK true", || status(&p).accepted == 1);
    let mut bad = Event::sign(&keys, 1_750_000_001, 5001, vec![], "bad".into());
    bad.content = "tampered".into();
    p.publish(&bad);
    wait_for("OK false", || status(&p).rejected == 1);
    let st = status(&p);
    assert_eq!(st.state, RelayState::Connected);
    assert_eq!((st.sent, st.accepted, st.outbox), (2, 1, 0));
    assert!(
        st.notice.as_deref().unwrap_or("").contains("invalid"),
        "{st:?}"
    );
}

#[test]
fn inbound_events_are_verified_and_deduplicated_across_relays() {
    let rt = native::rt();
    let r1 = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let r2 = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let urls = [
        rt.block_on(r1.url()).to_string(),
        rt.block_on(r2.url()).to_string(),
    ];
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let p = RelayPool::new(
        &urls,
        platform_transport(&Default::default()),
        Arc::new(move |ev: &Event, _: &str| g.lock().unwrap().push(ev.clone())),
    );
    p.subscribe("s", json!({"kinds": [6001]}));
    wait_for("both connected", || {
        p.status().iter().all(|s| s.state == RelayState::Connected)
    });
    // A good event published (by someone else) on both relays arrives once.
    let nk = nostr::Keys::generate();
    let good = nostr::EventBuilder::new(nostr::Kind::Custom(6001), "once")
        .sign_with_keys(&nk)
        .unwrap();
    // A tampered one pushed straight to subscribers (the relay's own check is bypassed).
    let mut bad = nostr::EventBuilder::new(nostr::Kind::Custom(6001), "bad")
        .sign_with_keys(&nk)
        .unwrap();
    bad.content = "tampered".into();
    // Subscriptions are sent right after connecting; wait until both relays hold them by
    // sending until the event arrives.
    wait_for("the good event", || {
        r1.notify_event(good.clone());
        r2.notify_event(good.clone());
        !got.lock().unwrap().is_empty()
    });
    wait_for("both relays delivered it", || {
        r1.notify_event(good.clone());
        r2.notify_event(good.clone());
        p.status().iter().map(|s| s.received).sum::<u64>().eq(&1) && got.lock().unwrap().len() == 1
    });
    r1.notify_event(bad.clone());
    wait_for("the tampered event counted", || {
        p.status().iter().any(|s| s.invalid == 1)
    });
    let evs = got.lock().unwrap();
    assert_eq!(evs.len(), 1, "deduplicated, tampered dropped");
    assert_eq!(evs[0].content, "once");
}

const GUEST_STDOUT: &str = include_str!("../nostr_guest.stdout");

#[test]
fn a_guest_submits_a_job_and_reads_the_result_through_files_only() {
    let rt = native::rt();
    let (_relay, _provider, url) = relay_with_provider(&rt);
    let fs = Arc::new(NostrFs::new(std::slice::from_ref(&url), Keys::generate()).expect("nostrfs"));
    let mut ns = Namespace::new();
    ns.mount("/cap/nostr", fs.clone()).unwrap();
    let cfg = RunConfig {
        args: vec!["nostr_job".into()],
        timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let out = Runner::new()
        .expect("engine")
        .run(&native::guest_bytes("nostr_job"), ns, cfg);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.exit_code,
        Some(0),
        "{:?}\n{stdout}\n{stderr}",
        out.error
    );
    assert_eq!(stdout, GUEST_STDOUT, "stderr:\n{stderr}");
}

#[test]
fn nostrfs_refuses_bad_requests_without_publishing_and_hides_the_secret() {
    let rt = native::rt();
    let relay = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let url = rt.block_on(relay.url()).to_string();
    let keys = Keys::generate();
    let secret = keys.secret_hex();
    let fs = Arc::new(NostrFs::new(std::slice::from_ref(&url), keys).expect("nostrfs"));
    let mut ns = Namespace::new();
    ns.mount("/cap/nostr", fs.clone()).unwrap();
    wait_for("connected", || {
        String::from_utf8(ns.read_file("/cap/nostr/status").unwrap())
            .unwrap()
            .contains("\"connected\"")
    });
    let rw = OpenOptions::read_write();
    for bad in [
        &br#"{"kind": 4999}"#[..],
        br#"{"kind": 6000}"#,
        br#"{"kind": "5000"}"#,
        br#"{"kind": 5000, "tags": [[1]]}"#,
        b"]",
    ] {
        let h = open(&fs, "submit", &rw);
        let e = h.write_at(bad, 0).unwrap_err();
        assert_eq!(
            e.errno(),
            oanix_core::Errno::Inval,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Writing relays outside the grant, or another pubkey, is refused.
    for bad in [
        json!({"relays": ["ws://example.org/"]}),
        json!({"relays": ["http://127.0.0.1/"]}),
        json!({"relays": [url], "pubkey": "00".repeat(32)}),
    ] {
        let h = open(&fs, "config.json", &OpenOptions::create_truncate());
        let e = h.write_at(bad.to_string().as_bytes(), 0).unwrap_err();
        assert_eq!(e.errno(), oanix_core::Errno::Inval, "{bad}");
    }
    let st: Value = serde_json::from_slice(&ns.read_file("/cap/nostr/status").unwrap()).unwrap();
    assert_eq!(st["relays"][0]["sent"], 0, "nothing published: {st}");
    assert_eq!(st["requests"], 0);
    // No file anywhere holds the secret.
    for name in ["config.json", "status"] {
        let s = String::from_utf8(ns.read_file(&format!("/cap/nostr/{name}")).unwrap()).unwrap();
        assert!(!s.contains(&secret), "{name} shows the secret");
    }
    assert_eq!(
        ns.read_file("/cap/nostr/results/00").unwrap_err(),
        oanix_core::FsError::NotFound
    );
}

#[test]
fn relay_down_at_start_shows_in_status_and_the_outbox_is_sent_once_it_comes_up() {
    let port = oanix_tests::testserver::closed_port();
    let url = format!("ws://127.0.0.1:{port}");
    let fs = Arc::new(NostrFs::new(std::slice::from_ref(&url), Keys::generate()).expect("nostrfs"));
    let mut ns = Namespace::new();
    ns.mount("/cap/nostr", fs.clone()).unwrap();
    wait_for("state error", || {
        fs.relay_status()[0].state == RelayState::Error
    });
    let st: Value = serde_json::from_slice(&ns.read_file("/cap/nostr/status").unwrap()).unwrap();
    assert_eq!(st["relays"][0]["state"], "error");
    assert!(st["relays"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("connection failed"));
    // A job written while the relay is down waits in the outbox.
    let h = open(&fs, "submit", &OpenOptions::read_write());
    h.write_at(br#"{"kind": 5001, "content": "queued"}"#, 0)
        .unwrap();
    assert_eq!(fs.relay_status()[0].outbox, 1);
    // The relay comes up on that port: we reconnect (backoff) and the event is accepted.
    let rt = native::rt();
    let relay = LocalRelay::new(RelayBuilder::default().port(port));
    rt.block_on(relay.run()).expect("relay on the port");
    wait_for("reconnected and accepted", || {
        let s = &fs.relay_status()[0];
        s.state == RelayState::Connected && s.accepted == 1
    });
    let s = &fs.relay_status()[0];
    assert_eq!((s.outbox, s.connections), (0, 1));
}

#[test]
fn oanix_run_cap_nostr_gives_the_guest_the_same_files() {
    let rt = native::rt();
    let (_relay, _provider, url) = relay_with_provider(&rt);
    let dir = std::env::temp_dir().join(format!("oanix-nostr-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("key");
    std::fs::write(&key, format!("{}\n", Keys::generate().secret_hex())).unwrap();
    let wasm = native::guest_path("nostr_job");
    let out = std::process::Command::new(native::oanix_bin())
        .args(["run", "--cap", "nostr", "--relay", &url, "--nostr-key"])
        .arg(&key)
        .arg(&wasm)
        .output()
        .expect("oanix run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, GUEST_STDOUT);

    // Inconsistent flags: exit 125 with a reason, nothing run.
    std::fs::write(&key, "not a key").unwrap();
    for (args, why) in [
        (vec!["--relay", url.as_str()], "without --cap nostr"),
        (vec!["--cap", "nostr"], "--relay"),
        (
            vec!["--cap", "nostr", "--relay", "http://127.0.0.1/"],
            "ws(s)",
        ),
        (
            vec![
                "--cap",
                "nostr",
                "--relay",
                url.as_str(),
                "--nostr-key",
                key.to_str().unwrap(),
            ],
            "nostr key",
        ),
    ] {
        let out = std::process::Command::new(native::oanix_bin())
            .arg("run")
            .args(&args)
            .arg(&wasm)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
