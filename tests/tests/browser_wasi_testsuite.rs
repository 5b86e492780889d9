//! The WASI testsuite (preview1, WebAssembly/wasi-testsuite) in headless Chromium, on the
//! browser host in a dedicated worker: each test's `root` directory rebuilt fresh in a MemFs
//! mounted (and preopened) at `/`, its args and env, exit code and stdout compared.
//!
//! `./scripts/dev.sh test` serves the suite (`../shared/wasi-testsuite/tests`, or
//! `OANIX_WASI_TESTSUITE`) with scripts/serve-testsuite.py and sets `OANIX_SUITE_URL`, which
//! is what compiles this file in. It fails unless exactly the expected number of tests ran
//! and all passed.
#![cfg(all(target_arch = "wasm32", oanix_suite))]

use js_sys::{Function, Promise, Reflect, Uint8Array};
use oanix_core::browser::BrowserRunner;
use oanix_core::run::RunConfig;
use oanix_core::{FileService, FsPath, MemFs, Namespace};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const BASE: &str = env!("OANIX_SUITE_URL");

/// How many tests the suite must hold (`OANIX_SUITE_EXPECT` at build time, default 72: the
/// preview1 suite at the commit shipped in `shared/wasi-testsuite`).
fn expected_tests() -> usize {
    option_env!("OANIX_SUITE_EXPECT")
        .map(|n| n.parse().expect("OANIX_SUITE_EXPECT is a number"))
        .unwrap_or(72)
}

#[derive(Deserialize)]
struct Test {
    name: String,
    wasm: String,
    spec: Spec,
    root: Vec<Entry>,
}

#[derive(Deserialize, Default)]
struct Spec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    stdout: Option<String>,
}

#[derive(Deserialize)]
struct Entry {
    path: String,
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

async fn fetch(path: &str) -> Vec<u8> {
    let global = js_sys::global();
    let f: Function = Reflect::get(&global, &"fetch".into())
        .unwrap()
        .unchecked_into();
    let url = format!("{BASE}{path}");
    let resp = JsFuture::from(
        f.call1(&global, &url.clone().into())
            .unwrap()
            .unchecked_into::<Promise>(),
    )
    .await
    .unwrap_or_else(|e| panic!("fetch {url}: {e:?}"));
    let ab: Function = Reflect::get(&resp, &"arrayBuffer".into())
        .unwrap()
        .unchecked_into();
    let buf = JsFuture::from(ab.call0(&resp).unwrap().unchecked_into::<Promise>())
        .await
        .unwrap();
    Uint8Array::new(&buf).to_vec()
}

async fn root(entries: &[Entry]) -> MemFs {
    let fs = MemFs::new();
    for e in entries {
        let p = FsPath::parse(&e.path).unwrap();
        match e.kind.as_str() {
            "dir" => fs.mkdir(&p).unwrap(),
            "symlink" => fs.symlink(e.target.as_deref().unwrap_or(""), &p).unwrap(),
            _ => {
                let data = fetch(e.url.as_deref().unwrap()).await;
                fs.write_file(p.as_str(), &data).unwrap();
            }
        }
    }
    fs
}

#[wasm_bindgen_test]
async fn wasi_testsuite_preview1_in_the_browser() {
    let tests: Vec<Test> = serde_json::from_slice(&fetch("/manifest.json").await).unwrap();
    let runner = BrowserRunner::new();
    let mut failed = Vec::new();
    for t in &tests {
        let wasm = fetch(&t.wasm).await;
        let mut ns = Namespace::new();
        let preopens = if t.root.is_empty() {
            vec![]
        } else {
            ns.mount("/", Arc::new(root(&t.root).await)).unwrap();
            vec![("/".to_string(), "/".to_string())]
        };
        let name = t.name.rsplit('/').next().unwrap_or(&t.name).to_string();
        let cfg = RunConfig {
            args: std::iter::once(name)
                .chain(t.spec.args.iter().cloned())
                .collect(),
            env: t.spec.env.clone().into_iter().collect(),
            preopens: Some(preopens),
            timeout: Some(Duration::from_secs(20)),
            ..Default::default()
        };
        let out = runner.run(&wasm, ns, cfg).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let ok = out.exit_code == Some(t.spec.exit_code)
            && t.spec.stdout.as_deref().is_none_or(|want| stdout == want);
        if !ok {
            failed.push(format!(
                "{}: exit {:?} (want {}), error {:?}, stderr {}",
                t.name,
                out.exit_code,
                t.spec.exit_code,
                out.error.map(|e| e.to_string()),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    console_log!(
        "wasi-testsuite in the browser: {} passed, {} failed",
        tests.len() - failed.len(),
        failed.len()
    );
    assert_eq!(
        tests.len(),
        expected_tests(),
        "the suite server offered {} tests, not the expected {}",
        tests.len(),
        expected_tests()
    );
    assert!(failed.is_empty(), "\n{}", failed.join("\n"));
}
