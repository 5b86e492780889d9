//! `oanix provider`: a NIP-90 service provider that runs WASI modules for others.
//!
//! It subscribes to kind **5600** job requests ("run a WASI module") on its relays:
//! - input `["i", "<http(s) URL of the .wasm>", "url"]`;
//! - arguments `["param", "arg", "<word>"]`, in order;
//! - optional `["param", "stdin", "<text>"]` and `["param", "timeout", "<seconds>"]`
//!   (capped by `--max-timeout`).
//!
//! For each job it posts kind-7000 feedback `processing`, downloads the module (http(s)
//! only, at most `--max-module-size` bytes, only from `--allow-module-host` hosts when
//! given), runs it in its own [`OanixEnv`] through the [`Scheduler`] (timeout, memory limit,
//! at most `--concurrency` jobs at once), then posts a kind **6600** result tagged
//! `request`/`e`/`p` whose content is `{"exit_code": 0, "stdout": "...", "stderr": "..."}`,
//! right after feedback `success`. Any failure (bad request, download, invalid module, timeout,
//! trap) is feedback `error` with the reason, and the provider keeps serving. Jobs that name
//! another provider (`["p", other]`) are ignored.
//!
//! It prints one line per event on stderr: `pubkey <hex>`, relay state changes
//! (`relay <url> connected|error: ...`), `job <id> ...`.

use crate::Runner;
use oanix_core::env::{OanixEnv, WasiHost};
use oanix_core::net::nostr::{unix_now, Event, Keys, RelayPool, RelayState};
use oanix_core::net::{platform_transport, Allowlist, HttpCall, HttpRequest, NetGrant};
use oanix_core::run::{RunConfig, RunOutput};
use oanix_core::scheduler::{JobKind, JobSpec, JobState, Module, Scheduler};
use oanix_core::{MemFsLimits, Namespace};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The job kind served.
pub const JOB_KIND: u32 = 5600;
/// Largest stdout/stderr put in a result (bytes each); more is cut.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Limits and identity of a provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Relay URLs.
    pub relays: Vec<String>,
    /// Signing keys.
    pub keys: Keys,
    /// Jobs running at once.
    pub concurrency: usize,
    /// Default and largest job timeout.
    pub max_timeout: Duration,
    /// Largest guest memory (bytes).
    pub max_memory: usize,
    /// Largest module download (bytes).
    pub max_module_size: usize,
    /// Hosts modules may come from (`None`: any http(s) host).
    pub allow_module_hosts: Option<Allowlist>,
}

/// A host that runs guests on wasmtime with a memory limit.
struct LimitedHost {
    runner: Arc<Runner>,
    max_memory: usize,
}

impl WasiHost for LimitedHost {
    fn run_guest<'a>(
        &'a self,
        bytes: &'a [u8],
        ns: Namespace,
        mut cfg: RunConfig,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = RunOutput> + 'a>> {
        cfg.max_memory = Some(self.max_memory);
        Box::pin(self.runner.run_async(bytes, ns, cfg))
    }
}

/// A job request, parsed.
struct Job {
    url: url::Url,
    args: Vec<String>,
    stdin: String,
    timeout: Duration,
}

fn parse_job(ev: &Event, cfg: &ProviderConfig) -> Result<Job, String> {
    let mut url = None;
    let mut args = Vec::new();
    let mut stdin = String::new();
    let mut timeout = cfg.max_timeout;
    for t in &ev.tags {
        match t.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["i", u, "url", ..] => url = Some(u.to_string()),
            ["param", "arg", a, ..] => args.push(a.to_string()),
            ["param", "stdin", s, ..] => stdin = s.to_string(),
            ["param", "timeout", s, ..] => {
                let secs: f64 = s
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite() && *v > 0.0)
                    .ok_or_else(|| format!("bad timeout {s:?} (seconds > 0)"))?;
                // A requester's number: 1e20 s is no Duration (from_secs_f64 would panic
                // the worker); anything past the provider's largest is that.
                timeout = Duration::try_from_secs_f64(secs)
                    .map_or(cfg.max_timeout, |t| t.min(cfg.max_timeout));
            }
            _ => {}
        }
    }
    let raw = url.ok_or("no [\"i\", <url>, \"url\"] input tag")?;
    let url = url::Url::parse(&raw).map_err(|e| format!("bad module url {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("module url {raw:?} is not http(s)"));
    }
    if let Some(allow) = &cfg.allow_module_hosts {
        if !allow.allows(&oanix_core::net::Url::from(&url)) {
            return Err(format!(
                "module host {} is not allowed",
                url.host_str().unwrap_or("")
            ));
        }
    }
    Ok(Job {
        url,
        args,
        stdin,
        timeout,
    })
}

/// The module's bytes (redirects stay on allowed hosts: the allowlist, or the URL's host).
async fn download(job: &Job, cfg: &ProviderConfig) -> Result<Vec<u8>, String> {
    let allow = match &cfg.allow_module_hosts {
        Some(a) => a.clone(),
        None => {
            let host = job.url.host_str().unwrap_or_default();
            let entry = match job.url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            Allowlist::parse([entry]).map_err(|e| e.to_string())?
        }
    };
    let grant = NetGrant::new(allow.clone());
    let call = Arc::new(HttpCall::new());
    platform_transport(&grant).http(
        HttpRequest {
            method: "GET".into(),
            url: oanix_core::net::Url::from(&job.url),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 60_000,
            max_body: cfg.max_module_size,
            allow,
        },
        call.clone(),
    );
    let r = call.wait().await;
    if let Some(e) = r.error {
        return Err(format!("module download: {e}"));
    }
    match r.status {
        Some(200) => Ok(r.body),
        s => Err(format!("module download: HTTP status {}", s.unwrap_or(0))),
    }
}

fn cut(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_OUTPUT)]).into_owned()
}

/// A job's environment. Its `/tmp` and `/workspace` hold at most `--max-memory` bytes of
/// files each (ENOSPC past it), as the guest's own memory does: a requester's guest cannot
/// fill the provider's RAM through files.
fn job_env(ev: &Event, cfg: &ProviderConfig) -> oanix_core::FsResult<OanixEnv> {
    OanixEnv::builder(format!("nostr-{}", ev.id.get(..16).unwrap_or(&ev.id)))
        .memory_limits(MemFsLimits {
            max_total_bytes: cfg.max_memory as u64,
            ..MemFsLimits::default()
        })
        .build()
}

/// Runs one job: Ok(result content) or Err(reason).
async fn run_job(ev: &Event, cfg: &ProviderConfig, host: &LimitedHost) -> Result<String, String> {
    let job = parse_job(ev, cfg)?;
    let bytes = download(&job, cfg).await?;
    let env = job_env(ev, cfg).map_err(|e| e.to_string())?;
    let sched = Scheduler::new(env.namespace(), 1, 1);
    let name = job
        .url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("module.wasm")
        .to_string();
    let id = sched.submit(JobSpec {
        kind: JobKind::Wasi {
            module: Module::Bytes(bytes.into()),
            args: std::iter::once(name).chain(job.args).collect(),
            stdin: job.stdin,
        },
        priority: 0,
        timeout: Some(job.timeout),
    });
    sched.run(host).await;
    let done = sched.job(id).ok_or("the job vanished")?;
    let exit_code = match done.state {
        JobState::Completed => 0,
        JobState::Failed {
            exit_code: Some(c), ..
        } => c,
        JobState::Failed { error, .. } => return Err(error),
        s => return Err(format!("job ended {s:?}")),
    };
    Ok(json!({
        "exit_code": exit_code,
        "stdout": cut(&done.stdout),
        "stderr": cut(&done.stderr),
    })
    .to_string())
}

fn feedback(keys: &Keys, job: &Event, status: &str, why: &str) -> Event {
    let mut st = vec!["status".to_string(), status.to_string()];
    if !why.is_empty() {
        st.push(why.to_string());
    }
    Event::sign(
        keys,
        unix_now(),
        7000,
        vec![
            st,
            vec!["e".into(), job.id.clone()],
            vec!["p".into(), job.pubkey.clone()],
        ],
        String::new(),
    )
}

fn log(line: String) {
    eprintln!("{line}");
}

/// Serves jobs until the process is stopped.
pub fn serve(cfg: ProviderConfig) -> Result<(), String> {
    let runner = Arc::new(Runner::new().map_err(|e| format!("cannot start wasmtime: {e}"))?);
    let (tx, rx) = mpsc::channel::<Event>();
    let tx = Mutex::new(tx);
    let pool = Arc::new(RelayPool::new(
        &cfg.relays,
        platform_transport(&NetGrant::default()),
        Arc::new(move |ev: &Event, _: &str| {
            if let Ok(t) = tx.lock() {
                let _ = t.send(ev.clone());
            }
        }),
    ));
    let me = cfg.keys.pubkey();
    log(format!("pubkey {me}"));
    pool.subscribe(
        "oanix-jobs",
        json!({"kinds": [JOB_KIND], "since": unix_now()}),
    );

    // Workers: `concurrency` threads, each running one job at a time.
    let (jobs_tx, jobs_rx) = mpsc::channel::<Event>();
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    for _ in 0..cfg.concurrency.max(1) {
        let (rx, pool, cfg) = (jobs_rx.clone(), pool.clone(), cfg.clone());
        let host = LimitedHost {
            runner: runner.clone(),
            max_memory: cfg.max_memory,
        };
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("job runtime");
            loop {
                let Ok(ev) = rx
                    .lock()
                    .map_err(|_| ())
                    .and_then(|r| r.recv().map_err(|_| ()))
                else {
                    return;
                };
                let short = &ev.id[..16];
                pool.publish(&feedback(&cfg.keys, &ev, "processing", ""));
                match rt.block_on(run_job(&ev, &cfg, &host)) {
                    Ok(content) => {
                        let result = Event::sign(
                            &cfg.keys,
                            unix_now(),
                            ev.kind + 1000,
                            vec![
                                vec!["request".into(), ev.to_json()],
                                vec!["e".into(), ev.id.clone()],
                                vec!["p".into(), ev.pubkey.clone()],
                            ],
                            content,
                        );
                        // Feedback first: whoever waits for the result then has it.
                        pool.publish(&feedback(&cfg.keys, &ev, "success", ""));
                        pool.publish(&result);
                        log(format!("job {short} done"));
                    }
                    Err(why) => {
                        pool.publish(&feedback(&cfg.keys, &ev, "error", &why));
                        log(format!("job {short} error: {why}"));
                    }
                }
            }
        });
    }

    // Dispatch jobs; report relay state changes.
    let mut states: BTreeMap<String, RelayState> = BTreeMap::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(ev) if ev.kind == JOB_KIND => {
                let other = ev
                    .tags
                    .iter()
                    .any(|t| t.first().map(String::as_str) == Some("p") && t.get(1) != Some(&me));
                if !other {
                    log(format!("job {} received", &ev.id[..16]));
                    let _ = jobs_tx.send(ev);
                }
            }
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        for s in pool.status() {
            if states.get(&s.url) != Some(&s.state) {
                states.insert(s.url.clone(), s.state);
                match s.state {
                    RelayState::Error => log(format!(
                        "relay {} error: {}",
                        s.url,
                        s.error.unwrap_or_default()
                    )),
                    st => log(format!(
                        "relay {} {}",
                        s.url,
                        serde_json::to_value(st)
                            .ok()
                            .and_then(|v| v.as_str().map(String::from))
                            .unwrap_or_default()
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        ProviderConfig {
            relays: Vec::new(),
            keys: Keys::generate(),
            concurrency: 1,
            max_timeout: Duration::from_secs(60),
            max_memory: 1 << 20,
            max_module_size: 1 << 20,
            allow_module_hosts: None,
        }
    }

    fn job_event(t: &str) -> Event {
        let tags: [&[&str]; 2] = [
            &["i", "http://127.0.0.1/m.wasm", "url"],
            &["param", "timeout", t],
        ];
        Event {
            id: String::new(),
            pubkey: String::new(),
            created_at: 0,
            kind: 5600,
            tags: tags
                .iter()
                .map(|t| t.iter().map(|s| s.to_string()).collect())
                .collect(),
            content: String::new(),
            sig: String::new(),
        }
    }

    fn job_with_timeout(t: &str) -> Result<Job, String> {
        parse_job(&job_event(t), &config())
    }

    /// A requester's guest cannot fill the provider's memory through files: /tmp and
    /// /workspace refuse writes past --max-memory (ENOSPC).
    #[test]
    fn job_files_are_bounded_by_max_memory() {
        let cfg = config();
        let ev = job_event("1");
        let ns = job_env(&ev, &cfg).unwrap().namespace();
        for dir in ["/tmp", "/workspace"] {
            let half = vec![0u8; cfg.max_memory / 2];
            ns.write_file(&format!("{dir}/a"), &half).unwrap();
            assert_eq!(
                ns.write_file(&format!("{dir}/b"), &[half.as_slice(), b"x"].concat()),
                Err(oanix_core::FsError::NoSpace),
                "{dir}"
            );
        }
    }

    /// A requester's timeout is the provider's largest at most, however large the number
    /// (1e20 s overflowed a Duration and killed the worker thread); junk is refused.
    #[test]
    fn requested_timeouts_are_clamped_never_a_panic() {
        for (t, want) in [
            ("1.5", 1500),
            ("1e20", 60_000),
            ("1e308", 60_000),
            ("120", 60_000),
        ] {
            let job = job_with_timeout(t).unwrap();
            assert_eq!(job.timeout.as_millis(), want, "{t}");
        }
        for bad in ["0", "-1", "inf", "NaN", "soon"] {
            assert!(job_with_timeout(bad).is_err(), "{bad}");
        }
    }
}
