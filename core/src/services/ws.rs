//! `WsFs`: WebSockets as files (`/cap/ws`).
//!
//! ```text
//! /control            write {"open": "ws://..."} → a read from the same fd returns
//!                     {"id": "<id>"} (or {"error": "..."}); write {"close": "<id>"}
//!                     → {"closed": "<id>"}
//! /conns/<id>/out     each write sends one message (text if valid UTF-8, else binary)
//! /conns/<id>/in      each read returns one whole message (a message larger than the
//!                     buffer continues on the next reads; a new message never starts
//!                     mid-read); blocks until one arrives; 0 (EOF) once closed and drained
//! /conns/<id>/status  {"state": "connecting|open|closing|closed", "url": ..., "error": ...}
//! ```
//!
//! Bad JSON, an unknown command, a URL that is not `ws://`/`wss://`, or an unknown id fails
//! the write with `EINVAL`. A URL outside the allowlist, or more than `max_sockets` open,
//! answers `{"error": "..."}` and opens nothing. Ids are `1`, `2`, ... in order of opening.
//! Writing to `out` waits while the socket is connecting or its send queue is full, and
//! fails with `EPIPE` once it is closing or closed. Empty received messages are not
//! delivered (an empty read means end of stream). Closed connections stay listed until
//! more than [`KEEP_CLOSED`] closed ones accumulate (oldest first removed); open fds keep
//! working either way.

use super::ctl::{
    node_to_open, serve, stream_meta, CommandHandle, ReadStream, ReadableStream, WritableStream,
    WriteStream,
};
use super::file_meta;
use crate::error::{FsError, FsResult};
use crate::net::{
    category, err, platform_transport, NetGrant, Transport, WsMessage, WsSocket, WsState,
};
use crate::path::FsPath;
use crate::service::{
    lock, open_dir, read_at_bytes, DirEntry, FileHandle, FileKind, FileService, Follow, Interest,
    Metadata, OpenOptions,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Closed connections kept listed under `/conns`.
pub const KEEP_CLOSED: usize = 32;
/// Largest control command (bytes).
const MAX_COMMAND: usize = 64 * 1024;

const INO_ROOT: u64 = 1;
const INO_CONTROL: u64 = 2;
const INO_CONNS: u64 = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum Command {
    Open(String),
    Close(String),
}

struct Shared {
    grant: NetGrant,
    transport: Arc<dyn Transport>,
    conns: Mutex<BTreeMap<u64, Arc<WsSocket>>>,
    next_id: Mutex<u64>,
}

impl Shared {
    fn conn(&self, id: &str) -> Option<(u64, Arc<WsSocket>)> {
        let n: u64 = id.parse().ok()?;
        if n.to_string() != id {
            return None;
        }
        lock(&self.conns).get(&n).map(|s| (n, s.clone()))
    }

    /// Runs one command; the reply a read from the same fd returns.
    fn command(&self, cmd: Command) -> FsResult<serde_json::Value> {
        match cmd {
            Command::Open(raw) => {
                let url = crate::net::Url::parse(&raw)
                    .map_err(|e| FsError::InvalidInput(format!("bad url {raw:?}: {e}")))?;
                if !matches!(url.scheme(), "ws" | "wss") || url.host().is_none() {
                    return Err(FsError::InvalidInput(format!(
                        "url {raw:?} is not ws(s)://host/..."
                    )));
                }
                if let Err(e) = self.grant.allow.check(&url) {
                    return Ok(serde_json::json!({ "error": e }));
                }
                let mut conns = lock(&self.conns);
                let live = conns
                    .values()
                    .filter(|s| s.state() != WsState::Closed)
                    .count();
                let max = self.grant.limits.max_sockets;
                if live >= max {
                    return Ok(serde_json::json!({
                        "error": err(category::TOO_MANY, format!("{max} open"))
                    }));
                }
                // Forget the oldest closed connections past the retention count.
                let closed: Vec<u64> = conns
                    .iter()
                    .filter(|(_, s)| s.state() == WsState::Closed)
                    .map(|(k, _)| *k)
                    .collect();
                for k in closed
                    .iter()
                    .take(closed.len().saturating_sub(KEEP_CLOSED - 1))
                {
                    conns.remove(k);
                }
                let id = {
                    let mut n = lock(&self.next_id);
                    *n += 1;
                    *n
                };
                let l = &self.grant.limits;
                let sock = Arc::new(WsSocket::new(
                    id.to_string(),
                    url.as_str(),
                    l.max_inbound,
                    l.max_outbound,
                    l.max_message,
                ));
                conns.insert(id, sock.clone());
                drop(conns);
                self.transport.ws_connect(sock);
                Ok(serde_json::json!({ "id": id.to_string() }))
            }
            Command::Close(id) => {
                let (_, sock) = self
                    .conn(&id)
                    .ok_or_else(|| FsError::InvalidInput(format!("no connection {id:?}")))?;
                sock.close();
                Ok(serde_json::json!({ "closed": id }))
            }
        }
    }
}

/// WebSockets as files. See the module docs for the protocol.
pub struct WsFs {
    shared: Arc<Shared>,
}

impl WsFs {
    /// A WsFs for `grant` on the platform's transport.
    pub fn new(grant: NetGrant) -> Self {
        let t = platform_transport(&grant);
        WsFs::with_transport(grant, t)
    }

    /// A WsFs using `transport`.
    pub fn with_transport(grant: NetGrant, transport: Arc<dyn Transport>) -> Self {
        WsFs {
            shared: Arc::new(Shared {
                grant,
                transport,
                conns: Mutex::new(BTreeMap::new()),
                next_id: Mutex::new(0),
            }),
        }
    }

    /// The grant it enforces.
    pub fn grant(&self) -> &NetGrant {
        &self.shared.grant
    }

    /// Every listed connection, by id (for status views).
    pub fn connections(&self) -> Vec<Arc<WsSocket>> {
        lock(&self.shared.conns).values().cloned().collect()
    }
}

impl Drop for WsFs {
    /// The environment is gone: close its sockets.
    fn drop(&mut self) {
        for s in lock(&self.shared.conns).values() {
            s.close();
        }
    }
}

struct InHandle {
    sock: Arc<WsSocket>,
    /// The message being read and how much of it was returned.
    partial: Mutex<Option<(Vec<u8>, usize)>>,
}

impl ReadableStream for InHandle {
    fn ino(&self) -> u64 {
        0
    }

    fn read(&self, buf: &mut [u8]) -> FsResult<usize> {
        let mut partial = lock(&self.partial);
        if partial.is_none() {
            match self.sock.try_recv()? {
                Some(m) => *partial = Some((m.into_bytes(), 0)),
                None => return Ok(0),
            }
        }
        let Some((bytes, pos)) = partial.as_mut() else {
            return Ok(0);
        };
        let n = serve(bytes, pos, buf);
        if *pos == bytes.len() {
            *partial = None;
        }
        Ok(n)
    }

    fn poll_read(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if lock(&self.partial).is_some() {
            return Poll::Ready(Ok(()));
        }
        self.sock.poll_recv(cx).map(Ok)
    }
}

struct OutHandle {
    sock: Arc<WsSocket>,
}

impl WritableStream for OutHandle {
    fn ino(&self) -> u64 {
        0
    }

    fn write(&self, buf: &[u8]) -> FsResult<usize> {
        self.sock.try_send(WsMessage::from_bytes(buf))?;
        Ok(buf.len())
    }

    fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        if interest == Interest::Read {
            return Poll::Ready(Err(FsError::BadHandle));
        }
        self.sock.poll_send(cx).map(Ok)
    }
}

struct StatusHandle {
    bytes: Vec<u8>,
}

impl FileHandle for StatusHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        Ok(read_at_bytes(&self.bytes, buf, offset))
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(0, self.bytes.len() as u64, 0, true))
    }
}

/// Inode numbers of a connection's directory and files.
fn conn_ino(id: u64, file: u64) -> u64 {
    0x1000 + id * 4 + file
}

const CONN_FILES: [&str; 3] = ["in", "out", "status"];

/// Where a path leads.
enum Node {
    Root,
    Control,
    Conns,
    ConnDir(u64),
    ConnFile(u64, Arc<WsSocket>, usize),
}

impl WsFs {
    fn node(&self, path: &FsPath) -> FsResult<Node> {
        let parts: Vec<&str> = path.components().collect();
        match parts.as_slice() {
            [] => Ok(Node::Root),
            ["control"] => Ok(Node::Control),
            ["conns"] => Ok(Node::Conns),
            ["conns", id, rest @ ..] => {
                let (n, sock) = self.shared.conn(id).ok_or(FsError::NotFound)?;
                match rest {
                    [] => Ok(Node::ConnDir(n)),
                    [f] => match CONN_FILES.iter().position(|x| x == f) {
                        Some(i) => Ok(Node::ConnFile(n, sock, i)),
                        None => Err(FsError::NotFound),
                    },
                    _ => Err(FsError::NotFound),
                }
            }
            ["control", ..] => Err(FsError::NotADirectory),
            _ => Err(FsError::NotFound),
        }
    }
}

impl FileService for WsFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let node = node_to_open(opts, || self.node(path))?;
        match node {
            Node::Root | Node::Conns | Node::ConnDir(_) => {
                open_dir(self.stat(path, Follow::Yes)?, opts)
            }
            Node::Control => {
                let shared = self.shared.clone();
                let run = move |cmd: Command| shared.command(cmd);
                Ok(Box::new(WriteStream(CommandHandle::new(
                    MAX_COMMAND,
                    INO_CONTROL,
                    "command",
                    run,
                ))))
            }
            Node::ConnFile(_, sock, 0) if !opts.mutates() => Ok(Box::new(ReadStream(InHandle {
                sock,
                partial: Mutex::new(None),
            }))),
            Node::ConnFile(_, sock, 1) if !opts.read => {
                Ok(Box::new(WriteStream(OutHandle { sock })))
            }
            Node::ConnFile(_, sock, 2) if !opts.mutates() => {
                let mut bytes = sock.status_json().into_bytes();
                bytes.push(b'\n');
                Ok(Box::new(StatusHandle { bytes }))
            }
            Node::ConnFile(..) => Err(FsError::PermissionDenied),
        }
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        Ok(match self.node(path)? {
            Node::Root => Metadata::synthetic_dir(INO_ROOT),
            Node::Conns => Metadata::synthetic_dir(INO_CONNS),
            Node::ConnDir(n) => Metadata::synthetic_dir(conn_ino(n, 0)),
            Node::Control => stream_meta(INO_CONTROL, false),
            Node::ConnFile(n, _, 0) => stream_meta(conn_ino(n, 1), true),
            Node::ConnFile(n, _, 1) => stream_meta(conn_ino(n, 2), false),
            Node::ConnFile(n, sock, _) => {
                file_meta(conn_ino(n, 3), sock.status_json().len() as u64 + 1, 0, true)
            }
        })
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        match self.node(path)? {
            Node::Root => Ok(vec![
                DirEntry {
                    name: "conns".into(),
                    kind: FileKind::Dir,
                    ino: INO_CONNS,
                    cookie: 1,
                },
                DirEntry {
                    name: "control".into(),
                    kind: FileKind::Stream,
                    ino: INO_CONTROL,
                    cookie: 2,
                },
            ]),
            Node::Conns => Ok(lock(&self.shared.conns)
                .keys()
                .map(|&n| DirEntry {
                    name: n.to_string(),
                    kind: FileKind::Dir,
                    ino: conn_ino(n, 0),
                    cookie: n,
                })
                .collect()),
            Node::ConnDir(n) => Ok(CONN_FILES
                .iter()
                .enumerate()
                .map(|(i, name)| DirEntry {
                    name: (*name).into(),
                    kind: if i == 2 {
                        FileKind::File
                    } else {
                        FileKind::Stream
                    },
                    ino: conn_ino(n, i as u64 + 1),
                    cookie: i as u64 + 1,
                })
                .collect()),
            Node::Control | Node::ConnFile(..) => Err(FsError::NotADirectory),
        }
    }

    fn kind(&self) -> &'static str {
        super::WS_KIND
    }
}
