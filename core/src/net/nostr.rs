//! Nostr (NIP-01) for the capability `/cap/nostr` ([`NostrFs`](crate::services::NostrFs))
//! and the native NIP-90 provider: events, keys, and a relay pool.
//!
//! - [`Event`]: `id` = SHA-256 of the compact JSON array `[0, pubkey, created_at, kind, tags,
//!   content]` (serialised by `serde_json`), `sig` = BIP-340 Schnorr over the 32-byte id
//!   (`k256`, signed as a prehash: the id is not hashed again).
//! - [`Keys`]: a secret key from 64 hex digits or an `nsec` (bech32), or generated.
//! - [`RelayPool`]: one connection per relay over the shared [`WsSocket`] (the transport of
//!   `/cap/ws`; no second WebSocket implementation). Frames: `["EVENT", ev]`,
//!   `["REQ", sub, filter]`, `["CLOSE", sub]` out; `["OK", id, ok, msg]`, `["EOSE", sub]`,
//!   `["EVENT", sub, ev]`, `["NOTICE", msg]` in. An event stays in a relay's outbox until that
//!   relay answers `OK` (it is re-sent after a reconnect); subscriptions are re-sent on every
//!   reconnect; reconnects back off exponentially (0.5 s doubling to 30 s). Received events
//!   are verified (bad id or signature: dropped and counted), deduplicated across relays,
//!   then handed to the pool's handler. Every queue and set is bounded.

use super::{Transport, WsMessage, WsSocket, WsState};
use crate::error::{FsError, FsResult};
use crate::service::lock;
use k256::schnorr::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::schnorr::{Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// Events remembered for deduplication.
pub const MAX_SEEN: usize = 4096;
/// Unacknowledged events kept per relay; past it the oldest is dropped.
pub const MAX_OUTBOX: usize = 256;
/// Largest Nostr message accepted from a relay (bytes).
pub const MAX_MESSAGE: usize = 1 << 20;
/// First reconnect delay; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest reconnect delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A NIP-01 event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Hex SHA-256 of the serialised event.
    pub id: String,
    /// Hex x-only public key of the author.
    pub pubkey: String,
    /// Unix time in seconds.
    pub created_at: u64,
    /// Event kind.
    pub kind: u32,
    /// Tags: arrays of strings.
    pub tags: Vec<Vec<String>>,
    /// Content.
    pub content: String,
    /// Hex BIP-340 signature of `id`.
    pub sig: String,
}

/// The NIP-01 id of an event's fields.
pub fn event_id(
    pubkey: &str,
    created_at: u64,
    kind: u32,
    tags: &[Vec<String>],
    content: &str,
) -> [u8; 32] {
    let ser = json!([0, pubkey, created_at, kind, tags, content]).to_string();
    Sha256::digest(ser.as_bytes()).into()
}

impl Event {
    /// Builds and signs an event at `created_at`.
    pub fn sign(
        keys: &Keys,
        created_at: u64,
        kind: u32,
        tags: Vec<Vec<String>>,
        content: String,
    ) -> Event {
        let pubkey = keys.pubkey();
        let id = event_id(&pubkey, created_at, kind, &tags, &content);
        let sig: Signature = keys
            .secret
            .sign_prehash(&id)
            .expect("BIP-340 signing of a 32-byte message");
        Event {
            id: hex::encode(id),
            pubkey,
            created_at,
            kind,
            tags,
            content,
            sig: hex::encode(sig.to_bytes()),
        }
    }

    /// Checks the id against the fields and the signature against the id and pubkey.
    pub fn verify(&self) -> Result<(), String> {
        let id = event_id(
            &self.pubkey,
            self.created_at,
            self.kind,
            &self.tags,
            &self.content,
        );
        if hex::encode(id) != self.id {
            return Err("invalid event id".into());
        }
        let pk = hex::decode(&self.pubkey).map_err(|_| "bad pubkey hex")?;
        let vk = VerifyingKey::from_slice(&pk).map_err(|_| "bad pubkey")?;
        let sig = hex::decode(&self.sig).map_err(|_| "bad signature hex")?;
        let sig = Signature::try_from(sig.as_slice()).map_err(|_| "bad signature")?;
        vk.verify_prehash(&id, &sig)
            .map_err(|_| "invalid signature".to_string())
    }

    /// The first value of the first tag named `name`.
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.first().map(String::as_str) == Some(name))
            .and_then(|t| t.get(1))
            .map(String::as_str)
    }

    /// The event as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A secret key (never shown; see [`Keys::pubkey`]).
#[derive(Clone)]
pub struct Keys {
    secret: SigningKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({})", self.pubkey())
    }
}

impl Keys {
    /// A key from 64 hex digits or an `nsec1...` (surrounding whitespace ignored).
    pub fn parse(text: &str) -> FsResult<Keys> {
        let t = text.trim();
        let bad = |why: &str| FsError::InvalidInput(format!("nostr key: {why}"));
        let bytes = if t.starts_with("nsec1") {
            let (hrp, data) = bech32::decode(t).map_err(|e| bad(&e.to_string()))?;
            if hrp.as_str() != "nsec" {
                return Err(bad("not an nsec"));
            }
            data
        } else {
            hex::decode(t).map_err(|_| bad("expected 64 hex digits or nsec1..."))?
        };
        if bytes.len() != 32 {
            return Err(bad("a secret key is 32 bytes"));
        }
        let secret = SigningKey::from_slice(&bytes).map_err(|_| bad("out of range"))?;
        Ok(Keys { secret })
    }

    /// A fresh random key (the OS's or the browser's randomness).
    pub fn generate() -> Keys {
        loop {
            let mut b = [0u8; 32];
            #[cfg(not(target_arch = "wasm32"))]
            getrandom::fill(&mut b).expect("system randomness");
            #[cfg(target_arch = "wasm32")]
            getrandom4::fill(&mut b).expect("crypto.getRandomValues");
            if let Ok(secret) = SigningKey::from_slice(&b) {
                return Keys { secret };
            }
        }
    }

    /// The x-only public key, hex.
    pub fn pubkey(&self) -> String {
        hex::encode(self.secret.verifying_key().to_bytes())
    }

    /// The secret as 64 hex digits (for storing it with the environment; never exposed in a
    /// namespace).
    pub fn secret_hex(&self) -> String {
        hex::encode(self.secret.to_bytes())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    crate::clock::now() / 1_000_000_000
}

/// A relay's connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayState {
    /// Opening the WebSocket.
    Connecting,
    /// Open: frames flow.
    Connected,
    /// The last attempt failed or the connection broke; a reconnect is scheduled.
    Error,
    /// Removed from the pool.
    Closed,
}

/// One relay's counters and state (an entry of `status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayStatus {
    /// `ws://` or `wss://` URL.
    pub url: String,
    /// Connection state.
    pub state: RelayState,
    /// Why the last connection failed, if it did.
    pub error: Option<String>,
    /// Events sent (re-sends after a reconnect included).
    pub sent: u64,
    /// Events the relay accepted (`OK` true).
    pub accepted: u64,
    /// Events received, verified and new.
    pub received: u64,
    /// Events the relay refused (`OK` false) plus events from it with a bad id or signature.
    pub rejected: u64,
    /// Of `rejected`: received events dropped for a bad id or signature.
    pub invalid: u64,
    /// Events waiting for the relay's `OK`.
    pub outbox: usize,
    /// Successful connections so far.
    pub connections: u64,
    /// The last `NOTICE` (or `OK` false message).
    pub notice: Option<String>,
}

/// Called with each new verified event and the subscription it came on.
pub type EventHandler = Arc<dyn Fn(&Event, &str) + Send + Sync>;

struct RelayInner {
    status: RelayStatus,
    /// Unacknowledged events: (id, `["EVENT", ev]` frame).
    outbox: VecDeque<(String, String)>,
    /// Frames to send on the current connection.
    unsent: VecDeque<String>,
    socket: Option<Arc<WsSocket>>,
    removed: bool,
    driver: Option<Waker>,
}

struct Relay {
    inner: Mutex<RelayInner>,
}

impl Relay {
    fn wake(inner: &mut RelayInner) {
        if let Some(w) = inner.driver.take() {
            w.wake();
        }
    }
}

struct PoolInner {
    relays: BTreeMap<String, Arc<Relay>>,
    subs: BTreeMap<String, Value>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
}

struct PoolShared {
    transport: Arc<dyn Transport>,
    handler: EventHandler,
    inner: Mutex<PoolInner>,
}

/// Connections to a set of relays (see the module docs). Dropping the pool closes them.
pub struct RelayPool {
    shared: Arc<PoolShared>,
}

/// Checks a relay URL: `ws://` or `wss://` with a host.
pub fn parse_relay_url(raw: &str) -> FsResult<super::Url> {
    let url = super::Url::parse(raw)
        .map_err(|e| FsError::InvalidInput(format!("bad relay url {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "ws" | "wss") || url.host().is_none() {
        return Err(FsError::InvalidInput(format!(
            "relay url {raw:?} is not ws(s)://host/..."
        )));
    }
    Ok(url)
}

impl RelayPool {
    /// A pool connecting to `relays` on `transport`; verified new events go to `handler`.
    pub fn new(relays: &[String], transport: Arc<dyn Transport>, handler: EventHandler) -> Self {
        let pool = RelayPool {
            shared: Arc::new(PoolShared {
                transport,
                handler,
                inner: Mutex::new(PoolInner {
                    relays: BTreeMap::new(),
                    subs: BTreeMap::new(),
                    seen: HashSet::new(),
                    seen_order: VecDeque::new(),
                }),
            }),
        };
        pool.set_relays(relays);
        pool
    }

    /// Replaces the relay set: new URLs connect, missing ones are closed.
    pub fn set_relays(&self, urls: &[String]) {
        let mut inner = lock(&self.shared.inner);
        let old: Vec<String> = inner.relays.keys().cloned().collect();
        for u in old.iter().filter(|u| !urls.contains(u)) {
            if let Some(r) = inner.relays.remove(u) {
                let mut ri = lock(&r.inner);
                ri.removed = true;
                ri.status.state = RelayState::Closed;
                if let Some(s) = ri.socket.take() {
                    s.close();
                }
                Relay::wake(&mut ri);
            }
        }
        for u in urls {
            if inner.relays.contains_key(u) {
                continue;
            }
            let relay = Arc::new(Relay {
                inner: Mutex::new(RelayInner {
                    status: RelayStatus {
                        url: u.clone(),
                        state: RelayState::Connecting,
                        error: None,
                        sent: 0,
                        accepted: 0,
                        received: 0,
                        rejected: 0,
                        invalid: 0,
                        outbox: 0,
                        connections: 0,
                        notice: None,
                    },
                    outbox: VecDeque::new(),
                    unsent: VecDeque::new(),
                    socket: None,
                    removed: false,
                    driver: None,
                }),
            });
            inner.relays.insert(u.clone(), relay.clone());
            spawn(drive(Arc::downgrade(&self.shared), relay));
        }
    }

    /// The relay URLs, sorted.
    pub fn urls(&self) -> Vec<String> {
        lock(&self.shared.inner).relays.keys().cloned().collect()
    }

    /// Each relay's status, by URL.
    pub fn status(&self) -> Vec<RelayStatus> {
        let relays: Vec<Arc<Relay>> = lock(&self.shared.inner).relays.values().cloned().collect();
        relays
            .iter()
            .map(|r| {
                let ri = lock(&r.inner);
                let mut s = ri.status.clone();
                s.outbox = ri.outbox.len();
                s
            })
            .collect()
    }

    /// Publishes `ev` to every relay (kept in each outbox until that relay's `OK`).
    pub fn publish(&self, ev: &Event) {
        let frame = json!(["EVENT", ev]).to_string();
        let relays: Vec<Arc<Relay>> = lock(&self.shared.inner).relays.values().cloned().collect();
        // Our own events are not news when a relay echoes them back.
        self.shared.mark_seen(&ev.id);
        for r in relays {
            let mut ri = lock(&r.inner);
            if ri.outbox.len() >= MAX_OUTBOX {
                ri.outbox.pop_front();
            }
            ri.outbox.push_back((ev.id.clone(), frame.clone()));
            // Past MAX_OUTBOX queued frames the event waits in the outbox for the next
            // connection (bounded memory when a relay reads slower than we publish).
            if ri.status.state == RelayState::Connected && ri.unsent.len() < MAX_OUTBOX {
                ri.unsent.push_back(frame.clone());
            }
            Relay::wake(&mut ri);
        }
    }

    /// Opens or replaces subscription `sub` with `filter` on every relay (and on every
    /// reconnect).
    pub fn subscribe(&self, sub: &str, filter: Value) {
        let frame = json!(["REQ", sub, filter]).to_string();
        self.change_subs(frame, |subs| {
            subs.insert(sub.to_string(), filter);
        });
    }

    /// Closes subscription `sub`.
    pub fn unsubscribe(&self, sub: &str) {
        let frame = json!(["CLOSE", sub]).to_string();
        self.change_subs(frame, |subs| {
            subs.remove(sub);
        });
    }

    /// Changes the subscription table with `edit` and sends `frame` (the change) to every
    /// connected relay; the others send the whole table when they (re)connect.
    fn change_subs(&self, frame: String, edit: impl FnOnce(&mut BTreeMap<String, Value>)) {
        let relays: Vec<Arc<Relay>> = {
            let mut inner = lock(&self.shared.inner);
            edit(&mut inner.subs);
            inner.relays.values().cloned().collect()
        };
        for r in relays {
            let mut ri = lock(&r.inner);
            if ri.status.state == RelayState::Connected {
                ri.unsent.push_back(frame.clone());
            }
            Relay::wake(&mut ri);
        }
    }
}

impl Drop for RelayPool {
    fn drop(&mut self) {
        self.set_relays(&[]);
    }
}

impl PoolShared {
    /// Records `id`; `false` if it was seen already.
    fn mark_seen(&self, id: &str) -> bool {
        let mut inner = lock(&self.inner);
        if !inner.seen.insert(id.to_string()) {
            return false;
        }
        inner.seen_order.push_back(id.to_string());
        if inner.seen_order.len() > MAX_SEEN {
            if let Some(old) = inner.seen_order.pop_front() {
                inner.seen.remove(&old);
            }
        }
        true
    }

    fn req_frames(&self) -> Vec<String> {
        lock(&self.inner)
            .subs
            .iter()
            .map(|(s, f)| json!(["REQ", s, f]).to_string())
            .collect()
    }
}

/// Handles one frame from `relay`.
fn handle_frame(pool: &PoolShared, relay: &Relay, text: &str) {
    let Ok(Value::Array(v)) = serde_json::from_str::<Value>(text) else {
        return;
    };
    match v.first().and_then(Value::as_str) {
        Some("OK") => {
            let id = v.get(1).and_then(Value::as_str).unwrap_or_default();
            let ok = v.get(2).and_then(Value::as_bool).unwrap_or(false);
            let msg = v.get(3).and_then(Value::as_str).unwrap_or_default();
            let mut ri = lock(&relay.inner);
            if let Some(pos) = ri.outbox.iter().position(|(i, _)| i == id) {
                ri.outbox.remove(pos);
                if ok {
                    ri.status.accepted += 1;
                } else {
                    ri.status.rejected += 1;
                    ri.status.notice = Some(msg.to_string());
                }
            }
        }
        Some("EVENT") => {
            let sub = v.get(1).and_then(Value::as_str).unwrap_or_default();
            let Some(ev) = v
                .get(2)
                .and_then(|e| serde_json::from_value::<Event>(e.clone()).ok())
            else {
                let mut ri = lock(&relay.inner);
                ri.status.rejected += 1;
                ri.status.invalid += 1;
                return;
            };
            if ev.verify().is_err() {
                let mut ri = lock(&relay.inner);
                ri.status.rejected += 1;
                ri.status.invalid += 1;
                return;
            }
            if pool.mark_seen(&ev.id) {
                lock(&relay.inner).status.received += 1;
                (pool.handler)(&ev, sub);
            }
        }
        Some("NOTICE") | Some("CLOSED") => {
            let msg = v.last().and_then(Value::as_str).unwrap_or_default();
            lock(&relay.inner).status.notice = Some(msg.to_string());
        }
        _ => {} // EOSE, AUTH, COUNT: nothing to do
    }
}

/// Keeps one relay connected until it is removed or the pool is dropped.
async fn drive(pool: std::sync::Weak<PoolShared>, relay: Arc<Relay>) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let Some(shared) = pool.upgrade() else { return };
        let url = {
            let mut ri = lock(&relay.inner);
            if ri.removed {
                return;
            }
            ri.status.state = RelayState::Connecting;
            ri.status.url.clone()
        };
        let sock = Arc::new(WsSocket::new(
            "nostr",
            url.as_str(),
            1024,
            1024,
            MAX_MESSAGE,
        ));
        lock(&relay.inner).socket = Some(sock.clone());
        shared.transport.ws_connect(sock.clone());
        // Wait for open or failure.
        poll_fn(|cx| sock.poll_send(cx)).await;
        if sock.state() == WsState::Open {
            backoff = MIN_BACKOFF;
            {
                let mut ri = lock(&relay.inner);
                ri.status.state = RelayState::Connected;
                ri.status.error = None;
                ri.status.connections += 1;
                let mut frames = shared.req_frames();
                frames.extend(ri.outbox.iter().map(|(_, f)| f.clone()));
                ri.unsent = frames.into();
            }
            drop(shared);
            session(&pool, &relay, &sock).await;
        } else {
            drop(shared);
        }
        {
            let mut ri = lock(&relay.inner);
            ri.socket = None;
            ri.unsent.clear();
            if ri.removed {
                return;
            }
            ri.status.state = RelayState::Error;
            ri.status.error = Some(sock.error().unwrap_or_else(|| "connection closed".into()));
        }
        sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

enum Step {
    Send(String),
    Recv(Option<WsMessage>),
    Stop,
}

/// One connection: sends queued frames, handles received ones, until the socket closes.
async fn session(pool: &std::sync::Weak<PoolShared>, relay: &Relay, sock: &WsSocket) {
    loop {
        let step = poll_fn(|cx| {
            if let Poll::Ready(()) = sock.poll_recv(cx) {
                return Poll::Ready(match sock.try_recv() {
                    Ok(m) => Step::Recv(m),
                    Err(_) => Step::Recv(None),
                });
            }
            let mut ri = lock(&relay.inner);
            if ri.removed {
                return Poll::Ready(Step::Stop);
            }
            if let Some(f) = ri.unsent.pop_front() {
                return Poll::Ready(Step::Send(f));
            }
            ri.driver = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        match step {
            Step::Stop => {
                sock.close();
                return;
            }
            Step::Send(frame) => {
                let is_event = frame.starts_with("[\"EVENT\"");
                if sock.send(WsMessage::Text(frame)).await.is_err() {
                    return;
                }
                if is_event {
                    lock(&relay.inner).status.sent += 1;
                }
            }
            Step::Recv(None) => {
                if sock.state() == WsState::Closed {
                    return;
                }
            }
            Step::Recv(Some(m)) => {
                let Some(shared) = pool.upgrade() else {
                    sock.close();
                    return;
                };
                if let WsMessage::Text(t) = m {
                    handle_frame(&shared, relay, &t);
                }
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn spawn(fut: impl std::future::Future<Output = ()> + Send + 'static) {
    super::native::runtime().spawn(fut);
}

#[cfg(target_arch = "wasm32")]
fn spawn(fut: impl std::future::Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(fut);
}

#[cfg(not(target_arch = "wasm32"))]
async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}

#[cfg(target_arch = "wasm32")]
async fn sleep(d: Duration) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let f: Option<js_sys::Function> =
            js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
                .ok()
                .and_then(|f| wasm_bindgen::JsCast::dyn_into(f).ok());
        if let Some(f) = f {
            let _ = f.call2(
                &js_sys::global(),
                &resolve,
                &(d.as_millis().min(i32::MAX as u128) as f64).into(),
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip_and_tamper() {
        let k = Keys::parse(&"01".repeat(32)).unwrap();
        let ev = Event::sign(&k, 1_700_000_000, 5000, vec![], "hi \"\n".into());
        ev.verify().unwrap();
        let mut bad = ev.clone();
        bad.content.push('!');
        assert_eq!(bad.verify(), Err("invalid event id".into()));
        let mut bad = ev.clone();
        bad.sig
            .replace_range(0..2, if &ev.sig[0..2] == "00" { "11" } else { "00" });
        assert_eq!(bad.verify(), Err("invalid signature".into()));
    }

    #[test]
    fn keys_from_hex_and_nsec_agree() {
        // NIP-19's example: nsec1vl02... is 67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa.
        let hexk = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa";
        let nsec = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
        assert_eq!(
            Keys::parse(hexk).unwrap().pubkey(),
            Keys::parse(nsec).unwrap().pubkey()
        );
        assert!(Keys::parse("nope").is_err());
        assert!(Keys::parse(&"00".repeat(32)).is_err());
    }
}
