//! Time-slice instrumentation of WASI guest modules.
//!
//! The browser host runs guests on the page's main thread with JSPI: a CPU-bound guest must
//! hand control back every few milliseconds, and must be stoppable. Before a module is
//! compiled, [`instrument`] rewrites it so that it calls an imported function,
//! [`TICK_MODULE`].[`TICK_NAME`] of type `() -> i32`, from checks at the start of every
//! defined function body and at the start of every `loop` body; when the tick answers
//! non-zero the check calls [`TICK_MODULE`].[`WAIT_NAME`] (`() -> i32`, result dropped),
//! where the host can suspend (JSPI), yield, or trap to stop the guest.
//!
//! The blocking WASI imports ([`BLOCKING`]: `fd_read`, `fd_write`, `fd_pread`, `fd_pwrite`,
//! `poll_oneoff`) get a wrapper each: every call of the import (and every other reference
//! to it) goes to a defined function that calls the import with the same arguments and,
//! when it answers [`WOULD_BLOCK`] instead of an errno, returns what `oanix.wait` answers.
//! So the wait is the only import that ever suspends: in Chromium a call through a
//! `WebAssembly.Suspending` import costs about as much again as a whole `fd_write` to
//! memory, even when it does not suspend — ticks and writes no longer pay it.
//!
//! Fuel is counted in units: a unit is a function entry, or `chunk` ([`LOOP_CHUNK`]) loop
//! iterations of one function activation. A mutable `i32` global, the fuel, counts the
//! units of the whole instance down from `budget`; the unit that empties it calls the tick
//! and refills it. Loop iterations are first counted in an `i32` local of the function, its
//! loop counter, set to `chunk` at each entry: only every `chunk`-th iteration (all the
//! function's loops together) of one activation touches the global. A local stays in a
//! register, where the global is a load and a store per check; and a tick (a call into
//! the host that reads the clock: 1.5 µs in Chromium when it went through JSPI, a fraction
//! of that now) every `budget` iterations of a 5-instruction loop cost more than the loop
//! itself.
//!
//! Bulk operations — `memory.fill`, `memory.copy`, `memory.init`, `memory.grow`,
//! `table.fill`, `table.copy`, `table.init`, `table.grow` and GC's `array.new*`,
//! `array.fill`, `array.copy`, `array.init_*` — do work in proportion to a length (their
//! last operand): a loop of 1 GiB `memory.fill`s would otherwise run 100,000 of them
//! between two ticks. Each is charged before it runs: its length shifted right (4 KiB of
//! memory, 1,024 table or array elements, or 2 pages of `memory.grow` make a unit:
//! [`BULK_BYTES_SHIFT`], [`BULK_ELEMS_SHIFT`], [`BULK_PAGES_SHIFT`]) is taken off the fuel,
//! and when that empties it the tick runs (and the wait, if the tick asks) before the
//! operation, and the fuel is refilled. Short copies (Rust's `memcpy` compiles to
//! `memory.copy`) cost a dozen instructions and no host call; any operation of
//! `budget` units or more is preceded by a tick. (One operation still runs whole once
//! started: no host can interrupt an instruction.)
//!
//! So: function entries tick exactly every `budget` entries (this bounds recursion and
//! long call chains), a loop of one activation with no calls ticks exactly every
//! `budget` x `chunk` iterations, and in general a tick comes every `budget` units,
//! which is exact when entries and chunks are counted in the order they happen.
//! Iterations of different activations are not added up: an activation that returns
//! after fewer than `chunk` iterations counts only its entry. Between two ticks a guest
//! therefore runs fewer than `budget` units, each with fewer than `chunk` iterations left
//! over in every activation it leaves: at most about `budget` x `chunk` loop iterations
//! per activation level, plus straight-line code.
//!
//! What the rewrite does (with `wasm-encoder`'s `reencode`, after `wasmparser` validated the
//! input):
//! - appends a function type `() -> i32` to the type section and the imports `oanix.tick`
//!   and `oanix.wait` of that type after the existing imports, so every *defined*
//!   function's index moves up by two: calls, `return_call`, `ref.func`, element segments
//!   (function lists and expressions, declared ones too), exports, the start function and
//!   the `name` section are all remapped (imported functions keep their indices);
//! - appends one function per blocking WASI import of type `(...) -> i32` after the
//!   module's own functions (when it has any: without code only the host could call one,
//!   through an export or a table, and the host calls `_start`), `local.get` of each
//!   parameter, `call $import; local.tee $r; i32.const -1; i32.eq; if (result i32) call
//!   $wait else local.get $r end`, and points every reference to the import (calls,
//!   `ref.func`, elements, exports) at it;
//! - appends a mutable `i32` global, the fuel, at the end of the global section (no global
//!   index changes), initialised to `budget`;
//! - inserts at each function entry
//!   `global.get $fuel; i32.const 1; i32.sub; global.set $fuel; global.get $fuel; i32.eqz;
//!   if; call $tick; if; call $wait; drop; end; i32.const budget; global.set $fuel; end`
//!   (stack-neutral; WebAssembly has no `global.tee`);
//! - in a function with at least one `loop`: appends one `i32` local, the counter, after
//!   the existing locals (its index is the parameter count plus the declared locals), sets
//!   it after the entry check with `i32.const chunk; local.set $c`, and inserts at the
//!   start of each loop body `local.get $c; i32.const 1; i32.sub; local.tee $c; i32.eqz;
//!   if; <the entry check>; i32.const chunk; local.set $c; end`. A function that already
//!   has the 50,000 locals engines allow gets no counter: its loops run the entry check
//!   itself (every iteration is a unit). Functions without loops get no local;
//! - in a function with bulk operations: appends a scratch local after the counter (an
//!   `i32` one if an operation has an `i32` length, an `i64` one if one has an `i64`
//!   length: 64-bit memories and tables), and inserts before each bulk operation, with
//!   the length on top of the stack, `local.tee $s; global.get $fuel; local.get $s;
//!   i32.const shift; i32.shr_u; i32.sub; global.set $fuel; global.get $fuel; i32.const 0;
//!   i32.le_s; if; call $tick; if; call $wait; drop; end; i32.const budget; global.set
//!   $fuel; end` (the `i64` form computes in `i64` and stores the fuel back with
//!   `i32.wrap_i64` when it stays positive). With no room for a local, the operation is
//!   preceded by `call $tick; if; call $wait; drop; end`.
//!
//! Sections that are missing (types, imports, globals) are created. Everything else passes
//! through: multi-memory, SIMD, bulk memory, reference types, exceptions, GC, tail calls.
//! Custom sections pass through too, except those whose contents the rewrite makes wrong:
//! DWARF (`.debug_*`, code offsets), branch hints (`metadata.code.*`, instruction offsets)
//! and object-file relocations (`reloc.*`, `linking`) are dropped. The `name` section is
//! kept and remapped (the tick, the wait, the wrappers and the fuel get names too) so backtraces keep function
//! names; its label names are dropped (the inserted `if`s renumber labels), and a malformed
//! `name` section is dropped rather than failing the rewrite.
//!
//! For hosts: a module's start function (if it has one; WASI commands use `_start`
//! instead) is instrumented too, so the tick can run during instantiation, where JSPI
//! cannot suspend. The cost, on `cpu_bound` of tests/guests (a sieve and a xorshift,
//! 5-instruction loops) in Chromium: the checks alone about 13% (ticks disabled), with the
//! browser host's ticks and 8 ms slices 1.2-1.4x its plain time (2.5x when every loop
//! iteration spent global fuel and ticked every 1,000); code with larger loop bodies pays
//! proportionally less.
//!
//! ```
//! use oanix_core::instrument::{instrument, DEFAULT_BUDGET, TICK_MODULE, TICK_NAME};
//!
//! // (module (func (export "spin") (loop (br 0))))
//! let wasm = [
//!     0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
//!     1, 4, 1, 0x60, 0, 0, // type 0: () -> ()
//!     3, 2, 1, 0, // one function of type 0
//!     7, 8, 1, 4, b's', b'p', b'i', b'n', 0, 0, // export "spin" = func 0
//!     10, 9, 1, 7, 0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b, // loop; br 0; end; end
//! ];
//! let out = instrument(&wasm, DEFAULT_BUDGET)?;
//! assert!(out.len() > wasm.len());
//! assert_eq!((TICK_MODULE, TICK_NAME), ("oanix", "tick"));
//! // A module that already has the import is refused.
//! assert!(instrument(&out, DEFAULT_BUDGET).is_err());
//! # Ok::<(), oanix_core::instrument::InstrumentError>(())
//! ```

use std::convert::Infallible;
use std::fmt;
use wasm_encoder::reencode::{utils, Error as ReencodeError, Reencode};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, CustomSection, Encode, EntityType, GlobalSection,
    GlobalType, ImportSection, Instruction, NameMap, NameSection, SectionId, TypeSection, ValType,
};
use wasmparser::{
    CompositeInnerType, CustomSectionReader, KnownCustom, Operator, Parser, Payload, TypeRef,
    Validator, WasmFeatures,
};

/// Import module of the tick function the instrumented module calls.
pub const TICK_MODULE: &str = "oanix";
/// Import name of the tick function the instrumented module calls (type `() -> i32`):
/// non-zero when the module must call [`WAIT_NAME`].
pub const TICK_NAME: &str = "tick";
/// Import name of the function (type `() -> i32`) the instrumented module calls when its
/// tick answered non-zero, or when a blocking WASI import answered [`WOULD_BLOCK`]: the
/// host finishes there what it deferred — a yield, a stop, or the deferred call, whose
/// errno it returns. Only this import needs to suspend the guest (JSPI).
pub const WAIT_NAME: &str = "wait";
/// What a blocking WASI import ([`BLOCKING`]) answers instead of an errno when the call
/// must wait: the wrapper the rewrite puts around the import then calls [`WAIT_NAME`].
pub const WOULD_BLOCK: i32 = -1;
/// The `wasi_snapshot_preview1` imports that may block, which the rewrite wraps.
pub const BLOCKING: &[&str] = &[
    "fd_read",
    "fd_write",
    "fd_pread",
    "fd_pwrite",
    "poll_oneoff",
];
/// Fuel units (function entries, or [`LOOP_CHUNK`] loop iterations of one activation)
/// between two ticks. A tick that finds the time slice unfinished costs one call into the
/// host and a clock read; at 10,000 a guest busy in host calls (4 KiB writes) went
/// 30-60 ms between ticks, at 1,000 it stays well inside the browser host's 8 ms slice.
pub const DEFAULT_BUDGET: u32 = 1_000;
/// Loop iterations of one function activation per fuel unit. With [`DEFAULT_BUDGET`] a
/// tight loop ticks every 100,000 iterations (a few hundred microseconds), rarely enough
/// that the tick's cost disappears, often enough for the browser host's 8 ms slices unless
/// loop bodies run thousands of instructions without a call.
pub const LOOP_CHUNK: u32 = 100;

/// Why a module could not be instrumented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentError(String);

impl InstrumentError {
    /// The message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstrumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InstrumentError {}

/// The WebAssembly features accepted: `wasmparser`'s defaults (what wasmtime and Chromium
/// run: SIMD, threads, multi-memory, memory64, exceptions, GC, tail calls, ...) plus the
/// legacy exception-handling instructions Chromium still runs (older Emscripten output).
fn features() -> WasmFeatures {
    WasmFeatures::default() | WasmFeatures::LEGACY_EXCEPTIONS
}

/// Rewrites `wasm` so that it calls the import [`TICK_MODULE`].[`TICK_NAME`] (`() -> i32`)
/// once every `budget` fuel units, a unit being the entry of a defined function or
/// [`LOOP_CHUNK`] loop iterations of one activation, and [`TICK_MODULE`].[`WAIT_NAME`]
/// when the tick or a blocking WASI import asks (see the [module documentation](self) for
/// the exact rewrite and the bound it gives).
///
/// A `budget` of 0 counts as 1 and one above `i32::MAX` as `i32::MAX`. The input is
/// validated first; an invalid module, or one that already imports `oanix.tick` or
/// `oanix.wait`, is an error.
pub fn instrument(wasm: &[u8], budget: u32) -> Result<Vec<u8>, InstrumentError> {
    instrument_with_chunk(wasm, budget, LOOP_CHUNK)
}

/// [`instrument`] with `chunk` loop iterations of one activation per fuel unit instead of
/// [`LOOP_CHUNK`] (a `chunk` of 1 makes every loop iteration a unit, as every function
/// entry is). A `chunk` of 0 counts as 1 and one above `i32::MAX` as `i32::MAX`.
pub fn instrument_with_chunk(
    wasm: &[u8],
    budget: u32,
    chunk: u32,
) -> Result<Vec<u8>, InstrumentError> {
    Validator::new_with_features(features())
        .validate_all(wasm)
        .map_err(|e| InstrumentError(format!("invalid module: {e}")))?;
    let counts = Counts::of(wasm)?;
    let budget = i32::try_from(budget.max(1)).unwrap_or(i32::MAX);
    let chunk = i32::try_from(chunk.max(1)).unwrap_or(i32::MAX);
    let mut r = Instrumenter {
        imported_funcs: counts.imported_funcs,
        tick_type: counts.types,
        fuel: counts.globals,
        budget,
        chunk,
        check: check_bytes(counts.globals, counts.imported_funcs, budget),
        type_params: counts.type_params,
        func_types: counts.func_types,
        wrapped: counts.wrapped,
        memory64: counts.memory64,
        table64: counts.table64,
        next_body: 0,
        types_done: false,
        imports_done: false,
        globals_done: false,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(|e| InstrumentError(format!("cannot re-encode the module: {e}")))?;
    Ok(module.finish())
}

/// What the rewrite needs to know before re-encoding: the new type, function and global
/// indices.
struct Counts {
    /// Types in the type section (every type of every recursion group).
    types: u32,
    /// Imported functions: the tick's function index.
    imported_funcs: u32,
    /// Imported and defined globals: the fuel's global index.
    globals: u32,
    /// Parameter count of each type (0 for struct, array and other non-function types).
    type_params: Vec<u32>,
    /// Each defined function's type index, in order.
    func_types: Vec<u32>,
    /// Whether each type is a function type returning exactly one `i32`.
    returns_i32: Vec<bool>,
    /// The blocking WASI imports to wrap: (function index, type index).
    wrapped: Vec<(u32, u32)>,
    /// Whether each memory (imported, then defined) is a 64-bit one.
    memory64: Vec<bool>,
    /// Whether each table (imported, then defined) is a 64-bit one.
    table64: Vec<bool>,
}

impl Counts {
    /// Counts the indices of a module that has been validated.
    fn of(wasm: &[u8]) -> Result<Counts, InstrumentError> {
        let bad =
            |e: wasmparser::BinaryReaderError| InstrumentError(format!("invalid module: {e}"));
        let mut c = Counts {
            types: 0,
            imported_funcs: 0,
            globals: 0,
            type_params: Vec::new(),
            func_types: Vec::new(),
            returns_i32: Vec::new(),
            wrapped: Vec::new(),
            memory64: Vec::new(),
            table64: Vec::new(),
        };
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(bad)? {
                Payload::TypeSection(s) => {
                    for group in s {
                        for ty in group.map_err(bad)?.types() {
                            let (params, i32_result) = match &ty.composite_type.inner {
                                CompositeInnerType::Func(f) => (
                                    u32::try_from(f.params().len()).unwrap_or(u32::MAX),
                                    f.results() == [wasmparser::ValType::I32],
                                ),
                                _ => (0, false),
                            };
                            c.type_params.push(params);
                            c.returns_i32.push(i32_result);
                        }
                    }
                    c.types = u32::try_from(c.type_params.len())
                        .map_err(|_| InstrumentError("too many types".into()))?;
                }
                Payload::ImportSection(s) => {
                    for import in s.into_imports() {
                        let import = import.map_err(bad)?;
                        if import.module == TICK_MODULE
                            && (import.name == TICK_NAME || import.name == WAIT_NAME)
                        {
                            return Err(InstrumentError(format!(
                                "the module already imports {TICK_MODULE}.{}: \
                                 it is instrumented already, or uses the name for something else",
                                import.name
                            )));
                        }
                        match import.ty {
                            TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                                let returns_i32 =
                                    c.returns_i32.get(ty as usize).copied().unwrap_or(false);
                                if import.module == crate::wasi::MODULE
                                    && BLOCKING.contains(&import.name)
                                    && returns_i32
                                {
                                    c.wrapped.push((c.imported_funcs, ty));
                                }
                                c.imported_funcs += 1
                            }
                            TypeRef::Global(_) => c.globals += 1,
                            TypeRef::Memory(m) => c.memory64.push(m.memory64),
                            TypeRef::Table(t) => c.table64.push(t.table64),
                            _ => {}
                        }
                    }
                }
                Payload::MemorySection(s) => {
                    for m in s {
                        c.memory64.push(m.map_err(bad)?.memory64);
                    }
                }
                Payload::TableSection(s) => {
                    for t in s {
                        c.table64.push(t.map_err(bad)?.ty.table64);
                    }
                }
                Payload::GlobalSection(s) => c.globals += s.count(),
                Payload::FunctionSection(s) => {
                    for ty in s {
                        c.func_types.push(ty.map_err(bad)?);
                    }
                }
                _ => {}
            }
        }
        if c.func_types.is_empty() {
            // No code calls the imports: nothing to wrap (and no code section to put
            // wrappers in).
            c.wrapped.clear();
        }
        Ok(c)
    }
}

/// When the fuel ran out (the condition on the stack): call the tick, and the wait if the
/// tick answers 1, then refill the fuel. Opens an `if` the caller ends (`tick` is the
/// tick's function index, the wait's is the next).
fn refill(fuel: u32, tick: u32, budget: i32) -> [Instruction<'static>; 8] {
    [
        Instruction::If(BlockType::Empty),
        Instruction::Call(tick),
        Instruction::If(BlockType::Empty),
        Instruction::Call(tick + 1),
        Instruction::Drop,
        Instruction::End,
        Instruction::I32Const(budget),
        Instruction::GlobalSet(fuel),
    ]
}

/// The check inserted at function entries and loop starts, encoded once.
fn check_bytes(fuel: u32, tick: u32, budget: i32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let take = [
        Instruction::GlobalGet(fuel),
        Instruction::I32Const(1),
        Instruction::I32Sub,
        Instruction::GlobalSet(fuel),
        Instruction::GlobalGet(fuel),
        Instruction::I32Eqz,
    ];
    for insn in take
        .into_iter()
        .chain(refill(fuel, tick, budget))
        .chain([Instruction::End])
    {
        insn.encode(&mut bytes);
    }
    bytes
}

/// The counter's initialisation at the entry of a function whose loop counter is local
/// `counter`, and the check inserted at its loop starts: when the counter reaches zero,
/// the global check `unit` runs and the counter starts again from `chunk`.
fn counter_bytes(counter: u32, chunk: i32, unit: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut init = Vec::new();
    Instruction::I32Const(chunk).encode(&mut init);
    Instruction::LocalSet(counter).encode(&mut init);
    let mut check = Vec::new();
    for insn in [
        Instruction::LocalGet(counter),
        Instruction::I32Const(1),
        Instruction::I32Sub,
        Instruction::LocalTee(counter),
        Instruction::I32Eqz,
        Instruction::If(BlockType::Empty),
    ] {
        insn.encode(&mut check);
    }
    check.extend_from_slice(unit);
    for insn in [
        Instruction::I32Const(chunk),
        Instruction::LocalSet(counter),
        Instruction::End,
    ] {
        insn.encode(&mut check);
    }
    (init, check)
}

/// log2 of the bytes of a bulk memory operation (`memory.fill`, `memory.copy`,
/// `memory.init`) charged as one fuel unit: 4 KiB, about what a unit of loop iterations
/// costs.
pub const BULK_BYTES_SHIFT: u32 = 12;
/// log2 of the elements of a bulk table or array operation (`table.fill`, `table.copy`,
/// `table.init`, `table.grow`, `array.new*`, `array.fill`, `array.copy`, `array.init_*`)
/// charged as one fuel unit: 1,024.
pub const BULK_ELEMS_SHIFT: u32 = 10;
/// log2 of the pages of a `memory.grow` charged as one fuel unit: 2 pages (128 KiB; the
/// new pages are zeroed, often lazily).
pub const BULK_PAGES_SHIFT: u32 = 1;

/// What a bulk operation charges before it runs, from its length (its last operand, on
/// top of the stack) kept in the scratch local `scratch` (an `i64` one when `wide`): the
/// length shifted right by `shift` is taken off the fuel; when that empties it, the tick
/// (and the wait) run and the fuel is refilled, as in the global check. Stack-neutral
/// (the length stays where it was). With the length an `i32` and `shift` >= 1, the units
/// are below 2^31 and the fuel (1 to `budget`) minus them cannot overflow; an `i64` length
/// is charged in `i64`.
fn charge_bytes(
    fuel: u32,
    tick: u32,
    budget: i32,
    scratch: u32,
    wide: bool,
    shift: u32,
) -> Vec<u8> {
    let refill = refill(fuel, tick, budget);
    let mut insns = Vec::new();
    if wide {
        insns.extend([
            Instruction::LocalTee(scratch),
            Instruction::GlobalGet(fuel),
            Instruction::I64ExtendI32S,
            Instruction::LocalGet(scratch),
            Instruction::I64Const(i64::from(shift)),
            Instruction::I64ShrU,
            Instruction::I64Sub,
            Instruction::LocalTee(scratch),
            Instruction::I64Const(0),
            Instruction::I64LeS,
        ]);
        insns.extend(refill);
        insns.extend([
            Instruction::Else,
            Instruction::LocalGet(scratch),
            Instruction::I32WrapI64,
            Instruction::GlobalSet(fuel),
            Instruction::End,
        ]);
    } else {
        insns.extend([
            Instruction::LocalTee(scratch),
            Instruction::GlobalGet(fuel),
            Instruction::LocalGet(scratch),
            Instruction::I32Const(shift as i32),
            Instruction::I32ShrU,
            Instruction::I32Sub,
            Instruction::GlobalSet(fuel),
            Instruction::GlobalGet(fuel),
            Instruction::I32Const(0),
            Instruction::I32LeS,
        ]);
        insns.extend(refill);
        insns.push(Instruction::End);
    }
    let mut bytes = Vec::new();
    for insn in insns {
        insn.encode(&mut bytes);
    }
    bytes
}

/// What a bulk operation runs before it in a function with no room for a scratch local:
/// the tick, and the wait if the tick asks (a host check before every such operation).
fn forced_tick_bytes(tick: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for insn in [
        Instruction::Call(tick),
        Instruction::If(BlockType::Empty),
        Instruction::Call(tick + 1),
        Instruction::Drop,
        Instruction::End,
    ] {
        insn.encode(&mut bytes);
    }
    bytes
}

/// At most this many locals (parameters included) in a function: what wasmparser, V8 and
/// wasmtime accept. A function that has this many already gets no loop counter; its loops
/// are checked with the global fuel instead.
const MAX_LOCALS: u64 = 50_000;

/// The reencoder: shifts defined function indices by two, appends the tick's type, the
/// tick and wait imports, the fuel global and the wrappers of blocking WASI imports, and
/// inserts the checks.
struct Instrumenter {
    imported_funcs: u32,
    tick_type: u32,
    fuel: u32,
    budget: i32,
    /// Loop iterations per fuel unit.
    chunk: i32,
    /// The global check (function entries).
    check: Vec<u8>,
    /// Parameter count of each type.
    type_params: Vec<u32>,
    /// Each defined function's type index.
    func_types: Vec<u32>,
    /// The blocking WASI imports wrapped: (function index, type index); wrapper `k` is
    /// defined after every function of the module.
    wrapped: Vec<(u32, u32)>,
    /// Whether each memory is a 64-bit one.
    memory64: Vec<bool>,
    /// Whether each table is a 64-bit one.
    table64: Vec<bool>,
    /// The defined function whose body comes next.
    next_body: usize,
    types_done: bool,
    imports_done: bool,
    globals_done: bool,
}

/// What the reencoder hooks return (the instrumenter adds no error of its own).
type RResult<T> = Result<T, ReencodeError<Infallible>>;

/// Where a section sits in a module (the binary format's order; tags between memories and
/// globals, the data count before the code).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl Instrumenter {
    fn add_tick_type(&mut self, types: &mut TypeSection) {
        types.ty().function([], [ValType::I32]);
        self.types_done = true;
    }

    fn add_tick_import(&mut self, imports: &mut ImportSection) {
        imports.import(TICK_MODULE, TICK_NAME, EntityType::Function(self.tick_type));
        imports.import(TICK_MODULE, WAIT_NAME, EntityType::Function(self.tick_type));
        self.imports_done = true;
    }

    /// A function index of the input, moved past the two new imports (no wrapping).
    /// Indices from validated code always name a function; one that names none (only the
    /// unvalidated `name` section can hold one, see [`Self::exists`]) saturates rather
    /// than overflowing.
    fn shifted(&self, func: u32) -> u32 {
        if func >= self.imported_funcs {
            func.saturating_add(2)
        } else {
            func
        }
    }

    /// Whether `func` is a function of the input (imported or defined). The `name` section
    /// is not validated: it may name functions that do not exist (up to `u32::MAX`); those
    /// names are dropped.
    fn exists(&self, func: u32) -> bool {
        u64::from(func) < u64::from(self.imported_funcs) + self.func_types.len() as u64
    }

    /// The index of wrapper `k` (after every defined function).
    fn wrapper_index(&self, k: usize) -> u32 {
        self.imported_funcs + 2 + self.func_types.len() as u32 + k as u32
    }

    /// The body of the wrapper of import `func` (of type `ty`): calls it with the same
    /// arguments and, when it answers [`WOULD_BLOCK`], returns what the wait answers.
    fn wrapper_body(&self, func: u32, ty: u32) -> wasm_encoder::Function {
        let params = self.type_params.get(ty as usize).copied().unwrap_or(0);
        let mut f = wasm_encoder::Function::new([(1, ValType::I32)]);
        for i in 0..params {
            f.instruction(&Instruction::LocalGet(i));
        }
        for insn in [
            Instruction::Call(func),
            Instruction::LocalTee(params),
            Instruction::I32Const(WOULD_BLOCK),
            Instruction::I32Eq,
            Instruction::If(BlockType::Result(ValType::I32)),
            Instruction::Call(self.imported_funcs + 1),
            Instruction::Else,
            Instruction::LocalGet(params),
            Instruction::End,
            Instruction::End,
        ] {
            f.instruction(&insn);
        }
        f
    }

    /// If `op` is a bulk operation (its work grows with its last operand, a length):
    /// whether that length is an `i64`, and log2 of the length charged as one fuel unit.
    fn bulk_len(&self, op: &Operator<'_>) -> Option<(bool, u32)> {
        let mem = |m: u32| self.memory64.get(m as usize).copied().unwrap_or(false);
        let table = |t: u32| self.table64.get(t as usize).copied().unwrap_or(false);
        Some(match *op {
            Operator::MemoryFill { mem: m } => (mem(m), BULK_BYTES_SHIFT),
            // A copy's length is 64-bit only between two 64-bit memories (or tables).
            Operator::MemoryCopy { dst_mem, src_mem } => {
                (mem(dst_mem) && mem(src_mem), BULK_BYTES_SHIFT)
            }
            Operator::MemoryInit { .. } => (false, BULK_BYTES_SHIFT),
            Operator::MemoryGrow { mem: m } => (mem(m), BULK_PAGES_SHIFT),
            Operator::TableFill { table: t } | Operator::TableGrow { table: t } => {
                (table(t), BULK_ELEMS_SHIFT)
            }
            Operator::TableCopy {
                dst_table,
                src_table,
            } => (table(dst_table) && table(src_table), BULK_ELEMS_SHIFT),
            Operator::TableInit { .. }
            | Operator::ArrayNew { .. }
            | Operator::ArrayNewDefault { .. }
            | Operator::ArrayNewData { .. }
            | Operator::ArrayNewElem { .. }
            | Operator::ArrayFill { .. }
            | Operator::ArrayCopy { .. }
            | Operator::ArrayInitData { .. }
            | Operator::ArrayInitElem { .. } => (false, BULK_ELEMS_SHIFT),
            _ => return None,
        })
    }

    fn add_fuel(&mut self, globals: &mut GlobalSection) {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(self.budget),
        );
        self.globals_done = true;
    }
}

impl Reencode for Instrumenter {
    type Error = Infallible;

    fn function_index(&mut self, func: u32) -> RResult<u32> {
        Ok(match self.wrapped.iter().position(|&(f, _)| f == func) {
            Some(k) => self.wrapper_index(k),
            None => self.shifted(func),
        })
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> RResult<()> {
        utils::parse_function_section(self, functions, section)?;
        for &(_, ty) in &self.wrapped {
            functions.function(ty);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> RResult<()> {
        utils::parse_code_section(self, code, section)?;
        for &(func, ty) in &self.wrapped {
            code.function(&self.wrapper_body(func, ty));
        }
        Ok(())
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> RResult<()> {
        utils::parse_type_section(self, types, section)?;
        self.add_tick_type(types);
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> RResult<()> {
        utils::parse_import_section(self, imports, section)?;
        self.add_tick_import(imports);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> RResult<()> {
        utils::parse_global_section(self, globals, section)?;
        self.add_fuel(globals);
        Ok(())
    }

    /// Creates the type, import and global sections where the module has none, in order.
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> RResult<()> {
        let next = before.map_or(u8::MAX, rank);
        if !self.types_done && next > rank(SectionId::Type) {
            let mut types = TypeSection::new();
            self.add_tick_type(&mut types);
            module.section(&types);
        }
        if !self.imports_done && next > rank(SectionId::Import) {
            let mut imports = ImportSection::new();
            self.add_tick_import(&mut imports);
            module.section(&imports);
        }
        if !self.globals_done && next > rank(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_fuel(&mut globals);
            module.section(&globals);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> RResult<()> {
        let params = self
            .func_types
            .get(self.next_body)
            .and_then(|&t| self.type_params.get(usize::try_from(t).ok()?))
            .copied()
            .unwrap_or(0);
        self.next_body += 1;
        let mut locals = Vec::new();
        let mut count = u64::from(params);
        for pair in func.get_locals_reader()? {
            let (n, ty) = pair?;
            count += u64::from(n);
            locals.push((n, self.val_type(ty)?));
        }
        // Whether the body has a loop, and bulk operations with `i32` and `i64` lengths.
        let (mut has_loop, mut bulk32, mut bulk64) = (false, false, false);
        {
            let mut reader = func.get_operators_reader()?;
            while !reader.eof() {
                let op = reader.read()?;
                has_loop |= matches!(op, Operator::Loop { .. });
                match self.bulk_len(&op) {
                    Some((true, _)) => bulk64 = true,
                    Some((false, _)) => bulk32 = true,
                    None => {}
                }
            }
        }
        // New locals after the existing ones, while there is room: the loop counter, then
        // the scratch locals of the bulk operations' charges.
        let mut add_local = |wanted: bool, ty: ValType| {
            let index = u32::try_from(count)
                .ok()
                .filter(|_| wanted && count < MAX_LOCALS)?;
            count += 1;
            locals.push((1, ty));
            Some(index)
        };
        let counter = add_local(has_loop, ValType::I32);
        let scratch32 = add_local(bulk32, ValType::I32);
        let scratch64 = add_local(bulk64, ValType::I64);
        let mut f = wasm_encoder::Function::new(locals);
        f.raw(self.check.iter().copied());
        let loop_check = match counter {
            Some(c) => {
                let (init, check) = counter_bytes(c, self.chunk, &self.check);
                f.raw(init);
                check
            }
            None => self.check.clone(),
        };
        let (fuel, tick, budget) = (self.fuel, self.imported_funcs, self.budget);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let is_loop = matches!(op, Operator::Loop { .. });
            if let Some((wide, shift)) = self.bulk_len(&op) {
                match if wide { scratch64 } else { scratch32 } {
                    Some(l) => f.raw(charge_bytes(fuel, tick, budget, l, wide, shift)),
                    None => f.raw(forced_tick_bytes(tick)),
                };
            }
            f.instruction(&self.instruction(op)?);
            if is_loop {
                f.raw(loop_check.iter().copied());
            }
        }
        code.function(&f);
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: CustomSectionReader<'_>,
    ) -> RResult<()> {
        let name = section.name();
        if name.starts_with(".debug_")
            || name.starts_with("metadata.code.")
            || name.starts_with("reloc.")
            || name == "linking"
        {
            return Ok(());
        }
        match section.as_known() {
            // A malformed name section is dropped (engines ignore one too).
            KnownCustom::Name(names) => {
                if let Ok(names) = self.custom_name_section(names) {
                    module.section(&names);
                }
            }
            _ => {
                module.section(&CustomSection {
                    name: name.into(),
                    data: section.data().into(),
                });
            }
        }
        Ok(())
    }

    fn parse_custom_name_subsection(
        &mut self,
        names: &mut NameSection,
        section: wasmparser::Name<'_>,
    ) -> RResult<()> {
        match section {
            wasmparser::Name::Function(map) => {
                let mut out = NameMap::new();
                let mut tick_named = false;
                let mut import_names = std::collections::HashMap::new();
                for naming in map {
                    let naming = naming?;
                    if !self.exists(naming.index) {
                        continue;
                    }
                    if !tick_named && naming.index >= self.imported_funcs {
                        out.append(self.imported_funcs, "oanix.tick");
                        out.append(self.imported_funcs + 1, "oanix.wait");
                        tick_named = true;
                    }
                    if naming.index < self.imported_funcs {
                        import_names.insert(naming.index, naming.name);
                    }
                    out.append(self.shifted(naming.index), naming.name);
                }
                if !tick_named {
                    out.append(self.imported_funcs, "oanix.tick");
                    out.append(self.imported_funcs + 1, "oanix.wait");
                }
                for (k, &(func, _)) in self.wrapped.iter().enumerate() {
                    let name = import_names.get(&func).copied().unwrap_or("import");
                    out.append(self.wrapper_index(k), &format!("oanix.wrap.{name}"));
                }
                names.functions(&out);
            }
            wasmparser::Name::Global(map) => {
                let mut out = NameMap::new();
                for naming in map {
                    let naming = naming?;
                    // (Names of globals that do not exist are dropped: the fuel is the
                    // last global.)
                    if naming.index < self.fuel {
                        out.append(naming.index, naming.name);
                    }
                }
                out.append(self.fuel, "oanix.fuel");
                names.globals(&out);
            }
            // Label indices count blocks; the inserted `if`s renumber them.
            wasmparser::Name::Label(_) => {}
            // Local names stay with their function: an import's (rare) with the import,
            // not with its wrapper.
            wasmparser::Name::Local(map) => {
                let mut out = wasm_encoder::IndirectNameMap::new();
                for naming in map {
                    let naming = naming?;
                    if !self.exists(naming.index) {
                        continue;
                    }
                    out.append(
                        self.shifted(naming.index),
                        &utils::name_map(naming.names, Ok)?,
                    );
                }
                names.locals(&out);
            }
            other => utils::parse_custom_name_subsection(self, names, other)?,
        }
        Ok(())
    }
}
