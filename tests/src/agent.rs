//! The end-to-end agent scenario shared by the native and browser tests: an [`OanixEnv`]
//! with every standard mount runs the `agent_task` guest; [`report`] describes everything it
//! left behind, and both hosts must produce the same report ([`EXPECTED`]).

use oanix_core::env::OanixEnv;
use oanix_core::run::{RunConfig, RunOutput};
use oanix_core::services::TaskSpec;
use oanix_core::{FileService, MemFs};
use std::sync::Arc;

/// The input the guest counts (9 words).
pub const README: &str = "Everything an agent can see is a file here.\n";

/// The environment: `/task` (a spec), `/workspace` (README.md), `/logs`, `/tmp`, `/env`.
pub fn env() -> OanixEnv {
    let ws = MemFs::new();
    ws.write_file("/README.md", README.as_bytes())
        .expect("workspace");
    let spec = TaskSpec {
        id: "count-words".into(),
        goal: "count the words of README.md".into(),
        inputs: vec!["/workspace/README.md".into()],
        extra: Default::default(),
    };
    OanixEnv::builder("env-1")
        .task(&spec, serde_json::json!({"by": "tests"}))
        .expect("task")
        .workspace(Arc::new(ws) as Arc<dyn FileService>)
        .build()
        .expect("env")
}

/// How the guest is run (argv only; every mount is preopened).
pub fn config() -> RunConfig {
    RunConfig {
        args: vec!["agent_task".into()],
        ..Default::default()
    }
}

fn text(env: &OanixEnv, path: &str) -> String {
    env.namespace()
        .read_file(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("<{e}>"))
}

/// Everything observable after the run, without times: outcome, output, files, logs.
pub fn report(env: &OanixEnv, out: &RunOutput) -> String {
    let status: serde_json::Value =
        serde_json::from_str(&text(env, "/task/status")).unwrap_or_default();
    let env_status: serde_json::Value =
        serde_json::from_str(&text(env, "/env/status")).unwrap_or_default();
    let events: Vec<serde_json::Value> = text(env, "/logs/events/001.jsonl")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .map(|mut e: serde_json::Value| {
            e.as_object_mut().map(|o| o.remove("timestamp"));
            e
        })
        .collect();
    let trajectory = env.logs().trajectory();
    let steps: Vec<String> = trajectory["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| format!("{} {} {}", s["step_id"], s["source"], s["message"]))
                .collect()
        })
        .unwrap_or_default();
    format!(
        "exit: {:?} error: {:?}\nstdout: {:?}\nstderr: {:?}\ntask status: {} exit {}\n\
         env status: {} (history {})\nresult.json: {}\nreport.txt: {:?}\n\
         stdout.log: {:?}\nstderr.log: {:?}\nevents: {}\natif: {} {:?} total {}\n",
        out.exit_code,
        out.error.as_ref().map(|e| e.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        status["status"],
        status["exit_code"],
        env_status["current"]["state"],
        env_status["history"].as_array().map_or(0, |h| h.len()),
        text(env, "/task/result.json"),
        text(env, "/workspace/report.txt"),
        text(env, "/logs/stdout.log"),
        text(env, "/logs/stderr.log"),
        serde_json::Value::Array(events),
        trajectory["schema_version"],
        steps,
        trajectory["final_metrics"]["total_steps"],
    )
}

/// Requires the report after `out` to be [`EXPECTED`], showing the difference if not.
pub fn assert_expected_report(env: &OanixEnv, out: &RunOutput) {
    let report = report(env, out);
    assert_eq!(report, EXPECTED, "\n{}", crate::diff(EXPECTED, &report));
}

/// What both hosts must report.
pub const EXPECTED: &str = r#"exit: Some(0) error: None
stdout: "goal: count the words of README.md\nmalformed result refused: true\n"
stderr: "done\n"
task status: "completed" exit 0
env status: "completed" (history 3)
result.json: {"words": 9}
report.txt: "9 words\n"
stdout.log: "goal: count the words of README.md\nmalformed result refused: true\n"
stderr.log: "done\n"
events: [{"data":{"words":9},"level":"info","message":"counted"}]
atif: "ATIF-v1.4" ["1 \"user\" \"count the words\"", "2 \"agent\" \"9 words\""] total 2
"#;
