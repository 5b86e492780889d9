//! What the explorer's UI asks of the namespace and what it gets back — the one boundary
//! between the page's components and the namespace they show ([`crate::engine`] answers).
//!
//! The types are plain data (strings, numbers, bytes; no services, handles or `oanix_core`
//! types) and serde-serialisable, so the same requests can cross a `postMessage` to a
//! worker that owns the namespace: the UI's wasm then needs none of the namespace's code
//! (README, "The browser host at scale": the way to a small main wasm): the page's client
//! posts them to the engine worker with `serde-wasm-bindgen` ([`ToEngine`], [`FromEngine`]).

use serde::{Deserialize, Serialize};

/// A request from the UI.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Reading and editing files.
    File(FileRequest),
    /// The saved namespaces (IndexedDB).
    Saved(SavedRequest),
    /// NIP-90 jobs through `/cap/nostr`.
    Nostr(NostrRequest),
    /// The Run panel's guests.
    Run(RunRequest),
    /// Reviewing what runs and jobs changed.
    Review(ReviewRequest),
    /// The page's scheduler.
    Jobs(JobsRequest),
}

/// The Run panel: the module, runs, their stdin and stop.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum RunRequest {
    /// The module runs and jobs use from now on (checked by the UI: size, `\0asm`).
    Module {
        name: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Starts a run of the module: `args` split like a shell's words, `env` as `KEY=VALUE`
    /// lines, `stdin` (kept open for more with `keep_stdin`), `timeout` in seconds (text,
    /// as typed), `allow_net` the `/cap/http` and `/cap/ws` allowlist. Replies
    /// [`Reply::Started`]; then [`Event::RunStatus`], [`Event::RunOutput`], ... follow.
    Start {
        args: String,
        env: String,
        stdin: String,
        keep_stdin: bool,
        timeout: String,
        allow_net: String,
    },
    /// More standard input for run `id` (kept open).
    Stdin { id: u64, text: String },
    /// End of standard input for run `id`.
    Eof { id: u64 },
    /// Stops run `id` (at its next tick or WASI call).
    Stop { id: u64 },
}

/// The Review panel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReviewRequest {
    /// Runs and jobs started from now on write into the live namespace (`true`) or into
    /// the review overlay (`false`).
    AutoApply(bool),
    /// Applies review `id`'s changes to the namespace ([`Reply::Said`]).
    Commit { id: u64 },
    /// Drops review `id`'s changes ([`Reply::Said`]).
    Discard { id: u64 },
}

/// The Jobs panel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum JobsRequest {
    /// Queues `count` jobs of the current module (priority, timeout in seconds as typed).
    Submit {
        count: String,
        priority: String,
        timeout: String,
    },
    /// The newest jobs, read from `/jobs` ([`Reply::Jobs`]).
    List,
    /// Cancels job `id` (writes `cancel` to `/jobs/{id}/ctl`).
    Cancel { id: u64 },
    /// Job `id`'s stdout then stderr ([`Reply::Said`]).
    Output { id: u64 },
}

/// NIP-90 jobs (kind 5600, "run a WASI module") for the Nostr panel.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum NostrRequest {
    /// Submits a job to `relays` (space/comma separated): the module's http(s) URL, its
    /// arguments (one string, split like a shell's words) and stdin. Replies the job's
    /// event id ([`Reply::Said`]).
    Submit {
        relays: String,
        module: String,
        args: String,
        stdin: String,
    },
    /// Waits for job `id`'s result ([`Reply::Nostr`]).
    Await { id: String },
}

/// Reading and editing files.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FileRequest {
    /// The mount table: each mount point and its services' kinds.
    Mounts,
    /// The sidebar tree (depth-first, names sorted, at most [`TREE_MAX_ROWS`] rows).
    Tree,
    /// Whether `path` names a directory (or is missing: the view shows its error).
    IsDir { path: String },
    /// A directory's entries (sorted by name, with sizes) and whether files can be made in it.
    List { path: String },
    /// A file for the file view: up to `limit` bytes from its start (or its end with
    /// `tail`), its size, and what the view may do with it.
    Show {
        path: String,
        limit: u64,
        tail: bool,
    },
    /// The whole file (download).
    Read { path: String },
    /// Replaces (or creates) a file's contents.
    Write {
        path: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Makes a new empty file or directory; fails if the name exists.
    Create { path: String, folder: bool },
    /// Renames a file; fails if the new name exists.
    Rename { from: String, to: String },
    /// Removes a file.
    Remove { path: String },
}

/// The saved namespaces: the page's namespace is saved under its current name after every
/// change; others can be saved, opened and deleted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SavedRequest {
    /// The names saved and the current one.
    List,
    /// The namespace changed: save it under the current name (changes made while a save
    /// runs are saved together by one more save). Progress comes as [`Event::Saving`].
    Changed,
    /// Saves the namespace under `name`, which becomes the current one.
    SaveAs { name: String },
    /// Replaces the namespace with the one saved as `name` (keeping this page's live
    /// services, capabilities and `/workspace`); it becomes the current one.
    Open { name: String },
    /// Deletes the saved namespace `name`.
    Delete { name: String },
}

/// Something the namespace side tells the UI unasked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Event {
    /// Where saving stands (the top bar's "saved (3 written)", "NOT SAVED: ...").
    Saving(String),
    /// Where `/workspace`'s mirroring to OPFS stands (empty: all written).
    Mirror(String),
    /// The namespace changed (views re-read it; it is saved).
    Changed,
    /// The live services changed (a run's output, status): the agent views re-read.
    Live,
    /// A run's status line and whether it still runs.
    RunStatus {
        id: u64,
        status: String,
        running: bool,
    },
    /// Output of run `id`: (fd, text) in order; text split only at character boundaries.
    RunOutput { id: u64, chunks: Vec<(u32, String)> },
    /// Run `id` ended (for the history).
    RunEnded { id: u64, past: Past },
    /// Modules compiled for this page so far.
    Compiles(u64),
    /// The WebSocket connections under `/cap/ws`.
    Conns(Vec<Conn>),
    /// The pending reviews (all of them, whenever one changes).
    Reviews(Vec<ReviewView>),
    /// The engine worker is gone (crashed, or from another build): nothing is saved or run
    /// any more. Made by the page's client, never sent by the worker.
    Lost(String),
    /// The Jobs panel's news: jobs that ran so far, what became of one that ended, and
    /// whether the scheduler went idle (nothing queued or running; `false` also when it
    /// starts running jobs).
    Jobs {
        ran: u64,
        said: Option<String>,
        idle: bool,
    },
}

/// One finished run, for the Run panel's history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Past {
    /// The module's name.
    pub module: String,
    /// Its arguments.
    pub args: String,
    /// "exit code 0", "stopped on request", ...
    pub outcome: String,
    /// Click to end.
    pub millis: f64,
}

/// One WebSocket connection under `/cap/ws`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conn {
    /// Its id under `/cap/ws/conns`.
    pub id: String,
    /// connecting, open, closing, closed.
    pub state: String,
    /// Where it goes.
    pub url: String,
    /// Why it closed abnormally.
    pub error: Option<String>,
}

/// One review: what runs and jobs changed, waiting for Commit or Discard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    /// Its id (for Commit and Discard).
    pub id: u64,
    /// What ran.
    pub label: String,
    /// Runs still writing into it (Commit and Discard wait for them).
    pub users: usize,
    /// What changed.
    pub changes: Vec<ChangeView>,
}

/// One changed path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeView {
    /// added, modified, deleted.
    pub kind: String,
    /// Absolute path.
    pub path: String,
    /// A directory.
    pub dir: bool,
    /// For a file: its line diff, or why there is none.
    pub diff: Option<Result<Vec<Line>, String>>,
}

/// One line of a diff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Line {
    /// In both.
    Same(String),
    /// Only after.
    Added(String),
    /// Only before.
    Removed(String),
}

/// One row of the job list, as `/jobs/{id}/status` and `spec.json` tell it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRow {
    /// The job's id.
    pub id: u64,
    /// Its priority.
    pub priority: i64,
    /// Its state (and error).
    pub state: String,
    /// Queued or running (it can be cancelled).
    pub active: bool,
}

/// A successful answer (each request has one kind).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    /// To [`Request::Mounts`].
    Mounts(Vec<Mount>),
    /// To [`Request::Tree`].
    Tree(Vec<TreeRow>),
    /// To [`Request::IsDir`].
    IsDir(bool),
    /// To [`Request::List`].
    Listing(Listing),
    /// To [`Request::Show`].
    Shown(Shown),
    /// To [`Request::Read`].
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// To the requests that change the namespace.
    Done,
    /// To [`SavedRequest::List`].
    Saved(Saved),
    /// What happened, for the top bar (save as, open, delete), or an id.
    Said(String),
    /// To [`NostrRequest::Await`].
    Nostr(NostrResult),
    /// To [`RunRequest::Start`]: the run's id and label.
    Started { id: u64, label: String },
    /// To [`JobsRequest::List`].
    Jobs(Vec<JobRow>),
}

/// Why a request failed: the service's message and its WASI errno's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What went wrong, for people.
    pub message: String,
    /// The WASI errno it maps to (`NoEnt`, `Exist`, ...).
    pub errno: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a request gets: its reply or why it failed.
pub type Answer = Result<Reply, Failure>;

/// The saved namespaces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// Every saved name.
    pub names: Vec<String>,
    /// The name changes are saved under; empty when nothing is saved (the stored namespace
    /// was unreadable, or another tab owns the storage).
    pub current: String,
}

/// A NIP-90 job's end, as the Nostr panel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NostrResult {
    /// "done: exit code 0 (processing → success)", "failed (...)".
    pub status: String,
    /// The job's stdout, then its stderr.
    pub output: String,
}

/// How many rows the sidebar tree shows at most.
pub const TREE_MAX_ROWS: usize = 2_000;

/// One mount: where, and the kinds of its services (`memfs`, `opfs + memfs`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// The mount point.
    pub path: String,
    /// Its services' kinds, top layer first, joined by " + ".
    pub kinds: String,
}

/// One row of the sidebar tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeRow {
    /// Absolute path.
    pub path: String,
    /// Last component.
    pub name: String,
    /// Depth below `/` (0 for `/x`).
    pub depth: usize,
    /// A directory (expandable) rather than a file.
    pub is_dir: bool,
}

/// One directory entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute path.
    pub path: String,
    /// Last component.
    pub name: String,
    /// `file`, `dir`, `symlink` or `stream`.
    pub kind: String,
    /// Size in bytes (0 when it cannot be read).
    pub size: u64,
}

/// A directory's contents.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// Entries sorted by name.
    pub entries: Vec<Entry>,
    /// Whether new files can be made here (a writable directory of a general service).
    pub writable: bool,
}

/// A file as the file view shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shown {
    /// The bytes asked for (all of them when `size` ≤ the limit).
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
    /// The file's whole size.
    pub size: u64,
    /// Its contents may be replaced (Save).
    pub save: bool,
    /// It may be renamed and deleted.
    pub rename_delete: bool,
    /// A stream (a capability's request or connection file): not read for the view, since
    /// reading would take data meant for programs.
    pub stream: bool,
}

impl Shown {
    /// Whether `bytes` is only part of the file.
    pub fn partial(&self) -> bool {
        (self.bytes.len() as u64) < self.size
    }
}

/// The page's own host (with its port) and `127.0.0.1`: the default allowlist of
/// `/cap/http` and `/cap/ws` (the same on the page and in its workers: their `location`
/// is the page's origin).
pub fn default_allowlist() -> String {
    let host = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .and_then(|l| js_sys::Reflect::get(&l, &"host".into()))
        .ok()
        .and_then(|h| h.as_string())
        .unwrap_or_default();
    if host.is_empty() || host == "127.0.0.1" {
        "127.0.0.1".into()
    } else {
        format!("{host}, 127.0.0.1")
    }
}

/// The protocol's version: a page and an engine worker from different builds (a stale
/// cached worker) refuse each other with a clear message instead of misreading messages.
pub const VERSION: u32 = 1;

/// What the engine worker says once it has loaded the namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    /// [`VERSION`] of the worker's build.
    pub version: u32,
    /// What loading reported (problems, storage unavailable, another tab, ...).
    pub notes: Vec<String>,
    /// Whether the namespace is kept in IndexedDB (the top bar shows where saving stands).
    pub has_store: bool,
}

/// A message from the page to the engine worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToEngine {
    /// Request `id` (answered by [`FromEngine::Answer`] with the same id).
    Call { id: u32, request: Request },
}

/// A message from the engine worker to the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FromEngine {
    /// The worker's wasm is running (the namespace is loading).
    Booted,
    /// The namespace is loaded (or could not be built: why).
    Ready(Result<Ready, String>),
    /// The answer to request `id`.
    Answer { id: u32, answer: Answer },
    /// Something that happened.
    Event(Event),
}

/// Where trunk puts the engine worker's loader (see index.html).
pub const ENGINE_URL: &str = "./oanix-engine_loader.js";
