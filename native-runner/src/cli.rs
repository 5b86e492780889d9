//! Building blocks of the `oanix` command line: bounded input, flag values, and the
//! `env run` and `jobs run` commands (the seed's `OanixEnv` and `Scheduler` from the shell).

use crate::{DiskCache, RunConfig, RunError, RunOutput, Runner};
use oanix_core::env::{EnvState, OanixEnv};
use oanix_core::scheduler::{Job, JobKind, JobSpec, JobState, Scheduler};
use oanix_core::services::WorkspaceFs;
use oanix_core::wasi::{InputPipe, OutputPipe};
use oanix_core::{FileService, MemFs, Namespace};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Longest duration a flag accepts (`--timeout`, a job's `timeout=`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(366 * 86_400);
/// Largest module file read.
pub const MAX_MODULE: u64 = 1 << 30;
/// Largest `--map` file read.
pub const MAX_MAP: u64 = 256 << 20;
/// Largest task spec or jobs file read.
pub const MAX_TEXT: u64 = 16 << 20;

/// Parses a duration: a positive number with `ms`, `s` (default), `m`/`min` or `h`, at
/// most [`MAX_TIMEOUT`].
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: f64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("bad duration unit in {s:?} (use ms, s, m, h)")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("duration must be positive: {s:?}"));
    }
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if d <= MAX_TIMEOUT => Ok(d),
        _ => Err(format!(
            "duration {s:?} is too long (at most {} days)",
            MAX_TIMEOUT.as_secs() / 86_400
        )),
    }
}

/// Parses a positive size: bytes, or with `KiB`/`K`/`k`, `MiB`/`M`, `GiB`/`G`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: u64 = num.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
    let mul: u64 = match unit {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(format!("bad size unit in {s:?} (use KiB, MiB, GiB)")),
    };
    let bytes = n
        .checked_mul(mul)
        .and_then(|v| usize::try_from(v).ok())
        .ok_or_else(|| format!("size too large: {s:?}"))?;
    if bytes == 0 {
        return Err(format!("size must be positive: {s:?}"));
    }
    Ok(bytes)
}

/// Reads a regular file of at most `limit` bytes; a FIFO, device or directory is refused
/// (reading it could block or never end). `what` names it in messages.
pub fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let err = |e: std::io::Error| format!("cannot read {what} {}: {e}", path.display());
    let not_regular = || {
        format!(
            "{what} {} is not a regular file (FIFOs and devices are refused)",
            path.display()
        )
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    if !std::fs::metadata(path).map_err(err)?.is_file() {
        return Err(not_regular());
    }
    let f = std::fs::File::open(path).map_err(err)?;
    let meta = f.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > limit {
        return Err(format!(
            "{what} {} is too large ({} bytes; at most {limit})",
            path.display(),
            meta.len()
        ));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    f.take(limit + 1).read_to_end(&mut data).map_err(err)?;
    if data.len() as u64 > limit {
        return Err(format!("{what} {} grew past {limit} bytes", path.display()));
    }
    Ok(data)
}

/// The exit status `oanix` gives a run: the guest's code, else 124 timeout, 126 invalid
/// module, 134 trap or memory limit, 125 setup or host error.
pub fn exit_status(out: &RunOutput) -> u8 {
    match (out.exit_code, &out.error) {
        (Some(code), _) => code.clamp(0, 255) as u8,
        (None, Some(e)) => error_status(e),
        (None, None) => 125,
    }
}

fn error_status(e: &RunError) -> u8 {
    match e {
        RunError::Timeout(_) => 124,
        RunError::InvalidModule(_) => 126,
        RunError::Setup(_) | RunError::Host(_) => 125,
        RunError::Cancelled => 130,
        RunError::Trap(_) | RunError::MemoryLimit(_) => 134,
    }
}

/// A runner with the user's compiled-module cache (unless `no_cache`).
pub fn runner(no_cache: bool) -> Result<Runner, String> {
    let r = Runner::new().map_err(|e| format!("cannot start wasmtime: {e}"))?;
    Ok(match (!no_cache).then(DiskCache::user_default).flatten() {
        Some(c) => r.with_disk_cache(c),
        None => r,
    })
}

fn rt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// What `oanix env run` needs.
pub struct EnvRun {
    /// The task definition (JSON with at least `id` and `goal`).
    pub task: PathBuf,
    /// A host directory served as `/workspace` (default: an empty in-memory one).
    pub workspace: Option<PathBuf>,
    /// Where to leave the logs, events, trajectory, status and result.
    pub out: Option<PathBuf>,
    /// The module.
    pub module: PathBuf,
    /// argv (program name first).
    pub args: Vec<String>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Wall-clock limit.
    pub timeout: Option<Duration>,
    /// Skip the compiled-module cache.
    pub no_cache: bool,
}

/// Runs a guest in an [`OanixEnv`] (`/task`, `/workspace`, `/logs`, `/tmp`, `/env`) with
/// the process's stdio, then writes to `out` (see [`write_env_out`]). Returns the exit
/// status (the guest's, or as [`exit_status`]) and the environment's final state.
pub fn env_run(e: &EnvRun) -> Result<(u8, EnvState), String> {
    let spec_bytes = read_bounded(&e.task, MAX_TEXT, "task spec")?;
    let spec = String::from_utf8(spec_bytes)
        .map_err(|_| format!("task spec {} is not UTF-8", e.task.display()))?;
    let id = serde_json::from_str::<serde_json::Value>(&spec)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(String::from))
        .unwrap_or_else(|| "task".into());
    let bytes = read_bounded(&e.module, MAX_MODULE, "module")?;
    let workspace: Arc<dyn FileService> = match &e.workspace {
        Some(dir) => Arc::new(
            WorkspaceFs::open(dir, false)
                .map_err(|err| format!("--workspace {}: {err}", dir.display()))?,
        ),
        None => Arc::new(MemFs::new()),
    };
    let env = OanixEnv::builder(id)
        .task_json(&spec, "{}")
        .map_err(|err| format!("--task {}: {err}", e.task.display()))?
        .workspace(workspace)
        .build()
        .map_err(|err| format!("cannot build the environment: {err}"))?;
    if let Some(out) = &e.out {
        std::fs::create_dir_all(out).map_err(|err| format!("--out {}: {err}", out.display()))?;
    }
    let io = |err: std::io::Error| format!("cannot start a stdio thread: {err}");
    let stdout = OutputPipe::to_writer(std::io::stdout()).map_err(io)?;
    let stderr = OutputPipe::to_writer(std::io::stderr()).map_err(io)?;
    let cfg = RunConfig {
        args: e.args.clone(),
        env: e.env.clone(),
        stdin: InputPipe::from_reader(std::io::stdin()).map_err(io)?,
        stdout: Some(stdout.clone()),
        stderr: Some(stderr.clone()),
        timeout: e.timeout,
        ..Default::default()
    };
    let runner = runner(e.no_cache)?;
    let out = rt()?.block_on(env.run_wasi(&runner, &bytes, cfg));
    if !matches!(out.error, Some(RunError::Timeout(_))) {
        let _ = stdout.finish();
        let _ = stderr.finish();
    }
    if let Some(dir) = &e.out {
        write_env_out(&env, dir)?;
    }
    Ok((exit_status(&out), env.status()))
}

/// Leaves an environment's record in `dir`: `stdout.log`, `stderr.log`, `events/NNN.jsonl`,
/// `trajectory.json` (ATIF-v1.4), `status.json` (the environment's state and history),
/// `task-status.json` (the task's), and `result.json` when the guest committed one (only
/// valid JSON is ever committed).
pub fn write_env_out(env: &OanixEnv, dir: &Path) -> Result<(), String> {
    let ns = env.namespace();
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()))
    };
    let read = |path: &str| {
        ns.read_file(path)
            .map_err(|e| format!("cannot read {path} of the environment: {e}"))
    };
    write("stdout.log", &read("/logs/stdout.log")?)?;
    write("stderr.log", &read("/logs/stderr.log")?)?;
    for entry in ns.list("/logs/events").map_err(|e| e.to_string())? {
        write(
            &format!("events/{}", entry.name),
            &read(&format!("/logs/events/{}", entry.name))?,
        )?;
    }
    write("trajectory.json", &read("/logs/atif/trajectory.json")?)?;
    write("status.json", &read("/env/status")?)?;
    write("task-status.json", &read("/task/status")?)?;
    let result = read("/task/result.json")?;
    if !result.is_empty() {
        write("result.json", &result)?;
    }
    Ok(())
}

/// One line of a jobs file: options, then the command line.
fn parse_job_line(line: &str, default_timeout: Option<Duration>) -> Result<JobSpec, String> {
    let mut rest = line.trim_start();
    let mut priority = 0;
    let mut timeout = default_timeout;
    while let Some((word, tail)) = rest.split_once(char::is_whitespace).or(Some((rest, ""))) {
        if let Some(v) = word.strip_prefix("priority=") {
            priority = v.parse().map_err(|_| format!("bad priority {v:?}"))?;
        } else if let Some(v) = word.strip_prefix("timeout=") {
            timeout = Some(parse_duration(v)?);
        } else {
            break;
        }
        rest = tail.trim_start();
    }
    if rest.is_empty() {
        return Err("no command after the options".into());
    }
    Ok(JobSpec {
        kind: JobKind::Script {
            script: rest.to_string(),
        },
        priority,
        timeout,
    })
}

/// Parses a jobs file: one job per line (`#` comments and blank lines skipped), each
/// `[priority=N] [timeout=DUR] CMD ARGS... [| CMD ARGS...]... [> PATH | >> PATH]` where
/// `CMD` is a module's namespace path. Errors name the line.
pub fn parse_jobs(text: &str, default_timeout: Option<Duration>) -> Result<Vec<JobSpec>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            parse_job_line(l, default_timeout).map_err(|e| format!("line {}: {e}", i + 1))
        })
        .collect()
}

/// A job's state in words: `queued`, `running`, `completed`, `cancelled`, `failed: WHY`.
pub fn describe(job: &Job) -> String {
    match &job.state {
        JobState::Queued => "queued".into(),
        JobState::Running => "running".into(),
        JobState::Completed => "completed".into(),
        JobState::Cancelled => "cancelled".into(),
        JobState::Failed { error, .. } => format!("failed: {error}"),
    }
}

/// Runs `jobs` on a [`Scheduler`] over `ns`, at most `concurrency` at once, calling
/// `report(job, state)` at each state change (queued, running, then completed, failed or
/// cancelled; `state` as [`describe`] words it). Returns every job's final record, by id.
pub fn jobs_run(
    ns: Namespace,
    jobs: Vec<JobSpec>,
    concurrency: usize,
    no_cache: bool,
    report: impl Fn(&Job, &str) + Send + Sync + 'static,
) -> Result<Vec<Job>, String> {
    let s = Scheduler::new(ns, concurrency, jobs.len().max(1));
    s.observe(move |job: &Job| report(job, &describe(job)));
    for spec in jobs {
        s.submit(spec);
    }
    let runner = runner(no_cache)?;
    rt()?.block_on(s.run(&runner));
    Ok(s.jobs())
}

/// A namespace of real host directories: each `/POINT=DIR` served by [`WorkspaceFs`]
/// (confined), a point given twice is an error.
pub fn namespace_of_dirs(mounts: &[String], read_only: bool) -> Result<Namespace, String> {
    let mut ns = Namespace::new();
    let mut points = std::collections::BTreeSet::new();
    for m in mounts {
        let (point, dir) = m
            .split_once('=')
            .ok_or_else(|| format!("--mount expects /POINT=DIR, got {m:?}"))?;
        let p = oanix_core::FsPath::parse(point).map_err(|e| format!("--mount {point:?}: {e}"))?;
        if !points.insert(p.to_absolute()) {
            return Err(format!(
                "--mount {}: two directories mounted at the same point",
                p.to_absolute()
            ));
        }
        let fs = WorkspaceFs::open(dir, read_only).map_err(|e| format!("--mount {dir}: {e}"))?;
        ns.mount(point, Arc::new(fs))
            .map_err(|e| format!("--mount {point}: {e}"))?;
    }
    Ok(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines_take_options_then_a_command() {
        let jobs = parse_jobs(
            "# comment\n\npriority=5 timeout=2s /bin/a.wasm x | /bin/b.wasm > /out/y\n/bin/c.wasm\n",
            Some(Duration::from_secs(9)),
        )
        .unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].priority, 5);
        assert_eq!(jobs[0].timeout, Some(Duration::from_secs(2)));
        assert!(
            matches!(&jobs[0].kind, JobKind::Script { script } if script == "/bin/a.wasm x | /bin/b.wasm > /out/y")
        );
        assert_eq!(jobs[1].timeout, Some(Duration::from_secs(9)));
        assert!(parse_jobs("priority=x /bin/a.wasm", None)
            .unwrap_err()
            .starts_with("line 1"));
        assert!(parse_jobs("timeout=5s", None).is_err());
    }

    #[test]
    fn flag_values_are_bounded() {
        assert!(parse_duration("1e300s").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_size("0").is_err());
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
    }
}
