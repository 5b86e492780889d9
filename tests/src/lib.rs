//! The guest-program cases of `tests/cases.json` and the harness that runs them on every
//! host: the OANIX shim natively (wasmtime), the wasmtime-wasi reference, and (later) the
//! browser. Each case says what to put in `/workspace`, what to run, and what must come out;
//! parity means every host produces the same stdout, stderr, exit code and `/workspace` tree.
#![forbid(unsafe_code)]

use oanix_core::run::{RunConfig, RunOutput};
use oanix_core::Follow;
use oanix_core::{wasi::InputPipe, FileService, FsPath, FsResult, MemFs};
use serde::Deserialize;
use std::collections::BTreeMap;

pub mod agent;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(not(target_arch = "wasm32"))]
pub mod netfiles;
#[cfg(not(target_arch = "wasm32"))]
pub mod nostrtest;
#[cfg(not(target_arch = "wasm32"))]
pub mod testserver;

#[cfg(target_arch = "wasm32")]
pub mod browser;

/// The guest preopen every case gets (and the only one).
pub const WORKSPACE: &str = "/workspace";

/// One run of one guest program, as written in `tests/cases.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique case name.
    pub name: String,
    /// Guest binary name (`tests/guests/src/bin/<guest>.rs`).
    pub guest: String,
    /// Arguments after argv\[0\] (which is the guest name).
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Standard input text (default: empty).
    #[serde(default)]
    pub stdin: String,
    /// Files put in `/workspace` before the run (relative path → content).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Directories created in `/workspace` before the run.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Wall-clock limit (default 20 s).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// What must come out.
    pub expect: Expect,
    /// Benchmark-only guest run (skipped by parity runs).
    #[serde(default)]
    pub bench: bool,
}

/// Expected results of a case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exit code (absent when `error` is set).
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Exact stdout.
    #[serde(default)]
    pub stdout: Option<String>,
    /// A substring stderr must contain.
    #[serde(default)]
    pub stderr_contains: Option<String>,
    /// `trap` or `timeout` when the guest must not exit normally.
    #[serde(default)]
    pub error: Option<String>,
    /// `/workspace` afterwards: `dir/` → null, file → text, symlink → `-> target`.
    #[serde(default)]
    pub tree: Option<BTreeMap<String, Option<String>>>,
}

/// What one host produced for a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Exit code, if the guest exited.
    pub exit_code: Option<i32>,
    /// `trap`, `timeout`, ... when it did not.
    pub error: Option<String>,
    /// Full host error message (not compared: hosts word them differently).
    pub error_message: Option<String>,
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// `/workspace` afterwards: `dir/` → None, file → bytes, symlink → `-> target`.
    pub tree: BTreeMap<String, Option<Vec<u8>>>,
}

impl Observed {
    /// A host's run output and the `/workspace` tree it left.
    pub fn new(out: RunOutput, tree: BTreeMap<String, Option<Vec<u8>>>) -> Self {
        Observed {
            exit_code: out.exit_code,
            error: out.error.as_ref().map(|e| e.kind().to_string()),
            error_message: out.error.as_ref().map(|e| e.to_string()),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            tree,
        }
    }
}

/// Every case in `tests/cases.json`.
pub fn cases() -> Vec<Case> {
    serde_json::from_str(include_str!("../cases.json")).expect("tests/cases.json is valid")
}

impl Case {
    /// argv as the guest sees it.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.guest.clone())
            .chain(self.args.iter().cloned())
            .collect()
    }

    /// How every host runs this case: its argv, env, stdin, the `/workspace` preopen and
    /// its timeout (default 20 s).
    pub fn config(&self) -> RunConfig {
        RunConfig {
            args: self.argv(),
            env: self.env.clone().into_iter().collect(),
            stdin: InputPipe::from_bytes(self.stdin.as_bytes().to_vec()),
            preopens: Some(vec![(WORKSPACE.into(), WORKSPACE.into())]),
            timeout: Some(std::time::Duration::from_millis(
                self.timeout_ms.unwrap_or(20_000),
            )),
            ..Default::default()
        }
    }

    /// A fresh `/workspace` holding this case's files and directories.
    pub fn workspace(&self) -> FsResult<MemFs> {
        let fs = MemFs::new();
        for d in &self.dirs {
            let mut p = FsPath::root();
            for part in d.split('/').filter(|s| !s.is_empty()) {
                p = p.join_name(part);
                if fs.stat(&p, Follow::Yes).is_err() {
                    fs.mkdir(&p)?;
                }
            }
        }
        for (path, content) in &self.files {
            fs.write_file(path, content.as_bytes())?;
        }
        Ok(fs)
    }

    /// Checks one host's results against `expect`; `Err` lists every mismatch.
    pub fn check(&self, got: &Observed) -> Result<(), String> {
        let e = &self.expect;
        let mut bad = Vec::new();
        if got.exit_code != e.exit_code {
            bad.push(format!(
                "exit code {:?}, want {:?}",
                got.exit_code, e.exit_code
            ));
        }
        if got.error != e.error {
            bad.push(format!(
                "error {:?} ({}), want {:?}",
                got.error,
                got.error_message.as_deref().unwrap_or(""),
                e.error
            ));
        }
        if let Some(want) = &e.stdout {
            if &got.stdout != want {
                bad.push(format!("stdout differs:\n{}", diff(want, &got.stdout)));
            }
        }
        if let Some(want) = &e.tree {
            let got: BTreeMap<String, Option<String>> = got
                .tree
                .iter()
                .map(|(k, v)| {
                    let text = v.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
                    (k.clone(), text)
                })
                .collect();
            if &got != want {
                bad.push(format!("/workspace tree {got:?}, want {want:?}"));
            }
        }
        if let Some(want) = &e.stderr_contains {
            if !got.stderr.contains(want.as_str()) {
                bad.push(format!("stderr {:?} lacks {want:?}", got.stderr));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad.join("\n"))
        }
    }
}

/// Compares two hosts' results for parity; `Err` lists every difference.
pub fn parity(a_name: &str, a: &Observed, b_name: &str, b: &Observed) -> Result<(), String> {
    let mut bad = Vec::new();
    if a.exit_code != b.exit_code || a.error != b.error {
        bad.push(format!(
            "outcome: {a_name} {:?}/{:?}, {b_name} {:?}/{:?}",
            a.exit_code, a.error, b.exit_code, b.error
        ));
    }
    if a.stdout != b.stdout {
        bad.push(format!(
            "stdout ({b_name} vs {a_name}):\n{}",
            diff(&a.stdout, &b.stdout)
        ));
    }
    if a.stderr != b.stderr {
        bad.push(format!(
            "stderr ({b_name} vs {a_name}):\n{}",
            diff(&a.stderr, &b.stderr)
        ));
    }
    if a.tree != b.tree {
        let keys: std::collections::BTreeSet<_> = a.tree.keys().chain(b.tree.keys()).collect();
        for k in keys {
            let (x, y) = (a.tree.get(k), b.tree.get(k));
            if x != y {
                bad.push(format!(
                    "tree {k}: {a_name} {}, {b_name} {}",
                    describe(x),
                    describe(y)
                ));
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n"))
    }
}

fn describe(e: Option<&Option<Vec<u8>>>) -> String {
    match e {
        None => "absent".into(),
        Some(None) => "directory".into(),
        Some(Some(b)) if b.len() <= 60 => format!("{:?}", String::from_utf8_lossy(b)),
        Some(Some(b)) => format!("{} bytes", b.len()),
    }
}

/// A line diff small enough to read in a test failure: `-want` / `+got` lines.
pub fn diff(want: &str, got: &str) -> String {
    let w: Vec<&str> = want.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => {
                if let Some(a) = a {
                    out.push_str(&format!("  -{a}\n"));
                }
                if let Some(b) = b {
                    out.push_str(&format!("  +{b}\n"));
                }
            }
        }
    }
    if out.is_empty() && want != got {
        out.push_str("  (line endings or trailing newline differ)\n");
    }
    out
}

/// The tree under `/workspace`-like root `at` of any service, for [`Observed::tree`].
pub fn service_tree(
    fs: &dyn FileService,
    at: &FsPath,
) -> FsResult<BTreeMap<String, Option<Vec<u8>>>> {
    let mut out = BTreeMap::new();
    walk(fs, at, "", &mut out)?;
    Ok(out)
}

fn walk(
    fs: &dyn FileService,
    dir: &FsPath,
    rel: &str,
    out: &mut BTreeMap<String, Option<Vec<u8>>>,
) -> FsResult<()> {
    for e in fs.readdir(dir)? {
        let path = dir.join_name(&e.name);
        let rel = format!("{rel}{}", e.name);
        match e.kind {
            oanix_core::FileKind::Dir => {
                out.insert(format!("{rel}/"), None);
                walk(fs, &path, &format!("{rel}/"), out)?;
            }
            oanix_core::FileKind::Symlink => {
                let t = fs.readlink(&path)?;
                out.insert(rel, Some(format!("-> {t}").into_bytes()));
            }
            _ => {
                let h = fs.open(&path, &oanix_core::OpenOptions::read())?;
                out.insert(rel, Some(oanix_core::service::read_all(h.as_ref())?));
            }
        }
    }
    Ok(())
}
