//! NIP-90 jobs for the Nostr panel: a kind-5600 request ("run a WASI module", served by
//! `oanix provider`) written to `/cap/nostr`'s `submit` ([`NostrFs`], the same files a guest
//! uses), then the provider's feedback and the result read back.
//!
//! A provider downloads the module itself, so the job names the module by its http(s) URL.

use super::Engine;
use crate::proto::{Failure, NostrRequest, NostrResult, Reply};
use oanix_core::scheduler::split_words;
use oanix_core::services::NostrFs;
use oanix_core::{FileService, FsError, FsPath, Interest, OpenOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// The panel's `/cap/nostr` (one per relay list; the key lives as long as the page), and
/// the jobs submitted and not yet awaited (each waits on the relays it went to, even if
/// another list is used meanwhile).
#[derive(Default)]
pub(super) struct Nostr {
    relays: Option<(Vec<String>, Rc<NostrFs>)>,
    submitted: HashMap<String, Rc<NostrFs>>,
}

/// Jobs submitted and never awaited that are remembered at most (past it they are all
/// forgotten: awaiting one says so; the panel awaits each job as soon as it is submitted).
const SUBMITTED_KEEP: usize = 256;

fn said(message: String) -> Failure {
    Failure {
        message,
        errno: "Inval".into(),
    }
}

/// Answers a Nostr request.
pub(super) async fn handle(engine: &Rc<Engine>, request: NostrRequest) -> Result<Reply, Failure> {
    match request {
        NostrRequest::Submit {
            relays,
            module,
            args,
            stdin,
        } => {
            let words =
                split_words(&args, false).map_err(|e| said(format!("bad arguments: {e}")))?;
            let fs = relays_fs(engine, relays)?;
            let mut tags = vec![json!(["i", module, "url"])];
            tags.extend(words.iter().map(|w| json!(["param", "arg", w])));
            if !stdin.is_empty() {
                tags.push(json!(["param", "stdin", stdin]));
            }
            let job = json!({"kind": 5600, "content": "", "tags": tags});
            let id = submit(&fs, &job).map_err(|e| said(format!("not submitted: {e}")))?;
            let mut kept = engine.nostr.borrow_mut();
            if kept.submitted.len() >= SUBMITTED_KEEP {
                kept.submitted.clear();
            }
            kept.submitted.insert(id.clone(), fs);
            Ok(Reply::Said(id))
        }
        NostrRequest::Await { id } => {
            let fs = engine
                .nostr
                .borrow_mut()
                .submitted
                .remove(&id)
                .ok_or_else(|| said(format!("no job {id} was submitted here")))?;
            let r = result(fs.clone(), id.clone()).await;
            let fb = feedback(&fs, &id).join(" → ");
            Ok(Reply::Nostr(match r {
                Ok(ev) if ev["kind"] == 6600 => {
                    let c: Value = serde_json::from_str(ev["content"].as_str().unwrap_or(""))
                        .unwrap_or_default();
                    let (out, err) = (
                        c["stdout"].as_str().unwrap_or(""),
                        c["stderr"].as_str().unwrap_or(""),
                    );
                    // stderr on a line of its own.
                    let sep = if err.is_empty() || out.is_empty() || out.ends_with('\n') {
                        ""
                    } else {
                        "\n"
                    };
                    NostrResult {
                        status: format!("done: exit code {} ({fb})", c["exit_code"]),
                        output: format!("{out}{sep}{err}"),
                    }
                }
                Ok(_) => NostrResult {
                    status: format!("failed ({fb})"),
                    output: String::new(),
                },
                Err(e) => NostrResult {
                    status: format!("failed: {e}"),
                    output: String::new(),
                },
            }))
        }
    }
}

/// The `NostrFs` for `relays` (a space/comma separated list): the one kept if the list is
/// the same (its connections and events stay), else a new one.
fn relays_fs(engine: &Engine, relays: String) -> Result<Rc<NostrFs>, Failure> {
    let list: Vec<String> = relays
        .split([',', ' ', '\n'])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut kept = engine.nostr.borrow_mut();
    if let Some((_, fs)) = kept.relays.as_ref().filter(|(l, _)| *l == list) {
        return Ok(fs.clone());
    }
    let fs = NostrFs::new(&list, engine.keys.clone()).map_err(|e| said(format!("relays: {e}")))?;
    let fs = Rc::new(fs);
    kept.relays = Some((list, fs.clone()));
    Ok(fs)
}

fn path(p: &str) -> FsPath {
    FsPath::parse(p).unwrap_or_default()
}

/// Writes a job request to `submit`; its event id.
fn submit(fs: &NostrFs, job: &Value) -> Result<String, String> {
    let h = fs
        .open(&path("submit"), &OpenOptions::read_write())
        .map_err(|e| e.to_string())?;
    h.write_at(job.to_string().as_bytes(), 0)
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 512];
    let n = h.read_at(&mut buf, 0).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&buf[..n]).map_err(|e| e.to_string())?;
    v["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "no id".into())
}

/// Waits (readiness rule) for `results/<id>`.
async fn result(fs: Rc<NostrFs>, id: String) -> Result<Value, String> {
    let h = fs
        .open(&path(&format!("results/{id}")), &OpenOptions::read())
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match h.read_at(&mut buf, 0) {
            Err(FsError::WouldBlock) => {
                std::future::poll_fn(|cx| h.poll_ready(Interest::Read, cx))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Err(e) => return Err(e.to_string()),
            Ok(n) => return serde_json::from_slice(&buf[..n]).map_err(|e| e.to_string()),
        }
    }
}

/// The feedback statuses received for `id`, in order of arrival.
fn feedback(fs: &NostrFs, id: &str) -> Vec<String> {
    let Ok(entries) = fs.readdir(&path("events")) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter_map(|e| {
            let h = fs
                .open(&path(&format!("events/{}", e.name)), &OpenOptions::read())
                .ok()?;
            let v: Value =
                serde_json::from_slice(&oanix_core::service::read_all(&*h).ok()?).ok()?;
            let tags = v["tags"].as_array()?;
            let ours = tags.iter().any(|t| t[0] == "e" && t[1] == id);
            let st = tags.iter().find(|t| t[0] == "status")?;
            (v["kind"] == 7000 && ours).then(|| {
                st.as_array()
                    .into_iter()
                    .flatten()
                    .skip(1)
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(": ")
            })
        })
        .collect()
}
