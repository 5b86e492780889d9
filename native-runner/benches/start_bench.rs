//! Prints start-up figures of the `oanix` binary (not a timed test): a large module (about
//! `OANIX_BENCH_START_MIB` MiB of code, default 10, generated here) run cold (compiled:
//! empty cache, and `--no-cache`) and warm (loaded from the compiled-module cache), beside
//! `--reference` (wasmtime-wasi, which compiles every time: wasmtime's own cold start).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, MemorySection,
    MemoryType, Module, TypeSection, ValType,
};

/// A WASI command of about `bytes` bytes: many functions with long arithmetic and branchy
/// bodies (work for the compiler), `_start` calls the first one and returns.
fn big_module(bytes: usize) -> Vec<u8> {
    const BODY: usize = 16 << 10;
    let funcs = (bytes / BODY).max(1) as u32;
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], [ValType::I32]);
    let mut fsec = FunctionSection::new();
    fsec.function(0);
    for _ in 0..funcs {
        fsec.function(1);
    }
    let mut mem = MemorySection::new();
    mem.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("_start", ExportKind::Func, 0);
    let mut code = CodeSection::new();
    let mut start = Function::new([]);
    start
        .instruction(&Instruction::I32Const(7))
        .instruction(&Instruction::Call(1))
        .instruction(&Instruction::Drop)
        .instruction(&Instruction::End);
    code.function(&start);
    for f in 0..funcs {
        let mut body = Function::new([(1, ValType::I32)]);
        let mut k = f as i32;
        while body.byte_len() < BODY {
            k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            body.instruction(&Instruction::LocalGet(0))
                .instruction(&Instruction::I32Const(k & 0xffff))
                .instruction(&Instruction::I32Xor)
                .instruction(&Instruction::LocalTee(1))
                .instruction(&Instruction::I32Const(3))
                .instruction(&Instruction::I32And)
                .instruction(&Instruction::If(wasm_encoder::BlockType::Empty))
                .instruction(&Instruction::LocalGet(1))
                .instruction(&Instruction::I32Const(k >> 16))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::LocalSet(0))
                .instruction(&Instruction::End);
        }
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::End);
        code.function(&body);
    }
    let mut m = Module::new();
    m.section(&types)
        .section(&fsec)
        .section(&mem)
        .section(&exports)
        .section(&code);
    m.finish()
}

fn oanix(module: &Path, cache: &Path, extra: &[&str]) -> Duration {
    let t = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_oanix"))
        .arg("run")
        .args(extra)
        .arg(module)
        .env("OANIX_CACHE_DIR", cache)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    let d = t.elapsed();
    assert!(status.success(), "oanix run {extra:?}: {status}");
    d
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mib: usize = std::env::var("OANIX_BENCH_START_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("oanix-start-bench-{}", std::process::id()));
    let cache = dir.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let module = dir.join("big.wasm");
    let bytes = big_module(mib << 20);
    std::fs::write(&module, &bytes).unwrap();
    println!(
        "start-up of a {:.1} MiB module (oanix binary, bench profile)",
        bytes.len() as f64 / (1 << 20) as f64
    );
    let cold = oanix(&module, &cache, &[]);
    let warm: Vec<Duration> = (0..5).map(|_| oanix(&module, &cache, &[])).collect();
    let warm = warm.iter().min().copied().unwrap_or_default();
    let no_cache = oanix(&module, &cache, &["--no-cache"]);
    let reference = oanix(&module, &cache, &["--reference"]);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("  oanix cold (compile + store)  {:>9.0} ms", ms(cold));
    println!("  oanix --no-cache (compile)    {:>9.0} ms", ms(no_cache));
    println!("  oanix warm (cache hit, best of 5) {:>5.0} ms", ms(warm));
    println!("  --reference (wasmtime-wasi)   {:>9.0} ms", ms(reference));
    let _ = std::fs::remove_dir_all(&dir);
}
