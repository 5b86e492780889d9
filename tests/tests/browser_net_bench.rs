//! The Chromium half of the network benchmark (`tests/benches/net_bench.rs` is the native
//! half): in headless Chromium, inside a dedicated Web Worker, requests/s and WebSocket
//! messages/s through `/cap/http` and `/cap/ws` beside the same traffic made directly with
//! the browser's `fetch` and `WebSocket`, against the loopback test server — the overhead
//! of the file layer. Figures only (printed); what is asserted is that the traffic really
//! happened: every response's status and body, every echo, and the server's request count.
//!
//! The file side drives the services through the file API the way the browser host serves
//! a guest's `fd_write` / `fd_read` (write, read until `WouldBlock`, await `poll_ready`,
//! read again): it measures the file layer and the transport, not the WASI shim's
//! per-syscall cost (`browser_bench.rs` measures that).
//!
//! Sizes at compile time: `OANIX_BENCH_NET_REQUESTS` sequential `GET /status/200`,
//! `OANIX_BENCH_NET_WS` sequential echo round trips (both default 200, so the test command
//! runs it quickly; `./scripts/dev.sh bench` sets them from `OANIX_BENCH_REQUESTS` and
//! `OANIX_BENCH_WS`, default 2000 and 5000, the native half's sizes). The server's URL arrives in
//! `OANIX_TEST_SERVER_URL`, as for `browser_net.rs` (missing: skipped outside CI, failed
//! with `CI` or `OANIX_REQUIRE_TEST_SERVER`).
#![cfg(target_arch = "wasm32")]
// Services are single-threaded on wasm32 (they hold JS objects): an `Arc` of one is not Send.
#![allow(clippy::arc_with_non_send_sync)]

use oanix_core::net::{Allowlist, NetGrant};
use oanix_core::services::{HttpFs, WsFs};
use oanix_core::{FileHandle, FileService, FsError, FsPath, Interest, Namespace, OpenOptions};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{MessageEvent, Response, WebSocket, WorkerGlobalScope};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Timed rounds per side (direct and files alternate; the better round of each is printed).
const ROUNDS: usize = 3;

fn n(v: Option<&str>, default: usize) -> usize {
    v.and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn open(ns: &Namespace, path: &str, opts: OpenOptions) -> Box<dyn FileHandle> {
    ns.open(&FsPath::parse(path).unwrap(), &opts)
        .unwrap_or_else(|e| panic!("open {path}: {e}"))
}

/// One read as a guest's `fd_read` gets it: `WouldBlock` suspends until the handle's waker.
async fn read_once(h: &dyn FileHandle, buf: &mut [u8]) -> usize {
    loop {
        match h.read_at(buf, 0) {
            Err(FsError::WouldBlock) => poll_fn(|cx| h.poll_ready(Interest::Read, cx))
                .await
                .expect("poll_ready (read)"),
            r => return r.expect("read"),
        }
    }
}

/// One write as a guest's `fd_write` makes it.
async fn write(h: &dyn FileHandle, data: &[u8]) {
    loop {
        match h.write_at(data, 0) {
            Err(FsError::WouldBlock) => poll_fn(|cx| h.poll_ready(Interest::Write, cx))
                .await
                .expect("poll_ready (write)"),
            r => {
                assert_eq!(r.expect("write"), data.len());
                return;
            }
        }
    }
}

/// A request on a fresh fd of `/cap/http/request`, its response read back from that fd.
async fn file_request(ns: &Namespace, req: &[u8]) -> Value {
    let h = open(ns, "/cap/http/request", OpenOptions::read_write());
    write(h.as_ref(), req).await;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let k = read_once(h.as_ref(), &mut buf).await;
        if k == 0 {
            break;
        }
        out.extend_from_slice(&buf[..k]);
    }
    serde_json::from_slice(&out).expect("the response is JSON")
}

fn scope() -> WorkerGlobalScope {
    js_sys::global()
        .dyn_into()
        .expect("runs in a dedicated worker")
}

/// `fetch(url)`: status and body text.
async fn fetch_text(url: &str) -> (u16, String) {
    let resp: Response = JsFuture::from(scope().fetch_with_str(url))
        .await
        .expect("fetch")
        .unchecked_into();
    let text = JsFuture::from(resp.text().expect("text()"))
        .await
        .expect("body");
    (resp.status(), text.as_string().expect("text body"))
}

/// The server's request count (`GET /hits` does not count itself).
async fn hits(base: &str) -> u64 {
    let (status, body) = fetch_text(&format!("{base}/hits")).await;
    assert_eq!(status, 200);
    body.trim().parse().expect("hits count")
}

/// What the socket's callbacks hand to the test.
#[derive(Default)]
struct Inbox {
    messages: VecDeque<String>,
    open: bool,
    waker: Option<Waker>,
}

impl Inbox {
    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

/// A browser `WebSocket` whose text messages queue up for [`DirectWs::recv`].
struct DirectWs {
    ws: WebSocket,
    inbox: Rc<RefCell<Inbox>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut()>,
}

impl DirectWs {
    async fn connect(url: &str) -> DirectWs {
        let ws = WebSocket::new(url).expect("new WebSocket");
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let i = inbox.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let mut i = i.borrow_mut();
            i.messages
                .push_back(e.data().as_string().expect("a text message"));
            i.wake();
        });
        let i = inbox.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            let mut i = i.borrow_mut();
            i.open = true;
            i.wake();
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        let s = DirectWs {
            ws,
            inbox,
            _on_message: on_message,
            _on_open: on_open,
        };
        poll_fn(|cx| {
            let mut i = s.inbox.borrow_mut();
            if i.open {
                Poll::Ready(())
            } else {
                i.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        s
    }

    async fn recv(&self) -> String {
        poll_fn(|cx| {
            let mut i = self.inbox.borrow_mut();
            match i.messages.pop_front() {
                Some(m) => Poll::Ready(m),
                None => {
                    i.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl Drop for DirectWs {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onopen(None);
        let _ = self.ws.close();
    }
}

#[wasm_bindgen_test]
async fn print_browser_net_figures() {
    let url = option_env!("OANIX_TEST_SERVER_URL");
    let server = "oanix-testserver";
    let Some(base) =
        oanix_tests::browser::server_url(url, "OANIX_TEST_SERVER_URL", server, "browser_net_bench")
    else {
        return;
    };
    let n_req = n(option_env!("OANIX_BENCH_NET_REQUESTS"), 200);
    let n_ws = n(option_env!("OANIX_BENCH_NET_WS"), 200);
    let grant = NetGrant::new(Allowlist::parse(["127.0.0.1"]).unwrap());
    let mut ns = Namespace::new();
    ns.mount("/cap/http", Arc::new(HttpFs::new(grant.clone())))
        .unwrap();
    ns.mount("/cap/ws", Arc::new(WsFs::new(grant))).unwrap();
    let rate = |n: usize, t0: f64| n as f64 * 1000.0 / (js_sys::Date::now() - t0);

    // HTTP. One warm-up request on each side (connection set-up), outside the timings.
    let url = format!("{base}/status/200");
    let req = json!({"method": "GET", "url": url}).to_string();
    let check_file = |r: &Value| {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["body"], "status 200", "{r}");
    };
    check_file(&file_request(&ns, req.as_bytes()).await);
    assert_eq!(fetch_text(&url).await, (200, "status 200".into()));

    // Direct and files alternate, ROUNDS times each, and the better round of each is kept: the
    // order they run in does not favour either.
    let (mut direct_http, mut files_http) = (0f64, 0f64);
    for _ in 0..ROUNDS {
        let before = hits(base).await;
        let t0 = js_sys::Date::now();
        for _ in 0..n_req {
            assert_eq!(fetch_text(&url).await, (200, "status 200".into()));
        }
        direct_http = direct_http.max(rate(n_req, t0));
        let seen = hits(base).await - before;
        assert_eq!(seen, n_req as u64, "direct fetches seen");

        let before = hits(base).await;
        let t0 = js_sys::Date::now();
        for _ in 0..n_req {
            check_file(&file_request(&ns, req.as_bytes()).await);
        }
        files_http = files_http.max(rate(n_req, t0));
        let seen = hits(base).await - before;
        assert_eq!(seen, n_req as u64, "file requests seen");
    }

    // WebSocket echo round trips, one in flight. One warm-up round trip on each side.
    let ws_url = format!("{}/ws", base.replacen("http://", "ws://", 1));
    let direct = DirectWs::connect(&ws_url).await;
    direct.ws.send_with_str("warm-up").unwrap();
    assert_eq!(direct.recv().await, "warm-up");

    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), json!({"open": ws_url}).to_string().as_bytes()).await;
    let mut buf = [0u8; 256];
    let k = read_once(c.as_ref(), &mut buf).await;
    let reply: Value = serde_json::from_slice(&buf[..k]).expect("control reply");
    let id = reply["id"].as_str().expect("an id").to_string();
    let out = open(
        &ns,
        &format!("/cap/ws/conns/{id}/out"),
        OpenOptions::create_truncate(),
    );
    let inp = open(&ns, &format!("/cap/ws/conns/{id}/in"), OpenOptions::read());
    write(out.as_ref(), b"warm-up").await;
    let k = read_once(inp.as_ref(), &mut buf).await;
    assert_eq!(&buf[..k], b"warm-up");

    let (mut direct_ws, mut files_ws) = (0f64, 0f64);
    for _ in 0..ROUNDS {
        let t0 = js_sys::Date::now();
        for i in 0..n_ws {
            let msg = i.to_string();
            direct.ws.send_with_str(&msg).unwrap();
            assert_eq!(direct.recv().await, msg);
        }
        direct_ws = direct_ws.max(rate(n_ws, t0));

        let t0 = js_sys::Date::now();
        for i in 0..n_ws {
            let msg = i.to_string();
            write(out.as_ref(), msg.as_bytes()).await;
            let k = read_once(inp.as_ref(), &mut buf).await;
            assert_eq!(&buf[..k], msg.as_bytes());
        }
        files_ws = files_ws.max(rate(n_ws, t0));
    }
    drop(direct);
    let c = open(&ns, "/cap/ws/control", OpenOptions::read_write());
    write(c.as_ref(), json!({"close": id}).to_string().as_bytes()).await;
    // Closed and drained: the in file reads end of stream.
    assert_eq!(read_once(inp.as_ref(), &mut buf).await, 0);

    console_log!(
        "browser_net_bench: loopback test server, sequential (one in flight), \
         Chromium worker, best of {ROUNDS}"
    );
    console_log!(
        "  HTTP GET /status/200 x{n_req}: direct (fetch) {direct_http:.0} req/s | \
         /cap/http files {files_http:.0} req/s | files/direct {:.2}",
        files_http / direct_http
    );
    console_log!(
        "  WS echo round trips x{n_ws}: direct (WebSocket) {direct_ws:.0} msg/s | \
         /cap/ws files {files_ws:.0} msg/s | files/direct {:.2}",
        files_ws / direct_ws
    );
}
