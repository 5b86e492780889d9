//! `TaskFs`: the agent's task as files.
//!
//! ```text
//! /spec.json    the task definition (read-only)
//! /meta.json    metadata (read-only)
//! /status       live status, computed at open: {"status": "pending|running|completed|
//!               failed", "created_at", "started_at", "finished_at", "exit_code", "error"}
//! /result.json  written by the guest; must be valid JSON
//! ```
//!
//! `result.json` rules: writes go to the writer's staged copy; whenever the staged bytes are
//! a complete JSON document they become the result. A write that makes them invalid JSON (a
//! syntax error, not just an unfinished document) is refused with `EINVAL` and undone, so
//! the previous result is kept. Readers see only complete, valid results. `stat` sizes equal
//! the bytes a read returns.

use super::file_meta;
use crate::clock::{self, Timestamp};
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::service::{
    lock, open_dir, read_at_bytes, DirEntry, FileHandle, FileKind, FileService, Follow, Metadata,
    OpenOptions,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// A typed task definition; unknown fields are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Task id.
    pub id: String,
    /// What the agent must do.
    pub goal: String,
    /// Namespace paths the task reads.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Any other fields of the definition.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Not started.
    Pending,
    /// Running.
    Running,
    /// Finished with exit code 0.
    Completed,
    /// Finished with an error or a non-zero exit code.
    Failed,
}

/// The live status rendered as `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    /// State.
    pub status: TaskState,
    /// Creation time (ns since the epoch).
    pub created_at: Timestamp,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// When it finished.
    pub finished_at: Option<Timestamp>,
    /// The guest's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A shared handle to a task's status, for whoever runs the task.
#[derive(Clone)]
pub struct TaskStatusHandle(Arc<Mutex<TaskStatus>>);

impl TaskStatusHandle {
    /// The status now.
    pub fn get(&self) -> TaskStatus {
        lock(&self.0).clone()
    }

    /// Marks the task running.
    pub fn start(&self) {
        let mut s = lock(&self.0);
        s.status = TaskState::Running;
        s.started_at = Some(clock::now());
    }

    /// Marks the task finished with `exit_code`: completed only if it is 0.
    pub fn exit(&self, exit_code: i32) {
        let mut s = lock(&self.0);
        s.status = if exit_code == 0 {
            TaskState::Completed
        } else {
            TaskState::Failed
        };
        s.exit_code = Some(exit_code);
        if exit_code != 0 {
            s.error = Some(format!("exited with code {exit_code}"));
        }
        s.finished_at = Some(clock::now());
    }

    /// Marks the task failed without an exit code (trap, timeout, ...).
    pub fn fail(&self, error: impl Into<String>) {
        let mut s = lock(&self.0);
        s.status = TaskState::Failed;
        s.error = Some(error.into());
        s.finished_at = Some(clock::now());
    }

    fn render(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(&*lock(&self.0)).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// The committed result and when it last changed.
struct ResultState {
    bytes: Vec<u8>,
    mtime: Timestamp,
}

/// The `/task` service.
pub struct TaskFs {
    spec: Arc<[u8]>,
    meta: Arc<[u8]>,
    status: TaskStatusHandle,
    result: Arc<Mutex<ResultState>>,
    created: Timestamp,
}

const DIR_INO: u64 = 1;
const FILES: [(&str, u64); 4] = [
    ("meta.json", 3),
    ("result.json", 5),
    ("spec.json", 2),
    ("status", 4),
];

impl TaskFs {
    /// From a typed spec and metadata (any JSON object).
    pub fn new(spec: &TaskSpec, meta: serde_json::Value) -> FsResult<Self> {
        let spec = serde_json::to_value(spec).map_err(|e| FsError::InvalidInput(e.to_string()))?;
        Self::from_values(spec, meta)
    }

    /// From JSON text: `spec` must be a JSON object with at least `id` and `goal`.
    pub fn from_json(spec: &str, meta: &str) -> FsResult<Self> {
        let parse = |what: &str, s: &str| {
            serde_json::from_str::<serde_json::Value>(s)
                .map_err(|e| FsError::InvalidInput(format!("{what} is not valid JSON: {e}")))
        };
        let spec = parse("spec", spec)?;
        serde_json::from_value::<TaskSpec>(spec.clone())
            .map_err(|e| FsError::InvalidInput(format!("spec is not a task: {e}")))?;
        Self::from_values(spec, parse("meta", meta)?)
    }

    fn from_values(spec: serde_json::Value, meta: serde_json::Value) -> FsResult<Self> {
        let pretty = |v: &serde_json::Value| {
            let mut b = serde_json::to_vec_pretty(v).unwrap_or_default();
            b.push(b'\n');
            Arc::<[u8]>::from(b)
        };
        let now = clock::now();
        Ok(TaskFs {
            spec: pretty(&spec),
            meta: pretty(&meta),
            status: TaskStatusHandle(Arc::new(Mutex::new(TaskStatus {
                status: TaskState::Pending,
                created_at: now,
                started_at: None,
                finished_at: None,
                exit_code: None,
                error: None,
            }))),
            result: Arc::new(Mutex::new(ResultState {
                bytes: Vec::new(),
                mtime: now,
            })),
            created: now,
        })
    }

    /// The status handle the runner updates.
    pub fn status(&self) -> TaskStatusHandle {
        self.status.clone()
    }

    /// The committed result (empty until the guest writes valid JSON).
    pub fn result(&self) -> Vec<u8> {
        lock(&self.result).bytes.clone()
    }

    fn which(path: &FsPath) -> FsResult<Option<(&'static str, u64)>> {
        if path.is_root() {
            return Ok(None);
        }
        let name = path.as_str().trim_start_matches('/');
        FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|f| Some(*f))
            .ok_or(FsError::NotFound)
    }
}

impl FileService for TaskFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let Some((name, ino)) = Self::which(path)? else {
            return open_dir(self.stat(path, Follow::Yes)?, opts);
        };
        if opts.create_new {
            return Err(FsError::AlreadyExists);
        }
        if opts.directory {
            return Err(FsError::NotADirectory);
        }
        let fixed = |bytes: Arc<[u8]>| -> FsResult<Box<dyn FileHandle>> {
            if opts.mutates() {
                return Err(FsError::ReadOnly);
            }
            Ok(Box::new(Fixed {
                bytes,
                ino,
                time: self.created,
            }))
        };
        match name {
            "spec.json" => fixed(self.spec.clone()),
            "meta.json" => fixed(self.meta.clone()),
            "status" => fixed(self.status.render().into()),
            _ => {
                let staged = if opts.truncate {
                    Vec::new()
                } else {
                    lock(&self.result).bytes.clone()
                };
                Ok(Box::new(ResultHandle {
                    shared: self.result.clone(),
                    staged: Mutex::new(staged),
                    writable: opts.write || opts.append || opts.truncate,
                }))
            }
        }
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        let Some((name, ino)) = Self::which(path)? else {
            return Ok(Metadata::synthetic_dir(DIR_INO));
        };
        Ok(match name {
            "spec.json" => file_meta(ino, self.spec.len() as u64, self.created, true),
            "meta.json" => file_meta(ino, self.meta.len() as u64, self.created, true),
            "status" => file_meta(ino, self.status.render().len() as u64, clock::now(), true),
            _ => {
                let r = lock(&self.result);
                file_meta(ino, r.bytes.len() as u64, r.mtime, false)
            }
        })
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        if Self::which(path)?.is_some() {
            return Err(FsError::NotADirectory);
        }
        Ok(FILES
            .iter()
            .enumerate()
            .map(|(i, (name, ino))| DirEntry {
                name: name.to_string(),
                kind: FileKind::File,
                ino: *ino,
                cookie: i as u64 + 1,
            })
            .collect())
    }

    fn kind(&self) -> &'static str {
        "taskfs"
    }
}

/// A read-only file whose bytes were fixed at open.
struct Fixed {
    bytes: Arc<[u8]>,
    ino: u64,
    time: Timestamp,
}

impl FileHandle for Fixed {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        Ok(read_at_bytes(&self.bytes, buf, offset))
    }

    fn write_at(&self, _buf: &[u8], _offset: u64) -> FsResult<usize> {
        Err(FsError::ReadOnly)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(
            self.ino,
            self.bytes.len() as u64,
            self.time,
            true,
        ))
    }
}

/// The largest `result.json` (a guest-chosen offset or length past it is `EFBIG`, never a
/// host allocation of that size). Each write re-reads the whole staged document, so this
/// also bounds what one write costs.
pub const MAX_RESULT_BYTES: usize = 8 << 20;

/// `offset + len` if the result stays within [`MAX_RESULT_BYTES`].
fn result_end(offset: u64, len: usize) -> FsResult<usize> {
    usize::try_from(offset)
        .ok()
        .and_then(|o| o.checked_add(len))
        .filter(|end| *end <= MAX_RESULT_BYTES)
        .ok_or(FsError::FileTooLarge)
}

/// An open `result.json`: a staged copy committed whenever it is complete, valid JSON.
struct ResultHandle {
    shared: Arc<Mutex<ResultState>>,
    staged: Mutex<Vec<u8>>,
    writable: bool,
}

impl ResultHandle {
    /// Applies `edit` to the staged bytes; commits valid JSON, keeps an unfinished document
    /// staged, and undoes the edit on a syntax error (`EINVAL`).
    fn edit(&self, edit: impl FnOnce(&mut Vec<u8>)) -> FsResult<()> {
        if !self.writable {
            return Err(FsError::BadHandle);
        }
        let mut staged = lock(&self.staged);
        let before = staged.clone();
        edit(&mut staged);
        if staged.iter().all(u8::is_ascii_whitespace) {
            return Ok(()); // nothing yet (e.g. truncated): the previous result stands
        }
        match serde_json::from_slice::<serde_json::Value>(&staged) {
            Ok(_) => {
                let mut shared = lock(&self.shared);
                shared.bytes = staged.clone();
                shared.mtime = clock::now();
                Ok(())
            }
            Err(e) if e.is_eof() => Ok(()),
            Err(e) => {
                *staged = before;
                Err(FsError::InvalidInput(format!(
                    "result.json must be valid JSON ({e}); the previous result is kept"
                )))
            }
        }
    }
}

impl FileHandle for ResultHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        Ok(read_at_bytes(&lock(&self.staged), buf, offset))
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> FsResult<usize> {
        let end = result_end(offset, buf.len())?;
        self.edit(|s| {
            if s.len() < end {
                s.resize(end, 0);
            }
            s[end - buf.len()..end].copy_from_slice(buf);
        })?;
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        result_end(lock(&self.staged).len() as u64, buf.len())?;
        let mut end = 0;
        self.edit(|s| {
            s.extend_from_slice(buf);
            end = s.len() as u64;
        })?;
        Ok(end)
    }

    fn set_len(&self, len: u64) -> FsResult<()> {
        let len = result_end(len, 0)?;
        self.edit(|s| s.resize(len, 0))
    }

    fn metadata(&self) -> FsResult<Metadata> {
        let mtime = lock(&self.shared).mtime;
        Ok(file_meta(5, lock(&self.staged).len() as u64, mtime, false))
    }
}
