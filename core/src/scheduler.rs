//! The job `Scheduler`: WASI and script jobs with priorities (higher first, FIFO within a
//! priority), a concurrency limit, per-job timeouts (enforced by the host: the guest is
//! interrupted), cancellation of queued and running jobs, a bounded history, and the jobs as
//! files ([`JobsFs`]: `/jobs/{id}/spec.json`, `status`, `stdout`, `stderr`, `ctl`).
//!
//! A **script** is a small shell-like program of WASI invocations, one command line per line:
//! `CMD ARGS... [| CMD ARGS...]... [> PATH | >> PATH]`, where each `CMD` is the namespace
//! path of a `.wasm` module; `#` starts a comment. Lines run in order and the script stops
//! at the first failing line.
//!
//! The stages of a line run **at once**, as in a Unix shell: each stage's stdout is the
//! next one's stdin through a pipe of [`PIPE_CAPACITY`] bytes, so data streams and an
//! intermediate output may be of any size. A writer that fills the pipe waits (its
//! `fd_write` blocks until the reader reads); a reader sees EOF once the writer has ended;
//! a writer whose reader has ended gets `EPIPE`. So `/bin/yes.wasm | /bin/head.wasm -n 3`
//! ends as soon as `head` has its three lines. The first stage's stdin is empty.
//!
//! A line fails when one of its stages fails — exits with a code ≠ 0, traps, times out or
//! cannot start — and the script fails with `line N: CMD exited with code C` or `line N:
//! CMD: error`; the stages still running are then stopped (their guests are dropped, as a
//! cancelled job's). A stage whose write was refused with `EPIPE` because its reader had
//! ended is stopped at once and is not a failure (a shell's `yes` dies of SIGPIPE there):
//! a line's status is, as in a shell without `pipefail`, that of its last stage unless an
//! earlier stage failed on its own.
//!
//! Only the last stage's stdout is kept: it is the job's stdout, or `> PATH` writes it to
//! a namespace file (`>>` appends) when the line has ended. It is kept whole, so one past
//! the capture cap (64 MiB) fails the line rather than passing on a cut copy. The stderr
//! of every stage goes to the job's stderr, stage after stage. The job's timeout covers the
//! whole script: each line's stages get what is left of it.
//!
//! The script language is parsed in `scheduler/script.rs` ([`split_words`]); the jobs'
//! files are [`crate::services::jobs`].
//!
//! The scheduler is driven by [`Scheduler::run`] on any [`WasiHost`] (natively inside a
//! tokio runtime, in the browser on the page or worker's event loop); modules are compiled
//! once per distinct bytes by the host's cache, shared by every job.

use crate::env::WasiHost;
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::run::{RunConfig, RunOutput};
use crate::service::{lock, FileService, OpenOptions};
use crate::wasi::stdio::DEFAULT_CAPTURE_CAP;
use crate::wasi::{InputPipe, OutputPipe};
use crate::{clock, Namespace};
use script::parse_line;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

mod script;

pub use crate::services::jobs::JobsFs;
pub use script::split_words;

/// A job id.
pub type JobId = u64;

/// What a job runs.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobKind {
    /// One WASI module with args (argv\[0\] included).
    Wasi {
        /// Where the module comes from.
        module: Module,
        /// argv.
        args: Vec<String>,
        /// Standard input.
        stdin: String,
    },
    /// A script of WASI invocations (see the module docs).
    Script {
        /// The script text.
        script: String,
    },
}

/// A module: bytes given, or a namespace path read when the job starts.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Module {
    /// Bytes (not serialised: their length is).
    Bytes(#[serde(serialize_with = "len_only")] Arc<[u8]>),
    /// A namespace path.
    Path(String),
}

fn len_only<S: serde::Serializer>(b: &Arc<[u8]>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{} bytes", b.len()))
}

/// A job to submit.
#[derive(Clone, Debug, Serialize)]
pub struct JobSpec {
    /// What to run.
    pub kind: JobKind,
    /// Higher runs first.
    pub priority: i32,
    /// Wall-clock limit for the whole job.
    #[serde(serialize_with = "millis")]
    pub timeout: Option<Duration>,
}

impl JobSpec {
    /// A job running `module` with `args` (argv\[0\] included), no standard input, priority
    /// 0 and no time limit; set the other fields on the result.
    pub fn wasi(module: Module, args: Vec<String>) -> Self {
        JobSpec {
            kind: JobKind::Wasi {
                module,
                args,
                stdin: String::new(),
            },
            priority: 0,
            timeout: None,
        }
    }
}

fn millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

/// Where a job is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum JobState {
    /// Waiting in the queue.
    Queued,
    /// Running.
    Running,
    /// Exited 0.
    Completed,
    /// Exited non-zero, trapped, timed out, or could not start.
    Failed {
        /// Exit code, if it exited.
        exit_code: Option<i32>,
        /// What went wrong.
        error: String,
    },
    /// Cancelled (queued or running).
    Cancelled,
}

/// A job's record.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    /// Id.
    pub id: JobId,
    /// What was asked.
    pub spec: JobSpec,
    /// State.
    pub state: JobState,
    /// Submission time (ns).
    pub submitted_at: u64,
    /// Start time (ns).
    pub started_at: Option<u64>,
    /// End time (ns).
    pub finished_at: Option<u64>,
    /// When it started, in the scheduler's event order (submissions, starts and ends share
    /// one counter): exact ordering where wall-clock times may tie.
    pub started_seq: Option<u64>,
    /// When it ended, in the same event order.
    pub finished_seq: Option<u64>,
    /// Captured stdout.
    #[serde(skip)]
    pub stdout: Vec<u8>,
    /// Captured stderr.
    #[serde(skip)]
    pub stderr: Vec<u8>,
}

struct State {
    next_id: JobId,
    seq: u64,
    /// Queued jobs by (priority desc, seq asc).
    queue: BTreeMap<(i64, u64), JobId>,
    jobs: BTreeMap<JobId, Job>,
    /// Running jobs asked to stop.
    cancel: Vec<JobId>,
    /// Finished ids, oldest first (bounded by `history` and `history_bytes`).
    done: VecDeque<JobId>,
    /// Output bytes (stdout + stderr) of the finished jobs kept.
    kept_bytes: usize,
    waker: Option<Waker>,
    observer: Option<Arc<dyn JobObserver>>,
}

/// Told of every job state change, in order: queued (at submit), running, then completed,
/// failed or cancelled (with the job's output). Called with the scheduler locked: it must
/// not call the scheduler.
pub trait JobObserver: crate::service::MaybeSendSync {
    /// `job` has just changed state.
    fn changed(&self, job: &Job);
}
impl<F: Fn(&Job) + crate::service::MaybeSendSync> JobObserver for F {
    fn changed(&self, job: &Job) {
        self(job)
    }
}

fn notify(st: &State, id: JobId) {
    if let (Some(o), Some(job)) = (&st.observer, st.jobs.get(&id)) {
        o.changed(job);
    }
}

/// The scheduler (cheap to clone: clones share the queue).
#[derive(Clone)]
pub struct Scheduler {
    state: Arc<Mutex<State>>,
    ns: Namespace,
    concurrency: usize,
    history: History,
}

/// How many finished jobs a scheduler keeps, and how many bytes of their output.
#[derive(Clone, Copy)]
struct History {
    jobs: usize,
    bytes: usize,
}

/// The output (stdout + stderr) a scheduler keeps of its finished jobs by default, all
/// jobs together: past it the oldest are dropped (the newest is always kept). Each
/// stream of a job is captured up to 64 MiB, so a count of jobs alone let a few noisy jobs
/// fill a browser page's memory.
pub const HISTORY_OUTPUT_BYTES: usize = 64 << 20;

type RunFuture<'a> = Pin<Box<dyn Future<Output = (i32, Option<String>, Vec<u8>, Vec<u8>)> + 'a>>;

impl Scheduler {
    /// A scheduler running jobs in `ns`, at most `concurrency` at once, keeping the last
    /// `history` finished jobs.
    pub fn new(ns: Namespace, concurrency: usize, history: usize) -> Self {
        Scheduler {
            state: Arc::new(Mutex::new(State {
                next_id: 1,
                seq: 0,
                queue: BTreeMap::new(),
                jobs: BTreeMap::new(),
                cancel: Vec::new(),
                done: VecDeque::new(),
                kept_bytes: 0,
                waker: None,
                observer: None,
            })),
            ns,
            concurrency: concurrency.max(1),
            history: History {
                jobs: history.max(1),
                bytes: HISTORY_OUTPUT_BYTES,
            },
        }
    }

    /// Keeps at most `bytes` of output (stdout + stderr) of finished jobs, all together
    /// (default [`HISTORY_OUTPUT_BYTES`]); the newest finished job is always kept.
    pub fn with_history_bytes(mut self, bytes: usize) -> Self {
        self.history.bytes = bytes;
        self
    }

    /// Tells `observer` of every state change from now on (see [`JobObserver`]).
    pub fn observe(&self, observer: impl JobObserver + 'static) {
        lock(&self.state).observer = Some(Arc::new(observer));
    }

    /// Queues a job.
    pub fn submit(&self, spec: JobSpec) -> JobId {
        let mut st = lock(&self.state);
        let id = st.next_id;
        st.next_id += 1;
        st.seq += 1;
        let key = (-(spec.priority as i64), st.seq);
        st.queue.insert(key, id);
        st.jobs.insert(
            id,
            Job {
                id,
                spec,
                state: JobState::Queued,
                submitted_at: clock::now(),
                started_at: None,
                finished_at: None,
                started_seq: None,
                finished_seq: None,
                stdout: Vec::new(),
                stderr: Vec::new(),
            },
        );
        notify(&st, id);
        if let Some(w) = st.waker.take() {
            w.wake();
        }
        id
    }

    /// Cancels a queued or running job; `NotFound` if unknown, `InvalidInput` if finished.
    pub fn cancel(&self, id: JobId) -> FsResult<()> {
        let mut st = lock(&self.state);
        let state = st
            .jobs
            .get(&id)
            .map(|j| j.state.clone())
            .ok_or(FsError::NotFound)?;
        match state {
            JobState::Queued => {
                st.queue.retain(|_, j| *j != id);
                finish(&mut st, id, JobState::Cancelled, self.history);
            }
            JobState::Running => {
                st.cancel.push(id);
                if let Some(w) = st.waker.take() {
                    w.wake();
                }
            }
            _ => return Err(FsError::InvalidInput(format!("job {id} already finished"))),
        }
        Ok(())
    }

    /// A job's record.
    pub fn job(&self, id: JobId) -> Option<Job> {
        lock(&self.state).jobs.get(&id).cloned()
    }

    /// Every known job (queued, running, and the kept history), by id.
    pub fn jobs(&self) -> Vec<Job> {
        lock(&self.state).jobs.values().cloned().collect()
    }

    /// Runs queued jobs on `host` until the queue is empty and nothing runs.
    pub async fn run(&self, host: &dyn WasiHost) {
        let mut running: Vec<(JobId, RunFuture<'_>)> = Vec::new();
        std::future::poll_fn(|cx| {
            loop {
                // Start jobs up to the limit.
                while running.len() < self.concurrency {
                    let next = {
                        let mut st = lock(&self.state);
                        let first = st.queue.keys().next().copied();
                        first.and_then(|k| st.queue.remove(&k)).map(|id| {
                            st.seq += 1;
                            let seq = st.seq;
                            let job = st.jobs.get_mut(&id).expect("queued job exists");
                            job.state = JobState::Running;
                            job.started_at = Some(clock::now());
                            job.started_seq = Some(seq);
                            let spec = job.spec.clone();
                            notify(&st, id);
                            (id, spec)
                        })
                    };
                    let Some((id, spec)) = next else { break };
                    running.push((id, Box::pin(self.execute(host, spec))));
                }
                // Cancel running jobs that were asked to stop (dropping the future stops the
                // guest at its next suspension; a spinning guest is stopped by its timeout).
                let cancels = std::mem::take(&mut lock(&self.state).cancel);
                for id in cancels {
                    if let Some(pos) = running.iter().position(|(j, _)| *j == id) {
                        drop(running.swap_remove(pos));
                        finish(
                            &mut lock(&self.state),
                            id,
                            JobState::Cancelled,
                            self.history,
                        );
                    }
                }
                let mut progressed = false;
                let mut i = 0;
                while i < running.len() {
                    let Poll::Ready((code, error, stdout, stderr)) = running[i].1.as_mut().poll(cx)
                    else {
                        i += 1;
                        continue;
                    };
                    let (id, _) = running.swap_remove(i);
                    let state = match (code, error) {
                        (0, None) => JobState::Completed,
                        (code, error) => JobState::Failed {
                            exit_code: (code >= 0).then_some(code),
                            error: error.unwrap_or_else(|| format!("exited with code {code}")),
                        },
                    };
                    let mut st = lock(&self.state);
                    if let Some(job) = st.jobs.get_mut(&id) {
                        job.stdout = stdout;
                        job.stderr = stderr;
                    }
                    finish(&mut st, id, state, self.history);
                    progressed = true;
                }
                // The waker is stored under the lock, so a submit or cancel after this
                // check wakes us.
                let mut st = lock(&self.state);
                if running.is_empty() && st.queue.is_empty() {
                    return Poll::Ready(());
                }
                let can_start = !st.queue.is_empty() && running.len() < self.concurrency;
                if progressed || can_start || !st.cancel.is_empty() {
                    continue;
                }
                st.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        })
        .await
    }

    /// Runs one job: (exit code or -1, error, stdout, stderr).
    fn execute<'a>(&'a self, host: &'a dyn WasiHost, spec: JobSpec) -> RunFuture<'a> {
        Box::pin(async move {
            match spec.kind {
                JobKind::Wasi {
                    module,
                    args,
                    stdin,
                } => {
                    let bytes = match self.module_bytes(&module) {
                        Ok(b) => b,
                        Err(e) => return (-1, Some(e), Vec::new(), Vec::new()),
                    };
                    let cfg = RunConfig {
                        args,
                        stdin: InputPipe::from_bytes(stdin),
                        timeout: spec.timeout,
                        ..Default::default()
                    };
                    outcome(host.run_guest(&bytes, self.ns.clone(), cfg).await)
                }
                JobKind::Script { script } => self.run_script(host, &script, spec.timeout).await,
            }
        })
    }

    fn module_bytes(&self, m: &Module) -> Result<Arc<[u8]>, String> {
        match m {
            Module::Bytes(b) => Ok(b.clone()),
            Module::Path(p) => self
                .ns
                .read_file(p)
                .map(Arc::from)
                .map_err(|e| format!("cannot read module {p}: {e}")),
        }
    }

    async fn run_script(
        &self,
        host: &dyn WasiHost,
        script: &str,
        timeout: Option<Duration>,
    ) -> (i32, Option<String>, Vec<u8>, Vec<u8>) {
        let mut all_out = Vec::new();
        let mut all_err = Vec::new();
        let started = clock::monotonic();
        for (n, line) in script.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |why: String| Some(format!("line {}: {why}", n + 1));
            let cmd = match parse_line(line) {
                Ok(c) => c,
                Err(e) => return (-1, at(e), all_out, all_err),
            };
            let mut modules = Vec::with_capacity(cmd.stages.len());
            for stage in &cmd.stages {
                match self.module_bytes(&Module::Path(stage[0].clone())) {
                    Ok(b) => modules.push(b),
                    Err(e) => return (-1, at(e), all_out, all_err),
                }
            }
            // The timeout covers the whole script: each line gets what is left.
            let elapsed = Duration::from_nanos(clock::monotonic().saturating_sub(started));
            let left = timeout.map(|t| t.saturating_sub(elapsed));
            if left == Some(Duration::ZERO) {
                return (-1, at("script timed out".into()), all_out, all_err);
            }
            let ran = self.run_pipeline(host, &cmd.stages, &modules, left).await;
            all_err.extend_from_slice(&ran.stderr);
            if let Some((code, why)) = ran.failed {
                all_out.extend_from_slice(&ran.stdout);
                return (code, at(why), all_out, all_err);
            }
            match &cmd.redirect {
                None => all_out.extend_from_slice(&ran.stdout),
                Some((path, append)) => {
                    let r = if *append {
                        FsPath::parse(path)
                            .and_then(|p| self.ns.open(&p, &OpenOptions::append()))
                            .and_then(|h| h.append(&ran.stdout).map(|_| ()))
                    } else {
                        self.ns.write_file(path, &ran.stdout)
                    };
                    if let Err(e) = r {
                        return (-1, at(format!("> {path}: {e}")), all_out, all_err);
                    }
                }
            }
        }
        (0, None, all_out, all_err)
    }

    /// Runs the stages of one script line at once, each stage's stdout piped into the next
    /// one's stdin ([`PIPE_CAPACITY`] bytes each), and collects the last stage's stdout and
    /// every stage's stderr (in stage order). See the module docs for the semantics.
    async fn run_pipeline(
        &self,
        host: &dyn WasiHost,
        stages: &[Vec<String>],
        modules: &[Arc<[u8]>],
        timeout: Option<Duration>,
    ) -> Pipeline {
        let last = stages.len() - 1;
        // pipes[i] carries stage i's stdout to stage i + 1.
        let pipes: Vec<InputPipe> = (0..last)
            .map(|_| InputPipe::bounded(PIPE_CAPACITY))
            .collect();
        let stdout = OutputPipe::new();
        let stderrs: Vec<OutputPipe> = stages.iter().map(|_| OutputPipe::new()).collect();
        let mut running: Vec<Option<StageFuture<'_>>> = stages
            .iter()
            .zip(modules)
            .enumerate()
            .map(|(i, (args, bytes))| {
                let cfg = RunConfig {
                    args: args.clone(),
                    stdin: if i == 0 {
                        InputPipe::default()
                    } else {
                        pipes[i - 1].clone()
                    },
                    stdout: Some(if i == last {
                        stdout.clone()
                    } else {
                        OutputPipe::to_pipe(&pipes[i])
                    }),
                    stderr: Some(stderrs[i].clone()),
                    timeout,
                    ..Default::default()
                };
                Some(host.run_guest(bytes, self.ns.clone(), cfg))
            })
            .collect();
        let mut left = stages.len();
        let over = |dropped: u64| {
            let why = format!(
                "{} wrote more than the {} MiB a script line's output may hold \
                 ({dropped} bytes over)",
                stages[last][0],
                DEFAULT_CAPTURE_CAP >> 20
            );
            (-1, why)
        };
        let failed = std::future::poll_fn(|cx| {
            for i in 0..running.len() {
                if running[i].is_none() {
                    continue;
                }
                // A writer told EPIPE (its reader has ended) is stopped at once, as
                // SIGPIPE stops a shell's `yes`: not a failure of the line, and a guest
                // that ignores the error cannot run on to its timeout.
                if pipes.get(i).is_some_and(InputPipe::is_broken) {
                    running[i] = None;
                    left -= 1;
                    if i > 0 {
                        pipes[i - 1].hang_up();
                    }
                    continue;
                }
                let Some(fut) = running[i].as_mut() else {
                    continue;
                };
                let Poll::Ready(out) = fut.as_mut().poll(cx) else {
                    continue;
                };
                running[i] = None;
                left -= 1;
                // Its reader sees EOF; its writer gets EPIPE from now on.
                if let Some(p) = pipes.get(i) {
                    p.close();
                }
                if i > 0 {
                    pipes[i - 1].hang_up();
                }
                let (code, error, _, _) = outcome(out);
                // A writer that failed after its reader had gone (and was told so by
                // EPIPE) ended because of the broken pipe, as a shell's `yes` dies of
                // SIGPIPE: not a failure of the line.
                let broken = pipes.get(i).is_some_and(InputPipe::is_broken);
                if (code != 0 || error.is_some()) && !broken {
                    let why = match error {
                        Some(e) => format!("{}: {e}", stages[i][0]),
                        None => format!("{} exited with code {code}", stages[i][0]),
                    };
                    return Poll::Ready(Some((code, why)));
                }
            }
            // The last stage's output is kept whole: past the cap the line has failed, and
            // its stages are stopped now rather than left to run on.
            let dropped = stdout.dropped();
            if dropped > 0 {
                return Poll::Ready(Some(over(dropped)));
            }
            if left == 0 {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await;
        // A failure stops the stages still running (their futures are dropped: each guest
        // stops at its next suspension, as a cancelled job's).
        drop(running);
        let mut stderr = Vec::new();
        for e in &stderrs {
            stderr.extend_from_slice(&e.contents());
        }
        let dropped = stdout.dropped();
        // The last stage's output is kept whole (for the job's stdout or a redirection):
        // past the capture cap it would be cut, so the line fails instead.
        let failed = failed.or_else(|| (dropped > 0).then(|| over(dropped)));
        Pipeline {
            stdout: stdout.contents(),
            stderr,
            failed,
        }
    }
}

/// The future of one running pipeline stage.
type StageFuture<'a> = Pin<Box<dyn Future<Output = RunOutput> + 'a>>;

/// What one script line produced.
struct Pipeline {
    /// The last stage's stdout.
    stdout: Vec<u8>,
    /// Every stage's stderr, in stage order.
    stderr: Vec<u8>,
    /// Exit code (or -1) and why, if the line failed.
    failed: Option<(i32, String)>,
}

/// The capacity of the pipe between two stages of a script line: a writer that has this
/// many bytes unread by the next stage waits (its `fd_write` blocks) until it reads.
pub const PIPE_CAPACITY: usize = 64 << 10;

fn outcome(out: RunOutput) -> (i32, Option<String>, Vec<u8>, Vec<u8>) {
    match (out.exit_code, out.error) {
        (Some(c), _) => (c, None, out.stdout, out.stderr),
        (None, Some(e)) => (-1, Some(e.to_string()), out.stdout, out.stderr),
        (None, None) => (-1, Some("no exit code".into()), out.stdout, out.stderr),
    }
}

fn finish(st: &mut State, id: JobId, state: JobState, keep: History) {
    st.seq += 1;
    let seq = st.seq;
    if let Some(job) = st.jobs.get_mut(&id) {
        job.state = state;
        job.finished_at = Some(clock::now());
        job.finished_seq = Some(seq);
    }
    notify(st, id);
    st.done.push_back(id);
    st.kept_bytes += st.jobs.get(&id).map_or(0, output_len);
    while st.done.len() > keep.jobs || (st.done.len() > 1 && st.kept_bytes > keep.bytes) {
        if let Some(old) = st.done.pop_front() {
            if let Some(job) = st.jobs.remove(&old) {
                st.kept_bytes -= output_len(&job);
            }
        }
    }
}

fn output_len(job: &Job) -> usize {
    job.stdout.len() + job.stderr.len()
}
