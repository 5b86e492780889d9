//! The import table (`oanix_core::wasi::FUNCS`) checked against an outside authority, not
//! against itself: the set of `wasi_snapshot_preview1` functions wasmtime-wasi defines, with
//! their exact core wasm signatures. And every one of those calls is imported by at least one
//! test guest (tests/guests or tests/wat), so none is claimed without a program exercising it.

use oanix_core::wasi::{FuncSpec, Ty, FUNCS, MODULE};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use wasmtime::{Config, Engine, Linker, Module, Store, ValType};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::WasiCtxBuilder;

type Sig = (Vec<&'static str>, Vec<&'static str>);

fn name(t: &ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
        ValType::F32 => "f32",
        ValType::F64 => "f64",
        _ => "other",
    }
}

/// What wasmtime-wasi's preview1 linker defines: import name → (params, results).
fn wasmtime_wasi_imports() -> BTreeMap<String, Sig> {
    let engine = Engine::new(&Config::new()).unwrap();
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_async(&mut linker, |t| t).unwrap();
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build_p1());
    let defined: Vec<_> = linker
        .iter(&mut store)
        .map(|(m, f, ext)| (m.to_string(), f.to_string(), ext))
        .collect();
    let mut out = BTreeMap::new();
    for (module, func, ext) in defined {
        if module != MODULE {
            continue;
        }
        let ty = ext.ty(&store);
        let f = ty.func().expect("preview1 imports are functions");
        out.insert(
            func,
            (
                f.params().map(|t| name(&t)).collect(),
                f.results().map(|t| name(&t)).collect(),
            ),
        );
    }
    out
}

fn ours() -> BTreeMap<String, Sig> {
    FUNCS
        .iter()
        .map(
            |&FuncSpec {
                 name: n,
                 params,
                 returns_errno,
                 ..
             }| {
                let params = params
                    .iter()
                    .map(|t| match t {
                        Ty::I32 => "i32",
                        Ty::I64 => "i64",
                    })
                    .collect();
                let results = if returns_errno { vec!["i32"] } else { vec![] };
                (n.to_string(), (params, results))
            },
        )
        .collect()
}

#[test]
fn the_import_table_matches_wasmtime_wasi() {
    let theirs = wasmtime_wasi_imports();
    let ours = ours();
    assert!(theirs.len() >= 45, "wasmtime-wasi defines {}", theirs.len());
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "wasmtime-wasi defines, we lack: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "we define, wasmtime-wasi does not: {extra:?}"
    );
    for (n, sig) in &theirs {
        assert_eq!(&ours[n], sig, "signature of {n}");
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

#[test]
fn every_call_is_imported_by_a_test_guest() {
    let engine = Engine::default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut modules: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(root.join("tests/guests/src/bin")).unwrap() {
        let e = e.unwrap();
        let n = e.file_name().to_string_lossy().replace(".rs", "");
        let p = target_dir().join(format!("wasm32-wasip1/release/{n}.wasm"));
        let bytes = std::fs::read(&p).unwrap_or_else(|err| {
            panic!(
                "guest {} not built ({err}): ./scripts/dev.sh guests",
                p.display()
            )
        });
        modules.push((n, bytes));
    }
    for e in std::fs::read_dir(root.join("tests/wat")).unwrap() {
        let p = e.unwrap().path();
        modules.push((
            p.display().to_string(),
            // wasmtime compiles WAT text as well as binaries.
            std::fs::read(&p).unwrap(),
        ));
    }
    let mut imported = BTreeSet::new();
    for (n, bytes) in &modules {
        let m = Module::new(&engine, bytes).unwrap_or_else(|e| panic!("{n}: {e}"));
        for i in m.imports() {
            if i.module() == MODULE {
                imported.insert(i.name().to_string());
            }
        }
    }
    let uncovered: Vec<_> = FUNCS
        .iter()
        .map(|f| f.name)
        .filter(|n| !imported.contains(*n))
        .collect();
    assert!(
        uncovered.is_empty(),
        "no test guest imports: {uncovered:?} ({} modules looked at)",
        modules.len()
    );
}
