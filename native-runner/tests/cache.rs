//! The compiled-module cache on disk: a second run (another Runner, another process) skips
//! compilation; truncated, corrupt or misplaced entries are recompiled; concurrent runs
//! filling the cache leave it valid; `--no-cache` bypasses it.

use oanix_core::Namespace;
use oanix_native_runner::{DiskCache, RunConfig, Runner};
use std::path::PathBuf;
use std::process::Command;

const HELLO: &str = include_str!("../../tests/wat/hello.wat");
const OANIX: &str = env!("CARGO_BIN_EXE_oanix");

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oanix-cache-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A fresh runner on `dir` (as a new process would be) running `module`; returns
/// (stdout, compiles, disk hits).
fn run_once(dir: &PathBuf, module: &[u8]) -> (Vec<u8>, u64, u64) {
    let r = Runner::new().unwrap().with_disk_cache(DiskCache::new(dir));
    let out = r.run(module, Namespace::new(), RunConfig::default());
    assert_eq!(out.exit_code, Some(0), "{:?}", out.error);
    (out.stdout, r.compile_count(), r.disk_hit_count())
}

fn entry(dir: &PathBuf, module: &[u8]) -> PathBuf {
    let r = Runner::new().unwrap();
    DiskCache::new(dir).entry_path(r.engine(), module)
}

#[test]
fn second_run_loads_the_compiled_module() {
    let dir = tempdir("second");
    assert_eq!(run_once(&dir, HELLO.as_bytes()), (b"hi\n".to_vec(), 1, 0));
    assert!(entry(&dir, HELLO.as_bytes()).exists());
    assert_eq!(run_once(&dir, HELLO.as_bytes()), (b"hi\n".to_vec(), 0, 1));
    // Another module is another entry, never the first one's code.
    let other = HELLO.replace("hi\\n", "ho\\n");
    assert_eq!(run_once(&dir, other.as_bytes()), (b"ho\n".to_vec(), 1, 0));
    assert_eq!(run_once(&dir, HELLO.as_bytes()), (b"hi\n".to_vec(), 0, 1));
}

#[test]
fn truncated_or_corrupt_entries_are_recompiled() {
    let dir = tempdir("corrupt");
    let m = HELLO.as_bytes();
    run_once(&dir, m);
    let path = entry(&dir, m);
    let good = std::fs::read(&path).unwrap();
    // Truncated (a crash mid-write by some other tool): recompiled and rewritten.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    assert_eq!(run_once(&dir, m), (b"hi\n".to_vec(), 1, 0));
    assert_eq!(std::fs::read(&path).unwrap().len(), good.len());
    assert_eq!(run_once(&dir, m), (b"hi\n".to_vec(), 0, 1));
    // One flipped bit in the code.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(run_once(&dir, m), (b"hi\n".to_vec(), 1, 0));
    // Another module's valid entry copied over this one's.
    let other = HELLO.replace("hi\\n", "ho\\n");
    run_once(&dir, other.as_bytes());
    std::fs::copy(entry(&dir, other.as_bytes()), &path).unwrap();
    assert_eq!(run_once(&dir, m), (b"hi\n".to_vec(), 1, 0));
    // Empty file.
    std::fs::write(&path, b"").unwrap();
    assert_eq!(run_once(&dir, m), (b"hi\n".to_vec(), 1, 0));
}

fn cli(dir: &PathBuf, extra: &[&str]) -> std::process::Output {
    let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/wat/hello.wat");
    Command::new(OANIX)
        .arg("run")
        .args(extra)
        .arg(hello)
        .env("OANIX_CACHE_DIR", dir)
        .env("OANIX_LOG", "cache")
        .output()
        .unwrap()
}

#[test]
fn cli_runs_hit_the_cache_and_concurrent_fills_do_not_corrupt_it() {
    let dir = tempdir("cli");
    // Two processes fill the empty cache at the same time.
    let spawn = || {
        let hello = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/wat/hello.wat");
        Command::new(OANIX)
            .arg("run")
            .arg(hello)
            .env("OANIX_CACHE_DIR", &dir)
            .env("OANIX_LOG", "cache")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(out.stdout, b"hi\n");
    }
    // One valid entry, no leftovers.
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let out = cli(&dir, &[]);
    assert_eq!(out.stdout, b"hi\n");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("module cache hit"), "{log}");
    // --no-cache neither reads nor writes it.
    let out = cli(&dir, &["--no-cache"]);
    assert_eq!(out.stdout, b"hi\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("module cache off"));
    let empty = tempdir("nocache");
    let out = cli(&empty, &["--no-cache"]);
    assert!(out.status.success());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

/// The in-memory cache is bounded (a provider fed modules by strangers must not grow
/// without end): the least recently used module goes first, and is compiled again when
/// it is needed again.
#[test]
fn the_memory_cache_keeps_the_most_recently_used_modules() {
    use oanix_native_runner::MEMORY_CACHED_MODULES;
    let r = Runner::new().unwrap();
    let module = |i: usize| {
        let name: String = [i / 26, i % 26]
            .iter()
            .map(|d| (b'a' + *d as u8) as char)
            .collect();
        HELLO.replace("hi\\n", &format!("{name}\\n"))
    };
    let first = module(0);
    for i in 1..MEMORY_CACHED_MODULES + 8 {
        r.module(module(i).as_bytes()).unwrap();
        r.module(first.as_bytes()).unwrap(); // kept in use
    }
    assert_eq!(r.cached_modules(), MEMORY_CACHED_MODULES);
    let compiles = r.compile_count();
    r.module(first.as_bytes()).unwrap();
    assert_eq!(
        r.compile_count(),
        compiles,
        "the module in use stays compiled"
    );
    let out = r.run(module(1).as_bytes(), Namespace::new(), RunConfig::default());
    assert_eq!(
        r.compile_count(),
        compiles + 1,
        "an evicted one is compiled again"
    );
    assert_eq!(out.stdout, b"ab\n");
    assert_eq!(r.cached_modules(), MEMORY_CACHED_MODULES);
}
