#![cfg(not(target_arch = "wasm32"))]
//! `/cap/http` and `/cap/ws` natively, through the file protocol, against the real loopback
//! test server (`oanix_tests::testserver`). Blocking reads wait on `poll_ready` (a waker),
//! as the hosts do.

use base64::Engine as _;
use oanix_core::net::{NetGrant, NetLimits};
use oanix_core::{FileService, FsError, FsPath, Namespace, OpenOptions};
use oanix_tests::netfiles::{grant, make_ns, open, read_once, read_to_end, request, write};
use oanix_tests::testserver::{closed_port, TestServer};
use serde_json::{json, Value};
use std::sync::Arc;

fn category(resp: &Value) -> &str {
    let e = resp["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {resp}"));
    e.split(':').next().unwrap()
}

#[test]
fn get_post_headers_404_and_binary() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let r = request(&ns, json!({"url": format!("{}/echo", srv.url)}));
    assert_eq!(r["status"], 200);
    assert_eq!(r["headers"]["x-method"], "GET");
    assert_eq!(r["body"], "");
    let r = request(
        &ns,
        json!({"method": "POST", "url": format!("{}/echo", srv.url),
               "headers": {"x-test": "hello header"}, "body": "hello body"}),
    );
    assert_eq!(r["status"], 200);
    assert_eq!(r["headers"]["x-method"], "POST");
    assert_eq!(r["headers"]["x-test"], "hello header");
    assert_eq!(r["body"], "hello body");
    // body_base64 in, bytes echoed back (not UTF-8: body_base64 out)
    let r = request(
        &ns,
        json!({"method": "PUT", "url": format!("{}/echo", srv.url), "body_base64": "AP+A"}),
    );
    assert_eq!(r["body_base64"], "AP+A");
    assert!(r.get("body").is_none());
    let r = request(&ns, json!({"url": format!("{}/status/404", srv.url)}));
    assert_eq!(
        (r["status"].as_u64(), r["body"].as_str()),
        (Some(404), Some("status 404"))
    );
    let r = request(&ns, json!({"url": format!("{}/no/such/route", srv.url)}));
    assert_eq!(r["status"], 404);
    let r = request(&ns, json!({"url": format!("{}/binary", srv.url)}));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, (0..=255u8).collect::<Vec<_>>());
}

#[test]
fn each_fd_reads_its_own_response_and_response_the_last() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let a = open(&ns, "/cap/http/request", OpenOptions::read_write());
    let b = open(&ns, "/cap/http/request", OpenOptions::read_write());
    let req = |body: &str| {
        json!({"method": "POST", "url": format!("{}/echo", srv.url), "body": body}).to_string()
    };
    // A request may arrive in pieces: the object completes on the second write.
    let ra = req("from a");
    let (p1, p2) = ra.split_at(7);
    write(a.as_ref(), p1.as_bytes()).unwrap();
    write(a.as_ref(), p2.as_bytes()).unwrap();
    write(b.as_ref(), req("from b").as_bytes()).unwrap();
    let resp = open(&ns, "/cap/http/response", OpenOptions::read());
    let last: Value = serde_json::from_slice(&read_to_end(resp.as_ref())).unwrap();
    assert_eq!(last["body"], "from b");
    let ra: Value = serde_json::from_slice(&read_to_end(a.as_ref())).unwrap();
    let rb: Value = serde_json::from_slice(&read_to_end(b.as_ref())).unwrap();
    assert_eq!(
        (ra["body"].as_str(), rb["body"].as_str()),
        (Some("from a"), Some("from b"))
    );
    // The response file cannot be written.
    assert_eq!(
        ns.open(
            &FsPath::parse("/cap/http/response").unwrap(),
            &OpenOptions::read_write()
        )
        .err(),
        Some(FsError::PermissionDenied)
    );
}

#[test]
fn malformed_requests_fail_with_einval_and_send_nothing() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let url = format!("{}/echo", srv.url);
    let bad = [
        "not json".to_string(),
        "{\"url\" 1}".into(),
        json!({"url": 5}).to_string(),
        json!({"method": "GET"}).to_string(),
        json!({"url": "no scheme"}).to_string(),
        json!({"url": "ftp://127.0.0.1/x"}).to_string(),
        json!({"url": url, "bogus": 1}).to_string(),
        json!({"url": url, "headers": {"a": 1}}).to_string(),
        json!({"url": url, "headers": {"bad name": "v"}}).to_string(),
        json!({"url": url, "headers": {"a": "v\r\nx: y"}}).to_string(),
        json!({"url": url, "method": "G ET"}).to_string(),
        json!({"url": url, "body": "a", "body_base64": "YQ=="}).to_string(),
        json!({"url": url, "body_base64": "*not base64*"}).to_string(),
        json!({"url": url, "timeout_ms": "soon"}).to_string(),
        "[1, 2]".into(),
    ];
    for b in &bad {
        let h = open(&ns, "/cap/http/request", OpenOptions::read_write());
        let e = h.write_at(b.as_bytes(), 0).expect_err(b);
        assert_eq!(e.errno(), oanix_core::Errno::Inval, "{b}: {e}");
        // Nothing to read back: no request was made on this fd.
        assert!(matches!(
            h.read_at(&mut [0; 8], 0),
            Err(FsError::InvalidInput(_))
        ));
    }
    // An unfinished request is not sent either; reading it back says so.
    let h = open(&ns, "/cap/http/request", OpenOptions::read_write());
    h.write_at(format!("{{\"url\": \"{url}\"").as_bytes(), 0)
        .unwrap();
    assert!(matches!(
        h.read_at(&mut [0; 8], 0),
        Err(FsError::InvalidInput(_))
    ));
    assert_eq!(srv.hits(), 0, "a malformed request reached the server");
    // A request over max_request: EFBIG, nothing sent.
    let small = NetGrant {
        limits: NetLimits {
            max_request: 1000,
            ..Default::default()
        },
        ..grant(&["127.0.0.1"])
    };
    let (ns2, _) = make_ns(small);
    let h = open(&ns2, "/cap/http/request", OpenOptions::read_write());
    let big = json!({"url": url, "body": "x".repeat(2000)}).to_string();
    assert_eq!(h.write_at(big.as_bytes(), 0), Err(FsError::FileTooLarge));
    assert_eq!(srv.hits(), 0);
}

#[test]
fn refused_origins_send_nothing() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["example.org", "*.example.org", "127.0.0.1:1"]));
    let r = request(&ns, json!({"url": format!("{}/echo", srv.url)}));
    assert_eq!(category(&r), "not allowed");
    assert!(r.get("status").is_none());
    // WebSockets too: the control fd answers an error and no connection is listed.
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(
        c.as_ref(),
        json!({"open": format!("{}/ws", srv.ws_url())})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let reply: Value = serde_json::from_slice(&read_to_end(c.as_ref())).unwrap();
    assert_eq!(category(&reply), "not allowed");
    assert!(ns.list("/cap/ws/conns").unwrap().is_empty());
    // A redirect to a host outside the allowlist is not followed (`localhost` is not in it;
    // had it been followed, the server would have counted a second request).
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let port = srv.url.rsplit(':').next().unwrap();
    let to = format!("http://localhost:{port}/echo");
    let r = request(&ns, json!({"url": format!("{}/redirect?to={to}", srv.url)}));
    assert_eq!(category(&r), "redirect not followed");
    assert_eq!(srv.hits(), 1);
    // ...and one inside it is.
    let r = request(
        &ns,
        json!({"url": format!("{}/redirect?to=/echo", srv.url)}),
    );
    assert_eq!(
        (r["status"].as_u64(), r["headers"]["x-method"].as_str()),
        (Some(200), Some("GET"))
    );
}

#[test]
fn connection_refused_timeout_huge_and_truncated_bodies_are_errors() {
    let srv = TestServer::start();
    let (ns, ws) = make_ns(grant(&["127.0.0.1"]));
    let port = closed_port();
    let r = request(&ns, json!({"url": format!("http://127.0.0.1:{port}/")}));
    assert_eq!(category(&r), "connection failed");
    let r = request(
        &ns,
        json!({"url": format!("{}/slow?ms=5000", srv.url), "timeout_ms": 200}),
    );
    assert_eq!(category(&r), "timed out");
    let r = request(&ns, json!({"url": format!("{}/huge", srv.url)}));
    assert_eq!(
        (category(&r), r["status"].as_u64()),
        ("body too large", Some(200))
    );
    let r = request(&ns, json!({"url": format!("{}/truncated", srv.url)}));
    assert_eq!(
        (category(&r), r["status"].as_u64()),
        ("body incomplete", Some(200))
    );
    // A WebSocket to a closed port: an id, then closed with the error, and EOF on `in`.
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(
        c.as_ref(),
        json!({"open": format!("ws://127.0.0.1:{port}/")})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let reply: Value = serde_json::from_slice(&read_to_end(c.as_ref())).unwrap();
    let id = reply["id"].as_str().unwrap().to_string();
    let inp = open(&ns, &format!("/cap/ws/conns/{id}/in"), OpenOptions::read());
    assert_eq!(read_once(inp.as_ref(), &mut [0; 16]), Ok(0));
    let st: Value =
        serde_json::from_slice(&ns.read_file(&format!("/cap/ws/conns/{id}/status")).unwrap())
            .unwrap();
    assert_eq!(st["state"], "closed");
    assert!(st["error"]
        .as_str()
        .unwrap()
        .starts_with("connection failed"));
    let out = open(
        &ns,
        &format!("/cap/ws/conns/{id}/out"),
        OpenOptions::create_truncate(),
    );
    assert_eq!(out.write_at(b"x", 0), Err(FsError::BrokenPipe));
    assert_eq!(ws.connections().len(), 1);
}

/// Opens a socket through the control file; returns its id.
fn ws_open(ns: &Namespace, url: &str) -> String {
    let c = open(ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), json!({"open": url}).to_string().as_bytes()).unwrap();
    let reply: Value = serde_json::from_slice(&read_to_end(c.as_ref())).unwrap();
    reply["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {reply}"))
        .to_string()
}

#[test]
fn websocket_echo_text_binary_whole_messages_and_close_eof() {
    let srv = TestServer::start();
    let (ns, _) = make_ns(grant(&["127.0.0.1"]));
    let id = ws_open(&ns, &format!("{}/ws", srv.ws_url()));
    assert_eq!(id, "1");
    let names: Vec<String> = ns
        .list("/cap/ws/conns/1")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["in", "out", "status"]);
    let out = open(&ns, "/cap/ws/conns/1/out", OpenOptions::create_truncate());
    let inp = open(&ns, "/cap/ws/conns/1/in", OpenOptions::read());
    // Writing waits for the socket to open.
    write(out.as_ref(), b"hello text").unwrap();
    write(out.as_ref(), &[0, 159, 146, 150]).unwrap();
    let big = "y".repeat(100);
    write(out.as_ref(), big.as_bytes()).unwrap();
    write(out.as_ref(), b"after").unwrap();
    let mut buf = [0u8; 64];
    let n = read_once(inp.as_ref(), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello text");
    let n = read_once(inp.as_ref(), &mut buf).unwrap();
    assert_eq!(&buf[..n], &[0, 159, 146, 150]);
    // A message larger than the buffer continues on the next read; the next one never
    // starts mid-read.
    let mut rest = [0u8; 64];
    let n1 = read_once(inp.as_ref(), &mut buf).unwrap();
    let n2 = read_once(inp.as_ref(), &mut rest).unwrap();
    assert_eq!((n1, n2), (64, 36));
    assert!(buf.iter().chain(&rest[..36]).all(|&b| b == b'y'));
    let n = read_once(inp.as_ref(), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"after");
    let st: Value =
        serde_json::from_slice(&ns.read_file("/cap/ws/conns/1/status").unwrap()).unwrap();
    assert_eq!(
        st,
        json!({"state": "open", "url": format!("{}/ws", srv.ws_url()), "error": null})
    );
    // Close: the reply, then EOF on `in`, `closed` status, EPIPE on `out`.
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), br#"{"close": "1"}"#).unwrap();
    assert_eq!(read_to_end(c.as_ref()), b"{\"closed\":\"1\"}\n");
    assert_eq!(read_once(inp.as_ref(), &mut buf), Ok(0));
    let st: Value =
        serde_json::from_slice(&ns.read_file("/cap/ws/conns/1/status").unwrap()).unwrap();
    assert_eq!(
        (st["state"].as_str(), st["error"].is_null()),
        (Some("closed"), true)
    );
    assert_eq!(out.write_at(b"late", 0), Err(FsError::BrokenPipe));
}

#[test]
fn websocket_bad_commands_limits_and_back_pressure() {
    let srv = TestServer::start();
    let g = NetGrant {
        limits: NetLimits {
            max_sockets: 2,
            max_inbound: 2,
            ..Default::default()
        },
        ..grant(&["127.0.0.1"])
    };
    let (ns, ws) = make_ns(g);
    for bad in [
        "nope",
        r#"{"open": 5}"#,
        r#"{"open": "http://127.0.0.1/"}"#,
        r#"{"open": "not a url"}"#,
        r#"{"shut": "1"}"#,
        r#"{"close": "99"}"#,
        r#"{"open": "ws://127.0.0.1/", "close": "1"}"#,
    ] {
        let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
        let e = c.write_at(bad.as_bytes(), 0).expect_err(bad);
        assert_eq!(e.errno(), oanix_core::Errno::Inval, "{bad}: {e}");
    }
    assert!(ns.list("/cap/ws/conns").unwrap().is_empty());
    let url = format!("{}/ws", srv.ws_url());
    let a = ws_open(&ns, &url);
    let _b = ws_open(&ns, &url);
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), json!({"open": url}).to_string().as_bytes()).unwrap();
    let reply: Value = serde_json::from_slice(&read_to_end(c.as_ref())).unwrap();
    assert_eq!(category(&reply), "too many sockets");
    // Back-pressure: 20 echoes, at most 2 queued at any time, none lost, in order.
    let out = open(
        &ns,
        &format!("/cap/ws/conns/{a}/out"),
        OpenOptions::create_truncate(),
    );
    let inp = open(&ns, &format!("/cap/ws/conns/{a}/in"), OpenOptions::read());
    for i in 0..20 {
        write(out.as_ref(), format!("m{i}").as_bytes()).unwrap();
    }
    let sock = ws.connections().into_iter().find(|s| s.id() == a).unwrap();
    let mut buf = [0u8; 16];
    for i in 0..20 {
        let n = read_once(inp.as_ref(), &mut buf).unwrap();
        assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), format!("m{i}"));
        assert!(sock.queued_inbound() <= 2);
    }
}

#[test]
fn snapshots_and_persistence_leave_capabilities_to_their_owner() {
    let (mut ns, _) = make_ns(grant(&["127.0.0.1"]));
    ns.mount("/tmp", Arc::new(oanix_core::MemFs::new()))
        .unwrap();
    let snap = ns.snapshot();
    assert_eq!(snap.mounts.len(), 3);
    let (_, skipped) = Namespace::from_snapshot(&snap).unwrap();
    assert_eq!(skipped.len(), 2, "capabilities have no contents to restore");
    let stripped = snap.without_capabilities();
    let paths: Vec<String> = stripped
        .mounts
        .iter()
        .map(|m| m.path.to_absolute())
        .collect();
    assert_eq!(paths, ["/tmp"]);
    let (_, skipped) = Namespace::from_snapshot(&stripped).unwrap();
    assert!(skipped.is_empty());
    // A saved namespace keeps the capability mount points without reporting them as lost.
    let dir = oanix_tests::native::temp_dir("caps-persist");
    let db = oanix_core::persist::SqliteStore::open(dir.path().join("ns.db")).unwrap();
    db.save("n", &ns).unwrap();
    let loaded = db.load("n").unwrap().unwrap();
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert!(loaded.namespace.list("/tmp").is_ok());
}
