//! The native transport: reqwest (HTTP) and tokio-tungstenite (WebSocket) on one shared
//! background tokio runtime, so guests on any host thread make progress without it.

use super::{category, err, HttpCall, HttpRequest, HttpResult, NetGrant, Transport};
use super::{Outgoing, WsMessage, WsSocket};
use futures_util::{SinkExt, StreamExt};
use std::future::poll_fn;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// How long a close handshake may take before the socket is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a WebSocket handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The network runtime: created once, never dropped (dropping a runtime inside another
/// runtime's context panics, and services may be dropped anywhere).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // rustls needs a process-wide crypto provider; `ring` (no cmake, small). Another
        // one already installed is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("oanix-net")
            .enable_all()
            .build()
            .expect("cannot start the network runtime")
    })
}

/// reqwest + tokio-tungstenite.
pub struct NativeNet {
    client: reqwest::Client,
}

impl NativeNet {
    /// A transport whose redirects stay inside `grant`'s allowlist.
    pub fn new(grant: &NetGrant) -> Self {
        runtime();
        let allow = grant.allow.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if allow.allows(&super::Url::from(attempt.url())) {
                attempt.follow()
            } else {
                let host = attempt.url().host_str().unwrap_or("").to_string();
                attempt.error(format!("redirect to {host} is outside the allowlist"))
            }
        });
        let client = reqwest::Client::builder()
            .redirect(policy)
            .no_proxy()
            .build()
            .unwrap_or_default();
        NativeNet { client }
    }
}

impl Transport for NativeNet {
    fn http(&self, req: HttpRequest, call: Arc<HttpCall>) {
        let client = self.client.clone();
        runtime().spawn(async move {
            let ms = req.timeout_ms;
            let result =
                match tokio::time::timeout(Duration::from_millis(ms), fetch(client, req)).await {
                    Ok(r) => r,
                    Err(_) => HttpResult::failed(err(category::TIMEOUT, format!("after {ms} ms"))),
                };
            call.complete(result);
        });
    }

    fn ws_connect(&self, socket: Arc<WsSocket>) {
        runtime().spawn(drive_ws(socket));
    }
}

/// The error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

async fn fetch(client: reqwest::Client, req: HttpRequest) -> HttpResult {
    let method = match reqwest::Method::from_bytes(req.method.as_bytes()) {
        Ok(m) => m,
        Err(e) => return HttpResult::failed(err(category::OTHER, e)),
    };
    let mut rb = client.request(method, req.url.as_str());
    for (k, v) in &req.headers {
        rb = rb.header(k, v);
    }
    if !req.body.is_empty() {
        rb = rb.body(req.body);
    }
    let mut resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            let cat = if e.is_redirect() {
                category::REDIRECT
            } else if e.is_connect() {
                category::CONNECT
            } else {
                category::OTHER
            };
            return HttpResult::failed(err(cat, chain(&e)));
        }
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let too_large = || HttpResult {
        status: Some(status),
        error: Some(err(
            category::TOO_LARGE,
            format!("over {} bytes", req.max_body),
        )),
        ..Default::default()
    };
    if resp
        .content_length()
        .is_some_and(|n| n > req.max_body as u64)
    {
        return too_large();
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > req.max_body {
                    return too_large();
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return HttpResult {
                    status: Some(status),
                    error: Some(err(category::INCOMPLETE, chain(&e))),
                    ..Default::default()
                }
            }
        }
    }
    HttpResult {
        status: Some(status),
        headers,
        body,
        error: None,
    }
}

fn to_msg(m: WsMessage) -> Message {
    match m {
        WsMessage::Text(t) => Message::text(t),
        WsMessage::Binary(b) => Message::binary(b),
    }
}

async fn drive_ws(sock: Arc<WsSocket>) {
    let max = sock.max_message();
    let cfg = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max));
    let connect = tokio_tungstenite::connect_async_with_config(sock.url(), Some(cfg), false);
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Ok(Ok((s, _))) => s,
        Ok(Err(e)) => return sock.set_closed(Some(err(category::CONNECT, chain(&e)))),
        Err(_) => return sock.set_closed(Some(err(category::TIMEOUT, "handshake"))),
    };
    sock.set_open();
    let (mut tx, mut rx) = stream.split();
    loop {
        tokio::select! {
            out = poll_fn(|cx| sock.poll_outbound(cx)) => match out {
                Outgoing::Message(m) => {
                    if let Err(e) = tx.send(to_msg(m)).await {
                        return sock.set_closed(Some(err(category::OTHER, chain(&e))));
                    }
                }
                Outgoing::Close => {
                    sock.set_closing();
                    let _ = tx.send(Message::Close(None)).await;
                    // Read on until the peer answers the close (messages sent before it
                    // stay readable), within a grace period.
                    let _ = tokio::time::timeout(CLOSE_GRACE, async {
                        while let Some(Ok(m)) = rx.next().await {
                            push(&sock, m);
                        }
                    })
                    .await;
                    return sock.set_closed(None);
                }
            },
            inb = async {
                // Back-pressure: read only when the inbound queue has room.
                poll_fn(|cx| sock.poll_inbound_space(cx)).await;
                rx.next().await
            } => match inb {
                Some(Ok(Message::Close(_))) => sock.set_closing(),
                Some(Ok(m)) => {
                    push(&sock, m);
                }
                Some(Err(e)) => {
                    return sock.set_closed(Some(err(category::OTHER, chain(&e))));
                }
                None => return sock.set_closed(None),
            },
        }
    }
}

/// Queues a data message (control frames are handled by tungstenite).
fn push(sock: &WsSocket, m: Message) {
    let msg = match m {
        Message::Text(t) => WsMessage::Text(t.to_string()),
        Message::Binary(b) => WsMessage::Binary(b.to_vec()),
        _ => return,
    };
    // Empty messages would read as end of stream through a file: not delivered.
    if !msg.as_bytes().is_empty() {
        let _ = sock.push_inbound(msg);
    }
}
