//! `HttpFs`: HTTP as files (`/cap/http`).
//!
//! ```text
//! /request   write one JSON request; a read from the same fd returns its response
//! /response  read: the response to the last request written in this environment
//! ```
//!
//! A request is one JSON object `{"method": "GET", "url": "http://...", "headers": {"k":
//! "v"}, "body": "text"}`: `method` defaults to `GET`, `body` is optional, `body_base64`
//! replaces `body` for bytes, `timeout_ms` is optional (default
//! [`NetLimits::default_timeout_ms`](crate::net::NetLimits)). The bytes of successive
//! writes on one fd accumulate until they form a complete object (so a request may be
//! written in pieces); a syntax error, an unknown field, a field of the wrong type, a
//! missing or unparsable URL (or one that is not `http`/`https`), or an invalid method or
//! header fails the write with `EINVAL`, and nothing is sent. A request larger than
//! `max_request` fails with `EFBIG`.
//!
//! A response is `{"status": 200, "headers": {...}, "body": "..."}` (`body_base64` when
//! the body is not UTF-8; repeated header names joined with `, `), or `{"error": "..."}`
//! plus `status` if one came: a refused origin (nothing leaves the machine), a network
//! failure, a timeout, a body over the size limit, a connection broken mid-body. The error
//! text starts with a stable category (see [`crate::net::category`]). Reads block (readiness
//! rule, no spinning) until the response is complete; every response ends with `\n`.

use super::ctl::{
    json_line, serve, stream_meta, JsonInput, ReadStream, ReadableStream, WritableStream,
    WriteStream,
};
use crate::error::{FsError, FsResult};
use crate::net::{platform_transport, HttpCall, HttpRequest, HttpResult, NetGrant, Transport};
use crate::path::FsPath;
use crate::service::{
    lock, open_dir, DirEntry, FileHandle, FileKind, FileService, Follow, Interest, Metadata,
    OpenOptions,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

const INO_ROOT: u64 = 1;
const INO_REQUEST: u64 = 2;
const INO_RESPONSE: u64 = 3;

/// A request as written by a guest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestDoc {
    #[serde(default)]
    method: Option<String>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

#[derive(Serialize)]
struct ResponseDoc<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// The response file's bytes for `r`.
pub fn render_response(r: &HttpResult) -> Vec<u8> {
    let doc = if let Some(e) = &r.error {
        ResponseDoc {
            status: r.status,
            headers: None,
            body: None,
            body_base64: None,
            error: Some(e),
        }
    } else {
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &r.headers {
            headers
                .entry(k.to_ascii_lowercase())
                .and_modify(|old| {
                    old.push_str(", ");
                    old.push_str(v);
                })
                .or_insert_with(|| v.clone());
        }
        let text = std::str::from_utf8(&r.body).ok();
        ResponseDoc {
            status: r.status,
            headers: Some(headers),
            body: text,
            body_base64: match text {
                Some(_) => None,
                None => Some(base64::engine::general_purpose::STANDARD.encode(&r.body)),
            },
            error: None,
        }
    };
    json_line(&doc)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks a written request and turns it into a transport request.
fn validate(doc: RequestDoc, grant: &NetGrant) -> FsResult<HttpRequest> {
    let bad = |why: String| FsError::InvalidInput(why);
    let method = doc
        .method
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    if !is_token(&method) {
        return Err(bad(format!("bad method {method:?}")));
    }
    let url =
        crate::net::Url::parse(&doc.url).map_err(|e| bad(format!("bad url {:?}: {e}", doc.url)))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(bad(format!("url {:?} is not http(s)://host/...", doc.url)));
    }
    let mut headers = Vec::new();
    for (k, v) in doc.headers {
        if !is_token(&k) {
            return Err(bad(format!("bad header name {k:?}")));
        }
        if v.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad(format!("bad value of header {k:?}")));
        }
        headers.push((k, v));
    }
    let body = match (doc.body, doc.body_base64) {
        (Some(_), Some(_)) => return Err(bad("both body and body_base64".into())),
        (Some(b), None) => b.into_bytes(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b.as_bytes())
            .map_err(|e| bad(format!("bad body_base64: {e}")))?,
        (None, None) => Vec::new(),
    };
    Ok(HttpRequest {
        method,
        url,
        headers,
        body,
        timeout_ms: doc.timeout_ms.unwrap_or(grant.limits.default_timeout_ms),
        max_body: grant.limits.max_body,
        allow: grant.allow.clone(),
    })
}

struct Shared {
    grant: NetGrant,
    transport: Arc<dyn Transport>,
    last: Mutex<Option<Arc<HttpCall>>>,
}

impl Shared {
    /// Starts `req` (or refuses it when outside the allowlist: nothing is sent).
    fn start(&self, req: HttpRequest) -> Arc<HttpCall> {
        let call = Arc::new(HttpCall::new());
        match self.grant.allow.check(&req.url) {
            Ok(()) => self.transport.http(req, call.clone()),
            Err(e) => call.complete(HttpResult::failed(e)),
        }
        *lock(&self.last) = Some(call.clone());
        call
    }
}

/// HTTP as files. See the module docs for the protocol.
pub struct HttpFs {
    shared: Arc<Shared>,
}

impl HttpFs {
    /// An HttpFs for `grant` on the platform's transport.
    pub fn new(grant: NetGrant) -> Self {
        let t = platform_transport(&grant);
        HttpFs::with_transport(grant, t)
    }

    /// An HttpFs using `transport`.
    pub fn with_transport(grant: NetGrant, transport: Arc<dyn Transport>) -> Self {
        HttpFs {
            shared: Arc::new(Shared {
                grant,
                transport,
                last: Mutex::new(None),
            }),
        }
    }

    /// The grant it enforces.
    pub fn grant(&self) -> &NetGrant {
        &self.shared.grant
    }
}

/// Serves a rendered response from an internal cursor (the files are streams).
#[derive(Default)]
struct Reply {
    call: Option<Arc<HttpCall>>,
    bytes: Option<Vec<u8>>,
    pos: usize,
}

impl Reply {
    fn read(&mut self, buf: &mut [u8]) -> FsResult<usize> {
        if self.bytes.is_none() {
            let Some(call) = &self.call else {
                return Err(FsError::InvalidInput("no request written".into()));
            };
            match call.with_result(render_response) {
                Some(b) => self.bytes = Some(b),
                None => return Err(FsError::WouldBlock),
            }
        }
        let bytes = self.bytes.as_deref().unwrap_or_default();
        Ok(serve(bytes, &mut self.pos, buf))
    }

    fn poll(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        match (&self.bytes, &self.call) {
            (None, Some(call)) => call.poll_done(cx).map(Ok),
            _ => Poll::Ready(Ok(())),
        }
    }
}

struct RequestHandle {
    shared: Arc<Shared>,
    input: Mutex<JsonInput>,
    reply: Mutex<Reply>,
    read: bool,
    write: bool,
}

impl WritableStream for RequestHandle {
    fn ino(&self) -> u64 {
        INO_REQUEST
    }

    fn read(&self, buf: &mut [u8]) -> FsResult<usize> {
        if !self.read {
            return Err(FsError::BadHandle);
        }
        let mut reply = lock(&self.reply);
        if reply.call.is_none() && lock(&self.input).is_partial() {
            return Err(FsError::InvalidInput("request JSON is incomplete".into()));
        }
        reply.read(buf)
    }

    fn write(&self, buf: &[u8]) -> FsResult<usize> {
        if !self.write {
            return Err(FsError::BadHandle);
        }
        let doc = lock(&self.input).push::<RequestDoc>(buf)?;
        if let Some(doc) = doc {
            let req = validate(doc, &self.shared.grant)?;
            let call = self.shared.start(req);
            *lock(&self.reply) = Reply {
                call: Some(call),
                ..Default::default()
            };
        }
        Ok(buf.len())
    }

    fn poll_ready(&self, interest: Interest, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        match interest {
            Interest::Write => Poll::Ready(Ok(())),
            Interest::Read => lock(&self.reply).poll(cx),
        }
    }
}

struct ResponseHandle {
    shared: Arc<Shared>,
    reply: Mutex<Reply>,
}

impl ResponseHandle {
    /// Binds to the last request at the first read (and keeps it).
    fn bind(&self, reply: &mut Reply) {
        if reply.call.is_none() && reply.bytes.is_none() {
            match lock(&self.shared.last).clone() {
                Some(c) => reply.call = Some(c),
                None => {
                    let r = HttpResult::failed("no request has been made".into());
                    reply.bytes = Some(render_response(&r));
                }
            }
        }
    }
}

impl ReadableStream for ResponseHandle {
    fn ino(&self) -> u64 {
        INO_RESPONSE
    }

    fn read(&self, buf: &mut [u8]) -> FsResult<usize> {
        let mut reply = lock(&self.reply);
        self.bind(&mut reply);
        reply.read(buf)
    }

    fn poll_read(&self, cx: &mut Context<'_>) -> Poll<FsResult<()>> {
        let mut reply = lock(&self.reply);
        self.bind(&mut reply);
        reply.poll(cx)
    }
}

impl FileService for HttpFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        if opts.create_new {
            return Err(FsError::AlreadyExists);
        }
        match path.as_str() {
            "" => open_dir(self.stat(path, Follow::Yes)?, opts),
            "request" => Ok(Box::new(WriteStream(RequestHandle {
                shared: self.shared.clone(),
                input: Mutex::new(JsonInput::new(self.shared.grant.limits.max_request)),
                reply: Mutex::new(Reply::default()),
                read: opts.read,
                write: opts.mutates(),
            }))),
            "response" if opts.mutates() => Err(FsError::PermissionDenied),
            "response" => Ok(Box::new(ReadStream(ResponseHandle {
                shared: self.shared.clone(),
                reply: Mutex::new(Reply::default()),
            }))),
            _ if opts.create => Err(FsError::ReadOnly),
            _ => Err(FsError::NotFound),
        }
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        match path.as_str() {
            "" => Ok(Metadata::synthetic_dir(INO_ROOT)),
            "request" => Ok(stream_meta(INO_REQUEST, false)),
            "response" => Ok(stream_meta(INO_RESPONSE, true)),
            _ => Err(FsError::NotFound),
        }
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        match path.as_str() {
            "" => Ok(vec![
                DirEntry {
                    name: "request".into(),
                    kind: FileKind::Stream,
                    ino: INO_REQUEST,
                    cookie: 1,
                },
                DirEntry {
                    name: "response".into(),
                    kind: FileKind::Stream,
                    ino: INO_RESPONSE,
                    cookie: 2,
                },
            ]),
            "request" | "response" => Err(FsError::NotADirectory),
            _ => Err(FsError::NotFound),
        }
    }

    fn kind(&self) -> &'static str {
        super::HTTP_KIND
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_input_accumulates_and_rejects() {
        let mut j = JsonInput::new(64);
        assert!(j.push::<serde_json::Value>(b"{\"a\":").unwrap().is_none());
        assert!(j.is_partial());
        let v = j.push::<serde_json::Value>(b" 1}\n").unwrap().unwrap();
        assert_eq!(v["a"], 1);
        assert!(!j.is_partial());
        assert!(matches!(
            j.push::<serde_json::Value>(b"{\"a\" 1}"),
            Err(FsError::InvalidInput(_))
        ));
        assert!(!j.is_partial());
        assert_eq!(
            j.push::<serde_json::Value>(&[b' '; 65]).err(),
            Some(FsError::FileTooLarge)
        );
    }

    #[test]
    fn responses_render_text_binary_and_errors() {
        let ok = HttpResult {
            status: Some(200),
            headers: vec![("X-A".into(), "1".into()), ("x-a".into(), "2".into())],
            body: b"hi".to_vec(),
            error: None,
        };
        assert_eq!(
            render_response(&ok),
            b"{\"status\":200,\"headers\":{\"x-a\":\"1, 2\"},\"body\":\"hi\"}\n"
        );
        let bin = HttpResult {
            body: vec![0xff, 0],
            ..ok.clone()
        };
        assert!(String::from_utf8(render_response(&bin))
            .unwrap()
            .contains("\"body_base64\":\"/wA=\""));
        let e = HttpResult {
            status: Some(200),
            error: Some("body too large: over 1 bytes".into()),
            ..Default::default()
        };
        assert_eq!(
            render_response(&e),
            b"{\"status\":200,\"error\":\"body too large: over 1 bytes\"}\n"
        );
    }
}
