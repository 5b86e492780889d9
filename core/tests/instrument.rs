#![cfg(not(target_arch = "wasm32"))]
//! `instrument`: the output validates, keeps every function reference pointing at the same
//! body, holds exactly the promised checks, and no input (mutated, truncated, random
//! programs) makes it panic. Running instrumented modules is tested in oanix-tests
//! (tests/tests/instrument.rs, on wasmtime).

use oanix_core::instrument::{
    instrument, instrument_with_chunk, BLOCKING, BULK_BYTES_SHIFT, BULK_ELEMS_SHIFT,
    BULK_PAGES_SHIFT, DEFAULT_BUDGET, LOOP_CHUNK, TICK_MODULE, TICK_NAME, WAIT_NAME, WOULD_BLOCK,
};
use proptest::collection::vec;
use proptest::prelude::*;
use std::collections::BTreeMap;
use wasmparser::{
    BlockType, ElementItems, ElementKind, ExternalKind, Operator, Parser, Payload, TypeRef,
    Validator, WasmFeatures,
};

/// Validates like `instrument` does (wasmparser's defaults plus legacy exceptions).
fn validate(wasm: &[u8]) -> Result<(), String> {
    Validator::new_with_features(WasmFeatures::default() | WasmFeatures::LEGACY_EXCEPTIONS)
        .validate_all(wasm)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Imports, globals (one initialised with `ref.func`), active, passive and declared element
/// segments, a start function, exports of every kind, a recursive function, loops, indirect
/// calls, `call_ref`, a tail call, and names.
const RICH: &str = include_str!("data/rich.wat");

/// What a module says about functions, read with wasmparser.
#[derive(Default, Debug)]
struct Shape {
    imports: Vec<(String, String, String)>,
    imported_funcs: u32,
    globals: Vec<(bool, Vec<String>)>,
    exports: BTreeMap<String, (ExternalKind, u32)>,
    start: Option<u32>,
    /// Element segments: kind, then each item as function index or const-expr operators.
    elements: Vec<(String, Vec<String>)>,
    /// Each defined function's operators (Debug).
    bodies: Vec<Vec<String>>,
    /// Each defined function's locals.
    locals: Vec<Vec<(u32, String)>>,
    /// Function names from the name section.
    func_names: BTreeMap<u32, String>,
    global_names: BTreeMap<u32, String>,
    /// Whether a name section was there and could be read.
    has_names: bool,
    types: u32,
    /// Parameter count of each type (0 for non-function types).
    type_params: Vec<u32>,
    /// Whether each type is a function type returning exactly one i32.
    returns_i32: Vec<bool>,
    /// Each defined function's type index.
    func_types: Vec<u32>,
    /// Whether each memory (imported, then defined) is 64-bit.
    memory64: Vec<bool>,
    /// Whether each table (imported, then defined) is 64-bit.
    table64: Vec<bool>,
}

fn ops_of(reader: wasmparser::OperatorsReader<'_>) -> Vec<Operator<'_>> {
    let mut reader = reader;
    let mut out = Vec::new();
    while !reader.eof() {
        out.push(reader.read().expect("operator"));
    }
    out
}

fn shape(wasm: &[u8]) -> Shape {
    let mut s = Shape::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.expect("payload") {
            Payload::TypeSection(r) => {
                for g in r {
                    for t in g.unwrap().types() {
                        s.types += 1;
                        let (params, i32_result) = match &t.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => (
                                f.params().len() as u32,
                                f.results() == [wasmparser::ValType::I32],
                            ),
                            _ => (0, false),
                        };
                        s.type_params.push(params);
                        s.returns_i32.push(i32_result);
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    s.func_types.push(t.unwrap());
                }
            }
            Payload::ImportSection(r) => {
                for i in r.into_imports() {
                    let i = i.unwrap();
                    match i.ty {
                        TypeRef::Func(_) => s.imported_funcs += 1,
                        TypeRef::Memory(m) => s.memory64.push(m.memory64),
                        TypeRef::Table(t) => s.table64.push(t.table64),
                        _ => {}
                    }
                    s.imports
                        .push((i.module.into(), i.name.into(), format!("{:?}", i.ty)));
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    s.memory64.push(m.unwrap().memory64);
                }
            }
            Payload::TableSection(r) => {
                for t in r {
                    s.table64.push(t.unwrap().ty.table64);
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    let g = g.unwrap();
                    let ops = ops_of(g.init_expr.get_operators_reader());
                    s.globals
                        .push((g.ty.mutable, ops.iter().map(|o| format!("{o:?}")).collect()));
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    s.exports.insert(e.name.into(), (e.kind, e.index));
                }
            }
            Payload::StartSection { func, .. } => s.start = Some(func),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e.unwrap();
                    let kind = match e.kind {
                        ElementKind::Active { .. } => "active",
                        ElementKind::Passive => "passive",
                        ElementKind::Declared => "declared",
                    };
                    let items = match e.items {
                        ElementItems::Functions(f) => f
                            .into_iter()
                            .map(|f| format!("func {}", f.unwrap()))
                            .collect(),
                        ElementItems::Expressions(_, exprs) => exprs
                            .into_iter()
                            .map(|x| format!("{:?}", ops_of(x.unwrap().get_operators_reader())))
                            .collect(),
                    };
                    s.elements.push((kind.into(), items));
                }
            }
            Payload::CodeSectionEntry(body) => {
                let locals = body
                    .get_locals_reader()
                    .unwrap()
                    .into_iter()
                    .map(|l| {
                        let (n, t) = l.unwrap();
                        (n, format!("{t:?}"))
                    })
                    .collect();
                s.locals.push(locals);
                let ops = ops_of(body.get_operators_reader().unwrap());
                s.bodies
                    .push(ops.iter().map(|o| format!("{o:?}")).collect());
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    if let Some((f, g)) = read_names(names) {
                        s.func_names = f;
                        s.global_names = g;
                        s.has_names = true;
                    }
                }
            }
            _ => {}
        }
    }
    s
}

type Names = BTreeMap<u32, String>;

/// Function and global names; `None` if any part of the section is malformed.
fn read_names(names: wasmparser::NameSectionReader<'_>) -> Option<(Names, Names)> {
    let (mut funcs, mut globals) = (Names::new(), Names::new());
    for n in names {
        match n.ok()? {
            wasmparser::Name::Function(m) => {
                for n in m {
                    let n = n.ok()?;
                    funcs.insert(n.index, n.name.into());
                }
            }
            wasmparser::Name::Global(m) => {
                for n in m {
                    let n = n.ok()?;
                    globals.insert(n.index, n.name.into());
                }
            }
            _ => {}
        }
    }
    Some((funcs, globals))
}

/// The inserted check, as wasmparser prints it (`tick` and the wait after it).
fn check_ops(fuel: u32, tick: u32, budget: i32) -> Vec<String> {
    [
        Operator::GlobalGet { global_index: fuel },
        Operator::I32Const { value: 1 },
        Operator::I32Sub,
        Operator::GlobalSet { global_index: fuel },
        Operator::GlobalGet { global_index: fuel },
        Operator::I32Eqz,
        Operator::If {
            blockty: BlockType::Empty,
        },
        Operator::Call {
            function_index: tick,
        },
        Operator::If {
            blockty: BlockType::Empty,
        },
        Operator::Call {
            function_index: tick + 1,
        },
        Operator::Drop,
        Operator::End,
        Operator::I32Const { value: budget },
        Operator::GlobalSet { global_index: fuel },
        Operator::End,
    ]
    .iter()
    .map(|o| format!("{o:?}"))
    .collect()
}

/// The loop check of a function whose loop counter is local `counter`: the global check
/// `unit` every `chunk` iterations.
fn loop_check_ops(counter: u32, chunk: i32, unit: &[String]) -> Vec<String> {
    let head = [
        Operator::LocalGet {
            local_index: counter,
        },
        Operator::I32Const { value: 1 },
        Operator::I32Sub,
        Operator::LocalTee {
            local_index: counter,
        },
        Operator::I32Eqz,
        Operator::If {
            blockty: BlockType::Empty,
        },
    ];
    let tail = [
        Operator::I32Const { value: chunk },
        Operator::LocalSet {
            local_index: counter,
        },
        Operator::End,
    ];
    let mut out: Vec<String> = head.iter().map(|o| format!("{o:?}")).collect();
    out.extend(unit.iter().cloned());
    out.extend(tail.iter().map(|o| format!("{o:?}")));
    out
}

/// The numbers in an operator's Debug text (`MemoryCopy { dst_mem: 0, src_mem: 1 }`).
fn fields(op: &str) -> Vec<u32> {
    op.split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect()
}

/// Whether operator `op` (Debug text) is a bulk operation, as the module docs list them:
/// whether its length is an `i64`, and log2 of the length charged as a unit.
fn bulk_of(op: &str, s: &Shape) -> Option<(bool, u32)> {
    let name = op.split([' ', '{']).next().unwrap();
    let mem = |i: usize| s.memory64[fields(op)[i] as usize];
    let table = |i: usize| s.table64[fields(op)[i] as usize];
    Some(match name {
        "MemoryFill" => (mem(0), BULK_BYTES_SHIFT),
        "MemoryCopy" => (mem(0) && mem(1), BULK_BYTES_SHIFT),
        "MemoryInit" => (false, BULK_BYTES_SHIFT),
        "MemoryGrow" => (mem(0), BULK_PAGES_SHIFT),
        "TableFill" | "TableGrow" => (table(0), BULK_ELEMS_SHIFT),
        "TableCopy" => (table(0) && table(1), BULK_ELEMS_SHIFT),
        "TableInit" | "ArrayNew" | "ArrayNewDefault" | "ArrayNewData" | "ArrayNewElem"
        | "ArrayFill" | "ArrayCopy" | "ArrayInitData" | "ArrayInitElem" => {
            (false, BULK_ELEMS_SHIFT)
        }
        _ => return None,
    })
}

/// The charge inserted before a bulk operation (see the module docs), as wasmparser
/// prints it: `scratch` the scratch local, or `None` when there was no room for one.
fn charge_ops(
    fuel: u32,
    tick: u32,
    budget: i32,
    scratch: Option<u32>,
    wide: bool,
    shift: u32,
) -> Vec<String> {
    let e = BlockType::Empty;
    let tick_wait = [
        Operator::Call {
            function_index: tick,
        },
        Operator::If { blockty: e },
        Operator::Call {
            function_index: tick + 1,
        },
        Operator::Drop,
        Operator::End,
    ];
    let refill = [
        Operator::I32Const { value: budget },
        Operator::GlobalSet { global_index: fuel },
    ];
    let mut ops: Vec<Operator> = Vec::new();
    let Some(l) = scratch else {
        return tick_wait.iter().map(|o| format!("{o:?}")).collect();
    };
    let tee = Operator::LocalTee { local_index: l };
    let get = Operator::LocalGet { local_index: l };
    let fuel_get = Operator::GlobalGet { global_index: fuel };
    let fuel_set = Operator::GlobalSet { global_index: fuel };
    if wide {
        ops.extend([
            tee.clone(),
            fuel_get.clone(),
            Operator::I64ExtendI32S,
            get.clone(),
            Operator::I64Const {
                value: i64::from(shift),
            },
            Operator::I64ShrU,
            Operator::I64Sub,
            tee,
            Operator::I64Const { value: 0 },
            Operator::I64LeS,
            Operator::If { blockty: e },
        ]);
        ops.extend(tick_wait.iter().cloned());
        ops.extend(refill.iter().cloned());
        ops.extend([Operator::Else, get, Operator::I32WrapI64, fuel_set]);
    } else {
        ops.extend([
            tee,
            fuel_get.clone(),
            get,
            Operator::I32Const {
                value: shift as i32,
            },
            Operator::I32ShrU,
            Operator::I32Sub,
            fuel_set,
            fuel_get,
            Operator::I32Const { value: 0 },
            Operator::I32LeS,
            Operator::If { blockty: e },
        ]);
        ops.extend(tick_wait.iter().cloned());
        ops.extend(refill.iter().cloned());
    }
    ops.push(Operator::End);
    ops.iter().map(|o| format!("{o:?}")).collect()
}

/// [`check_rewrite_chunked`] with the default [`LOOP_CHUNK`].
fn check_rewrite(orig: &[u8], out: &[u8], budget: i32) {
    check_rewrite_chunked(orig, out, budget, LOOP_CHUNK as i32);
}

/// Checks everything `instrument` promises about `out`, the instrumented `orig`.
fn check_rewrite_chunked(orig: &[u8], out: &[u8], budget: i32, chunk: i32) {
    validate(out).unwrap_or_else(|e| panic!("instrumented module invalid: {e}"));
    let a = shape(orig);
    let b = shape(out);
    let tick = a.imported_funcs;
    // The blocking WASI imports returning an i32 are wrapped (when the module has code):
    // (import's function index, its type), each wrapper defined after every function.
    let mut wrapped = Vec::new();
    let mut func_index = 0;
    for (module, name, ty) in &a.imports {
        if let Some(t) = ty.strip_prefix("Func(").and_then(|t| t.strip_suffix(')')) {
            let t: u32 = t.parse().unwrap();
            if module == "wasi_snapshot_preview1"
                && BLOCKING.contains(&name.as_str())
                && a.returns_i32[t as usize]
                && !a.bodies.is_empty()
            {
                wrapped.push((func_index, t));
            }
            func_index += 1;
        }
    }
    let defined = a.bodies.len() as u32;
    let remap = |f: u32| match wrapped.iter().position(|&(w, _)| w == f) {
        Some(k) => tick + 2 + defined + k as u32,
        None if f >= tick => f + 2,
        None => f,
    };
    let remap_str = |s: &str| {
        // `func N`, `Call { function_index: N }`, `RefFunc { function_index: N }`, ...
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("function_index: ") {
            let (head, tail) = rest.split_at(i + "function_index: ".len());
            out.push_str(head);
            let end = tail
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            let n: u32 = tail[..end].parse().unwrap();
            out.push_str(&remap(n).to_string());
            rest = &tail[end..];
        }
        out.push_str(rest);
        match out.strip_prefix("func ") {
            Some(n) => format!("func {}", remap(n.parse().unwrap())),
            None => out,
        }
    };
    // Types: one more, `() -> i32`; imports: the same, then the tick and the wait.
    assert_eq!(b.types, a.types + 1);
    assert_eq!(b.returns_i32.last(), Some(&true));
    assert_eq!(b.type_params.last(), Some(&0));
    assert_eq!(b.imports.len(), a.imports.len() + 2);
    assert_eq!(b.imports[..a.imports.len()], a.imports[..]);
    let added: Vec<(&str, &str, &str)> = b.imports[a.imports.len()..]
        .iter()
        .map(|i| (i.0.as_str(), i.1.as_str(), i.2.as_str()))
        .collect();
    let ty = format!("Func({})", a.types);
    assert_eq!(
        added,
        [
            (TICK_MODULE, TICK_NAME, &*ty),
            (TICK_MODULE, WAIT_NAME, &*ty)
        ]
    );
    assert_eq!(b.imported_funcs, tick + 2);
    // Globals: the same, then the fuel.
    let imported_globals = a
        .imports
        .iter()
        .filter(|i| i.2.starts_with("Global"))
        .count() as u32;
    let fuel = imported_globals + a.globals.len() as u32;
    assert_eq!(b.globals.len(), a.globals.len() + 1);
    for (x, y) in a.globals.iter().zip(&b.globals) {
        assert_eq!(x.0, y.0);
        assert_eq!(
            x.1.iter().map(|o| remap_str(o)).collect::<Vec<_>>(),
            y.1,
            "global init"
        );
    }
    assert_eq!(
        b.globals.last().unwrap(),
        &(
            true,
            vec![format!("I32Const {{ value: {budget} }}"), "End".to_string()]
        )
    );
    // Exports, start, elements point at the same functions.
    assert_eq!(a.exports.len(), b.exports.len());
    for (name, (kind, idx)) in &a.exports {
        let want = match kind {
            ExternalKind::Func => remap(*idx),
            _ => *idx,
        };
        assert_eq!(b.exports[name], (*kind, want), "export {name}");
    }
    assert_eq!(b.start, a.start.map(remap));
    assert_eq!(a.elements.len(), b.elements.len());
    for (x, y) in a.elements.iter().zip(&b.elements) {
        assert_eq!(x.0, y.0);
        let want: Vec<String> = x.1.iter().map(|i| remap_str(i)).collect();
        assert_eq!(want, y.1, "element segment");
    }
    // Bodies: the same code with calls remapped, the global check at the entry and a check
    // at the start of every loop body, and nothing else. A function with loops gets one more
    // local, an i32 after the others, set to the chunk after the entry check and counted
    // down by its loop checks, which run the global check when it reaches zero.
    assert_eq!(a.locals.len() + wrapped.len(), b.locals.len());
    assert_eq!(a.bodies.len() + wrapped.len(), b.bodies.len());
    assert_eq!(
        b.func_types,
        a.func_types
            .iter()
            .copied()
            .chain(wrapped.iter().map(|w| w.1))
            .collect::<Vec<_>>()
    );
    // Each wrapper calls its import with its own arguments and, when the import answers
    // WOULD_BLOCK, returns what the wait answers.
    for (k, &(import, ty)) in wrapped.iter().enumerate() {
        let params = a.type_params[ty as usize];
        let mut want: Vec<String> = (0..params)
            .map(|i| format!("{:?}", Operator::LocalGet { local_index: i }))
            .collect();
        want.extend(
            [
                Operator::Call {
                    function_index: import,
                },
                Operator::LocalTee {
                    local_index: params,
                },
                Operator::I32Const { value: WOULD_BLOCK },
                Operator::I32Eq,
                Operator::If {
                    blockty: BlockType::Type(wasmparser::ValType::I32),
                },
                Operator::Call {
                    function_index: tick + 1,
                },
                Operator::Else,
                Operator::LocalGet {
                    local_index: params,
                },
                Operator::End,
                Operator::End,
            ]
            .iter()
            .map(|o| format!("{o:?}")),
        );
        let i = a.bodies.len() + k;
        assert_eq!(b.locals[i], vec![(1, "I32".to_string())], "wrapper {k}");
        assert_eq!(b.bodies[i], want, "wrapper {k}");
    }
    let check = check_ops(fuel, tick, budget);
    for (i, (x, y)) in a.bodies.iter().zip(&b.bodies).enumerate() {
        let mut want = check.clone();
        let mut locals = a.locals[i].clone();
        let params = a.type_params[a.func_types[i] as usize];
        let mut count = params + locals.iter().map(|l| l.0).sum::<u32>();
        let counter = count;
        let loop_check = if !x.iter().any(|op| op.starts_with("Loop ")) {
            Vec::new()
        } else if counter >= 50_000 {
            // No room for another local: the loops count the global fuel.
            check.clone()
        } else {
            locals.push((1, "I32".into()));
            count += 1;
            want.push(format!("I32Const {{ value: {chunk} }}"));
            want.push(format!("LocalSet {{ local_index: {counter} }}"));
            loop_check_ops(counter, chunk, &check)
        };
        // Then the bulk operations' scratch locals: i32, i64 (while there is room).
        let mut scratch = |wide: bool, ty: &str| {
            if !x
                .iter()
                .any(|op| bulk_of(op, &a).is_some_and(|(w, _)| w == wide))
                || count >= 50_000
            {
                return None;
            }
            locals.push((1, ty.into()));
            count += 1;
            Some(count - 1)
        };
        let scratch32 = scratch(false, "I32");
        let scratch64 = scratch(true, "I64");
        assert_eq!(locals, b.locals[i], "locals of defined function {i}");
        for op in x {
            if let Some((wide, shift)) = bulk_of(op, &a) {
                let l = if wide { scratch64 } else { scratch32 };
                want.extend(charge_ops(fuel, tick, budget, l, wide, shift));
            }
            want.push(remap_str(op));
            if op.starts_with("Loop ") {
                want.extend(loop_check.iter().cloned());
            }
        }
        assert_eq!(&want, y, "body of defined function {i}");
    }
    // Names follow their functions; the tick and the fuel are named. (A malformed name
    // section is dropped; a mutated one may still read fine here and fail in a subsection
    // this test does not look at.)
    if !b.has_names {
        return;
    }
    if !a.func_names.is_empty() {
        // (An import keeps its name and index; its wrapper is named after it.)
        // (Names of functions that do not exist are dropped.)
        let shift = |f: u32| if f >= tick { f + 2 } else { f };
        let mut want: BTreeMap<u32, String> = a
            .func_names
            .iter()
            .filter(|(i, _)| u64::from(**i) < u64::from(tick) + u64::from(defined))
            .map(|(i, n)| (shift(*i), n.clone()))
            .collect();
        want.insert(tick, "oanix.tick".into());
        want.insert(tick + 1, "oanix.wait".into());
        for (k, &(import, _)) in wrapped.iter().enumerate() {
            let name = a.func_names.get(&import).map_or("import", String::as_str);
            want.insert(tick + 2 + defined + k as u32, format!("oanix.wrap.{name}"));
        }
        assert_eq!(want, b.func_names);
    }
    if !a.global_names.is_empty() {
        let mut want = a.global_names.clone();
        want.retain(|i, _| *i < fuel);
        want.insert(fuel, "oanix.fuel".into());
        assert_eq!(want, b.global_names);
    }
}

#[test]
fn rich_module_is_rewritten_with_every_reference_kept() {
    let orig = wat::parse_str(RICH).unwrap();
    validate(&orig).unwrap();
    for budget in [1u32, 7, DEFAULT_BUDGET] {
        let out = instrument(&orig, budget).unwrap();
        check_rewrite(&orig, &out, budget as i32);
    }
    // The name section was there and is kept: `fact` is still `fact`, one index up.
    let out = shape(&instrument(&orig, DEFAULT_BUDGET).unwrap());
    assert!(out.has_names);
    assert_eq!(out.func_names[&2], "oanix.tick");
    assert_eq!(out.func_names[&3], "oanix.wait");
    assert_eq!(out.func_names[&4], "fact");
    assert_eq!(out.exports["fact"], (ExternalKind::Func, 4));
    assert_eq!(out.exports["id_again"], (ExternalKind::Func, 1));
}

#[test]
fn the_wrapped_imports_are_the_shims_blocking_calls() {
    let mut shim: Vec<&str> = oanix_core::wasi::FUNCS
        .iter()
        .filter(|f| f.func.may_block())
        .map(|f| f.name)
        .collect();
    let mut wrapped = BLOCKING.to_vec();
    shim.sort();
    wrapped.sort();
    assert_eq!(shim, wrapped);
}

#[test]
fn blocking_wasi_imports_get_wrappers_that_wait() {
    // fd_write and poll_oneoff are wrapped (called, referenced by `ref.func` and a table,
    // re-exported: all now reach the wrapper); fd_read of a type not returning i32, a
    // non-blocking import and a blocking name from another module are left as they are.
    let src = r#"(module
      (import "env" "fd_write" (func $other (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32)))
      (import "wasi_snapshot_preview1" "path_open"
        (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
      (table 2 funcref)
      (elem (i32.const 0) func $fd_write $poll)
      (global funcref (ref.func $fd_write))
      (export "write_again" (func $fd_write))
      (func (export "_start")
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (drop (call $other (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $fd_read (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
        (loop (br_if 0 (call $poll (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))))"#;
    let orig = wat::parse_str(src).unwrap();
    let out = instrument(&orig, DEFAULT_BUDGET).unwrap();
    check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
    let b = shape(&out);
    // Five imports, the tick (5), the wait (6), `_start` (7), then two wrappers: 8
    // (fd_write) and 9 (poll_oneoff).
    assert_eq!(b.bodies.len(), 3);
    assert_eq!(b.exports["write_again"], (ExternalKind::Func, 8));
    assert_eq!(b.elements[0].1, ["func 8", "func 9"]);
    assert_eq!(b.func_names[&8], "oanix.wrap.fd_write");
    assert_eq!(b.func_names[&1], "fd_write");
    // A module with no code has nothing to wrap.
    let bare = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write"
             (func (param i32 i32 i32 i32) (result i32))))"#,
    )
    .unwrap();
    let out = instrument(&bare, DEFAULT_BUDGET).unwrap();
    check_rewrite(&bare, &out, DEFAULT_BUDGET as i32);
    assert!(shape(&out).bodies.is_empty());
    // A module importing `oanix.wait` already is refused.
    let taken = wat::parse_str(r#"(module (import "oanix" "wait" (func (result i32))))"#).unwrap();
    let e = instrument(&taken, DEFAULT_BUDGET).unwrap_err();
    assert!(e.to_string().contains("already imports oanix.wait"), "{e}");
}

#[test]
fn missing_sections_are_created() {
    for src in [
        "(module)",
        "(module (func))",
        "(module (func (export \"f\") (loop (br 0))))",
        "(module (memory 1) (data (i32.const 0) \"x\"))",
        "(module (import \"a\" \"b\" (func)) (start 0))",
        "(module (global i64 (i64.const 1)) (func (result i64) (global.get 0)))",
        "(module (tag) (func (block (try_table (catch 0 0) (throw 0)))))",
    ] {
        let orig = wat::parse_str(src).unwrap();
        let out = instrument(&orig, 3).unwrap_or_else(|e| panic!("{src}: {e}"));
        check_rewrite(&orig, &out, 3);
    }
}

#[test]
fn proposals_pass_through() {
    // Multi-memory, SIMD, bulk memory, reference types, exceptions (new and legacy), GC,
    // memory64, threads.
    for src in [
        r#"(module (memory $a 1) (memory $b 1)
             (func (export "copy") (memory.copy $a $b (i32.const 0) (i32.const 0) (i32.const 4))
               (loop (br_if 0 (i32.load $b (i32.const 0))))))"#,
        r#"(module (memory 1) (func (result v128)
             (i32x4.add (v128.load (i32.const 0)) (v128.const i32x4 1 2 3 4))))"#,
        r#"(module (table 2 externref) (func (param externref) (table.set (i32.const 0) (local.get 0))
             (drop (table.grow (ref.null extern) (i32.const 1)))))"#,
        r#"(module (tag $e) (func try throw $e catch $e catch_all end))"#,
        r#"(module (type $p (struct (field i32))) (func (result i32)
             (struct.get $p 0 (struct.new $p (i32.const 1)))))"#,
        r#"(module (memory i64 1) (func (result i32) (i32.load (i64.const 0))))"#,
        r#"(module (memory 1 1 shared) (func (result i32) (i32.atomic.load (i32.const 0))))"#,
        r#"(module (rec (type $a (func (param (ref null $b)))) (type $b (struct (field (ref null $a)))))
             (func (type $a)))"#,
    ] {
        let orig = wat::parse_str(src).unwrap();
        validate(&orig).unwrap_or_else(|e| panic!("{src}: {e}"));
        let out = instrument(&orig, DEFAULT_BUDGET).unwrap_or_else(|e| panic!("{src}: {e}"));
        check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
    }
}

#[test]
fn bulk_operations_are_charged_before_they_run() {
    // Every bulk operation, on 32- and 64-bit memories and tables, gets the charge the
    // module docs give (check_rewrite checks each body op for op); the scratch locals come
    // after the loop counter.
    for src in [
        r#"(module (memory 1) (data "abc")
             (func (export "_start") (loop (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x40000000)) (br 0))))"#,
        r#"(module (memory $a 1) (memory $b i64 1) (memory $c i64 1) (data "abc")
             (func (param i32 i64)
               (memory.copy $a $a (i32.const 0) (i32.const 0) (local.get 0))
               (memory.copy $b $c (i64.const 0) (i64.const 0) (local.get 1))
               (memory.copy $a $b (i32.const 0) (i64.const 0) (local.get 0))
               (memory.fill $b (i64.const 0) (i32.const 0) (local.get 1))
               (memory.init $b 0 (i64.const 0) (i32.const 0) (i32.const 3))
               (drop (memory.grow $a (local.get 0)))
               (drop (memory.grow $c (local.get 1)))))"#,
        r#"(module (table $t 1 funcref) (table $u i64 1 funcref) (elem func 0)
             (func (param i32 i64)
               (table.fill $t (i32.const 0) (ref.null func) (local.get 0))
               (table.copy $u $u (i64.const 0) (i64.const 0) (local.get 1))
               (table.copy $t $u (i32.const 0) (i64.const 0) (local.get 0))
               (table.init $u 0 (i64.const 0) (i32.const 0) (i32.const 1))
               (drop (table.grow $u (ref.null func) (local.get 1)))))"#,
        r#"(module (type $a (array (mut i8))) (data "abc")
             (func (param i32) (local (ref null $a))
               (local.set 1 (array.new_default $a (local.get 0)))
               (local.set 1 (array.new $a (i32.const 0) (local.get 0)))
               (local.set 1 (array.new_data $a 0 (i32.const 0) (i32.const 3)))
               (array.fill $a (local.get 1) (i32.const 0) (i32.const 0) (local.get 0))
               (array.copy $a $a (local.get 1) (i32.const 0) (local.get 1) (i32.const 0) (local.get 0))
               (array.init_data $a 0 (local.get 1) (i32.const 0) (i32.const 0) (local.get 0))))"#,
    ] {
        let orig = wat::parse_str(src).unwrap();
        validate(&orig).unwrap_or_else(|e| panic!("{src}: {e}"));
        let out = instrument(&orig, DEFAULT_BUDGET).unwrap_or_else(|e| panic!("{src}: {e}"));
        check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
    }
    // The 1 GiB fill in a loop: the charge sits right before it. 2^30 >> 12 units is far
    // more than a budget: the tick runs before every such fill.
    let orig = wat::parse_str(
        r#"(module (memory 1) (func (export "_start")
             (loop (memory.fill (i32.const 0) (i32.const 1) (i32.const 0x40000000)) (br 0))))"#,
    )
    .unwrap();
    let out = shape(&instrument(&orig, DEFAULT_BUDGET).unwrap());
    let body = &out.bodies[0];
    let at = body
        .iter()
        .position(|o| o.starts_with("MemoryFill"))
        .unwrap();
    // Locals: the loop counter (0), then the scratch (1); fuel is global 0, tick func 0.
    let charge = charge_ops(
        0,
        0,
        DEFAULT_BUDGET as i32,
        Some(1),
        false,
        BULK_BYTES_SHIFT,
    );
    assert_eq!(&body[at - charge.len()..at], &charge[..]);
    assert_eq!(
        out.locals[0],
        [(1, "I32".to_string()), (1, "I32".to_string())]
    );
}

#[test]
fn bulk_operations_in_a_function_without_room_for_a_local_tick_first() {
    // 50,000 locals: no room for a scratch local; 49,999 and a loop: the counter takes the
    // last one. Either way the fill is preceded by the tick (and the wait if it asks).
    for (locals, body) in [
        (
            50_000,
            "(memory.fill (i32.const 0) (i32.const 1) (i32.const 100))",
        ),
        (
            49_999,
            "(loop (memory.fill (i32.const 0) (i32.const 1) (i32.const 100)))",
        ),
    ] {
        let src = format!(
            "(module (memory 1) (func {} {body}))",
            "(local f64) ".repeat(locals)
        );
        let orig = wat::parse_str(&src).unwrap();
        validate(&orig).unwrap();
        let out = instrument(&orig, DEFAULT_BUDGET).unwrap();
        check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
        let b = shape(&out);
        let at = b.bodies[0]
            .iter()
            .position(|o| o.starts_with("MemoryFill"))
            .unwrap();
        let tick = charge_ops(0, 0, DEFAULT_BUDGET as i32, None, false, BULK_BYTES_SHIFT);
        assert_eq!(&b.bodies[0][at - tick.len()..at], &tick[..]);
    }
}

#[test]
fn errors_are_clear() {
    let e = instrument(b"\0asm\x01\0\0\0\x01", DEFAULT_BUDGET).unwrap_err();
    assert!(e.to_string().starts_with("invalid module: "), "{e}");
    let e = instrument(b"not wasm", DEFAULT_BUDGET).unwrap_err();
    assert!(e.to_string().starts_with("invalid module: "), "{e}");
    // Type-invalid code is caught by the validator, not by the re-encoder.
    let bad = wat::parse_str("(module (func (result i32) (i64.const 1)))").unwrap();
    let e = instrument(&bad, DEFAULT_BUDGET).unwrap_err();
    assert!(
        e.to_string().starts_with("invalid module: type mismatch"),
        "{e}"
    );
    // Instrumenting twice, or a module using the name, is refused.
    let once = instrument(&wat::parse_str(RICH).unwrap(), DEFAULT_BUDGET).unwrap();
    let e = instrument(&once, DEFAULT_BUDGET).unwrap_err();
    assert!(e.to_string().contains("already imports oanix.tick"), "{e}");
    let taken = wat::parse_str(r#"(module (import "oanix" "tick" (global i32)))"#).unwrap();
    assert!(instrument(&taken, DEFAULT_BUDGET).is_err());
    // A component is not a core module.
    let component = wat::parse_str("(component)").unwrap();
    assert!(instrument(&component, DEFAULT_BUDGET).is_err());
    // Errors are std errors.
    let _: &dyn std::error::Error = &e;
}

#[test]
fn budget_and_chunk_are_clamped_to_a_positive_i32() {
    let orig = wat::parse_str("(module (func (loop)))").unwrap();
    check_rewrite(&orig, &instrument(&orig, 0).unwrap(), 1);
    check_rewrite(&orig, &instrument(&orig, u32::MAX).unwrap(), i32::MAX);
    let out = instrument_with_chunk(&orig, 5, 0).unwrap();
    check_rewrite_chunked(&orig, &out, 5, 1);
    let out = instrument_with_chunk(&orig, 0, u32::MAX).unwrap();
    check_rewrite_chunked(&orig, &out, 1, i32::MAX);
}

#[test]
fn chunk_sets_the_loop_counter() {
    let orig = wat::parse_str(RICH).unwrap();
    for (budget, chunk) in [(1, 1), (7, 3), (DEFAULT_BUDGET, 1)] {
        let out = instrument_with_chunk(&orig, budget, chunk).unwrap();
        check_rewrite_chunked(&orig, &out, budget as i32, chunk as i32);
    }
    assert_eq!(
        instrument(&orig, 9).unwrap(),
        instrument_with_chunk(&orig, 9, LOOP_CHUNK).unwrap()
    );
}

#[test]
fn loop_counters_follow_params_and_locals_up_to_the_limit() {
    for src in [
        // Params and locals of several kinds before the counter.
        "(module (func (param i32 i64) (local f32 f32 v128) (loop (br_if 0 (local.get 0)))))",
        // Two loops, nested, share one counter; a function without loops gets none.
        "(module (func (param i32) (loop (loop (br_if 1 (local.get 0))))) (func (param i32)))",
        // The counter would be local 50,000, over the limit: the loops use the global.
        "(module (func (param i32) (local i32) (local i64) (local f64) (loop)))",
    ] {
        let src = src.replace(
            "(local i32) (local i64)",
            "(local i32) (local i64) ".repeat(24_999).as_str(),
        );
        let orig = wat::parse_str(&src).unwrap();
        validate(&orig).unwrap();
        let out = instrument(&orig, 9).unwrap();
        check_rewrite(&orig, &out, 9);
    }
    // One local fewer and the counter, local 49,999, is the last one allowed.
    let src = "(module (func (param i32) (local i32) (local i64) (loop)))".replace(
        "(local i32) (local i64)",
        &"(local i32) (local i64) ".repeat(24_999),
    );
    let orig = wat::parse_str(&src).unwrap();
    let out = instrument(&orig, 9).unwrap();
    check_rewrite(&orig, &out, 9);
    assert_eq!(shape(&out).locals[0].last(), Some(&(1, "I32".to_string())));
    let over = src.replace("(loop)", "(local f64) (loop)");
    let out = shape(&instrument(&wat::parse_str(&over).unwrap(), 9).unwrap());
    assert_eq!(out.locals[0].last(), Some(&(1, "F64".to_string())));
}

#[test]
fn stale_custom_sections_are_dropped_and_others_kept() {
    let src = r#"(module
        (@custom "producers" "keep me")
        (@custom ".debug_info" "offsets")
        (@custom "metadata.code.branch_hint" "offsets")
        (@custom "linking" "relocs")
        (func $f (loop)))"#;
    let orig = wat::parse_str(src).unwrap();
    let out = instrument(&orig, DEFAULT_BUDGET).unwrap();
    let mut names = Vec::new();
    for p in Parser::new(0).parse_all(&out) {
        if let Payload::CustomSection(c) = p.unwrap() {
            names.push(c.name().to_string());
        }
    }
    assert_eq!(names, ["producers", "name"]);
}

#[test]
fn malformed_name_section_is_dropped() {
    let orig = wat::parse_str(r#"(module (@custom "name" "\ff\ff\ff") (func))"#).unwrap();
    validate(&orig).unwrap();
    let out = instrument(&orig, DEFAULT_BUDGET).unwrap();
    check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
}

/// `n` as unsigned LEB128.
fn leb(mut n: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A `name` section naming functions `funcs` and globals `globals` (each `xN`), and
/// local 0 of each function in `funcs`, as bytes for a WAT `@custom` string.
fn name_section(funcs: &[u32], globals: &[u32]) -> String {
    let name_map = |ids: &[u32]| {
        let mut m = leb(ids.len() as u32);
        for (k, &i) in ids.iter().enumerate() {
            m.extend(leb(i));
            let name = format!("x{k}");
            m.extend(leb(name.len() as u32));
            m.extend(name.bytes());
        }
        m
    };
    let sub = |id: u8, body: Vec<u8>| {
        let mut v = vec![id];
        v.extend(leb(body.len() as u32));
        v.extend(body);
        v
    };
    let mut locals = leb(funcs.len() as u32);
    for &f in funcs {
        locals.extend(leb(f));
        locals.extend(name_map(&[0]));
    }
    let mut bytes = sub(1, name_map(funcs));
    bytes.extend(sub(2, locals));
    bytes.extend(sub(7, name_map(globals)));
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A module with one import, two functions and a global, and the name section given.
fn with_names(funcs: &[u32], globals: &[u32]) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module (import "m" "f" (func)) (global i32 (i32.const 0))
             (func (local i32)) (func (loop (br 0)))
             (@custom "name" "{}"))"#,
        name_section(funcs, globals)
    ))
    .unwrap()
}

#[test]
fn names_of_functions_that_do_not_exist_are_dropped_not_a_panic() {
    // The name section is not validated: it may name function 0xFFFF_FFFF (whose shift
    // past the two new imports overflowed: a panic in debug builds). Names of functions
    // and globals that do not exist are dropped; the others are kept.
    for huge in [u32::MAX, u32::MAX - 1, 3, 1 << 20] {
        let orig = with_names(&[0, 2, huge], &[0, huge]);
        validate(&orig).unwrap();
        let out = instrument(&orig, DEFAULT_BUDGET).unwrap();
        check_rewrite(&orig, &out, DEFAULT_BUDGET as i32);
        let b = shape(&out);
        assert!(b.has_names, "the name section is kept");
        assert_eq!(b.func_names[&0], "x0");
        assert_eq!(b.func_names[&4], "x1", "function 2 is now 4");
        assert!(
            !b.func_names.values().any(|n| n == "x2"),
            "{:?}",
            b.func_names
        );
        assert_eq!(b.global_names[&0], "x0");
        assert!(!b.global_names.values().any(|n| n == "x1"));
    }
}

/// Valid seeds for the mutation tests.
fn seeds() -> Vec<Vec<u8>> {
    [
        RICH,
        "(module)",
        "(module (func $spin (export \"spin\") (loop (br 0))))",
        r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
             (memory (export "memory") 1) (global (mut i32) (i32.const 1024))
             (func $main (export "_start") (local i32)
               (loop (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                 (br_if 0 (i32.lt_u (local.get 0) (i32.const 10))))
               (call 0 (local.get 0))))"#,
    ]
    .iter()
    .map(|s| wat::parse_str(s).unwrap())
    .collect()
}

/// A random but valid program: `funcs` functions of type `() -> ()` (the first `imports`
/// imported) whose bodies nest blocks, loops, ifs, calls, branches and bulk memory operations as `code` says.
fn random_program(imports: u8, funcs: u8, code: &[u8], start: bool) -> String {
    let imports = imports as usize;
    let funcs = (funcs as usize).max(imports + 1);
    let mut wat = String::from("(module\n");
    for i in 0..imports {
        wat.push_str(&format!("(import \"m\" \"f{i}\" (func $f{i}))\n"));
    }
    wat.push_str("(table 4 funcref) (memory 1)\n");
    let mut ops = code.iter().copied();
    for i in imports..funcs {
        wat.push_str(&format!("(func $f{i} (export \"f{i}\")"));
        let mut depth = 0usize;
        for _ in 0..8 {
            let Some(op) = ops.next() else { break };
            let arg = ops.next().unwrap_or(0) as usize;
            match op % 10 {
                0 => {
                    wat.push_str(" (loop");
                    depth += 1;
                }
                1 => {
                    wat.push_str(" (block");
                    depth += 1;
                }
                2 => wat.push_str(&format!(
                    " (if (i32.const 1) (then (call $f{})))",
                    arg % funcs
                )),
                3 => wat.push_str(&format!(" (call $f{})", arg % funcs)),
                4 if depth > 0 => wat.push_str(&format!(" (br_if {} (i32.const 0))", arg % depth)),
                5 => wat.push_str(&format!(" (drop (ref.func $f{}))", arg % funcs)),
                6 => wat.push_str(" (call_indirect (i32.const 0))"),
                7 if depth > 0 => {
                    wat.push(')');
                    depth -= 1;
                }
                8 => wat.push_str(&format!(
                    " (memory.fill (i32.const 0) (i32.const 0) (i32.const {}))",
                    arg << 8
                )),
                9 => wat.push_str(" (drop (memory.grow (i32.const 0)))"),
                _ => wat.push_str(" (nop)"),
            }
        }
        wat.push_str(&")".repeat(depth));
        wat.push_str(")\n");
    }
    wat.push_str(&format!("(elem (i32.const 0) func $f{})\n", funcs - 1));
    // `ref.func` needs its function declared (imported ones are not exported).
    let all: Vec<String> = (0..funcs).map(|i| format!("$f{i}")).collect();
    wat.push_str(&format!("(elem declare func {})\n", all.join(" ")));
    if start {
        wat.push_str(&format!("(start $f{})\n", funcs - 1));
    }
    wat.push(')');
    wat
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random byte changes, insertions and truncations of valid modules never panic: the
    /// result is an error or a module that validates (and, if the input still validated,
    /// a faithful rewrite).
    #[test]
    fn mutated_modules_never_panic(
        seed in 0usize..4,
        edits in vec((any::<u32>(), any::<u8>(), 0u8..3), 0..6),
        cut in proptest::option::of(any::<u32>()),
    ) {
        let mut wasm = seeds().swap_remove(seed);
        for (pos, byte, kind) in edits {
            if wasm.is_empty() {
                break;
            }
            let pos = pos as usize % wasm.len();
            match kind {
                0 => wasm[pos] = byte,
                1 => wasm.insert(pos, byte),
                _ => {
                    wasm.remove(pos);
                }
            }
        }
        if let Some(cut) = cut {
            let len = cut as usize % (wasm.len() + 1);
            wasm.truncate(len);
        }
        match instrument(&wasm, 5) {
            Ok(out) => check_rewrite(&wasm, &out, 5),
            Err(e) => prop_assert!(validate(&wasm).is_err() || e.to_string().contains("already")),
        }
    }

    /// Name sections naming any function or global index (the section is not validated)
    /// never make the rewrite panic, and the names of functions that exist follow them.
    #[test]
    fn any_name_indices_never_panic(
        funcs in vec(prop_oneof![0u32..4, any::<u32>(), (u32::MAX - 2)..=u32::MAX], 0..5),
        globals in vec(prop_oneof![0u32..2, any::<u32>()], 0..3),
    ) {
        let orig = with_names(&funcs, &globals);
        let out = instrument(&orig, 5).unwrap();
        check_rewrite(&orig, &out, 5);
    }

    /// Random valid programs are rewritten faithfully.
    #[test]
    fn random_programs_are_rewritten_faithfully(
        imports in 0u8..3,
        funcs in 1u8..6,
        code in vec(any::<u8>(), 0..80),
        start in any::<bool>(),
        budget in 1u32..100,
        chunk in 1u32..200,
    ) {
        let src = random_program(imports, funcs, &code, start);
        let orig = wat::parse_str(&src).unwrap();
        prop_assert!(validate(&orig).is_ok(), "{src}");
        let out = instrument_with_chunk(&orig, budget, chunk).unwrap();
        check_rewrite_chunked(&orig, &out, budget as i32, chunk as i32);
    }
}
