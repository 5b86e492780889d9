//! `/jobs`: the [`Scheduler`]'s jobs as files (`/{id}/spec.json`, `status`, `stdout`,
//! `stderr`, `ctl`).

use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::scheduler::{Job, JobId, JobState, Scheduler};
use crate::service::{
    open_dir, read_at_bytes, DirEntry, FileHandle, FileKind, FileService, Follow, Metadata,
    OpenOptions,
};
use crate::services::file_meta;
use serde::Serialize;

/// The jobs as files: `/{id}/spec.json`, `status`, `stdout`, `stderr`, and `ctl` (write
/// `cancel`).
pub struct JobsFs {
    scheduler: Scheduler,
}

impl JobsFs {
    /// The files of `scheduler`'s jobs.
    pub fn new(scheduler: Scheduler) -> Self {
        JobsFs { scheduler }
    }

    fn parse(path: &FsPath) -> FsResult<(Option<JobId>, Option<&str>)> {
        let parts: Vec<&str> = path.components().collect();
        let id = |s: &str| s.parse::<JobId>().map_err(|_| FsError::NotFound);
        Ok(match parts.as_slice() {
            [] => (None, None),
            [j] => (Some(id(j)?), None),
            [j, f] if FILES.contains(f) => (Some(id(j)?), Some(f)),
            _ => return Err(FsError::NotFound),
        })
    }

    fn content(job: &Job, file: &str) -> Vec<u8> {
        let json = |v: &dyn erased::Json| {
            let mut b = v.to_pretty();
            b.push(b'\n');
            b
        };
        match file {
            "spec.json" => json(&job.spec),
            "status" => json(&StatusView {
                id: job.id,
                state: &job.state,
                submitted_at: job.submitted_at,
                started_at: job.started_at,
                finished_at: job.finished_at,
            }),
            "stdout" => job.stdout.clone(),
            "stderr" => job.stderr.clone(),
            _ => Vec::new(),
        }
    }
}

#[derive(Serialize)]
struct StatusView<'a> {
    id: JobId,
    #[serde(flatten)]
    state: &'a JobState,
    submitted_at: u64,
    started_at: Option<u64>,
    finished_at: Option<u64>,
}

mod erased {
    /// Serialisable as pretty JSON (object-safe).
    pub trait Json {
        fn to_pretty(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_pretty(&self) -> Vec<u8> {
            serde_json::to_vec_pretty(self).unwrap_or_default()
        }
    }
}

impl FileService for JobsFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        let (id, file) = Self::parse(path)?;
        let (Some(id), Some(file)) = (id, file) else {
            return open_dir(self.stat(path, Follow::Yes)?, opts);
        };
        let job = self.scheduler.job(id).ok_or(FsError::NotFound)?;
        if file == "ctl" {
            return Ok(Box::new(Ctl {
                scheduler: self.scheduler.clone(),
                id,
            }));
        }
        if opts.mutates() {
            return Err(FsError::ReadOnly);
        }
        Ok(Box::new(Snapshot {
            bytes: Self::content(&job, file),
            ino: file_ino(id, file),
        }))
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        let (id, file) = Self::parse(path)?;
        match (id, file) {
            (None, _) => Ok(Metadata::synthetic_dir(1)),
            (Some(id), None) => {
                self.scheduler.job(id).ok_or(FsError::NotFound)?;
                Ok(Metadata::synthetic_dir(id * 8))
            }
            (Some(id), Some(f)) => {
                let job = self.scheduler.job(id).ok_or(FsError::NotFound)?;
                let size = Self::content(&job, f).len() as u64;
                Ok(file_meta(
                    file_ino(id, f),
                    size,
                    job.submitted_at,
                    f != "ctl",
                ))
            }
        }
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        match Self::parse(path)? {
            (None, _) => Ok(self
                .scheduler
                .jobs()
                .into_iter()
                .map(|j| DirEntry {
                    name: j.id.to_string(),
                    kind: FileKind::Dir,
                    ino: j.id * 8,
                    cookie: j.id,
                })
                .collect()),
            (Some(id), None) => {
                self.scheduler.job(id).ok_or(FsError::NotFound)?;
                Ok(FILES
                    .iter()
                    .enumerate()
                    .map(|(i, n)| DirEntry {
                        name: n.to_string(),
                        kind: FileKind::File,
                        ino: file_ino(id, n),
                        cookie: i as u64 + 1,
                    })
                    .collect())
            }
            _ => Err(FsError::NotADirectory),
        }
    }

    fn kind(&self) -> &'static str {
        "jobsfs"
    }
}

/// The files of a job's directory, in listing order.
const FILES: [&str; 5] = ["ctl", "spec.json", "status", "stderr", "stdout"];

/// The inode number of job `id`'s file `name` (its directory is `id * 8`): the same from
/// `stat`, `readdir` and an open handle, and distinct per file.
fn file_ino(id: JobId, name: &str) -> u64 {
    let i = FILES.iter().position(|f| *f == name).unwrap_or(FILES.len());
    id * 8 + 1 + i as u64
}

struct Snapshot {
    bytes: Vec<u8>,
    ino: u64,
}

impl FileHandle for Snapshot {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        Ok(read_at_bytes(&self.bytes, buf, offset))
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(self.ino, self.bytes.len() as u64, 0, true))
    }
}

/// `ctl`: writing `cancel` cancels the job; anything else is `EINVAL`.
struct Ctl {
    scheduler: Scheduler,
    id: JobId,
}

impl FileHandle for Ctl {
    fn read_at(&self, _buf: &mut [u8], _offset: u64) -> FsResult<usize> {
        Ok(0)
    }

    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        match std::str::from_utf8(buf).map(str::trim) {
            Ok("cancel") => self.scheduler.cancel(self.id).map(|_| buf.len()),
            _ => Err(FsError::InvalidInput("ctl accepts: cancel".into())),
        }
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(file_meta(file_ino(self.id, "ctl"), 0, 0, false))
    }
}
