//! `oanix`: the native OANIX command line.

use clap::{Parser, Subcommand};
use oanix_core::net::Allowlist;
use oanix_core::services::WorkspaceFs;
use oanix_core::{wasi::InputPipe, wasi::OutputPipe, FsPath, MapFs, Namespace};
use oanix_native_runner::netcaps::Cap;
use oanix_native_runner::nostrcli::NostrArgs;
use oanix_native_runner::{
    hostfs, provider, reference::ReferenceRunner, RunConfig, RunError, RunOutput, Runner,
};
use std::collections::BTreeMap;
use std::io::Write;
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
    /// Serve NIP-90 kind-5600 jobs ("run a WASI module") from Nostr relays.
    Provider(ProviderArgs),
    /// Print the namespace the given mounts build.
    Tree {
        /// Mount a host directory: /POINT=DIR (copied into memory).
        #[arg(long = "mount", value_name = "/POINT=DIR")]
        mounts: Vec<String>,
    },
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
    /// Read the guest's stdin from FILE (default: empty).
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
    /// Interrupt the guest after this long (e.g. 500ms, 5s, 2m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// Largest guest memory (e.g. 64MiB, 1GiB, 65536).
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size)]
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
    #[arg(long = "max-timeout", value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    max_timeout: Duration,
    /// Largest guest memory.
    #[arg(long = "max-memory", value_name = "SIZE", value_parser = parse_size, default_value = "256MiB")]
    max_memory: usize,
    /// Largest module download.
    #[arg(long = "max-module-size", value_name = "SIZE", value_parser = parse_size, default_value = "16MiB")]
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

fn parse_duration(s: &str) -> Result<Duration, String> {
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
    Ok(Duration::from_secs_f64(secs))
}

fn parse_size(s: &str) -> Result<usize, String> {
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic()).unwrap_or(s.len()));
    let n: u64 = num.trim().parse().map_err(|_| format!("bad size {s:?}"))?;
    let mul: u64 = match unit {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        _ => return Err(format!("bad size unit in {s:?} (use KiB, MiB, GiB)")),
    };
    n.checked_mul(mul)
        .map(|v| v as usize)
        .ok_or_else(|| format!("size too large: {s:?}"))
}

fn split_spec(spec: &str, what: &str) -> Result<(String, PathBuf), String> {
    let (a, b) = spec
        .split_once('=')
        .ok_or_else(|| format!("{what} expects /PATH=HOSTPATH, got {spec:?}"))?;
    Ok((a.to_string(), PathBuf::from(b)))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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

fn run(a: RunArgs) -> Result<ExitCode, String> {
    let bytes =
        std::fs::read(&a.module).map_err(|e| format!("cannot read {}: {e}", a.module.display()))?;
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
    if let Some(path) = &a.stdin {
        let data =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        cfg.stdin = InputPipe::from_bytes(data);
    }
    let mounts: Vec<(String, PathBuf)> = a
        .mounts
        .iter()
        .map(|m| split_spec(m, "--mount"))
        .collect::<Result<_, _>>()?;
    let mut maps: BTreeMap<FsPath, MapFsFiles> = BTreeMap::new();
    for m in &a.maps {
        let (p, file) = split_spec(m, "--map")?;
        let p = FsPath::parse(&p).map_err(|e| format!("--map {m:?}: {e}"))?;
        let (parent, name) = p
            .split_last()
            .ok_or_else(|| format!("--map {m:?}: cannot map a file at /"))?;
        let data =
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        maps.entry(parent)
            .or_default()
            .push((name.to_string(), data));
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
        run_reference(&bytes, &mounts, &maps, cfg)?
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
        cfg.stdout = Some(streaming(std::io::stdout));
        cfg.stderr = Some(streaming(std::io::stderr));
        let runner = Runner::new().map_err(|e| format!("cannot start wasmtime: {e}"))?;
        runner.run(&bytes, ns, cfg)
    };
    Ok(report(out))
}

type MapFsFiles = Vec<(String, Vec<u8>)>;

/// An output pipe that streams to the process's stdout/stderr (and keeps nothing).
fn streaming<W: Write + 'static>(stream: fn() -> W) -> OutputPipe {
    OutputPipe::with_cap(0).with_sink(move |d: &[u8]| {
        let mut s = stream();
        let _ = s.write_all(d);
        let _ = s.flush();
    })
}

fn run_reference(
    bytes: &[u8],
    mounts: &[(String, PathBuf)],
    maps: &BTreeMap<FsPath, MapFsFiles>,
    cfg: RunConfig,
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
    let runner = ReferenceRunner::new().map_err(|e| format!("cannot start wasmtime: {e}"))?;
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
    match (out.exit_code, out.error) {
        (Some(code), _) => ExitCode::from(code.clamp(0, 255) as u8),
        (None, Some(e)) => {
            eprintln!("oanix: {e}");
            ExitCode::from(match e {
                RunError::Timeout(_) => 124,
                RunError::InvalidModule(_) => 126,
                RunError::Setup(_) | RunError::Host(_) => 125,
                RunError::Trap(_) | RunError::MemoryLimit(_) => 134,
            })
        }
        (None, None) => ExitCode::from(125),
    }
}
