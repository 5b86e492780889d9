//! The loopback HTTP + WebSocket test server for the network capabilities: axum on
//! `127.0.0.1` with a free port, CORS open (tower-http) so the browser's `fetch` may call it
//! from the test page's origin. Started in-process by native tests ([`TestServer::start`])
//! and as the `oanix-testserver` binary by `scripts/dev.sh test` (for Chromium tests).
//!
//! Routes:
//! - `ANY /echo`: status 200; body = the request body; headers `x-method` (the method) and
//!   `x-test` (the request's `x-test` header, if any).
//! - `GET /status/{code}`: that status, body `status {code}`. Unknown paths: 404.
//! - `GET /slow?ms=N`: answers `slow` after N ms (timeouts).
//! - `GET /binary`: bytes 0..=255 (`application/octet-stream`).
//! - `GET /huge?mb=N`: N MiB of `x` (default 17, over the 16 MiB default limit).
//! - `GET /truncated`: announces 1000 bytes, sends 10, then breaks the connection.
//! - `GET /redirect?to=URL`: 302 to URL.
//! - `GET /hits`: how many requests the other routes have seen (proves "nothing sent").
//! - `GET /ws`: WebSocket echo (text as text, binary as binary); the socket closes when the
//!   client closes it.

use axum::body::{Body, Bytes};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::CorsLayer;

#[derive(Default)]
struct Hits(AtomicU64);

type Shared = Arc<Hits>;

fn count(s: &Shared) {
    s.0.fetch_add(1, Ordering::SeqCst);
}

async fn echo(
    State(s): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    count(&s);
    let test = headers
        .get("x-test")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        [
            ("x-method", method.as_str().to_string()),
            ("x-test", test),
            (
                header::CONTENT_TYPE.as_str(),
                "application/octet-stream".into(),
            ),
        ],
        body,
    )
        .into_response()
}

async fn status(State(s): State<Shared>, Path(code): Path<u16>) -> Response {
    count(&s);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (code, format!("status {}", code.as_u16())).into_response()
}

async fn slow(State(s): State<Shared>, Query(q): Query<HashMap<String, u64>>) -> &'static str {
    count(&s);
    tokio::time::sleep(Duration::from_millis(q.get("ms").copied().unwrap_or(1000))).await;
    "slow"
}

async fn binary(State(s): State<Shared>) -> Response {
    count(&s);
    let bytes: Vec<u8> = (0..=255u8).collect();
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

async fn huge(State(s): State<Shared>, Query(q): Query<HashMap<String, usize>>) -> Response {
    count(&s);
    let mb = q.get("mb").copied().unwrap_or(17);
    let chunk = Bytes::from(vec![b'x'; 1 << 20]);
    let stream =
        futures_util::stream::iter((0..mb).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    Body::from_stream(stream).into_response()
}

async fn truncated(State(s): State<Shared>) -> Response {
    count(&s);
    // The first chunk, a pause (so the head and the chunk are on the wire), then a failure
    // that makes the server drop the connection.
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok(Bytes::from_static(b"0123456789")), 1)),
            1 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Err(std::io::Error::other("server closes mid-response")), 2))
            }
            _ => None,
        }
    });
    Response::builder()
        .header(header::CONTENT_LENGTH, "1000")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

async fn redirect(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    count(&s);
    let to = q.get("to").cloned().unwrap_or_else(|| "/echo".into());
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

async fn hits(State(s): State<Shared>) -> String {
    s.0.load(Ordering::SeqCst).to_string()
}

async fn ws(State(s): State<Shared>, up: WebSocketUpgrade) -> Response {
    count(&s);
    up.max_message_size(32 << 20).on_upgrade(ws_echo)
}

async fn ws_echo(mut sock: WebSocket) {
    while let Some(Ok(m)) = sock.recv().await {
        let reply = match m {
            Message::Text(t) => Message::Text(t),
            Message::Binary(b) => Message::Binary(b),
            // A close (answered by the next read, which then ends the loop), ping, pong.
            _ => continue,
        };
        if sock.send(reply).await.is_err() {
            break;
        }
    }
}

/// The app (routes + CORS).
pub fn app() -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/status/{code}", get(status))
        .route("/slow", get(slow))
        .route("/binary", get(binary))
        .route("/huge", get(huge))
        .route("/truncated", get(truncated))
        .route("/redirect", get(redirect))
        .route("/hits", get(hits))
        .route("/ws", get(ws))
        .layer(CorsLayer::permissive())
        .with_state(Shared::default())
}

/// Binds `127.0.0.1:0` (a free port) and returns the listener and its base URL.
pub fn bind() -> std::io::Result<(std::net::TcpListener, String)> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.set_nonblocking(true)?;
    let url = format!("http://{}", l.local_addr()?);
    Ok((l, url))
}

/// Serves on `listener` until the future is dropped.
pub async fn serve(listener: std::net::TcpListener) -> std::io::Result<()> {
    let l = tokio::net::TcpListener::from_std(listener)?;
    axum::serve(l, app()).await
}

/// A server running on its own thread; stopped when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let (listener, url) = bind().expect("bind 127.0.0.1:0");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test server runtime");
            rt.block_on(async move {
                tokio::select! {
                    r = serve(listener) => r.expect("test server"),
                    _ = rx => {}
                }
            });
        });
        TestServer {
            url,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        self.url.replacen("http://", "ws://", 1)
    }

    /// Requests the server has counted so far (`GET /hits`, read directly).
    pub fn hits(&self) -> u64 {
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect to test server");
        use std::io::{Read, Write};
        write!(
            s,
            "GET /hits HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.rsplit("\r\n\r\n")
            .next()
            .and_then(|b| b.trim().parse().ok())
            .expect("hits count")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A loopback port with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
