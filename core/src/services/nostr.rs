//! `NostrFs`: Nostr NIP-90 jobs as files (`/cap/nostr`).
//!
//! ```text
//! /config.json       read/write {"relays": ["ws://..."], "pubkey": "<hex>"}
//! /submit            write a NIP-90 job request; a read from the same fd returns {"id": ...}
//! /events/<id>.json  verified events received for our requests (kinds 6000-6999, 7000)
//! /results/<req id>  a read blocks until that request's result (or error feedback) arrives
//! /status            JSON per relay: state, sent/accepted/received/rejected/invalid counts
//! ```
//!
//! - `config.json`: the secret key is never readable; it is given to [`NostrFs::new`] (from
//!   the environment's builder or `--nostr-key FILE`) or generated ([`Keys::generate`]) and
//!   kept by the environment ([`NostrFs::keys`]). Writing `{"relays": [...]}` replaces the
//!   relay set; each URL must be `ws(s)://` and inside the grant's allowlist (by default the
//!   hosts of the initial relays); a `pubkey` other than ours is refused (`EINVAL`).
//! - `submit`: `{"kind": 5xxx, "content": "...", "tags": [["i", ...], ["param", "k", "v"]]}`.
//!   The host fills `pubkey`/`created_at`, computes the NIP-01 id, signs it (BIP-340) and
//!   publishes it to every relay. Bad JSON, an unknown field, or a kind outside 5000–5999:
//!   `EINVAL`, nothing published.
//! - `events/`: kind 6000–6999 results and kind 7000 feedback whose `e` tag is one of our
//!   request ids, verified (a bad id or signature is dropped and counted in `status`),
//!   deduplicated across relays, at most [`MAX_EVENTS`] (oldest dropped first).
//! - `results/<request id>`: blocks (readiness rule: `EAGAIN` + `poll_ready`, no spinning)
//!   until an event of kind request kind + 1000 arrives, or kind-7000 feedback with
//!   `["status", "error", ...]`, then returns that event's JSON. Only our last
//!   [`MAX_REQUESTS`] requests are listed.
//!
//! NIP-90 is marked "unrecommended" in the NIPs index since 2026-05-31; it is what the
//! OANIX seed specifies.

use super::ctl::{
    node_to_open, serve, stream_meta, CommandHandle, JsonInput, ReadStream, ReadableStream,
    WriteStream,
};
use super::file_meta;
use crate::error::{FsError, FsResult};
use crate::net::nostr::{parse_relay_url, unix_now, Event, Keys, RelayPool, RelayStatus};
use crate::net::{platform_transport, Allowlist, NetGrant, Transport};
use crate::path::FsPath;
use crate::service::{
    lock, open_dir, DirEntry, FileHandle, FileKind, FileService, Follow, Metadata, OpenOptions,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Requests remembered (their results stay readable).
pub const MAX_REQUESTS: usize = 256;
/// Events kept under `events/`.
pub const MAX_EVENTS: usize = 1024;
/// Largest job request written to `submit` (bytes).
pub const MAX_SUBMIT: usize = 256 * 1024;
/// The subscription id for our requests' results and feedback.
const SUB: &str = "oanix-results";

const INO_ROOT: u64 = 1;
const INO_CONFIG: u64 = 2;
const INO_SUBMIT: u64 = 3;
const INO_EVENTS: u64 = 4;
const INO_RESULTS: u64 = 5;
const INO_STATUS: u64 = 6;

#[derive(Default)]
struct State {
    seq: u64,
    /// Request id → (kind, seq).
    requests: BTreeMap<String, (u32, u64)>,
    req_order: VecDeque<String>,
    /// Event id → (seq, event).
    events: BTreeMap<String, (u64, Event)>,
    ev_order: VecDeque<String>,
    /// Request id → the event that ends its wait.
    results: BTreeMap<String, Event>,
    waiters: Vec<Waker>,
}

impl State {
    fn on_event(&mut self, ev: &Event) {
        if !(6000..=7000).contains(&ev.kind) {
            return;
        }
        let Some(req) = ev
            .tags
            .iter()
            .filter(|t| t.first().map(String::as_str) == Some("e"))
            .filter_map(|t| t.get(1))
            .find(|id| self.requests.contains_key(*id))
            .cloned()
        else {
            return;
        };
        self.seq += 1;
        self.events.insert(ev.id.clone(), (self.seq, ev.clone()));
        self.ev_order.push_back(ev.id.clone());
        if self.ev_order.len() > MAX_EVENTS {
            if let Some(old) = self.ev_order.pop_front() {
                self.events.remove(&old);
            }
        }
        let kind = self.requests[&req].0;
        let ends = ev.kind == kind + 1000 || (ev.kind == 7000 && ev.tag("status") == Some("error"));
        if ends && !self.results.contains_key(&req) {
            self.results.insert(req, ev.clone());
        }
        self.waiters.drain(..).for_each(Waker::wake);
    }
}

struct Shared {
    keys: Keys,
    allow: Allowlist,
    pool: RelayPool,
    state: Arc<Mutex<State>>,
}

/// Nostr jobs as files. See the module docs for the protocol.
pub struct NostrFs {
    shared: Arc<Shared>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigDoc {
    relays: Vec<String>,
    #[serde(default)]
    pubkey: Option<String>,
}

#[derive(Serialize)]
struct ConfigOut<'a> {
    relays: Vec<String>,
    pubkey: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitDoc {
    kind: u32,
    #[serde(default)]
    content: String,
    #[serde(default)]
    tags: Vec<Vec<String>>,
}

#[derive(Serialize)]
struct StatusOut<'a> {
    pubkey: &'a str,
    relays: Vec<RelayStatus>,
    requests: usize,
    events: usize,
}

impl NostrFs {
    /// A NostrFs signing with `keys` (generate them with [`Keys::generate`]) and publishing
    /// to `relays` (`ws://` or `wss://`); config writes may name hosts of those relays only.
    pub fn new(relays: &[String], keys: Keys) -> FsResult<Self> {
        let hosts: Vec<String> = relays
            .iter()
            .map(|r| {
                let u = parse_relay_url(r)?;
                Ok(match u.port() {
                    Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                    None => u.host_str().unwrap_or_default().to_string(),
                })
            })
            .collect::<FsResult<_>>()?;
        let allow = Allowlist::parse(&hosts)?;
        let t = platform_transport(&NetGrant::new(allow.clone()));
        Self::with_transport(relays, keys, allow, t)
    }

    /// A NostrFs on `transport`, whose config writes may name relays inside `allow`.
    pub fn with_transport(
        relays: &[String],
        keys: Keys,
        allow: Allowlist,
        transport: Arc<dyn Transport>,
    ) -> FsResult<Self> {
        for r in relays {
            let u = parse_relay_url(r)?;
            allow.check(&u).map_err(FsError::InvalidInput)?;
        }
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let pool = RelayPool::new(
            relays,
            transport,
            Arc::new(move |ev: &Event, _sub: &str| lock(&st).on_event(ev)),
        );
        Ok(NostrFs {
            shared: Arc::new(Shared {
                keys,
                allow,
                pool,
                state,
            }),
        })
    }

    /// The keys (to keep with the environment; never shown in the namespace).
    pub fn keys(&self) -> &Keys {
        &self.shared.keys
    }

    /// The relays' status.
    pub fn relay_status(&self) -> Vec<RelayStatus> {
        self.shared.pool.status()
    }
}

impl Shared {
    fn config_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(&ConfigOut {
            relays: self.pool.urls(),
            pubkey: &self.keys.pubkey(),
        })
        .unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn status_json(&self) -> Vec<u8> {
        let (requests, events) = {
            let st = lock(&self.state);
            (st.requests.len(), st.events.len())
        };
        let mut v = serde_json::to_vec_pretty(&StatusOut {
            pubkey: &self.keys.pubkey(),
            relays: self.pool.status(),
            requests,
            events,
        })
        .unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn set_config(&self, doc: ConfigDoc) -> FsResult<()> {
        if let Some(pk) = &doc.pubkey {
            if !pk.eq_ignore_ascii_case(&self.keys.pubkey()) {
                return Err(FsError::InvalidInput(
                    "pubkey is derived from the environment's secret key".into(),
                ));
            }
        }
        for r in &doc.relays {
            let u = parse_relay_url(r)?;
            self.allow.check(&u).map_err(FsError::InvalidInput)?;
        }
        self.pool.set_relays(&doc.relays);
        Ok(())
    }

    fn submit(&self, doc: SubmitDoc) -> FsResult<Event> {
        if !(5000..=5999).contains(&doc.kind) {
            return Err(FsError::InvalidInput(format!(
                "kind {} is not a NIP-90 job request (5000-5999)",
                doc.kind
            )));
        }
        let ev = Event::sign(&self.keys, unix_now(), doc.kind, doc.tags, doc.content);
        let ids: Vec<String> = {
            let mut st = lock(&self.state);
            st.seq += 1;
            let seq = st.seq;
            st.requests.insert(ev.id.clone(), (ev.kind, seq));
            st.req_order.push_back(ev.id.clone());
            if st.req_order.len() > MAX_REQUESTS {
                if let Some(old) = st.req_order.pop_front() {
                    st.requests.remove(&old);
                    st.results.remove(&old);
                }
            }
            st.req_order.iter().cloned().collect()
        };
        // Subscribe first, so a fast result is not missed; relays also replay stored events.
        self.pool.subscribe(
            SUB,
            serde_json::json!({ "#e": ids, "kinds": result_kinds() }),
        );
        self.pool.publish(&ev);
        Ok(ev)
    }
}

/// Kinds 6000–6999 and 7000.
fn result_kinds() -> Vec<u32> {
    (6000..=7000).collect()
}

impl Drop for NostrFs {
    fn drop(&mut self) {
        self.shared.pool.set_relays(&[]);
    }
}

/// A snapshot file (config.json, events/<id>.json, status) read at offsets.
struct BytesHandle {
    bytes: Vec<u8>,
    ino: u64,
}

impl FileHandle for BytesHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        let start = (offset as usize).min(self.bytes.len());
        let mut pos = start;
        Ok(serve(&self.bytes, &mut pos, buf))
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(self.ino, self.bytes.len() as u64, 0, true))
    }
}

struct ConfigHandle {
    shared: Arc<Shared>,
    input: Mutex<JsonInput>,
    read: bool,
    write: bool,
}

impl FileHandle for ConfigHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        if !self.read {
            return Err(FsError::BadHandle);
        }
        let bytes = self.shared.config_json();
        let mut pos = (offset as usize).min(bytes.len());
        Ok(serve(&bytes, &mut pos, buf))
    }

    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        if !self.write {
            return Err(FsError::BadHandle);
        }
        if let Some(doc) = lock(&self.input).push::<ConfigDoc>(buf)? {
            self.shared.set_config(doc)?;
        }
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        self.write_at(buf, 0).map(|n| n as u64)
    }

    fn set_len(&self, _len: u64) -> FsResult<()> {
        Ok(())
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(
            INO_CONFIG,
            self.shared.config_json().len() as u64,
            0,
            false,
        ))
    }
}

struct ResultHandle {
    state: Arc<Mutex<State>>,
    request: String,
    ino: u64,
    bytes: Mutex<Option<(Vec<u8>, usize)>>,
}

impl ReadableStream for ResultHandle {
    fn ino(&self) -> u64 {
        self.ino
    }

    fn read(&self, buf: &mut [u8]) -> FsResult<usize> {
        let mut bytes = lock(&self.bytes);
        if bytes.is_none() {
            let st = lock(&self.state);
            let Some(ev) = st.results.get(&self.request) else {
                return Err(FsError::WouldBlock);
            };
            let mut b = ev.to_json().into_bytes();
            b.push(b'\n');
            *bytes = Some((b, 0));
        }
        let (b, pos) = bytes.as_mut().expect("set above");
        Ok(serve(b, pos, buf))
    }

    fn poll_read(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if lock(&self.bytes).is_some() {
            return Poll::Ready(Ok(()));
        }
        let mut st = lock(&self.state);
        if st.results.contains_key(&self.request) {
            return Poll::Ready(Ok(()));
        }
        if !st.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            st.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

const FILES: [(&str, FileKind, u64); 5] = [
    ("config.json", FileKind::File, INO_CONFIG),
    ("events", FileKind::Dir, INO_EVENTS),
    ("results", FileKind::Dir, INO_RESULTS),
    ("status", FileKind::File, INO_STATUS),
    ("submit", FileKind::Stream, INO_SUBMIT),
];

enum Node {
    Root,
    Config,
    Submit,
    Status,
    Events,
    Results,
    Event(u64, Event),
    Result(u64, String),
}

impl NostrFs {
    fn node(&self, path: &FsPath) -> FsResult<Node> {
        let parts: Vec<&str> = path.components().collect();
        let st = lock(&self.shared.state);
        match parts.as_slice() {
            [] => Ok(Node::Root),
            ["config.json"] => Ok(Node::Config),
            ["submit"] => Ok(Node::Submit),
            ["status"] => Ok(Node::Status),
            ["events"] => Ok(Node::Events),
            ["results"] => Ok(Node::Results),
            ["events", name] => {
                let id = name.strip_suffix(".json").ok_or(FsError::NotFound)?;
                let (seq, ev) = st.events.get(id).ok_or(FsError::NotFound)?;
                Ok(Node::Event(*seq, ev.clone()))
            }
            ["results", id] => {
                let (_, seq) = st.requests.get(*id).ok_or(FsError::NotFound)?;
                Ok(Node::Result(*seq, id.to_string()))
            }
            [f, ..] if FILES.iter().any(|(n, k, _)| n == f && *k != FileKind::Dir) => {
                Err(FsError::NotADirectory)
            }
            _ => Err(FsError::NotFound),
        }
    }
}

fn event_bytes(ev: &Event) -> Vec<u8> {
    let mut b = ev.to_json().into_bytes();
    b.push(b'\n');
    b
}

impl FileService for NostrFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let node = node_to_open(opts, || self.node(path))?;
        let ro = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(FsError::PermissionDenied)
            }
        };
        match node {
            Node::Root | Node::Events | Node::Results => {
                open_dir(self.stat(path, Follow::Yes)?, opts)
            }
            Node::Config => Ok(Box::new(ConfigHandle {
                shared: self.shared.clone(),
                input: Mutex::new(JsonInput::new(MAX_SUBMIT)),
                read: opts.read || !opts.mutates(),
                write: opts.mutates(),
            })),
            Node::Submit => {
                let shared = self.shared.clone();
                let run = move |doc: SubmitDoc| {
                    let ev = shared.submit(doc)?;
                    Ok(serde_json::json!({ "id": ev.id }))
                };
                Ok(Box::new(WriteStream(CommandHandle::new(
                    MAX_SUBMIT,
                    INO_SUBMIT,
                    "job request",
                    run,
                ))))
            }
            Node::Status => {
                ro(!opts.mutates())?;
                Ok(Box::new(BytesHandle {
                    bytes: self.shared.status_json(),
                    ino: INO_STATUS,
                }))
            }
            Node::Event(seq, ev) => {
                ro(!opts.mutates())?;
                Ok(Box::new(BytesHandle {
                    bytes: event_bytes(&ev),
                    ino: 0x1_0000 + seq,
                }))
            }
            Node::Result(seq, request) => {
                ro(!opts.mutates())?;
                Ok(Box::new(ReadStream(ResultHandle {
                    state: self.shared.state.clone(),
                    request,
                    ino: 0x1_0000 + seq,
                    bytes: Mutex::new(None),
                })))
            }
        }
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        Ok(match self.node(path)? {
            Node::Root => Metadata::synthetic_dir(INO_ROOT),
            Node::Events => Metadata::synthetic_dir(INO_EVENTS),
            Node::Results => Metadata::synthetic_dir(INO_RESULTS),
            Node::Config => file_meta(INO_CONFIG, self.shared.config_json().len() as u64, 0, false),
            Node::Submit => stream_meta(INO_SUBMIT, false),
            Node::Status => file_meta(INO_STATUS, self.shared.status_json().len() as u64, 0, true),
            Node::Event(seq, ev) => {
                let t = ev.created_at * 1_000_000_000;
                file_meta(0x1_0000 + seq, event_bytes(&ev).len() as u64, t, true)
            }
            Node::Result(seq, _) => stream_meta(0x1_0000 + seq, true),
        })
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        match self.node(path)? {
            Node::Root => Ok(FILES
                .iter()
                .enumerate()
                .map(|(i, (name, kind, ino))| DirEntry {
                    name: (*name).into(),
                    kind: *kind,
                    ino: *ino,
                    cookie: i as u64 + 1,
                })
                .collect()),
            Node::Events => {
                let st = lock(&self.shared.state);
                let mut v: Vec<DirEntry> = st
                    .events
                    .iter()
                    .map(|(id, (seq, _))| DirEntry {
                        name: format!("{id}.json"),
                        kind: FileKind::File,
                        ino: 0x1_0000 + seq,
                        cookie: *seq,
                    })
                    .collect();
                v.sort_by_key(|e| e.cookie);
                Ok(v)
            }
            Node::Results => {
                let st = lock(&self.shared.state);
                let mut v: Vec<DirEntry> = st
                    .requests
                    .iter()
                    .map(|(id, (_, seq))| DirEntry {
                        name: id.clone(),
                        kind: FileKind::Stream,
                        ino: 0x1_0000 + seq,
                        cookie: *seq,
                    })
                    .collect();
                v.sort_by_key(|e| e.cookie);
                Ok(v)
            }
            _ => Err(FsError::NotADirectory),
        }
    }

    fn kind(&self) -> &'static str {
        "nostrfs"
    }
}
