#![cfg(not(target_arch = "wasm32"))]
//! `oanix provider` end to end natively: the real `oanix` binary serving kind-5600 jobs on
//! a real relay on loopback (nostr-relay-builder), modules downloaded from a tiny HTTP server
//! on 127.0.0.1, and a customer using `/cap/nostr` (NostrFs) like a guest would.

use nostr_relay_builder::prelude::{LocalRelay, RelayBuilder};
use oanix_core::net::nostr::Keys;
use oanix_core::services::NostrFs;
use oanix_core::{FileService, FsError, FsPath, Interest, OpenOptions};
use oanix_tests::native;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A provider process; killed on drop. Its stderr lines arrive on `lines`.
struct Provider {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Provider {
    fn start(relay: &str, extra: &[&str]) -> Provider {
        let mut child = Command::new(native::oanix_bin())
            .args(["provider", "--relay", relay])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn oanix provider");
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        Provider {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn expect_line(&mut self, needle: &str) -> String {
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                }
                Err(_) => panic!("no line with {needle:?}; got {:#?}", self.seen),
            }
        }
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves guest modules at `/<name>.wasm` (404 otherwise) on 127.0.0.1.
fn module_server(rt: &tokio::runtime::Runtime) -> String {
    use axum::{extract::Path, http::StatusCode, routing::get, Router};
    let app = Router::new().route(
        "/{name}",
        get(|Path(name): Path<String>| async move {
            match name.strip_suffix(".wasm") {
                Some(g) if ["stdin_echo", "args_env", "infinite_loop"].contains(&g) => {
                    Ok(native::guest_bytes(g))
                }
                _ => Err(StatusCode::NOT_FOUND),
            }
        }),
    );
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    rt.spawn(async move {
        let l = tokio::net::TcpListener::from_std(l).unwrap();
        axum::serve(l, app).await.unwrap();
    });
    url
}

/// A customer: NostrFs on the relay.
struct Customer {
    fs: NostrFs,
    rt: tokio::runtime::Runtime,
}

impl Customer {
    fn new(relay: &str) -> Customer {
        Customer {
            fs: NostrFs::new(&[relay.to_string()], Keys::generate()).unwrap(),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    fn submit(&self, tags: Value) -> String {
        let h = self
            .fs
            .open(
                &FsPath::parse("submit").unwrap(),
                &OpenOptions::read_write(),
            )
            .unwrap();
        h.write_at(
            json!({"kind": 5600, "tags": tags}).to_string().as_bytes(),
            0,
        )
        .unwrap();
        let mut buf = vec![0u8; 256];
        let n = h.read_at(&mut buf, 0).unwrap();
        let v: Value = serde_json::from_slice(&buf[..n]).unwrap();
        v["id"].as_str().unwrap().to_string()
    }

    /// Blocks (readiness rule) until `results/<id>` has its event, within 60 s.
    fn result(&self, id: &str) -> Value {
        let h = self
            .fs
            .open(
                &FsPath::parse(&format!("results/{id}")).unwrap(),
                &OpenOptions::read(),
            )
            .unwrap();
        let mut buf = vec![0u8; 1 << 20];
        let n = loop {
            match h.read_at(&mut buf, 0) {
                Err(FsError::WouldBlock) => self
                    .rt
                    .block_on(async {
                        tokio::time::timeout(
                            Duration::from_secs(60),
                            std::future::poll_fn(|cx| h.poll_ready(Interest::Read, cx)),
                        )
                        .await
                    })
                    .expect("result within 60 s")
                    .unwrap(),
                r => break r.unwrap(),
            }
        };
        serde_json::from_slice(&buf[..n]).unwrap()
    }

    /// The status tags of the feedback events received for `id`, in arrival order.
    fn feedback(&self, id: &str) -> Vec<Vec<String>> {
        let mut evs: Vec<(u64, Value)> = self
            .fs
            .readdir(&FsPath::parse("events").unwrap())
            .unwrap()
            .into_iter()
            .map(|e| {
                let b = oanix_core::service::read_all(
                    &*self
                        .fs
                        .open(
                            &FsPath::parse(&format!("events/{}", e.name)).unwrap(),
                            &OpenOptions::read(),
                        )
                        .unwrap(),
                )
                .unwrap();
                (e.cookie, serde_json::from_slice(&b).unwrap())
            })
            .collect();
        evs.sort_by_key(|(c, _)| *c);
        evs.into_iter()
            .map(|(_, v)| v)
            .filter(|v| v["kind"] == 7000 && tag(v, "e") == Some(id.to_string()))
            .map(|v| {
                v["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t[0] == "status")
                    .map(|t| serde_json::from_value(t.clone()).unwrap())
                    .unwrap()
            })
            .collect()
    }
}

fn tag(ev: &Value, name: &str) -> Option<String> {
    ev["tags"]
        .as_array()?
        .iter()
        .find(|t| t[0] == name)
        .and_then(|t| t[1].as_str().map(String::from))
}

fn content(ev: &Value) -> Value {
    serde_json::from_str(ev["content"].as_str().unwrap()).unwrap()
}

#[test]
fn provider_runs_jobs_reports_errors_and_keeps_serving() {
    let rt = native::rt();
    let relay = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let url = rt.block_on(relay.url()).to_string();
    let http = module_server(&rt);
    let mut p = Provider::start(&url, &["--max-timeout", "20s"]);
    p.expect_line("connected");
    let c = Customer::new(&url);

    // stdin in, stdout/stderr out.
    let id = c.submit(json!([
        ["i", format!("{http}/stdin_echo.wasm"), "url"],
        ["param", "stdin", "hello nostr"]
    ]));
    let res = c.result(&id);
    assert_eq!(res["kind"], 6600);
    assert_eq!(tag(&res, "e").as_deref(), Some(id.as_str()));
    assert_eq!(tag(&res, "p"), Some(c.fs.keys().pubkey()));
    let req: Value = serde_json::from_str(&tag(&res, "request").unwrap()).unwrap();
    assert_eq!(req["id"], id.as_str());
    assert_eq!(
        content(&res),
        json!({"exit_code": 0, "stdout": "HELLO NOSTR", "stderr": "read 11 bytes\n"})
    );
    p.expect_line("done");

    // A bad module URL: error feedback with the reason, then the provider keeps serving.
    let bad = c.submit(json!([["i", format!("{http}/missing.wasm"), "url"]]));
    let fb = c.result(&bad);
    assert_eq!(fb["kind"], 7000);
    let st: Vec<String> = fb["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t[0] == "status")
        .map(|t| serde_json::from_value(t.clone()).unwrap())
        .unwrap();
    assert_eq!(st[1], "error");
    assert!(st[2].contains("404"), "{st:?}");
    let ftp = c.submit(json!([["i", "ftp://127.0.0.1/x.wasm", "url"]]));
    assert!(tag(&c.result(&ftp), "status").is_some());

    // Arguments in order; a non-zero exit code is a result, not an error.
    let id2 = c.submit(json!([
        ["i", format!("{http}/args_env.wasm"), "url"],
        ["param", "arg", "first word"],
        ["param", "arg", "second"]
    ]));
    let out = content(&c.result(&id2));
    assert_eq!(out["exit_code"], 0);
    assert!(out["stdout"]
        .as_str()
        .unwrap()
        .starts_with("arg[0]=args_env.wasm\narg[1]=first word\narg[2]=second\n"));

    // A job's timeout (seconds) stops a spinning guest: error feedback, not a hang.
    let spin = c.submit(json!([
        ["i", format!("{http}/infinite_loop.wasm"), "url"],
        ["param", "timeout", "0.5"]
    ]));
    let fb = c.result(&spin);
    assert_eq!(fb["kind"], 7000);
    assert!(fb.to_string().contains("timed out"), "{fb}");

    // Feedback: processing then success; processing then error.
    let want = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let fb_ok = c.feedback(&id);
    assert_eq!(fb_ok[0], want(&["status", "processing"]));
    assert_eq!(fb_ok.len(), 2, "{fb_ok:?}");
    assert_eq!(fb_ok[1], want(&["status", "success"]));
    let fb_bad = c.feedback(&bad);
    assert_eq!(fb_bad[0], want(&["status", "processing"]));
    assert_eq!(fb_bad[1][1], "error");
}

#[test]
fn provider_enforces_module_host_allowlist_size_and_memory_limits() {
    let rt = native::rt();
    let relay = rt.block_on(oanix_tests::nostrtest::mock_relay());
    let url = rt.block_on(relay.url()).to_string();
    let http = module_server(&rt);
    let mut p = Provider::start(
        &url,
        &[
            "--allow-module-host",
            "example.org",
            "--max-module-size",
            "1KiB",
        ],
    );
    p.expect_line("connected");
    let c = Customer::new(&url);
    let id = c.submit(json!([["i", format!("{http}/stdin_echo.wasm"), "url"]]));
    let fb = c.result(&id);
    assert_eq!(fb["kind"], 7000);
    assert!(fb.to_string().contains("not allowed"), "{fb}");
    drop(p);

    let mut p = Provider::start(&url, &["--max-module-size", "1KiB"]);
    p.expect_line("connected");
    // (Another request: the same tags in the same second would be the same event id.)
    let id = c.submit(json!([
        ["i", format!("{http}/stdin_echo.wasm"), "url"],
        ["param", "stdin", "x"]
    ]));
    let fb = c.result(&id);
    assert_eq!(fb["kind"], 7000);
    assert!(fb.to_string().contains("body too large"), "{fb}");
    drop(p);

    // --max-memory below what the guest declares: it cannot start (error feedback).
    let mut p = Provider::start(&url, &["--max-memory", "64KiB"]);
    p.expect_line("connected");
    let id = c.submit(json!([
        ["i", format!("{http}/stdin_echo.wasm"), "url"],
        ["param", "stdin", "y"]
    ]));
    let fb = c.result(&id);
    assert_eq!(fb["kind"], 7000);
    assert!(fb.to_string().contains("memory"), "{fb}");
}

#[test]
fn provider_with_relay_down_at_start_reconnects_when_it_comes_up() {
    let port = oanix_tests::testserver::closed_port();
    let url = format!("ws://127.0.0.1:{port}");
    let rt = native::rt();
    let http = module_server(&rt);
    let mut p = Provider::start(&url, &[]);
    let line = p.expect_line("error");
    assert!(line.contains("connection failed"), "{line}");
    let relay = LocalRelay::new(RelayBuilder::default().port(port));
    rt.block_on(relay.run()).expect("relay on the port");
    p.expect_line("connected");
    let c = Customer::new(&url);
    let id = c.submit(json!([
        ["i", format!("{http}/stdin_echo.wasm"), "url"],
        ["param", "stdin", "late"]
    ]));
    assert_eq!(content(&c.result(&id))["stdout"], "LATE");
}
