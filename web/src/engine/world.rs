//! The agent world the explorer shows: a real [`OanixEnv`] — `/task` ([`TaskFs`]: spec,
//! meta, live status, a `result.json` that accepts only valid JSON), `/workspace`, `/logs`
//! ([`LogsFs`]: append-only stdout/stderr, events, the ATIF trajectory), `/tmp`, `/env`
//! (the environment's status) — plus `/jobs` (the page's [`Scheduler`] as files).
//!
//! `/task`, `/logs`, `/env` and `/jobs` are *live* services of this page: they are not
//! saved (IndexedDB keeps files, not a running environment), so a restored namespace gets
//! this page's instances mounted again ([`attach_env`], [`mount_jobs`]), and opening another saved
//! namespace carries them over ([`carry_live`]).
//!
//! [`TaskFs`]: oanix_core::services::TaskFs
//! [`LogsFs`]: oanix_core::services::LogsFs

use oanix_core::env::OanixEnv;
use oanix_core::scheduler::{JobsFs, Scheduler};
use oanix_core::services::LogsFs;
use oanix_core::{FileService, FsPath, FsResult, MemFs, Namespace, OpenOptions};
use serde_json::{json, Value};
use std::sync::Arc;

/// The live mounts (not saved; this page's instances).
pub const LIVE_MOUNTS: [&str; 4] = ["/task", "/logs", "/env", "/jobs"];

const SPEC: &str = r#"{
  "id": "demo-1",
  "goal": "Count the words in /workspace/README.md and write the number to /task/result.json",
  "inputs": ["/workspace/README.md"]
}"#;
const META: &str = r#"{ "created_by": "oanix explorer", "version": 1 }"#;

/// The page's environment: the demo task, a seeded in-memory `/workspace` (replaced by
/// OPFS when the browser has it), logs, `/tmp`, `/env`.
pub fn build_env() -> FsResult<OanixEnv> {
    let workspace = MemFs::new();
    workspace.write_file(
        "/README.md",
        b"# Workspace\n\nEverything an agent can see is a file in its namespace.\n",
    )?;
    workspace.write_file("/src/hello.txt", b"hello from /workspace/src\n")?;
    OanixEnv::builder("explorer")
        .task_json(SPEC, META)?
        .workspace(Arc::new(workspace))
        .build()
}

fn service_at(ns: &Namespace, path: &str) -> Option<Arc<dyn FileService>> {
    ns.mounts()
        .into_iter()
        .find(|m| m.path.to_absolute() == path)
        .and_then(|m| m.layers.first().map(|l| l.service.clone()))
}

/// Mounts `env`'s `/task`, `/logs` and `/env` on `ns`, replacing whatever a saved
/// namespace had there.
pub fn attach_env(env: &OanixEnv, ns: &mut Namespace) -> FsResult<()> {
    let own = env.namespace();
    for path in ["/task", "/logs", "/env"] {
        if let Some(service) = service_at(&own, path) {
            let _ = ns.unmount(path);
            ns.mount(path, service)?;
        }
    }
    Ok(())
}

/// Mounts `scheduler`'s jobs as `/jobs` on `ns`.
pub fn mount_jobs(scheduler: &Scheduler, ns: &mut Namespace) -> FsResult<()> {
    let _ = ns.unmount("/jobs");
    ns.mount("/jobs", Arc::new(JobsFs::new(scheduler.clone())))
}

/// Moves the live mounts of `from` into `to` (a namespace opened from a save).
pub fn carry_live(from: &Namespace, to: &mut Namespace) {
    for path in LIVE_MOUNTS {
        if let Some(service) = service_at(from, path) {
            let _ = to.unmount(path);
            let _ = to.mount(path, service);
        }
    }
}

/// Whether a load problem is about a live mount (expected: those are never saved).
pub fn is_live_mount_note(note: &str) -> bool {
    LIVE_MOUNTS
        .iter()
        .any(|m| note.starts_with(&format!("{m}: not restorable")))
}

/// Appends one event (`level`, `message`, optional `data`) to `/logs/events`.
pub fn log_event(logs: &LogsFs, level: &str, message: &str, data: Value) {
    let mut line = json!({"level": level, "message": message});
    if !data.is_null() {
        line["data"] = data;
    }
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    append(logs, "/events/explorer.jsonl", &bytes);
}

/// Appends ATIF steps to `/logs/atif/trajectory.json`, numbering them after the last one.
pub fn atif_steps(logs: &LogsFs, steps: Vec<Value>) {
    let next = logs.trajectory()["steps"].as_array().map_or(0, Vec::len);
    for (i, mut step) in steps.into_iter().enumerate() {
        step["step_id"] = json!(next + i + 1);
        append(logs, "/atif/trajectory.json", step.to_string().as_bytes());
    }
}

fn append(logs: &LogsFs, path: &str, bytes: &[u8]) {
    let handle = FsPath::parse(path).and_then(|p| logs.open(&p, &OpenOptions::append()));
    if let Ok(h) = handle {
        let _ = h.append(bytes);
    }
}
