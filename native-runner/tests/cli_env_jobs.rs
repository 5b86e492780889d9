//! `oanix env run` and `oanix jobs run` end to end, on the built binary and the guests of
//! tests/guests: the agent guest's environment leaves a valid ATIF-v1.4 trajectory, its
//! events and its result in --out (its malformed result refused); the jobs file runs on
//! the scheduler with priorities, pipes and timeouts, each state change printed.

mod common;

use common::guest;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OANIX: &str = env!("CARGO_BIN_EXE_oanix");

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oanix-cli-env-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn oanix(args: &[&str], cache: &Path) -> Output {
    Command::new(OANIX)
        .args(args)
        .env("OANIX_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", p.display()))
}

#[test]
fn env_run_leaves_trajectory_events_status_and_result() {
    let d = tempdir("agent");
    let (ws, out) = (d.join("ws"), d.join("out"));
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("README.md"), "one two three four five\n").unwrap();
    let spec = d.join("spec.json");
    std::fs::write(&spec, r#"{"id": "count-1", "goal": "count the words"}"#).unwrap();
    let o = oanix(
        &[
            "env",
            "run",
            "--task",
            spec.to_str().unwrap(),
            "--workspace",
            ws.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            guest("agent_task").to_str().unwrap(),
        ],
        &d.join("cache"),
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout.contains("goal: count the words"), "{stdout}");
    // The guest's malformed result.json was refused (EINVAL), the valid one kept.
    assert!(
        stdout.contains("malformed result refused: true"),
        "{stdout}"
    );
    assert_eq!(
        json(&out.join("result.json")),
        serde_json::json!({"words": 5})
    );
    // The workspace is the real directory.
    assert_eq!(
        std::fs::read_to_string(ws.join("report.txt")).unwrap(),
        "5 words\n"
    );
    // ATIF-v1.4 trajectory with the two steps, numbered from 1.
    let t = json(&out.join("trajectory.json"));
    assert_eq!(t["schema_version"], "ATIF-v1.4", "{t}");
    assert_eq!(t["session_id"], "count-1");
    let steps = t["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{t}");
    assert_eq!(steps[0]["step_id"], 1);
    assert_eq!(steps[0]["source"], "user");
    assert_eq!(steps[1]["message"], "5 words");
    // Events: one JSON object per line.
    let events = std::fs::read_to_string(out.join("events/001.jsonl")).unwrap();
    let lines: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{events}");
    assert_eq!(lines[0]["message"], "counted");
    assert_eq!(lines[0]["data"]["words"], 5);
    // Status: created -> running -> completed; the task's own status too.
    let s = json(&out.join("status.json"));
    assert_eq!(s["current"]["state"], "completed", "{s}");
    let states: Vec<&str> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["created", "running", "completed"]);
    assert_eq!(json(&out.join("task-status.json"))["status"], "completed");
    assert!(std::fs::read_to_string(out.join("stdout.log"))
        .unwrap()
        .contains("goal: count the words"));
    assert!(std::fs::read_to_string(out.join("stderr.log"))
        .unwrap()
        .contains("done"));
}

#[test]
fn env_run_reports_failures() {
    let d = tempdir("fail");
    let out = d.join("out");
    let spec = d.join("spec.json");
    std::fs::write(&spec, r#"{"id": "t", "goal": "exit"}"#).unwrap();
    let cache = d.join("cache");
    let exit = guest("exit_code");
    let o = oanix(
        &[
            "env",
            "run",
            "--task",
            spec.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            exit.to_str().unwrap(),
            "--",
            "3",
        ],
        &cache,
    );
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("environment failed"));
    let s = json(&out.join("status.json"));
    assert_eq!(s["current"]["state"], "failed", "{s}");
    assert_eq!(s["current"]["exit_code"], 3);
    assert!(!out.join("result.json").exists());
    // A spec that is not a task: setup error, nothing run.
    std::fs::write(&spec, r#"{"goal": 1}"#).unwrap();
    let o = oanix(
        &[
            "env",
            "run",
            "--task",
            spec.to_str().unwrap(),
            exit.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(o.status.code(), Some(125), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--task"));
    // --help shows an example.
    let help = oanix(&["env", "run", "--help"], &cache);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Example:"));
}

#[test]
fn jobs_run_prints_each_state_and_follows_priorities() {
    let d = tempdir("jobs");
    let (bin, outdir) = (d.join("bin"), d.join("out"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&outdir).unwrap();
    for g in ["hello", "stdin_echo", "exit_code"] {
        std::fs::copy(guest(g), bin.join(format!("{g}.wasm"))).unwrap();
    }
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/wat/loop.wat"),
        bin.join("loop.wat"),
    )
    .unwrap();
    let jobs = d.join("jobs.txt");
    std::fs::write(
        &jobs,
        "# low priority first in the file, runs last\n\
         /bin/hello.wasm > /out/low.txt\n\
         priority=9 /bin/hello.wasm | /bin/stdin_echo.wasm > /out/high.txt\n\
         priority=5 /bin/exit_code.wasm 3\n\
         priority=1 timeout=300ms /bin/loop.wat\n",
    )
    .unwrap();
    let o = oanix(
        &[
            "jobs",
            "run",
            "--mount",
            &format!("/bin={}", bin.display()),
            "--mount",
            &format!("/out={}", outdir.display()),
            jobs.to_str().unwrap(),
        ],
        &d.join("cache"),
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "one job failed: {text}");
    assert_eq!(
        std::fs::read_to_string(outdir.join("high.txt")).unwrap(),
        "HELLO FROM WASI\n"
    );
    assert_eq!(
        std::fs::read_to_string(outdir.join("low.txt")).unwrap(),
        "hello from wasi\n"
    );
    // Every job is reported queued, then running, then its end; the order of starts
    // follows the priorities (concurrency 1).
    for id in 1..=4 {
        let q = text.find(&format!("job {id}: queued")).expect("queued");
        let r = text.find(&format!("job {id}: running")).expect("running");
        assert!(q < r, "{text}");
    }
    let starts: Vec<usize> = (1..=4)
        .map(|id| text.find(&format!("job {id}: running")).unwrap())
        .collect();
    assert!(
        starts[1] < starts[2] && starts[2] < starts[3] && starts[3] < starts[0],
        "{text}"
    );
    assert!(text.contains("job 1: completed"), "{text}");
    assert!(text.contains("job 2: completed"), "{text}");
    assert!(text.contains("job 3: failed"), "{text}");
    assert!(text.contains("job 4: failed"), "{text}");
    assert!(text.contains("timed out"), "{text}");
    // A bad line is a setup error naming the line.
    std::fs::write(&jobs, "/bin/hello.wasm\npriority=x /bin/hello.wasm\n").unwrap();
    let o = oanix(&["jobs", "run", jobs.to_str().unwrap()], &d.join("cache"));
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
    let help = oanix(&["jobs", "run", "--help"], &d.join("cache"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Example:"));
}
