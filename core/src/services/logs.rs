//! `LogsFs`: an agent's logs as files.
//!
//! ```text
//! /stdout.log, /stderr.log     append-only: every write appends; truncation is refused (EPERM)
//!                              (events and the trajectory: opening with truncate only appends)
//! /events/NNN.jsonl            structured events, one JSON object per line, rotated by size
//! /atif/trajectory.json        an ATIF-v1.4 trajectory built from appended steps
//! ```
//!
//! **Events**: writing to any file under `/events/` appends to the current `NNN.jsonl`
//! (names come from rotation, starting at `001.jsonl`). Each line must be a JSON object with a
//! `level` (`trace|debug|info|warn|error`) and a string `message`; `timestamp` (ISO 8601) is
//! filled in when absent and `data` is free. A write holding any malformed line is refused with
//! `EINVAL` and appends nothing; a line without its newline waits in the handle for the rest.
//!
//! **ATIF**: each write to `/atif/trajectory.json` appends one step (a JSON object, or one per
//! line): `step_id` must be the next number (from 1), `source` one of `system|user|agent`,
//! `message` a string; `timestamp` is filled in when absent. Reading renders the whole
//! trajectory (`schema_version` "ATIF-v1.4", `session_id`, `agent`, `steps`, `final_metrics`).
//!
//! **Bounded memory** ([`LogLimits`]): `stdout.log`/`stderr.log` hold at most `stream_cap`
//! bytes each — a write past it is refused with `ENOSPC` and nothing logged is lost; events
//! keep at most `event_files` files of about `event_file_bytes` each — past that the oldest
//! file is dropped (the newest events matter most); the trajectory keeps at most `atif_steps`
//! steps — past that appends are refused with `ENOSPC`.

use super::file_meta;
use crate::clock::{self, Timestamp};
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::service::{
    lock, open_dir, read_at_bytes, DirEntry, FileHandle, FileKind, FileService, Follow, Metadata,
    OpenOptions,
};
use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Memory bounds of a [`LogsFs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Largest `stdout.log` / `stderr.log`, bytes.
    pub stream_cap: usize,
    /// Rotate the events file past this many bytes.
    pub event_file_bytes: usize,
    /// Event files kept (the oldest is dropped past it).
    pub event_files: usize,
    /// Trajectory steps kept (appends past it are refused).
    pub atif_steps: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            stream_cap: 8 << 20,
            event_file_bytes: 1 << 20,
            event_files: 16,
            atif_steps: 10_000,
        }
    }
}

const LEVELS: [&str; 5] = ["trace", "debug", "info", "warn", "error"];
const SOURCES: [&str; 3] = ["system", "user", "agent"];

struct EventFile {
    number: u32,
    bytes: Vec<u8>,
    mtime: Timestamp,
}

struct State {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    stdout_mtime: Timestamp,
    stderr_mtime: Timestamp,
    events: VecDeque<EventFile>,
    steps: Vec<Value>,
    atif_mtime: Timestamp,
}

/// The `/logs` service.
pub struct LogsFs {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    limits: LogLimits,
    session_id: String,
    agent: Value,
}

/// ISO 8601 UTC with milliseconds, from ns since the epoch.
fn iso8601(ns: Timestamp) -> String {
    let secs = (ns / 1_000_000_000) as i64;
    let ms = (ns / 1_000_000 % 1000) as u32;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Which file a path names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Node {
    Root,
    Stdout,
    Stderr,
    EventsDir,
    Event(u32),
    AtifDir,
    Trajectory,
}

const INO_ROOT: u64 = 1;
const INO_STDOUT: u64 = 2;
const INO_STDERR: u64 = 3;
const INO_EVENTS: u64 = 4;
const INO_ATIF: u64 = 5;
const INO_TRAJECTORY: u64 = 6;
const INO_EVENT_BASE: u64 = 1000;

impl LogsFs {
    /// An empty log for session `session_id` of agent `agent_name`.
    pub fn new(session_id: &str, agent_name: &str, limits: LogLimits) -> Self {
        let now = clock::now();
        let inner = Inner {
            state: Mutex::new(State {
                stdout: Vec::new(),
                stderr: Vec::new(),
                stdout_mtime: now,
                stderr_mtime: now,
                events: VecDeque::from([EventFile {
                    number: 1,
                    bytes: Vec::new(),
                    mtime: now,
                }]),
                steps: Vec::new(),
                atif_mtime: now,
            }),
            limits: LogLimits {
                event_files: limits.event_files.max(1),
                ..limits
            },
            session_id: session_id.to_string(),
            agent: json!({"name": agent_name, "version": env!("CARGO_PKG_VERSION")}),
        };
        LogsFs {
            inner: Arc::new(inner),
        }
    }

    /// Appends to stdout (`fd` 1) or stderr (2), as the runner does with guest output.
    pub fn append_stream(&self, fd: u32, data: &[u8]) -> FsResult<()> {
        self.inner.append_stream(fd, data)
    }

    /// The trajectory document as `/atif/trajectory.json` shows it.
    pub fn trajectory(&self) -> Value {
        serde_json::from_slice(&self.inner.render_trajectory(&lock(&self.inner.state)))
            .unwrap_or(Value::Null)
    }
}

impl Inner {
    fn node(&self, path: &FsPath) -> FsResult<Node> {
        let parts: Vec<&str> = path.components().collect();
        Ok(match parts.as_slice() {
            [] => Node::Root,
            ["stdout.log"] => Node::Stdout,
            ["stderr.log"] => Node::Stderr,
            ["events"] => Node::EventsDir,
            ["atif"] => Node::AtifDir,
            ["atif", "trajectory.json"] => Node::Trajectory,
            ["events", name] => {
                let n = name
                    .strip_suffix(".jsonl")
                    .and_then(|n| n.parse::<u32>().ok())
                    .ok_or(FsError::NotFound)?;
                Node::Event(n)
            }
            _ => return Err(FsError::NotFound),
        })
    }

    fn render_trajectory(&self, st: &State) -> Vec<u8> {
        let doc = json!({
            "schema_version": "ATIF-v1.4",
            "session_id": self.session_id,
            "agent": self.agent,
            "steps": st.steps,
            "final_metrics": {"total_steps": st.steps.len()},
        });
        let mut v = serde_json::to_vec_pretty(&doc).unwrap_or_default();
        v.push(b'\n');
        v
    }

    fn meta(&self, node: Node, st: &State) -> FsResult<Metadata> {
        let dir = |ino| Ok(Metadata::synthetic_dir(ino));
        match node {
            Node::Root => dir(INO_ROOT),
            Node::EventsDir => dir(INO_EVENTS),
            Node::AtifDir => dir(INO_ATIF),
            Node::Stdout => Ok(file_meta(
                INO_STDOUT,
                st.stdout.len() as u64,
                st.stdout_mtime,
                false,
            )),
            Node::Stderr => Ok(file_meta(
                INO_STDERR,
                st.stderr.len() as u64,
                st.stderr_mtime,
                false,
            )),
            Node::Trajectory => Ok(file_meta(
                INO_TRAJECTORY,
                self.render_trajectory(st).len() as u64,
                st.atif_mtime,
                false,
            )),
            Node::Event(n) => {
                let f = st
                    .events
                    .iter()
                    .find(|f| f.number == n)
                    .ok_or(FsError::NotFound)?;
                Ok(file_meta(
                    INO_EVENT_BASE + u64::from(n),
                    f.bytes.len() as u64,
                    f.mtime,
                    false,
                ))
            }
        }
    }

    /// Validates and appends complete event lines (all or nothing).
    fn append_events(&self, lines: &[&[u8]]) -> FsResult<()> {
        let mut out = Vec::new();
        for line in lines {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut v: Map<String, Value> = serde_json::from_slice(line)
                .map_err(|e| FsError::InvalidInput(format!("event is not a JSON object: {e}")))?;
            match v.get("level").and_then(Value::as_str) {
                Some(l) if LEVELS.contains(&l) => {}
                _ => {
                    return Err(FsError::InvalidInput(format!(
                        "event level must be one of {LEVELS:?}"
                    )))
                }
            }
            if !v.get("message").is_some_and(Value::is_string) {
                return Err(FsError::InvalidInput(
                    "event message must be a string".into(),
                ));
            }
            v.entry("timestamp")
                .or_insert_with(|| Value::String(iso8601(clock::now())));
            let mut bytes = serde_json::to_vec(&v).unwrap_or_default();
            bytes.push(b'\n');
            out.push(bytes);
        }
        let mut st = lock(&self.state);
        for bytes in out {
            let now = clock::now();
            let full = st.events.back().is_some_and(|f| {
                !f.bytes.is_empty() && f.bytes.len() + bytes.len() > self.limits.event_file_bytes
            });
            if full {
                let number = st.events.back().map_or(1, |f| f.number + 1);
                st.events.push_back(EventFile {
                    number,
                    bytes: Vec::new(),
                    mtime: now,
                });
                while st.events.len() > self.limits.event_files {
                    st.events.pop_front();
                }
            }
            if let Some(f) = st.events.back_mut() {
                f.bytes.extend_from_slice(&bytes);
                f.mtime = now;
            }
        }
        Ok(())
    }

    /// Validates and appends trajectory steps (all or nothing).
    fn append_steps(&self, docs: &[&[u8]]) -> FsResult<()> {
        let mut st = lock(&self.state);
        let mut next = st.steps.len() as u64 + 1;
        let mut new = Vec::new();
        for doc in docs {
            if doc.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let mut step: Map<String, Value> = serde_json::from_slice(doc).map_err(|e| {
                FsError::InvalidInput(format!("ATIF step is not a JSON object: {e}"))
            })?;
            if step.get("step_id").and_then(Value::as_u64) != Some(next) {
                return Err(FsError::InvalidInput(format!(
                    "ATIF step_id must be {next}"
                )));
            }
            match step.get("source").and_then(Value::as_str) {
                Some(s) if SOURCES.contains(&s) => {}
                _ => {
                    return Err(FsError::InvalidInput(format!(
                        "ATIF source must be one of {SOURCES:?}"
                    )))
                }
            }
            if !step.get("message").is_some_and(Value::is_string) {
                return Err(FsError::InvalidInput(
                    "ATIF message must be a string".into(),
                ));
            }
            step.entry("timestamp")
                .or_insert_with(|| Value::String(iso8601(clock::now())));
            new.push(Value::Object(step));
            next += 1;
        }
        if st.steps.len() + new.len() > self.limits.atif_steps {
            return Err(FsError::NoSpace);
        }
        st.steps.extend(new);
        st.atif_mtime = clock::now();
        Ok(())
    }

    fn append_stream(&self, fd: u32, data: &[u8]) -> FsResult<()> {
        let mut guard = lock(&self.state);
        let st = &mut *guard;
        let cap = self.limits.stream_cap;
        let now = clock::now();
        let (buf, mtime) = match fd {
            1 => (&mut st.stdout, &mut st.stdout_mtime),
            2 => (&mut st.stderr, &mut st.stderr_mtime),
            _ => return Err(FsError::BadHandle),
        };
        if buf.len() + data.len() > cap {
            return Err(FsError::NoSpace);
        }
        buf.extend_from_slice(data);
        *mtime = now;
        Ok(())
    }
}

impl FileService for LogsFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let inner = &self.inner;
        let node = match inner.node(path) {
            // Any file under /events/ may be opened for writing: it appends to the current file.
            Err(FsError::NotFound) if opts.mutates() && is_events_file(path) => Node::Event(0),
            other => other?,
        };
        if matches!(node, Node::Root | Node::EventsDir | Node::AtifDir) {
            return open_dir(self.stat(path, Follow::Yes)?, opts);
        }
        if opts.directory {
            return Err(FsError::NotADirectory);
        }
        // stdout/stderr are append-only logs: truncation is refused. Events and the
        // trajectory are record streams: an open that truncates (`File::create`) just adds
        // records, nothing is ever cut.
        if opts.truncate && matches!(node, Node::Stdout | Node::Stderr) {
            return Err(FsError::NotPermitted);
        }
        if opts.create_new && node != Node::Event(0) {
            return Err(FsError::AlreadyExists);
        }
        if let Node::Event(n) = node {
            if n != 0 {
                inner.meta(node, &lock(&inner.state))?;
            }
        }
        Ok(Box::new(LogHandle {
            inner: inner.clone(),
            node,
            pending: Mutex::new(Vec::new()),
        }))
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        let node = self.inner.node(path)?;
        self.inner.meta(node, &lock(&self.inner.state))
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        let st = lock(&self.inner.state);
        let entry = |name: &str, kind, ino, cookie| DirEntry {
            name: name.to_string(),
            kind,
            ino,
            cookie,
        };
        match self.inner.node(path)? {
            Node::Root => Ok(vec![
                entry("atif", FileKind::Dir, INO_ATIF, 1),
                entry("events", FileKind::Dir, INO_EVENTS, 2),
                entry("stderr.log", FileKind::File, INO_STDERR, 3),
                entry("stdout.log", FileKind::File, INO_STDOUT, 4),
            ]),
            Node::AtifDir => Ok(vec![entry(
                "trajectory.json",
                FileKind::File,
                INO_TRAJECTORY,
                1,
            )]),
            Node::EventsDir => Ok(st
                .events
                .iter()
                .map(|f| DirEntry {
                    name: format!("{:03}.jsonl", f.number),
                    kind: FileKind::File,
                    ino: INO_EVENT_BASE + u64::from(f.number),
                    cookie: u64::from(f.number),
                })
                .collect()),
            _ => Err(FsError::NotADirectory),
        }
    }

    fn remove_file(&self, path: &FsPath) -> FsResult<()> {
        self.inner.node(path)?;
        Err(FsError::NotPermitted)
    }

    fn kind(&self) -> &'static str {
        "logsfs"
    }
}

fn is_events_file(path: &FsPath) -> bool {
    let parts: Vec<&str> = path.components().collect();
    parts.len() == 2 && parts[0] == "events"
}

/// An open log file. Writes append whatever the offset; event and step writes are buffered
/// until a line (or a whole JSON document) is complete.
/// The longest unfinished record a log handle holds, whatever the limits say.
const MIN_RECORD: usize = 64 << 10;

struct LogHandle {
    inner: Arc<Inner>,
    node: Node,
    pending: Mutex<Vec<u8>>,
}

impl LogHandle {
    fn bytes(&self) -> FsResult<Vec<u8>> {
        let st = lock(&self.inner.state);
        Ok(match self.node {
            Node::Stdout => st.stdout.clone(),
            Node::Stderr => st.stderr.clone(),
            Node::Trajectory => self.inner.render_trajectory(&st),
            Node::Event(0) => return Err(FsError::BadHandle),
            Node::Event(n) => st
                .events
                .iter()
                .find(|f| f.number == n)
                .map(|f| f.bytes.clone())
                .ok_or(FsError::NotFound)?,
            _ => return Err(FsError::IsADirectory),
        })
    }

    /// Adds `buf` to the pending bytes and hands complete records to `commit`; on error the
    /// pending bytes are as before the call.
    fn write_records(
        &self,
        buf: &[u8],
        whole_document: bool,
        commit: impl FnOnce(&[&[u8]]) -> FsResult<()>,
    ) -> FsResult<()> {
        let mut pending = lock(&self.pending);
        let before = pending.len();
        // An unfinished record (a line without its newline, a JSON document not closed
        // yet) is held at most `event_file_bytes` long: past it the write is refused
        // (EFBIG), not buffered without end.
        let tail = match buf.iter().rposition(|&b| b == b'\n') {
            Some(nl) => buf.len() - nl - 1,
            None => before + buf.len(),
        };
        if tail > self.inner.limits.event_file_bytes.max(MIN_RECORD) {
            return Err(FsError::FileTooLarge);
        }
        pending.extend_from_slice(buf);
        // A whole JSON document without a newline (one ATIF step per write).
        if whole_document && !pending.contains(&b'\n') {
            return match serde_json::from_slice::<Value>(&pending) {
                Ok(_) => {
                    let doc = std::mem::take(&mut *pending);
                    commit(&[&doc]).inspect_err(|_| *pending = doc[..before].to_vec())
                }
                Err(e) if e.is_eof() => Ok(()),
                Err(e) => {
                    pending.truncate(before);
                    Err(FsError::InvalidInput(format!("not JSON: {e}")))
                }
            };
        }
        let Some(last_nl) = pending.iter().rposition(|&b| b == b'\n') else {
            return Ok(()); // no complete line yet
        };
        let complete: Vec<u8> = pending[..=last_nl].to_vec();
        let lines: Vec<&[u8]> = complete.split(|&b| b == b'\n').collect();
        match commit(&lines) {
            Ok(()) => {
                pending.drain(..=last_nl);
                Ok(())
            }
            Err(e) => {
                pending.truncate(before);
                Err(e)
            }
        }
    }
}

impl FileHandle for LogHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        Ok(read_at_bytes(&self.bytes()?, buf, offset))
    }

    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        match self.node {
            Node::Stdout => self.inner.append_stream(1, buf)?,
            Node::Stderr => self.inner.append_stream(2, buf)?,
            Node::Event(_) => self.write_records(buf, false, |l| self.inner.append_events(l))?,
            Node::Trajectory => self.write_records(buf, true, |d| self.inner.append_steps(d))?,
            _ => return Err(FsError::IsADirectory),
        }
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        self.write_at(buf, 0)?;
        Ok(self.metadata()?.size)
    }

    fn set_len(&self, _len: u64) -> FsResult<()> {
        Err(FsError::NotPermitted)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        let node = match self.node {
            Node::Event(0) => {
                let st = lock(&self.inner.state);
                Node::Event(st.events.back().map_or(1, |f| f.number))
            }
            n => n,
        };
        self.inner.meta(node, &lock(&self.inner.state))
    }
}
