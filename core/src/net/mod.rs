//! Network transports behind the capability services `/cap/http`
//! ([`HttpFs`](crate::services::HttpFs)) and `/cap/ws` ([`WsFs`](crate::services::WsFs)).
//!
//! The services hold no sockets themselves: they hand work to a [`Transport`] and observe
//! the result through two small shared objects, [`HttpCall`] (one HTTP exchange) and
//! [`WsSocket`] (one WebSocket). Both follow the readiness rule of [`crate::service`]: a
//! consumer polls with a [`Waker`](std::task::Waker) and is woken when something changes,
//! never spins. A [`WsSocket`] is a general "open, send/recv messages, status" object, so
//! other services (e.g. a Nostr relay client) can use it directly (`send`/`recv` futures).
//!
//! Transports, chosen by target:
//! - natively [`native::NativeNet`]: reqwest (HTTP) and tokio-tungstenite (WebSocket) on one
//!   background tokio runtime;
//! - in the browser `web::WebNet`: `fetch` and `WebSocket` from web-sys (window or worker).
//!
//! Security: a [`NetGrant`] carries an [`Allowlist`] of hosts; a URL outside it is refused
//! before anything is sent (redirects are checked too, natively; the browser's fetch does not
//! reveal a redirect's target, so redirects are not followed there). Memory is bounded by
//! [`NetLimits`].

mod allow;
mod http;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
pub mod nostr;
mod url;
#[cfg(target_arch = "wasm32")]
pub mod web;
mod ws;

pub use allow::{AllowRule, Allowlist};
pub use http::{HttpCall, HttpRequest, HttpResult};
pub use url::{Host, ParseError, Url};
pub use ws::{Outgoing, WsMessage, WsSocket, WsState};

use crate::service::MaybeSendSync;
use std::sync::Arc;

/// Bounds of a network grant. Every queue and buffer is bounded by one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetLimits {
    /// Largest HTTP response body (bytes); more is `{"error": ...}` (default 16 MiB).
    pub max_body: usize,
    /// Largest request JSON a guest may write to `/cap/http/request` (default 24 MiB, room
    /// for a 16 MiB body in base64).
    pub max_request: usize,
    /// Default HTTP timeout when a request gives no `timeout_ms` (default 30 s).
    pub default_timeout_ms: u64,
    /// Most WebSockets open (connecting, open or closing) at once (default 16).
    pub max_sockets: usize,
    /// Most received messages queued per socket and not yet read (default 256). Natively the
    /// socket stops reading when full (TCP back-pressure); the browser cannot pause a
    /// WebSocket, so there the connection is closed with an error.
    pub max_inbound: usize,
    /// Most messages queued for sending per socket (default 256); a write waits past it.
    pub max_outbound: usize,
    /// Largest WebSocket message either way (default 16 MiB).
    pub max_message: usize,
}

impl Default for NetLimits {
    fn default() -> Self {
        NetLimits {
            max_body: 16 << 20,
            max_request: 24 << 20,
            default_timeout_ms: 30_000,
            max_sockets: 16,
            max_inbound: 256,
            max_outbound: 256,
            max_message: 16 << 20,
        }
    }
}

/// What an environment is allowed to reach: hosts and bounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetGrant {
    /// Hosts that may be contacted.
    pub allow: Allowlist,
    /// Memory and count bounds.
    pub limits: NetLimits,
}

impl NetGrant {
    /// A grant for the hosts in `allow` with default limits.
    pub fn new(allow: Allowlist) -> Self {
        NetGrant {
            allow,
            limits: NetLimits::default(),
        }
    }

    /// Same hosts, other limits.
    pub fn with_limits(mut self, limits: NetLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// Carries out network work for the capability services. Implementations spawn the work
/// (on a runtime natively, on the JS event loop in the browser) and report through the
/// shared [`HttpCall`] / [`WsSocket`]; they never block the caller.
pub trait Transport: MaybeSendSync {
    /// Starts one HTTP exchange; its result goes to `call` (exactly once). `req.url` has
    /// already passed the allowlist.
    fn http(&self, req: HttpRequest, call: Arc<HttpCall>);

    /// Opens the WebSocket `socket.url()` and drives it until it is closed.
    fn ws_connect(&self, socket: Arc<WsSocket>);
}

/// The platform's transport for `grant` (natively reqwest + tokio-tungstenite, in the
/// browser fetch + WebSocket).
pub fn platform_transport(grant: &NetGrant) -> Arc<dyn Transport> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        Arc::new(native::NativeNet::new(grant))
    }
    #[cfg(target_arch = "wasm32")]
    {
        Arc::new(web::WebNet::new(grant))
    }
}

/// One error text with a stable category prefix (`"<category>: <detail>"`), so a guest can
/// branch on the category whatever host produced the detail.
pub(crate) fn err(category: &str, detail: impl std::fmt::Display) -> String {
    let d = detail.to_string();
    if d.is_empty() {
        category.to_string()
    } else {
        format!("{category}: {d}")
    }
}

/// Error categories (the text before the first `:` of an `"error"`).
pub mod category {
    /// The URL's host is outside the grant's allowlist; nothing was sent.
    pub const NOT_ALLOWED: &str = "not allowed";
    /// No connection could be made (refused, unreachable, DNS, TLS, CORS in the browser).
    pub const CONNECT: &str = "connection failed";
    /// The deadline (`timeout_ms`) passed.
    pub const TIMEOUT: &str = "timed out";
    /// The response body exceeded `max_body`.
    pub const TOO_LARGE: &str = "body too large";
    /// The connection broke while the body was being received.
    pub const INCOMPLETE: &str = "body incomplete";
    /// A redirect that was not followed (outside the allowlist, or in the browser).
    pub const REDIRECT: &str = "redirect not followed";
    /// Too many sockets open for this grant.
    pub const TOO_MANY: &str = "too many sockets";
    /// The socket's inbound queue overflowed (browser only: it cannot pause a socket).
    pub const OVERFLOW: &str = "inbound queue full";
    /// Any other failure.
    pub const OTHER: &str = "request failed";
}
