#![cfg(not(target_arch = "wasm32"))]
//! `oanix_core::instrument` on real programs: every guest of tests/guests and the WASI
//! testsuite's modules run on wasmtime + wasmtime-wasi twice, as built and instrumented,
//! with an `oanix.tick` host function that counts its calls. Both runs must agree on
//! stdout, stderr, how they ended and the resulting directory tree; the instrumented module
//! must validate; a CPU-bound guest must tick; a guest spinning forever is stopped by a
//! tick that traps.

use oanix_core::instrument::{
    instrument, instrument_with_chunk, DEFAULT_BUDGET, LOOP_CHUNK, TICK_MODULE, TICK_NAME,
    WAIT_NAME,
};
use oanix_core::FsPath;
use oanix_native_runner::hostfs;
use oanix_tests::{cases, native, Case, WORKSPACE};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use wasmtime::{Caller, Config, Engine, Linker, Module, Store, Trap, Val};
use wasmtime_wasi::p1::{self, WasiP1Ctx};
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};
use wasmtime_wasi::{Deterministic, FsPerms, I32Exit, WasiCtxBuilder};

/// Per-store data: WASI, the tick count, and after how many ticks the wait traps.
struct St {
    wasi: WasiP1Ctx,
    ticks: u64,
    stop_after: Option<u64>,
}

/// The error the wait returns to stop a guest.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped by oanix.wait")
    }
}

impl std::error::Error for Stopped {}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// `proc_exit` or a return from `_start` (0).
    Exit(i32),
    /// A wasm trap (its code: the message and backtrace differ between the two builds).
    Trap(Trap),
    /// The tick stopped it.
    Stopped,
    /// Anything else (link errors, ...): the root cause's message.
    Other(String),
}

/// What one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    end: End,
    /// The preopened directory afterwards (path → contents, `None` for directories).
    tree: BTreeMap<String, Option<Vec<u8>>>,
}

/// Fills a fresh host directory before a run.
type Fill<'a> = &'a dyn Fn(&Path);

/// One guest invocation: argv, env, stdin and a host directory preopened under a name.
struct Invocation<'a> {
    argv: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Vec<u8>,
    /// Copied fresh for each run, then preopened as `preopen.1`.
    preopen: Option<(Fill<'a>, &'a str)>,
    stop_after: Option<u64>,
}

/// One engine with an epoch ticker (a run that hangs fails after 60 s instead of hanging
/// the test), and a linker with WASI preview1 and `oanix.tick`.
struct Host {
    engine: Engine,
    linker: Linker<St>,
    /// Compiled modules by their bytes (cases share guests).
    modules: Mutex<HashMap<Vec<u8>, Module>>,
}

impl Host {
    fn module(&self, wasm: &[u8]) -> Module {
        let mut m = self.modules.lock().unwrap();
        if let Some(module) = m.get(wasm) {
            return module.clone();
        }
        let module = Module::new(&self.engine, wasm).expect("compile");
        m.insert(wasm.to_vec(), module.clone());
        module
    }
}

fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut cfg = Config::new();
        cfg.epoch_interruption(true);
        // Compile fast (the test builds of Cranelift are unoptimised): these tests are
        // about behaviour, not speed.
        cfg.cranelift_opt_level(wasmtime::OptLevel::None);
        let engine = Engine::new(&cfg).expect("engine");
        let e = engine.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(100));
            e.increment_epoch();
        });
        let mut linker = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |s: &mut St| &mut s.wasi).expect("wasi");
        // As the browser host does: the tick answers 1 when the guest must call the wait
        // (here every third tick, and once the stop is due), and the wait stops it.
        linker
            .func_wrap(
                TICK_MODULE,
                TICK_NAME,
                |mut caller: Caller<'_, St>| -> i32 {
                    let s = caller.data_mut();
                    s.ticks += 1;
                    let stop = s.stop_after.is_some_and(|n| s.ticks >= n);
                    i32::from(stop || s.ticks.is_multiple_of(3))
                },
            )
            .expect("tick");
        linker
            .func_wrap(
                TICK_MODULE,
                WAIT_NAME,
                |mut caller: Caller<'_, St>| -> wasmtime::Result<i32> {
                    let s = caller.data_mut();
                    match s.stop_after {
                        Some(n) if s.ticks >= n => Err(Stopped.into()),
                        _ => Ok(0),
                    }
                },
            )
            .expect("wait");
        Host {
            engine,
            linker,
            modules: Mutex::default(),
        }
    })
}

/// 4 KiB of xorshift bytes: the same "random" stream for every run.
fn noise() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Runs `wasm`; returns the outcome and the number of ticks.
fn run(wasm: &[u8], inv: &Invocation<'_>) -> (Outcome, u64) {
    let h = host();
    let module = h.module(wasm);
    let dir = native::temp_dir("instr");
    let stdout = MemoryOutputPipe::new(64 << 20);
    let stderr = MemoryOutputPipe::new(64 << 20);
    let mut b = WasiCtxBuilder::new();
    // Deterministic randomness: guests seed hash maps from `random_get`, and a map printed
    // in a different order must not look like a difference between the two builds.
    b.args(&inv.argv)
        .secure_random(Deterministic::new(noise()))
        .insecure_random(Deterministic::new(noise()))
        .insecure_random_seed(0x0a11_5eed)
        .stdin(MemoryInputPipe::new(inv.stdin.clone()))
        .stdout(stdout.clone())
        .stderr(stderr.clone());
    for (k, v) in &inv.env {
        b.env(k, v);
    }
    if let Some((fill, name)) = &inv.preopen {
        fill(dir.path());
        b.preopened_dir(dir.path(), name, FsPerms::ReadWrite)
            .expect("preopen");
    }
    let mut store = Store::new(
        &h.engine,
        St {
            wasi: b.build_p1(),
            ticks: 0,
            stop_after: inv.stop_after,
        },
    );
    store.set_epoch_deadline(600);
    let result = h.linker.instantiate(&mut store, &module).and_then(|i| {
        i.get_typed_func::<(), ()>(&mut store, "_start")?
            .call(&mut store, ())
    });
    let end = match result {
        Ok(()) => End::Exit(0),
        Err(e) => {
            if let Some(I32Exit(code)) = e.downcast_ref::<I32Exit>() {
                End::Exit(*code)
            } else if e.downcast_ref::<Stopped>().is_some() {
                End::Stopped
            } else if let Some(t) = e.downcast_ref::<Trap>() {
                End::Trap(*t)
            } else {
                End::Other(format!("{}", e.root_cause()))
            }
        }
    };
    let tree = hostfs::dump_host_dir(dir.path()).expect("read the directory back");
    let ticks = store.data().ticks;
    let out = Outcome {
        stdout: stdout.contents().to_vec(),
        stderr: stderr.contents().to_vec(),
        end,
        tree,
    };
    (out, ticks)
}

/// Validates like `instrument` does.
fn validate(wasm: &[u8]) {
    wasmparser::Validator::new_with_features(
        wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::LEGACY_EXCEPTIONS,
    )
    .validate_all(wasm)
    .unwrap_or_else(|e| panic!("instrumented module does not validate: {e}"));
}

/// Instruments `wasm`, checks the output validates, runs both; returns (original,
/// instrumented, ticks of the instrumented run). The original run must not tick.
fn both(wasm: &[u8], budget: u32, inv: &Invocation<'_>) -> (Outcome, Outcome, u64) {
    both_chunked(wasm, budget, LOOP_CHUNK, inv)
}

/// [`both`] with `chunk` loop iterations per fuel unit.
fn both_chunked(
    wasm: &[u8],
    budget: u32,
    chunk: u32,
    inv: &Invocation<'_>,
) -> (Outcome, Outcome, u64) {
    let t = std::time::Instant::now();
    let inst = instrument_with_chunk(wasm, budget, chunk).expect("instrument");
    validate(&inst);
    let (orig, zero) = run(wasm, inv);
    assert_eq!(zero, 0, "the original module has no tick import");
    let (new, ticks) = run(&inst, inv);
    eprintln!(
        "     {:?}: {} ({} bytes)",
        t.elapsed(),
        inv.argv[0],
        wasm.len()
    );
    (orig, new, ticks)
}

fn show(o: &Outcome) -> String {
    format!(
        "end {:?}\nstdout {:?}\nstderr {:?}\ntree {:?}",
        o.end,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        o.tree.keys().collect::<Vec<_>>()
    )
}

/// A case's `/workspace` written into `dir`.
fn case_files(case: &Case) -> impl Fn(&Path) + '_ {
    move |dir: &Path| {
        let ws = case.workspace().expect("case workspace");
        hostfs::write_back(&ws, &FsPath::root(), dir).expect("materialise /workspace");
    }
}

/// The guest binaries of tests/guests (src/bin/*.rs).
fn guest_names() -> Vec<String> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests/src/bin");
    let mut names: Vec<String> = std::fs::read_dir(&bin)
        .expect("tests/guests/src/bin")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_guest_behaves_the_same_instrumented() {
    let all = cases();
    let mut failures = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    let mut cpu_ticks = None;
    // Each case of tests/cases.json (the spinning guest has its own test)...
    for case in all.iter().filter(|c| c.guest != "infinite_loop") {
        let bytes = native::guest_bytes(&case.guest);
        let fill = case_files(case);
        let inv = Invocation {
            argv: case.argv(),
            env: case.env.clone().into_iter().collect(),
            stdin: case.stdin.as_bytes().to_vec(),
            preopen: Some((&fill, WORKSPACE)),
            stop_after: None,
        };
        let (orig, new, ticks) = both(&bytes, DEFAULT_BUDGET, &inv);
        covered.insert(case.guest.clone());
        if case.guest == "cpu_bound" {
            cpu_ticks = Some(ticks);
        }
        if orig != new {
            failures.push(format!(
                "== {}\n-- original\n{}\n-- instrumented\n{}",
                case.name,
                show(&orig),
                show(&new)
            ));
        } else {
            eprintln!("ok   {} ({ticks} ticks, {:?})", case.name, orig.end);
        }
    }
    // ...and the guests no case runs, with no arguments and an empty /workspace.
    let empty = |_: &Path| {};
    for guest in guest_names() {
        if covered.contains(&guest) || guest == "infinite_loop" {
            continue;
        }
        let bytes = native::guest_bytes(&guest);
        let inv = Invocation {
            argv: vec![guest.clone()],
            env: Vec::new(),
            stdin: Vec::new(),
            preopen: Some((&empty, WORKSPACE)),
            stop_after: None,
        };
        let (orig, new, ticks) = both(&bytes, DEFAULT_BUDGET, &inv);
        if orig != new {
            failures.push(format!(
                "== {guest}\n-- original\n{}\n-- instrumented\n{}",
                show(&orig),
                show(&new)
            ));
        } else {
            eprintln!("ok   {guest} ({ticks} ticks, {:?})", orig.end);
        }
        covered.insert(guest);
    }
    covered.insert("infinite_loop".into());
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    assert_eq!(
        covered.into_iter().collect::<Vec<_>>(),
        guest_names(),
        "every guest must run"
    );
    let cpu_ticks = cpu_ticks.expect("tests/cases.json runs cpu_bound");
    assert!(cpu_ticks > 0, "cpu_bound must tick");
}

#[test]
fn a_trapping_tick_stops_a_spinning_guest() {
    let bytes = native::guest_bytes("infinite_loop");
    let empty = |_: &Path| {};
    for (budget, stop_after) in [(DEFAULT_BUDGET, 20), (1, 1000), (10_000, 3)] {
        let inst = instrument(&bytes, budget).expect("instrument");
        validate(&inst);
        let inv = Invocation {
            argv: vec!["infinite_loop".into()],
            env: Vec::new(),
            stdin: Vec::new(),
            preopen: Some((&empty, WORKSPACE)),
            stop_after: Some(stop_after),
        };
        let (out, ticks) = run(&inst, &inv);
        assert_eq!(out.end, End::Stopped, "{}", show(&out));
        assert_eq!(ticks, stop_after);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "looping\n");
    }
}

#[test]
fn bulk_operations_tick_in_proportion_to_their_length() {
    // Ten `memory.fill`s (or `memory.copy`s) of `len` bytes in one activation: ten loop
    // iterations spend no unit (the chunk is 100), so every tick comes from the fills,
    // each charged `len >> 12` units before it runs. Before bulk operations were charged,
    // none of these runs ticked at all: a loop of 1 GiB fills ran 100,000 of them between
    // two ticks.
    for op in [
        "memory.fill (i32.const 0) (i32.const 7)",
        "memory.copy (i32.const 0) (i32.const 0)",
    ] {
        for (len, budget, want) in [
            // 256 units each: fuel 1000 - 1 (entry) - 4 x 256 < 0 at the 4th, then again
            // at the 8th: 2 ticks.
            (1u32 << 20, 1000, 2),
            // Each fill is a budget or more: a tick before every one.
            (1 << 20, 256, 10),
            (1 << 20, 100, 10),
            // Under 4 KiB a fill is free.
            (4095, 2, 0),
        ] {
            let wasm = wat::parse_str(format!(
                r#"(module
                  (memory (export "memory") 16)
                  (func (export "_start") (local $i i32)
                    (loop $l
                      ({op} (i32.const {len}))
                      (local.set $i (i32.add (local.get $i) (i32.const 1)))
                      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))))"#
            ))
            .unwrap();
            let inv = Invocation {
                argv: vec!["fill".into()],
                env: Vec::new(),
                stdin: Vec::new(),
                preopen: None,
                stop_after: None,
            };
            let (orig, new, ticks) = both(&wasm, budget, &inv);
            assert_eq!(orig, new);
            assert_eq!(orig.end, End::Exit(0));
            assert_eq!(ticks, want, "{op}, len {len}, budget {budget}");
        }
    }
}

#[test]
fn ticks_come_exactly_every_budget_units() {
    // One function entry (one unit), then `n` loop iterations in that activation (a unit
    // every `chunk` of them): (1 + n / chunk) / budget ticks.
    let wasm = wat::parse_str(
        r#"(module
          (func (export "_start") (local $i i32)
            (loop $l
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))))"#,
    )
    .unwrap();
    let inv = Invocation {
        argv: vec!["count".into()],
        env: Vec::new(),
        stdin: Vec::new(),
        preopen: None,
        stop_after: None,
    };
    for (budget, chunk, want) in [
        // Every iteration a unit: 1001 units.
        (1, 1, 1001),
        (10, 1, 100),
        (7, 1, 143),
        (1001, 1, 1),
        (1002, 1, 0),
        // 1 + 100 units.
        (1, 10, 101),
        (10, 10, 10),
        (102, 10, 0),
        // 1 + 7 units (1000 / 128): the 104 iterations left over spend nothing.
        (1, 128, 8),
        (4, 128, 2),
        // The default chunk: 1 + 10 units.
        (1, LOOP_CHUNK, 11),
        (11, LOOP_CHUNK, 1),
    ] {
        let (orig, new, ticks) = both_chunked(&wasm, budget, chunk, &inv);
        assert_eq!(orig, new);
        assert_eq!(ticks, want, "budget {budget}, chunk {chunk}");
    }
    // 1 entry of `_start` and 51 iterations of its loop; 50 entries of `f`, each activation
    // with 2 loop iterations counted from a fresh counter.
    let wasm = wat::parse_str(
        r#"(module
          (func $f (local $i i32)
            (loop $l
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 2)))))
          (func (export "_start") (local $n i32)
            (block $done (loop $l
              (br_if $done (i32.ge_u (local.get $n) (i32.const 50)))
              (call $f)
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (br $l)))))"#,
    )
    .unwrap();
    for (budget, chunk, want) in [
        // Every check a unit: 51 entries + 51 + 50 * 2 iterations.
        (1, 1, 202),
        (101, 1, 2),
        // 51 entries, 25 units of `_start`'s loop, 1 unit per `f` activation.
        (1, 2, 126),
        (2, 2, 63),
        // 51 entries, 17 units of `_start`'s loop; `f`'s 2 iterations never make a unit
        // (activations do not add up).
        (1, 3, 68),
        (4, 3, 17),
        (69, 3, 0),
    ] {
        let (orig, new, ticks) = both_chunked(&wasm, budget, chunk, &inv);
        assert_eq!(orig, new);
        assert_eq!(ticks, want, "budget {budget}, chunk {chunk}");
    }
    // A recursion without loops ticks from its entries alone: 1 + 100 entries.
    let wasm = wat::parse_str(
        r#"(module
          (func $down (param $n i32)
            (if (local.get $n) (then (call $down (i32.sub (local.get $n) (i32.const 1))))))
          (func (export "_start") (call $down (i32.const 99))))"#,
    )
    .unwrap();
    let (_, _, ticks) = both(&wasm, 10, &inv);
    assert_eq!(ticks, 10);
}

/// The module of core/tests/instrument.rs: every way to refer to a function.
const RICH: &str = include_str!("../../core/tests/data/rich.wat");

/// Calls every export of RICH (and reads its globals and table) on an instance of `wasm`.
fn rich_results(wasm: &[u8]) -> (Vec<String>, u64) {
    let h = host();
    let module = Module::new(&h.engine, wasm).expect("compile");
    let mut linker: Linker<St> = Linker::new(&h.engine);
    let log = Arc::new(AtomicBool::new(false));
    let logged = log.clone();
    linker
        .func_wrap("env", "log", move |x: i32| {
            assert_eq!(x, 1);
            logged.store(true, Ordering::SeqCst);
        })
        .unwrap();
    linker.func_wrap("env", "id", |x: i32| x).unwrap();
    linker
        .func_wrap(TICK_MODULE, TICK_NAME, |mut c: Caller<'_, St>| {
            c.data_mut().ticks += 1;
            i32::from(c.data().ticks.is_multiple_of(2))
        })
        .unwrap();
    linker.func_wrap(TICK_MODULE, WAIT_NAME, || 0i32).unwrap();
    let mut store = Store::new(
        &h.engine,
        St {
            wasi: WasiCtxBuilder::new().build_p1(),
            ticks: 0,
            stop_after: None,
        },
    );
    store.set_epoch_deadline(600);
    let g = wasmtime::Global::new(
        &mut store,
        wasmtime::GlobalType::new(wasmtime::ValType::I32, wasmtime::Mutability::Const),
        Val::I32(42),
    )
    .unwrap();
    linker.define(&store, "env", "g", g).unwrap();
    let mem = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None)).unwrap();
    linker.define(&store, "env", "mem", mem).unwrap();
    let inst = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    assert!(log.load(Ordering::SeqCst), "the start function ran");
    let mut out = Vec::new();
    let call1 = |store: &mut Store<St>, name: &str, x: i32| -> i32 {
        inst.get_typed_func::<i32, i32>(&mut *store, name)
            .unwrap()
            .call(&mut *store, x)
            .unwrap()
    };
    for x in [0, 1, 5, 10] {
        out.push(format!("fact({x}) = {}", call1(&mut store, "fact", x)));
        out.push(format!("sum({x}) = {}", call1(&mut store, "sum", x)));
        out.push(format!(
            "via_ref({x}) = {}",
            call1(&mut store, "via_ref", x)
        ));
        out.push(format!("tail({x}) = {}", call1(&mut store, "tail", x)));
        out.push(format!(
            "id_again({x}) = {}",
            call1(&mut store, "id_again", x)
        ));
        for slot in 0..3 {
            let r = inst
                .get_typed_func::<(i32, i32), i32>(&mut store, "indirect")
                .unwrap()
                .call(&mut store, (slot, x))
                .unwrap();
            out.push(format!("indirect({slot}, {x}) = {r}"));
        }
    }
    let nested = inst
        .get_typed_func::<(), i32>(&mut store, "nested")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    out.push(format!("nested() = {nested}"));
    let counter = inst
        .get_global(&mut store, "counter")
        .unwrap()
        .get(&mut store);
    out.push(format!("counter = {:?}", counter.i32()));
    // The table's funcref in slot 0 is `fact`: calling it through the table's Func works.
    let table = inst.get_table(&mut store, "table").unwrap();
    let f = table.get(&mut store, 0).unwrap();
    let f = f.as_func().unwrap().unwrap();
    let mut res = [Val::I32(0)];
    f.call(&mut store, &[Val::I32(4)], &mut res).unwrap();
    out.push(format!("table[0](4) = {:?}", res[0].i32()));
    (out, store.data().ticks)
}

#[test]
fn rich_module_computes_the_same_instrumented() {
    let orig = wat::parse_str(RICH).unwrap();
    let (want, zero) = rich_results(&orig);
    assert_eq!(zero, 0);
    assert!(want.contains(&"fact(5) = 120".to_string()), "{want:?}");
    assert!(want.contains(&"counter = Some(42)".to_string()), "{want:?}");
    let mut every_unit = Vec::new();
    for (budget, chunk) in [
        (1, 1),
        (3, 2),
        (1, LOOP_CHUNK),
        (DEFAULT_BUDGET, LOOP_CHUNK),
    ] {
        let inst = instrument_with_chunk(&orig, budget, chunk).unwrap();
        validate(&inst);
        let (got, ticks) = rich_results(&inst);
        assert_eq!(got, want, "budget {budget}, chunk {chunk}");
        if budget == 1 {
            every_unit.push(ticks);
        }
    }
    // Every check ticks with chunk 1; with the default chunk only the entries and every
    // 100th iteration of an activation do (the loops here run a few iterations each).
    let [per_check, per_chunk] = every_unit[..] else {
        unreachable!()
    };
    assert!(per_check > 100, "{per_check} ticks");
    assert!(0 < per_chunk && per_chunk < per_check, "{per_chunk} ticks");
}

/// The WASI testsuite's `tests` directory: `OANIX_WASI_TESTSUITE`, or
/// `shared/wasi-testsuite/tests` next to the checkout or one of its parents.
fn suite_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("OANIX_WASI_TESTSUITE") {
        return Some(PathBuf::from(d));
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent()?;
    repo.ancestors()
        .skip(1)
        .map(|a| a.join("shared/wasi-testsuite/tests"))
        .find(|d| d.is_dir())
}

/// Copies a directory tree (files, directories and symlinks).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ty = e.file_type().unwrap();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[derive(serde::Deserialize, Default)]
struct SuiteSpec {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    root: Option<String>,
    #[serde(default)]
    exit_code: i32,
    #[serde(default)]
    stdout: Option<String>,
}

/// The Rust suite modules run: the most ticks (fd_readdir, big_random_buf), hash maps
/// printed (poll_oneoff_stdio), and the file-system heavy ones.
const RUST_SELECTION: &[&str] = &[
    "big_random_buf",
    "close_preopen",
    "dangling_symlink",
    "dir_fd_op_failures",
    "fd_readdir",
    "file_pread_pwrite",
    "interesting_paths",
    "path_link",
    "path_open_preopen",
    "path_rename",
    "poll_oneoff_stdio",
    "remove_directory_trailing_slashes",
    "stdio",
    "symlink_loop",
];

#[test]
fn wasi_testsuite_behaves_the_same_instrumented() {
    let Some(suite) = suite_dir() else {
        eprintln!(
            "!!! no wasi-testsuite (../shared/wasi-testsuite/tests or OANIX_WASI_TESTSUITE): \
             the testsuite part of the instrumentation test did not run"
        );
        return;
    };
    let mut wasms: Vec<PathBuf> = std::fs::read_dir(&suite)
        .expect("suite dir")
        .flat_map(|lang| {
            let dir = lang.unwrap().path().join("testsuite/wasm32-wasip1");
            std::fs::read_dir(dir).into_iter().flatten()
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    wasms.sort();
    assert!(wasms.len() >= 50, "only {} suite modules", wasms.len());
    // All the AssemblyScript and C modules, and a selection of the Rust ones (each module
    // compiles twice with a debug build of Cranelift, the slow part of this test).
    wasms.retain(|w| {
        let lang = w.strip_prefix(&suite).unwrap().components().next().unwrap();
        let stem = w.file_stem().unwrap().to_string_lossy();
        lang.as_os_str() != "rust" || RUST_SELECTION.contains(&stem.as_ref())
    });
    assert_eq!(
        wasms.len(),
        wasms
            .iter()
            .filter(|w| !w.starts_with(suite.join("rust")))
            .count()
            + RUST_SELECTION.len(),
        "a selected Rust suite module is missing"
    );
    let mut failures = Vec::new();
    for wasm in &wasms {
        let name = wasm.strip_prefix(&suite).unwrap().display().to_string();
        let spec: SuiteSpec = std::fs::read(wasm.with_extension("json"))
            .map(|j| serde_json::from_slice(&j).expect("suite spec"))
            .unwrap_or_default();
        let folder = wasm.parent().unwrap();
        let fill = |dir: &Path| {
            if let Some(root) = &spec.root {
                copy_tree(&folder.join(root), dir);
            }
        };
        let inv = Invocation {
            argv: std::iter::once(wasm.file_stem().unwrap().to_string_lossy().into_owned())
                .chain(spec.args.iter().cloned())
                .collect(),
            env: spec.env.clone().into_iter().collect(),
            stdin: Vec::new(),
            preopen: spec.root.as_ref().map(|_| (&fill as Fill<'_>, "/")),
            stop_after: None,
        };
        let bytes = std::fs::read(wasm).unwrap();
        // A small budget: the checks and ticks run often even in these short programs.
        let (orig, new, ticks) = both(&bytes, 100, &inv);
        let mut problems = Vec::new();
        if orig != new {
            problems.push(format!(
                "-- original\n{}\n-- instrumented\n{}",
                show(&orig),
                show(&new)
            ));
        }
        // The runs did what the suite expects (so they exercised the program).
        if orig.end != End::Exit(spec.exit_code) {
            problems.push(format!("exit {:?}, want {}", orig.end, spec.exit_code));
        }
        if let Some(want) = &spec.stdout {
            if String::from_utf8_lossy(&orig.stdout) != *want {
                problems.push(format!("stdout {:?}, want {want:?}", orig.stdout));
            }
        }
        if problems.is_empty() {
            eprintln!("ok   {name} ({ticks} ticks)");
        } else {
            failures.push(format!("== {name}\n{}", problems.join("\n")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
