#![cfg(not(target_arch = "wasm32"))]
//! Every guest case runs on the OANIX shim and on wasmtime-wasi: each must meet its
//! expectations in `tests/cases.json`, and the two hosts must agree on stdout, stderr, exit
//! code and the resulting `/workspace` tree. Each case runs on the shim twice: `/workspace`
//! an in-memory MemFs, and `/workspace` a real temp directory through WorkspaceFs.

use oanix_native_runner::{reference::ReferenceRunner, Runner};
use oanix_tests::{cases, native, parity};

#[test]
fn every_case_meets_expectations_and_matches_wasmtime_wasi() {
    let shim = Runner::new().expect("engine");
    let reference = ReferenceRunner::new().expect("engine");
    let mut failures = Vec::new();
    let all = cases();
    let mut ran = 0;
    for case in all.iter().filter(|c| !c.bench) {
        ran += 1;
        let bytes = native::guest_bytes(&case.guest);
        let ours = native::run_shim(&shim, case, &bytes);
        let on_disk = native::run_shim_on_host_dir(&shim, case, &bytes);
        let theirs = native::run_reference(&reference, case, &bytes);
        let mut problems = Vec::new();
        if let Err(e) = case.check(&theirs) {
            problems.push(format!("wasmtime-wasi vs expectations:\n{e}"));
        }
        if let Err(e) = case.check(&ours) {
            problems.push(format!("oanix (MemFs) vs expectations:\n{e}"));
        }
        if let Err(e) = case.check(&on_disk) {
            problems.push(format!("oanix (WorkspaceFs) vs expectations:\n{e}"));
        }
        if let Err(e) = parity("wasmtime-wasi", &theirs, "oanix", &ours) {
            problems.push(format!("parity:\n{e}"));
        }
        if let Err(e) = parity("wasmtime-wasi", &theirs, "oanix on WorkspaceFs", &on_disk) {
            problems.push(format!("parity (WorkspaceFs):\n{e}"));
        }
        if problems.is_empty() {
            eprintln!("ok   {}", case.name);
        } else {
            eprintln!("FAIL {}", case.name);
            failures.push(format!("== {}\n{}", case.name, problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    let want = all.iter().filter(|c| !c.bench).count();
    assert_eq!(
        ran, want,
        "every non-bench case of tests/cases.json must run"
    );
    assert!(want >= 18, "tests/cases.json lost cases: {want} left");
}
