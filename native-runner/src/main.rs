//! `oanix`: the native OANIX command line.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use oanix_core::net::Allowlist;
use oanix_core::services::WorkspaceFs;
use oanix_core::{wasi::InputPipe, wasi::OutputPipe, FsPath, MapFs, Namespace};
use oanix_native_runner::netcaps::Cap;
use oanix_native_runner::nostrcli::NostrArgs;
use oanix_native_runner::{
    cli, hostfs, provider, reference::ReferenceRunner, DiskCache, RunConfig, RunError, RunOutput,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "oanix",
    version,
    about = "OANIX: run WASI modules in a namespace"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI preview1 command module in a namespace.
    ///
    /// Exit status: the guest's exit code; 124 on timeout; 126 for an invalid module;
    /// 134 for a trap or a memory-limit overrun; 125 for a setup error.
    Run(RunArgs),
    /// Agent environments: run a guest in an OanixEnv (/task, /workspace, /logs, /tmp, /env).
    #[command(subcommand)]
    Env(EnvCommand),
    /// The job scheduler: run a file of jobs (priorities, concurrency, timeouts, pipes).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Serve NIP-90 kind-5600 jobs ("run a WASI module") from Nostr relays.
    Provider(ProviderArgs),
    /// Print the namespace the given mounts build.
    #[command(
        after_help = "Example:\n  oanix tree --mount /workspace=./project --mount /data=./data"
    )]
    Tree {
        /// Mount a host directory: /POINT=DIR (copied into memory).
        #[arg(long = "mount", value_name = "/POINT=DIR")]
        mounts: Vec<String>,
    },
}

#[derive(Subcommand)]
enum EnvCommand {
    /// Run a guest in an agent environment and leave its record in --out.
    ///
    /// The namespace: /task (the spec, /task/status, /task/result.json: only valid JSON is
    /// committed), /workspace (DIR, or an empty in-memory one), /logs (stdout.log,
    /// stderr.log, events/NNN.jsonl, atif/trajectory.json), /tmp, /env/status. stdin,
    /// stdout and stderr are the process's (also logged). --out DIR receives stdout.log,
    /// stderr.log, events/, trajectory.json (ATIF-v1.4), status.json, task-status.json and
    /// result.json (when the guest committed one).
    ///
    /// Exit status: 0 when the environment completed; else the guest's exit code, 124
    /// timeout, 126 invalid module, 134 trap or memory limit, 125 setup error.
    #[command(
        after_help = "Example:\n  oanix env run --task spec.json --workspace ./ws \\\n      --out ./run1 agent.wasm -- --verbose\n  cat run1/result.json"
    )]
    Run(EnvRunArgs),
}

#[derive(Parser)]
struct EnvRunArgs {
    /// The task definition: a JSON object with at least "id" and "goal".
    #[arg(long, value_name = "SPEC.json")]
    task: PathBuf,
    /// Serve this host directory as /workspace (default: an empty in-memory directory).
    #[arg(long, value_name = "DIR")]
    workspace: Option<PathBuf>,
    /// Leave the logs, events, trajectory, status and result here (created if needed).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Set an environment variable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Interrupt the guest after this long (e.g. 500ms, 5s, 2m).
    #[arg(long, value_name = "DURATION", value_parser = cli::parse_duration)]
    timeout: Option<Duration>,
    /// Compile the module afresh (no compiled-module cache).
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// The module to run (.wasm).
    module: PathBuf,
    /// Arguments for the guest (after `--`).
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run the jobs of SCRIPT_FILE on the scheduler, printing each job's state as it changes.
    ///
    /// One job per line (`#` comments and blank lines skipped):
    ///   [priority=N] [timeout=DUR] CMD ARGS... [| CMD ARGS...]... [> PATH | >> PATH]
    /// CMD is a module's path in the namespace built by --mount; `|` pipes stdout to the
    /// next stage's stdin (the stages run at once, streaming through a bounded pipe, as in
    /// a shell), `>`/`>>` write the last stage's stdout to a namespace file.
    /// Higher priorities start first; at most --concurrency jobs run at once. A finished
    /// job's stdout is printed after its state line.
    ///
    /// Output lines: `job N: <state>  <command>` with state queued, running, completed,
    /// failed: <why>, or cancelled. Exit status: 0 when every job completed, 1 when one
    /// did not, 125 for a setup error (bad file, mount or flag).
    #[command(
        after_help = "Example:\n  printf 'priority=9 /bin/hello.wasm > /out/hi.txt\\n/bin/hello.wasm | /bin/upper.wasm\\n' > jobs.txt\n  oanix jobs run --mount /bin=./wasm --mount /out=./out --concurrency 2 jobs.txt"
    )]
    Run(JobsRunArgs),
}

#[derive(Parser)]
struct JobsRunArgs {
    /// The jobs file.
    script_file: PathBuf,
    /// Mount a host directory at /POINT (confined, like `oanix run --mount`).
    #[arg(long = "mount", value_name = "/POINT=DIR")]
    mounts: Vec<String>,
    /// How many jobs run at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Timeout of every job without its own `timeout=`.
    #[arg(long, value_name = "DURATION", value_parser = cli::parse_duration)]
    timeout: Option<Duration>,
    /// Compile modules afresh (no compiled-module cache).
    #[arg(long = "no-cache")]
    no_cache: bool,
}

#[derive(Parser)]
struct RunArgs {
    /// The module to run (.wasm).
    module: PathBuf,
    /// Mount a host directory at /POINT (the real directory, confined: no path, symlink or
    /// race leads outside it).
    /// `--mount /=DIR` preopens DIR as `/`, like `wasmtime run --dir DIR::/`.
    #[arg(long = "mount", value_name = "/POINT=DIR")]
    mounts: Vec<String>,
    /// Map one host file read-only into the namespace at /PATH (files sharing a parent
    /// directory form one read-only mount there).
    #[arg(long = "map", value_name = "/PATH=FILE")]
    maps: Vec<String>,
    /// Set an environment variable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Read the guest's stdin from FILE, streamed as the guest reads (default: the
    /// process's own stdin, streamed likewise; `</dev/null` gives EOF).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// Interrupt the guest after this long (e.g. 500ms, 5s, 2m).
    #[arg(long, value_name = "DURATION", value_parser = cli::parse_duration)]
    timeout: Option<Duration>,
    /// Largest guest memory (e.g. 64MiB, 1GiB, 65536).
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = cli::parse_size)]
    max_memory: Option<usize>,
    /// Mount every --mount directory read-only.
    #[arg(long = "read-only")]
    read_only: bool,
    /// The guest's argv[0] (default: the module's file name).
    #[arg(long, value_name = "NAME")]
    argv0: Option<String>,
    /// Run on the wasmtime-wasi reference instead of the OANIX shim (parity checks).
    #[arg(long)]
    reference: bool,
    /// Compile the module afresh: neither read nor fill the compiled-module cache
    /// ($OANIX_CACHE_DIR, else ~/.cache/oanix/modules).
    #[arg(long = "no-cache")]
    no_cache: bool,
    #[command(flatten)]
    net: Box<oanix_native_runner::netcaps::NetArgs>,
    #[command(flatten)]
    nostr: Box<NostrArgs>,
    /// Arguments for the guest (after `--`).
    #[arg(last = true)]
    args: Vec<String>,
}

#[derive(Parser)]
struct ProviderArgs {
    #[command(flatten)]
    nostr: NostrArgs,
    /// Jobs run at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Default and largest job timeout (a job's ["param", "timeout", s] may ask for less).
    #[arg(long = "max-timeout", value_name = "DURATION", value_parser = cli::parse_duration, default_value = "60s")]
    max_timeout: Duration,
    /// Largest guest memory.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = cli::parse_size, default_value = "256MiB")]
    max_memory: usize,
    /// Largest module download.
    #[arg(long = "max-module-size", value_name = "SIZE", value_parser = cli::parse_size, default_value = "16MiB")]
    max_module_size: usize,
    /// Only download modules from these hosts (repeatable; default: any http(s) host).
    #[arg(long = "allow-module-host", value_name = "HOST")]
    allow_module_hosts: Vec<String>,
}

fn provider(a: ProviderArgs) -> Result<(), String> {
    let allow = (!a.allow_module_hosts.is_empty())
        .then(|| Allowlist::parse(&a.allow_module_hosts))
        .transpose()
        .map_err(|e| format!("--allow-module-host: {e}"))?;
    provider::serve(provider::ProviderConfig {
        relays: a.nostr.relays()?,
        keys: a.nostr.keys()?,
        concurrency: a.concurrency,
        max_timeout: a.max_timeout,
        max_memory: a.max_memory,
        max_module_size: a.max_module_size,
        allow_module_hosts: allow,
    })
}

fn split_spec(spec: &str, what: &str) -> Result<(String, PathBuf), String> {
    let (a, b) = spec
        .split_once('=')
        .ok_or_else(|| format!("{what} expects /PATH=HOSTPATH, got {spec:?}"))?;
    Ok((a.to_string(), PathBuf::from(b)))
}

fn main() -> ExitCode {
    // Every error of oanix's own (a bad flag or value, a setup failure) exits 125, so
    // 1-123 stay the guest's.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(125),
            };
        }
    };
    match cli.command {
        Command::Tree { mounts } => {
            match hostfs::namespace_from_mounts(&mounts).and_then(|ns| hostfs::render_tree(&ns)) {
                Ok(tree) => {
                    print!("{tree}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("oanix: {e}");
                    ExitCode::from(125)
                }
            }
        }
        Command::Env(EnvCommand::Run(args)) => match env_run(args) {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("oanix: {msg}");
                ExitCode::from(125)
            }
        },
        Command::Jobs(JobsCommand::Run(args)) => match jobs_run(args) {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("oanix: {msg}");
                ExitCode::from(125)
            }
        },
        Command::Provider(args) => match provider(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(msg) => {
                eprintln!("oanix: {msg}");
                ExitCode::from(125)
            }
        },
        Command::Run(args) => match run(args) {
            Ok(code) => code,
            Err(msg) => {
                eprintln!("oanix: {msg}");
                ExitCode::from(125)
            }
        },
    }
}

fn env_run(a: EnvRunArgs) -> Result<ExitCode, String> {
    let env = a
        .env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--env expects KEY=VALUE, got {kv:?}"))
        })
        .collect::<Result<_, _>>()?;
    let argv0 = a
        .module
        .file_name()
        .map_or("guest".into(), |n| n.to_string_lossy().into_owned());
    let (code, state) = cli::env_run(&cli::EnvRun {
        task: a.task,
        workspace: a.workspace,
        out: a.out,
        args: std::iter::once(argv0).chain(a.args).collect(),
        module: a.module,
        env,
        timeout: a.timeout,
        no_cache: a.no_cache,
    })?;
    if let oanix_core::env::EnvState::Failed { error, .. } = state {
        eprintln!("oanix: the environment failed: {error}");
    }
    Ok(ExitCode::from(code))
}

fn jobs_run(a: JobsRunArgs) -> Result<ExitCode, String> {
    let text = cli::read_bounded(&a.script_file, cli::MAX_TEXT, "jobs file")?;
    let text = String::from_utf8(text)
        .map_err(|_| format!("jobs file {} is not UTF-8", a.script_file.display()))?;
    let jobs = cli::parse_jobs(&text, a.timeout)
        .map_err(|e| format!("{}: {e}", a.script_file.display()))?;
    let ns = cli::namespace_of_dirs(&a.mounts, false)?;
    let done = cli::jobs_run(ns, jobs, a.concurrency.into(), a.no_cache, |job, state| {
        let cmd = match &job.spec.kind {
            oanix_core::scheduler::JobKind::Script { script } => script.as_str(),
            oanix_core::scheduler::JobKind::Wasi { .. } => "",
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "job {}: {state}  {cmd}", job.id);
        if job.finished_at.is_some() {
            let _ = stdout.write_all(&job.stdout);
        }
        let _ = stdout.flush();
    })?;
    let all_ok = done
        .iter()
        .all(|j| j.state == oanix_core::scheduler::JobState::Completed);
    Ok(ExitCode::from(if all_ok { 0 } else { 1 }))
}

fn run(a: RunArgs) -> Result<ExitCode, String> {
    let bytes = cli::read_bounded(&a.module, cli::MAX_MODULE, "module")?;
    let mut cfg = RunConfig {
        args: std::iter::once(a.argv0.clone().unwrap_or_else(|| {
            a.module
                .file_name()
                .map_or("guest".into(), |n| n.to_string_lossy().into_owned())
        }))
        .chain(a.args.iter().cloned())
        .collect(),
        timeout: a.timeout,
        max_memory: a.max_memory,
        ..Default::default()
    };
    for kv in &a.env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--env expects KEY=VALUE, got {kv:?}"))?;
        cfg.env.push((k.into(), v.into()));
    }
    let stdin_source: Box<dyn Read + Send> = match &a.stdin {
        Some(path) => Box::new(
            std::fs::File::open(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdin()),
    };
    let mounts: Vec<(String, PathBuf)> = a
        .mounts
        .iter()
        .map(|m| split_spec(m, "--mount"))
        .collect::<Result<_, _>>()?;
    let mut points = std::collections::BTreeSet::new();
    for (point, _) in &mounts {
        let p = FsPath::parse(point).map_err(|e| format!("--mount {point:?}: {e}"))?;
        if !points.insert(p.to_absolute()) {
            return Err(format!(
                "--mount {}: two directories mounted at the same point",
                p.to_absolute()
            ));
        }
    }
    let mut maps: BTreeMap<FsPath, MapFsFiles> = BTreeMap::new();
    for m in &a.maps {
        let (p, file) = split_spec(m, "--map")?;
        let p = FsPath::parse(&p).map_err(|e| format!("--map {m:?}: {e}"))?;
        let (parent, name) = p
            .split_last()
            .ok_or_else(|| format!("--map {m:?}: cannot map a file at /"))?;
        if let Some((point, _)) = mounts
            .iter()
            .find(|(point, _)| FsPath::parse(point).is_ok_and(|mp| parent.starts_with(&mp)))
        {
            return Err(format!(
                "--map {m:?} lies under --mount {point}: map the file into that directory instead"
            ));
        }
        let data = cli::read_bounded(&file, cli::MAX_MAP, "--map file")?;
        let files = maps.entry(parent).or_default();
        if files.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "--map {}: the path is mapped twice",
                p.to_absolute()
            ));
        }
        files.push((name.to_string(), data));
    }

    a.net.grant()?; // network flags are checked before anything runs
    let nostr = a.net.caps.contains(&Cap::Nostr);
    if !nostr && !a.nostr.is_empty() {
        return Err("--relay/--nostr-key have no effect without --cap nostr".into());
    }
    if a.reference && !(a.net.is_empty() && a.nostr.is_empty()) {
        return Err("--cap/--allow-net need the OANIX shim (not --reference)".into());
    }
    let out = if a.reference {
        // The reference takes its stdin as bytes: read it whole first.
        let mut data = Vec::new();
        stdin_source
            .take(MAX_INPUT)
            .read_to_end(&mut data)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        cfg.stdin = InputPipe::from_bytes(data);
        run_reference(&bytes, &mounts, &maps, cfg, a.read_only)?
    } else {
        let mut ns = Namespace::new();
        for (point, dir) in &mounts {
            // The real directory, confined (no copy, no write-back).
            let fs = WorkspaceFs::open(dir, a.read_only)
                .map_err(|e| format!("--mount {}: {e}", dir.display()))?;
            ns.mount(point, Arc::new(fs))
                .map_err(|e| format!("--mount {point}: {e}"))?;
        }
        for (parent, files) in &maps {
            let fs = files
                .iter()
                .fold(MapFs::builder(), |b, (n, d)| b.file(n, d))
                .build()
                .map_err(|e| format!("--map: {e}"))?;
            ns.mount(&parent.to_absolute(), Arc::new(fs))
                .map_err(|e| format!("--map: {e}"))?;
        }
        a.net.mount(&mut ns)?;
        a.nostr.mount(nostr, &mut ns)?;
        let io = |e: std::io::Error| format!("cannot start a stdio thread: {e}");
        cfg.stdin = InputPipe::from_reader(stdin_source).map_err(io)?;
        let stdout = OutputPipe::to_writer(std::io::stdout()).map_err(io)?;
        let stderr = OutputPipe::to_writer(std::io::stderr()).map_err(io)?;
        cfg.stdout = Some(stdout.clone());
        cfg.stderr = Some(stderr.clone());
        let runner = cli::runner(a.no_cache)?;
        let cache = (!a.no_cache).then(DiskCache::user_default).flatten();
        let out = runner.run(&bytes, ns, cfg);
        if log_enabled("cache") {
            let what = match (&cache, runner.disk_hit_count()) {
                (None, _) => "off".to_string(),
                (Some(c), 0) => format!("miss (stored in {})", c.dir().display()),
                (Some(c), _) => format!("hit ({})", c.dir().display()),
            };
            eprintln!("oanix: module cache {what}");
        }
        // Deliver what the guest wrote last, unless it timed out (its reader may never read).
        if !matches!(out.error, Some(RunError::Timeout(_))) {
            let _ = stdout.finish();
            let _ = stderr.finish();
        }
        out
    };
    Ok(report(out))
}

type MapFsFiles = Vec<(String, Vec<u8>)>;

/// Whether `$OANIX_LOG` (comma-separated) names `topic`.
fn log_enabled(topic: &str) -> bool {
    std::env::var("OANIX_LOG").is_ok_and(|v| v.split(',').any(|t| t.trim() == topic))
}

/// Largest input read whole (the stdin of `--reference`).
const MAX_INPUT: u64 = 256 << 20;

fn run_reference(
    bytes: &[u8],
    mounts: &[(String, PathBuf)],
    maps: &BTreeMap<FsPath, MapFsFiles>,
    cfg: RunConfig,
    read_only: bool,
) -> Result<RunOutput, String> {
    let tmp = std::env::temp_dir().join(format!("oanix-ref-{}", std::process::id()));
    let mut dirs: Vec<(PathBuf, String)> = mounts
        .iter()
        .map(|(p, d)| {
            (
                d.clone(),
                FsPath::parse(p)
                    .map(|p| p.to_absolute())
                    .unwrap_or_default(),
            )
        })
        .collect();
    for (i, (parent, files)) in maps.iter().enumerate() {
        let d = tmp.join(format!("map{i}"));
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        for (name, data) in files {
            std::fs::write(d.join(name), data).map_err(|e| e.to_string())?;
        }
        dirs.push((d, parent.to_absolute()));
    }
    // The reference gets the same limits: --read-only preopens, --max-memory, --timeout.
    let runner = ReferenceRunner::new()
        .map_err(|e| format!("cannot start wasmtime: {e}"))?
        .read_only(read_only);
    let preopens: Vec<(&std::path::Path, &str)> = dirs
        .iter()
        .map(|(d, n)| (d.as_path(), n.as_str()))
        .collect();
    let out = runner.run(bytes, &preopens, &cfg);
    let _ = std::io::stdout().write_all(&out.stdout);
    let _ = std::io::stderr().write_all(&out.stderr);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(out)
}

fn report(out: RunOutput) -> ExitCode {
    if let (None, Some(e)) = (out.exit_code, &out.error) {
        eprintln!("oanix: {e}");
    }
    ExitCode::from(cli::exit_status(&out))
}
