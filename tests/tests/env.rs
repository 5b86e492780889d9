//! An OanixEnv with every standard mount runs the agent guest natively (OANIX shim on
//! wasmtime): it reads /task/spec.json, writes /workspace, logs an event and ATIF steps, and
//! writes /task/result.json. The browser test (`browser_env.rs`) expects the same report.
#![cfg(not(target_arch = "wasm32"))]

use oanix_native_runner::Runner;
use oanix_tests::{agent, native};

#[test]
fn agent_env_end_to_end_natively() {
    let runner = Runner::new().unwrap();
    let env = agent::env();
    let bytes = native::guest_bytes("agent_task");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let out = rt.block_on(env.run_wasi(&runner, &bytes, agent::config()));
    agent::assert_expected_report(&env, &out);
}

#[test]
fn a_failing_guest_is_not_completed() {
    let runner = Runner::new().unwrap();
    let env = agent::env();
    let bytes = native::guest_bytes("exit_code");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut cfg = agent::config();
    cfg.args = vec!["exit_code".into(), "4".into()];
    let out = rt.block_on(env.run_wasi(&runner, &bytes, cfg));
    assert_eq!(out.exit_code, Some(4));
    match env.status() {
        oanix_core::env::EnvState::Failed { exit_code, .. } => assert_eq!(exit_code, Some(4)),
        s => panic!("want failed, got {s:?}"),
    }
    let task = env.namespace().read_file("/task/status").unwrap();
    assert!(String::from_utf8(task).unwrap().contains("\"failed\""));
    let trap = native::guest_bytes("trap");
    let out = rt.block_on(env.run_wasi(&runner, &trap, agent::config()));
    assert!(out.error.is_some());
    assert!(matches!(
        env.status(),
        oanix_core::env::EnvState::Failed {
            exit_code: None,
            ..
        }
    ));
    let hist = env.history();
    assert_eq!(
        hist.len(),
        5,
        "created, running, failed, running, failed: {hist:?}"
    );
}
