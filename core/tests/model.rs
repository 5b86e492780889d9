//! Model-based tests: random operation sequences on each service against a simple
//! reference model. Natively proptest drives them; in the browser a seeded generator runs
//! a fixed set of sequences (the fast subset).

use oanix_core::Follow;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::{apply_service, dump, normalise, ops_from_words, Model, Node, Op, Outcome, Value};
use oanix_core::service::{read_all, write_all_at};
use oanix_core::{
    ChangeKind, CowFs, Errno, FileKind, FileService, FsPath, MapFs, MemFs, Namespace, OpenOptions,
};
use std::sync::Arc;

/// Short names collide often; a long and a non-ASCII one check names pass unchanged.
const NAMES: &[&str] = &["a", "b", "c", "a", "b", "ü-ñ", "a-longer-name-0123456789"];

fn check_memfs(words: &[u64]) {
    let fs = MemFs::new();
    let mut model = Model::default();
    let ops = ops_from_words(words, NAMES, false);
    for (i, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let got = apply_service(&fs, op);
        assert_eq!(got, want, "op {i}: {op:?} after {:?}", &ops[..i]);
    }
    assert_eq!(dump(&fs), model);
}

/// CowFs over a random base: same results as the model; the base never changes; the
/// listed changes applied to a copy of the base give the overlay's tree; commit does too.
fn check_cowfs(base_words: &[u64], words: &[u64]) {
    let base = Arc::new(MemFs::new());
    let mut model = Model::default();
    for op in ops_from_words(base_words, NAMES, false) {
        assert_eq!(apply_service(base.as_ref(), &op), model.apply(&op));
    }
    let base_model = model.clone();
    let cow = CowFs::new(base.clone());
    let ops = ops_from_words(words, NAMES, false);
    for (i, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let got = apply_service(&cow, op);
        assert_eq!(
            got,
            want,
            "op {i}: {op:?} after {:?} on base {base_model:?}",
            &ops[..i]
        );
    }
    assert_eq!(dump(&cow), model, "overlay view");
    assert_eq!(dump(base.as_ref()), base_model, "base untouched");

    let copy = MemFs::from_snapshot(&base.to_snapshot()).unwrap();
    let changes = cow.changes().unwrap();
    for c in &changes {
        match (c.kind, c.file_kind) {
            (ChangeKind::Deleted, _) => remove_tree(&copy, &c.path),
            (_, FileKind::Dir) => copy.mkdir(&c.path).unwrap(),
            _ => {
                let data = read_all(cow.open(&c.path, &OpenOptions::read()).unwrap().as_ref());
                let h = copy.open(&c.path, &OpenOptions::create_truncate()).unwrap();
                write_all_at(h.as_ref(), &data.unwrap(), 0).unwrap();
            }
        }
    }
    assert_eq!(
        dump(&copy),
        model,
        "base + changes: {changes:?} on base {base_model:?} after {ops:?}"
    );
    cow.commit().unwrap();
    assert_eq!(dump(base.as_ref()), model, "committed base");
    assert_eq!(dump(&cow), model, "view after commit");
    assert!(cow.changes().unwrap().is_empty());
}

fn remove_tree(fs: &MemFs, p: &FsPath) {
    if fs.stat(p, Follow::No).unwrap().kind == FileKind::Dir {
        for e in fs.readdir(p).unwrap() {
            remove_tree(fs, &p.join_name(&e.name));
        }
        fs.remove_dir(p).unwrap();
    } else {
        fs.remove_file(p).unwrap();
    }
}

/// The namespace model: MemFs models mounted at `/a` and `/b/c`; `/` and `/b` synthetic.
struct NsModel {
    a: Model,
    c: Model,
}

enum Place {
    DirHere,
    Outside(String),
    Inside(bool, String), // (is /a, rest)
}

fn place(p: &str) -> Place {
    match p {
        "" | "b" | "a" | "b/c" => Place::DirHere,
        _ if p.starts_with("a/") => Place::Inside(true, p[2..].to_string()),
        _ if p.starts_with("b/c/") => Place::Inside(false, p[4..].to_string()),
        _ => Place::Outside(p.to_string()),
    }
}

fn outside_err(p: &str) -> Errno {
    match common::parent(p) {
        Some("") | Some("b") => Errno::Rofs,
        _ => Errno::NoEnt,
    }
}

impl NsModel {
    fn m(&mut self, is_a: bool) -> &mut Model {
        if is_a {
            &mut self.a
        } else {
            &mut self.c
        }
    }

    fn exists(m: &Model, rest: &str) -> Result<(), Errno> {
        m.check_parent(rest)?;
        m.nodes.get(rest).map(|_| ()).ok_or(Errno::NoEnt)
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let norm = |s: &String| normalise(s);
        match op {
            Op::Mkdir(p) => match place(&norm(p)) {
                Place::DirHere => Err(Errno::Exist),
                Place::Outside(p) => Err(outside_err(&p)),
                Place::Inside(a, r) => self.m(a).apply(&Op::Mkdir(r)),
            },
            Op::SetTimes(p, at, mt) => match place(&norm(p)) {
                // The mount points are their services' roots; `/` and `/b` are synthetic.
                Place::DirHere if matches!(norm(p).as_str(), "a" | "b/c") => {
                    Ok(Value::Times(*at, *mt))
                }
                Place::DirHere => Err(Errno::Rofs),
                Place::Outside(_) => Err(Errno::NoEnt),
                Place::Inside(a, r) => self.m(a).apply(&Op::SetTimes(r, *at, *mt)),
            },
            Op::Write(..)
            | Op::Append(..)
            | Op::Create(_)
            | Op::CreateNew(_)
            | Op::SetLen(..)
            | Op::Read(_) => {
                let (p, rebuild): (&String, Box<dyn Fn(String) -> Op>) = match op {
                    Op::Write(p, o, d) => (p, Box::new(|r| Op::Write(r, *o, d.clone()))),
                    Op::Append(p, d) => (p, Box::new(|r| Op::Append(r, d.clone()))),
                    Op::Create(p) => (p, Box::new(Op::Create)),
                    Op::CreateNew(p) => (p, Box::new(Op::CreateNew)),
                    Op::SetLen(p, l) => (p, Box::new(|r| Op::SetLen(r, *l))),
                    Op::Read(p) => (p, Box::new(Op::Read)),
                    _ => unreachable!(),
                };
                let creates = matches!(
                    op,
                    Op::Write(..) | Op::Append(..) | Op::Create(_) | Op::CreateNew(_)
                );
                match place(&norm(p)) {
                    Place::DirHere if matches!(op, Op::CreateNew(_)) => Err(Errno::Exist),
                    Place::DirHere => Err(Errno::IsDir),
                    Place::Outside(p) if creates => Err(outside_err(&p)),
                    Place::Outside(_) => Err(Errno::NoEnt),
                    Place::Inside(a, r) => self.m(a).apply(&rebuild(r)),
                }
            }
            Op::RemoveFile(p) | Op::RemoveDir(p) => match place(&norm(p)) {
                Place::DirHere => Err(Errno::Busy),
                Place::Outside(_) => Err(Errno::NoEnt),
                Place::Inside(a, r) => {
                    let op = match op {
                        Op::RemoveFile(_) => Op::RemoveFile(r),
                        _ => Op::RemoveDir(r),
                    };
                    self.m(a).apply(&op)
                }
            },
            Op::Rename(from, to) => {
                let (fa, fr) = match place(&norm(from)) {
                    Place::DirHere => return Err(Errno::Busy),
                    Place::Outside(_) => return Err(Errno::NoEnt),
                    Place::Inside(a, r) => {
                        Self::exists(self.m(a), &r)?;
                        (a, r)
                    }
                };
                let (ta, tr) = match place(&norm(to)) {
                    Place::DirHere => return Err(Errno::Busy),
                    Place::Outside(p) => return Err(outside_err(&p)),
                    Place::Inside(a, r) => {
                        self.m(a).check_parent(&r)?;
                        (a, r)
                    }
                };
                if fa != ta {
                    return Err(Errno::Xdev);
                }
                self.m(fa).apply(&Op::Rename(fr, tr))
            }
            Op::Stat(p) => match place(&norm(p)) {
                Place::DirHere => Ok(Value::Kind(FileKind::Dir, None)),
                Place::Outside(_) => Err(Errno::NoEnt),
                Place::Inside(a, r) => self.m(a).apply(&Op::Stat(r)),
            },
            Op::Readdir(p) => match norm(p).as_str() {
                "" => Ok(Value::Names(vec!["a".into(), "b".into()])),
                "b" => Ok(Value::Names(vec!["c".into()])),
                "a" => self.a.apply(&Op::Readdir(String::new())),
                "b/c" => self.c.apply(&Op::Readdir(String::new())),
                q => match place(q) {
                    Place::Inside(a, r) => self.m(a).apply(&Op::Readdir(r)),
                    _ => Err(Errno::NoEnt),
                },
            },
        }
    }
}

fn check_namespace(words: &[u64]) {
    let a = MemFs::new();
    let c = MemFs::new();
    let mut ns = Namespace::new();
    ns.mount("/a", Arc::new(a.clone())).unwrap();
    ns.mount("/b/c", Arc::new(c.clone())).unwrap();
    let mut model = NsModel {
        a: Model::default(),
        c: Model::default(),
    };
    let ops = ops_from_words(words, &["a", "b", "c", "x"], true);
    for (i, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let got = apply_service(&ns, op);
        assert_eq!(got, want, "op {i}: {op:?} after {:?}", &ops[..i]);
    }
    assert_eq!(dump(&a), model.a, "{ops:?}");
    assert_eq!(dump(&c), model.c, "{ops:?}");
}

/// The union model: `/u` shows MemFs X with MemFs Y bound after it (Plan 9 `bind -a`).
/// Lookups take the first layer that has the name; creation goes to the first layer whose
/// parent directory exists; listings merge; a rename must stay within one layer.
struct UnionModel {
    layers: [Model; 2],
}

impl UnionModel {
    /// The first layer holding `r`, else the first error other than ENOENT, else ENOENT.
    fn find(&self, r: &str) -> Result<usize, Errno> {
        let mut err = None;
        for (i, m) in self.layers.iter().enumerate() {
            match m.get(r) {
                Ok(_) => return Ok(i),
                Err(e) if err.is_none() || err == Some(Errno::NoEnt) => err = Some(e),
                Err(_) => {}
            }
        }
        Err(err.unwrap_or(Errno::NoEnt))
    }

    /// The first layer where `r`'s parent is a directory, else the first error.
    fn create_layer(&self, r: &str) -> Result<usize, Errno> {
        let par = common::parent(r).ok_or(Errno::Exist)?;
        let mut err = None;
        for (i, m) in self.layers.iter().enumerate() {
            match m.get(par) {
                Ok(Node::Dir) => return Ok(i),
                Ok(_) => err = err.or(Some(Errno::NotDir)),
                Err(e) => err = err.or(Some(e)),
            }
        }
        Err(err.unwrap_or(Errno::NoEnt))
    }

    /// The layer an operation on `r` lands on, creating if `creates`.
    fn target(&self, r: &str, creates: bool) -> Result<usize, Errno> {
        match self.find(r) {
            Err(Errno::NoEnt) if creates => self.create_layer(r),
            other => other,
        }
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        let r = op.path();
        match op {
            Op::Mkdir(_) if r.is_empty() => Err(Errno::Exist),
            Op::Mkdir(_) => match self.find(r) {
                Ok(_) => Err(Errno::Exist),
                Err(Errno::NoEnt) => {
                    let l = self.create_layer(r)?;
                    self.layers[l].apply(op)
                }
                Err(e) => Err(e),
            },
            Op::Write(..) | Op::Append(..) | Op::Create(_) | Op::CreateNew(_) => {
                let l = self.target(r, true)?;
                self.layers[l].apply(op)
            }
            Op::SetLen(..) | Op::Read(_) | Op::SetTimes(..) => {
                let l = self.target(r, false)?;
                self.layers[l].apply(op)
            }
            Op::RemoveFile(_) | Op::RemoveDir(_) if r.is_empty() => Err(Errno::Busy),
            Op::RemoveFile(_) | Op::RemoveDir(_) => {
                let l = self.find(r)?;
                self.layers[l].apply(op)
            }
            Op::Rename(a, b) => {
                if a.is_empty() {
                    return Err(Errno::Busy);
                }
                let src = self.find(a)?;
                if b.is_empty() {
                    return Err(Errno::Busy);
                }
                let dst = self.target(b, true)?;
                if src != dst {
                    return Err(Errno::Xdev);
                }
                self.layers[src].apply(op)
            }
            Op::Stat(_) => {
                let mut err = None;
                for m in &mut self.layers {
                    match m.apply(op) {
                        Ok(v) => return Ok(v),
                        Err(e) => err = err.or(Some(e)),
                    }
                }
                Err(err.unwrap())
            }
            Op::Readdir(_) => {
                let (mut names, mut err, mut any) = (Vec::new(), None, false);
                for m in &mut self.layers {
                    match m.apply(op) {
                        Ok(Value::Names(n)) => {
                            any = true;
                            names.extend(n);
                        }
                        Ok(v) => unreachable!("{v:?}"),
                        Err(e) => err = err.or(Some(e)),
                    }
                }
                if !any {
                    return Err(err.unwrap());
                }
                names.sort();
                names.dedup();
                Ok(Value::Names(names))
            }
        }
    }
}

/// A union mount (`bind -a`) of two MemFs trees, each seeded with its own random tree.
fn check_union(x_words: &[u64], y_words: &[u64], words: &[u64]) {
    let x = MemFs::new();
    let y = MemFs::new();
    let mut model = UnionModel {
        layers: [Model::default(), Model::default()],
    };
    for (fs, m, w) in [(&x, 0, x_words), (&y, 1, y_words)] {
        for op in ops_from_words(w, NAMES, false) {
            assert_eq!(apply_service(fs, &op), model.layers[m].apply(&op));
        }
    }
    let mut ns = Namespace::new();
    ns.mount("/u", Arc::new(x.clone())).unwrap();
    ns.mount_with("/u", Arc::new(y.clone()), oanix_core::BindMode::After)
        .unwrap();
    let ops = ops_from_words(words, NAMES, false);
    let under_u = |p: &str| {
        if p.is_empty() {
            "/u".to_string()
        } else {
            format!("/u/{p}")
        }
    };
    for (i, op) in ops.iter().enumerate() {
        let want = model.apply(op);
        let got = apply_service(&ns, &op.map_paths(under_u));
        assert_eq!(got, want, "op {i}: {op:?} after {:?}", &ops[..i]);
    }
    assert_eq!(dump(&x), model.layers[0], "first layer after {ops:?}");
    assert_eq!(dump(&y), model.layers[1], "second layer after {ops:?}");
}

/// MapFs: the tree read back equals the map it was built from; every mutation is EROFS.
fn check_mapfs(words: &[u64]) {
    let mut model = Model::default();
    for op in ops_from_words(words, NAMES, false) {
        if matches!(op, Op::Mkdir(_) | Op::Write(..) | Op::Append(..)) {
            let _ = model.apply(&op);
        }
    }
    let mut b = MapFs::builder();
    for (p, n) in &model.nodes {
        b = match n {
            Node::Dir if !p.is_empty() => b.dir(p),
            Node::File(d) => b.file(p, d),
            _ => b,
        };
    }
    let fs = b.build().unwrap();
    assert_eq!(dump(&fs), model);
    for op in ops_from_words(words, NAMES, false) {
        let got = apply_service(&fs, &op);
        match op {
            Op::Read(_) | Op::Stat(_) | Op::Readdir(_) => {
                assert_eq!(got, model.clone().apply(&op), "{op:?}")
            }
            // Creating or changing anything fails; only lookups that fail first differ.
            _ => assert!(got.is_err(), "{op:?} must fail on MapFs"),
        }
    }
    assert_eq!(dump(&fs), model);
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn memfs_matches_model(words in vec(any::<u64>(), 0..300)) {
            super::check_memfs(&words);
        }

        #[test]
        fn cowfs_matches_base_plus_changes(
            base in vec(any::<u64>(), 0..200),
            words in vec(any::<u64>(), 0..300),
        ) {
            super::check_cowfs(&base, &words);
        }

        #[test]
        fn namespace_matches_flat_model(words in vec(any::<u64>(), 0..300)) {
            super::check_namespace(&words);
        }

        #[test]
        fn union_bind_matches_two_layer_model(
            x in vec(any::<u64>(), 0..120),
            y in vec(any::<u64>(), 0..120),
            words in vec(any::<u64>(), 0..300),
        ) {
            super::check_union(&x, &y, &words);
        }

        #[test]
        fn mapfs_is_its_map_and_immutable(words in vec(any::<u64>(), 0..150)) {
            super::check_mapfs(&words);
        }
    }
}

/// The browser's fast subset: fixed seeds, same checks.
#[test]
fn seeded_sequences_match_the_models() {
    for seed in 1..=24u64 {
        check_memfs(&common::seeded_words(seed, 300));
        check_cowfs(
            &common::seeded_words(seed + 1000, 150),
            &common::seeded_words(seed + 2000, 300),
        );
        check_namespace(&common::seeded_words(seed + 3000, 300));
        check_mapfs(&common::seeded_words(seed + 4000, 150));
        check_union(
            &common::seeded_words(seed + 5000, 120),
            &common::seeded_words(seed + 6000, 120),
            &common::seeded_words(seed + 7000, 300),
        );
    }
}

#[test]
fn generated_sequences_do_real_work() {
    // Guard against a generator that only produces failing operations.
    let (mut ok, mut total, mut writes_ok) = (0, 0, 0);
    for seed in 1..=24u64 {
        let mut m = Model::default();
        for op in ops_from_words(&common::seeded_words(seed, 300), NAMES, false) {
            total += 1;
            if m.apply(&op).is_ok() {
                ok += 1;
                if matches!(op, Op::Write(..) | Op::Rename(..)) {
                    writes_ok += 1;
                }
            }
        }
    }
    // The union's second layer must see changes too (not only lookups falling through).
    let mut second_layer_changes = 0;
    for seed in 1..=24u64 {
        let mut u = UnionModel {
            layers: [Model::default(), Model::default()],
        };
        for (m, w) in [(0, seed + 5000), (1, seed + 6000)] {
            for op in ops_from_words(&common::seeded_words(w, 120), NAMES, false) {
                let _ = u.layers[m].apply(&op);
            }
        }
        for op in ops_from_words(&common::seeded_words(seed + 7000, 300), NAMES, false) {
            let before = u.layers[1].clone();
            let _ = u.apply(&op);
            second_layer_changes += usize::from(u.layers[1] != before);
        }
    }
    eprintln!("{ok}/{total} operations succeeded, {writes_ok} writes/renames");
    eprintln!("{second_layer_changes} union operations changed the second layer");
    assert!(second_layer_changes > 30, "{second_layer_changes}");
    assert!(ok * 4 > total, "{ok}/{total}");
    assert!(writes_ok > 200, "{writes_ok}");
}
