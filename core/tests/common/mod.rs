//! A simple reference model of a POSIX-like tree, operations on it and on real services,
//! and a generator of operation sequences from random words (used by proptest natively
//! and by a seeded generator in the browser).
#![allow(dead_code)]

use oanix_core::Follow;
use oanix_core::{
    service::{read_all, write_all_at},
    Errno, FileKind, FileService, FsError, FsPath, OpenOptions,
};
use std::collections::BTreeMap;

/// A node of the model: a directory or a file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File(Vec<u8>),
}

/// One operation, on normalised-or-raw path strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Mkdir(String),
    Write(String, u64, Vec<u8>),
    /// Opens with append (creating) and appends the bytes.
    Append(String, Vec<u8>),
    /// Sets times (following symlinks); the result is the times read back by `stat`.
    SetTimes(String, Option<u64>, Option<u64>),
    Create(String),
    CreateNew(String),
    SetLen(String, u64),
    Read(String),
    RemoveFile(String),
    RemoveDir(String),
    Rename(String, String),
    Stat(String),
    Readdir(String),
}

impl Op {
    /// The same operation with every path passed through `f`.
    pub fn map_paths(&self, f: impl Fn(&str) -> String) -> Op {
        match self {
            Op::Mkdir(p) => Op::Mkdir(f(p)),
            Op::Write(p, o, d) => Op::Write(f(p), *o, d.clone()),
            Op::Append(p, d) => Op::Append(f(p), d.clone()),
            Op::SetTimes(p, a, m) => Op::SetTimes(f(p), *a, *m),
            Op::Create(p) => Op::Create(f(p)),
            Op::CreateNew(p) => Op::CreateNew(f(p)),
            Op::SetLen(p, l) => Op::SetLen(f(p), *l),
            Op::Read(p) => Op::Read(f(p)),
            Op::RemoveFile(p) => Op::RemoveFile(f(p)),
            Op::RemoveDir(p) => Op::RemoveDir(f(p)),
            Op::Rename(a, b) => Op::Rename(f(a), f(b)),
            Op::Stat(p) => Op::Stat(f(p)),
            Op::Readdir(p) => Op::Readdir(f(p)),
        }
    }

    /// The operation's path (the source of a rename).
    pub fn path(&self) -> &str {
        match self {
            Op::Mkdir(p)
            | Op::Write(p, ..)
            | Op::Append(p, _)
            | Op::SetTimes(p, ..)
            | Op::Create(p)
            | Op::CreateNew(p)
            | Op::SetLen(p, _)
            | Op::Read(p)
            | Op::RemoveFile(p)
            | Op::RemoveDir(p)
            | Op::Rename(p, _)
            | Op::Stat(p)
            | Op::Readdir(p) => p,
        }
    }
}

/// What an operation returned, comparable across implementations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Unit,
    Bytes(Vec<u8>),
    Names(Vec<String>),
    Kind(FileKind, Option<u64>),
    /// The times `SetTimes` set, read back (an unset one is `None`, not compared).
    Times(Option<u64>, Option<u64>),
}

pub type Outcome = Result<Value, Errno>;

/// The reference model: a flat map from normalised path ("" = root) to node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub nodes: BTreeMap<String, Node>,
}

impl Default for Model {
    fn default() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert(String::new(), Node::Dir);
        Model { nodes }
    }
}

pub fn parent(p: &str) -> Option<&str> {
    if p.is_empty() {
        None
    } else {
        Some(p.rfind('/').map_or("", |i| &p[..i]))
    }
}

/// A naive, independent normaliser for raw paths (the namespace model uses it).
pub fn normalise(raw: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.join("/")
}

fn err(e: FsError) -> Errno {
    e.errno()
}

impl Model {
    /// Errors of walking to `p`'s parent: a missing ancestor or a file on the way.
    pub fn check_parent(&self, p: &str) -> Result<(), Errno> {
        let Some(par) = parent(p) else { return Ok(()) };
        let mut acc = String::new();
        for comp in par.split('/').filter(|c| !c.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(comp);
            match self.nodes.get(&acc) {
                None => return Err(Errno::NoEnt),
                Some(Node::File(_)) => return Err(Errno::NotDir),
                Some(Node::Dir) => {}
            }
        }
        Ok(())
    }

    /// The node at `p`, or the error of looking it up.
    pub fn get(&self, p: &str) -> Result<&Node, Errno> {
        self.check_parent(p)?;
        self.nodes.get(p).ok_or(Errno::NoEnt)
    }

    pub fn children(&self, p: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|k| !k.is_empty() && parent(k) == Some(p))
            .map(|k| k.rsplit('/').next().unwrap().to_string())
            .collect()
    }

    /// Applies `op` with MemFs semantics.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Mkdir(p) => {
                if p.is_empty() {
                    return Err(Errno::Exist);
                }
                self.check_parent(p)?;
                if self.nodes.contains_key(p) {
                    return Err(Errno::Exist);
                }
                self.nodes.insert(p.clone(), Node::Dir);
                Ok(Value::Unit)
            }
            Op::Write(p, off, data) => {
                self.open_create(p, false)?;
                let Some(Node::File(bytes)) = self.nodes.get_mut(p) else {
                    unreachable!()
                };
                if !data.is_empty() {
                    let end = *off as usize + data.len();
                    if bytes.len() < end {
                        bytes.resize(end, 0);
                    }
                    bytes[*off as usize..end].copy_from_slice(data);
                }
                Ok(Value::Unit)
            }
            Op::Append(p, data) => {
                self.open_create(p, false)?;
                if let Some(Node::File(bytes)) = self.nodes.get_mut(p) {
                    bytes.extend_from_slice(data);
                }
                Ok(Value::Unit)
            }
            Op::SetTimes(p, at, mt) => {
                self.get(p)?;
                Ok(Value::Times(*at, *mt))
            }
            Op::Create(p) => self.open_create(p, true).map(|_| Value::Unit),
            Op::CreateNew(p) => {
                // O_CREAT|O_EXCL of anything that exists, the root too, is EEXIST (POSIX).
                if p.is_empty() {
                    return Err(Errno::Exist);
                }
                self.check_parent(p)?;
                if self.nodes.contains_key(p) {
                    return Err(Errno::Exist);
                }
                self.nodes.insert(p.clone(), Node::File(Vec::new()));
                Ok(Value::Unit)
            }
            Op::SetLen(p, len) => match self.get(p)? {
                Node::Dir => Err(Errno::IsDir),
                Node::File(_) => {
                    if let Some(Node::File(b)) = self.nodes.get_mut(p) {
                        b.resize(*len as usize, 0);
                    }
                    Ok(Value::Unit)
                }
            },
            Op::Read(p) => match self.get(p)? {
                Node::Dir => Err(Errno::IsDir),
                Node::File(b) => Ok(Value::Bytes(b.clone())),
            },
            Op::RemoveFile(p) => {
                if p.is_empty() {
                    return Err(Errno::IsDir);
                }
                match self.get(p)? {
                    Node::Dir => Err(Errno::IsDir),
                    Node::File(_) => {
                        self.nodes.remove(p);
                        Ok(Value::Unit)
                    }
                }
            }
            Op::RemoveDir(p) => {
                if p.is_empty() {
                    return Err(Errno::Busy);
                }
                match self.get(p)? {
                    Node::File(_) => Err(Errno::NotDir),
                    Node::Dir if !self.children(p).is_empty() => Err(Errno::NotEmpty),
                    Node::Dir => {
                        self.nodes.remove(p);
                        Ok(Value::Unit)
                    }
                }
            }
            Op::Rename(a, b) => self.rename(a, b),
            Op::Stat(p) => match self.get(p)? {
                Node::Dir => Ok(Value::Kind(FileKind::Dir, None)),
                Node::File(b) => Ok(Value::Kind(FileKind::File, Some(b.len() as u64))),
            },
            Op::Readdir(p) => match self.get(p)? {
                Node::File(_) => Err(Errno::NotDir),
                Node::Dir => {
                    let mut names = self.children(p);
                    names.sort();
                    Ok(Value::Names(names))
                }
            },
        }
    }

    fn open_create(&mut self, p: &str, truncate: bool) -> Result<(), Errno> {
        if p.is_empty() {
            return Err(Errno::IsDir);
        }
        self.check_parent(p)?;
        match self.nodes.get_mut(p) {
            Some(Node::Dir) => Err(Errno::IsDir),
            Some(Node::File(b)) => {
                if truncate {
                    b.clear();
                }
                Ok(())
            }
            None => {
                self.nodes.insert(p.to_string(), Node::File(Vec::new()));
                Ok(())
            }
        }
    }

    fn rename(&mut self, a: &str, b: &str) -> Outcome {
        if a.is_empty() {
            return Err(Errno::Busy);
        }
        self.check_parent(a)?;
        if b.is_empty() {
            return Err(Errno::Busy);
        }
        self.check_parent(b)?;
        let src = self.nodes.get(a).cloned().ok_or(Errno::NoEnt)?;
        let src_dir = src == Node::Dir;
        if src_dir && b.starts_with(&format!("{a}/")) {
            return Err(Errno::Inval);
        }
        if a == b {
            return Ok(Value::Unit);
        }
        if a.starts_with(&format!("{b}/")) {
            // The destination holds the source: not empty (Linux checks this first).
            return Err(Errno::NotEmpty);
        }
        match (self.nodes.get(b), src_dir) {
            (Some(Node::Dir), true) if !self.children(b).is_empty() => return Err(Errno::NotEmpty),
            (Some(Node::File(_)), true) => return Err(Errno::NotDir),
            (Some(Node::Dir), false) => return Err(Errno::IsDir),
            _ => {}
        }
        self.nodes.remove(b);
        let prefix = format!("{a}/");
        let moved: Vec<(String, Node)> = self
            .nodes
            .iter()
            .filter(|(k, _)| *k == a || k.starts_with(&prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, _) in &moved {
            self.nodes.remove(k);
        }
        for (k, v) in moved {
            let new = format!("{b}{}", &k[a.len()..]);
            self.nodes.insert(new, v);
        }
        Ok(Value::Unit)
    }
}

/// Applies `op` to a real service.
pub fn apply_service(fs: &dyn FileService, op: &Op) -> Outcome {
    let r: Result<Value, FsError> = (|| {
        Ok(match op {
            Op::Mkdir(p) => fs.mkdir(&FsPath::parse(p)?).map(|_| Value::Unit)?,
            Op::Write(p, off, data) => {
                let opts = OpenOptions {
                    write: true,
                    create: true,
                    ..Default::default()
                };
                let h = fs.open(&FsPath::parse(p)?, &opts)?;
                write_all_at(h.as_ref(), data, *off)?;
                Value::Unit
            }
            Op::Append(p, data) => {
                let h = fs.open(&FsPath::parse(p)?, &OpenOptions::append())?;
                h.append(data)?;
                Value::Unit
            }
            Op::SetTimes(p, at, mt) => {
                let p = FsPath::parse(p)?;
                fs.set_times(&p, *at, *mt, Follow::Yes)?;
                let m = fs.stat(&p, Follow::Yes)?;
                Value::Times(at.map(|_| m.atime), mt.map(|_| m.mtime))
            }
            Op::Create(p) => {
                fs.open(&FsPath::parse(p)?, &OpenOptions::create_truncate())?;
                Value::Unit
            }
            Op::CreateNew(p) => {
                let opts = OpenOptions {
                    write: true,
                    create_new: true,
                    ..Default::default()
                };
                fs.open(&FsPath::parse(p)?, &opts)?;
                Value::Unit
            }
            Op::SetLen(p, len) => {
                let h = fs.open(&FsPath::parse(p)?, &OpenOptions::read_write())?;
                h.set_len(*len)?;
                Value::Unit
            }
            Op::Read(p) => {
                let h = fs.open(&FsPath::parse(p)?, &OpenOptions::read())?;
                Value::Bytes(read_all(h.as_ref())?)
            }
            Op::RemoveFile(p) => fs.remove_file(&FsPath::parse(p)?).map(|_| Value::Unit)?,
            Op::RemoveDir(p) => fs.remove_dir(&FsPath::parse(p)?).map(|_| Value::Unit)?,
            Op::Rename(a, b) => fs
                .rename(&FsPath::parse(a)?, &FsPath::parse(b)?)
                .map(|_| Value::Unit)?,
            Op::Stat(p) => {
                let m = fs.stat(&FsPath::parse(p)?, Follow::Yes)?;
                let size = (m.kind == FileKind::File).then_some(m.size);
                Value::Kind(m.kind, size)
            }
            Op::Readdir(p) => {
                let mut names: Vec<String> = fs
                    .readdir(&FsPath::parse(p)?)?
                    .into_iter()
                    .map(|e| e.name)
                    .collect();
                names.sort();
                Value::Names(names)
            }
        })
    })();
    r.map_err(err)
}

/// Reads a service's whole tree into a model.
pub fn dump(fs: &dyn FileService) -> Model {
    let mut m = Model::default();
    dump_dir(fs, "", &mut m);
    m
}

fn dump_dir(fs: &dyn FileService, dir: &str, m: &mut Model) {
    for e in fs.readdir(&FsPath::parse(dir).unwrap()).unwrap() {
        let p = if dir.is_empty() {
            e.name.clone()
        } else {
            format!("{dir}/{}", e.name)
        };
        if e.kind == FileKind::Dir {
            m.nodes.insert(p.clone(), Node::Dir);
            dump_dir(fs, &p, m);
        } else {
            let h = fs
                .open(&FsPath::parse(&p).unwrap(), &OpenOptions::read())
                .unwrap();
            m.nodes.insert(p, Node::File(read_all(h.as_ref()).unwrap()));
        }
    }
}

/// Turns random words into operations over paths made of `names` (depth 1..=3, sometimes
/// the root). With `raw`, paths may carry `.`, `..`, doubled and trailing slashes.
pub fn ops_from_words(words: &[u64], names: &[&str], raw: bool) -> Vec<Op> {
    let mut it = words.iter().copied();
    let mut ops = Vec::new();
    let path = |w: u64| -> String {
        if w.is_multiple_of(23) {
            return String::new();
        }
        // Mostly shallow paths, so that many operations find their parents.
        let depth = match w % 8 {
            0..=3 => 1,
            4..=6 => 2,
            _ => 3,
        };
        let mut parts = Vec::new();
        let mut bits = w / 8;
        for _ in 0..depth {
            parts.push(names[(bits % names.len() as u64) as usize].to_string());
            bits /= names.len() as u64;
            if raw && bits.is_multiple_of(7) {
                parts.push([".", "..", ""][(bits / 7 % 3) as usize].to_string());
            }
            bits /= 2;
        }
        let mut s = parts.join("/");
        if raw && w.is_multiple_of(5) {
            s.push('/');
        }
        if raw && w.is_multiple_of(2) {
            s.insert(0, '/');
        }
        s
    };
    // Mostly a few bytes; one write in eight up to 4 KiB (crossing page-sized boundaries).
    let data = |b: u64| -> Vec<u8> {
        let len = if b.is_multiple_of(8) {
            ((b >> 3) % 4096) as usize
        } else {
            (b % 6) as usize
        };
        let seed = (b >> 16) as u8;
        (0..len)
            .map(|i| seed.wrapping_add((i as u8).wrapping_mul(37)))
            .collect()
    };
    // Mostly small offsets; one in five up to 6000, past the end (a hole of zeros).
    let offset = |b: u64| -> u64 {
        if (b >> 20).is_multiple_of(5) {
            (b >> 24) % 6000
        } else {
            (b >> 3) % 9
        }
    };
    while let (Some(k), Some(a), Some(b)) = (it.next(), it.next(), it.next()) {
        let op = match k % 22 {
            0..=2 => Op::Mkdir(path(a)),
            3..=6 => Op::Write(path(a), offset(b), data(b)),
            19 => Op::Append(path(a), data(b)),
            20 => {
                // Whole microseconds, some unset.
                let t = |w: u64| {
                    (!w.is_multiple_of(3)).then_some(1_000_000_000 + (w >> 8) % (1 << 40) * 1000)
                };
                Op::SetTimes(path(a), t(b), t(b >> 32))
            }
            7 => Op::Create(path(a)),
            8 => Op::CreateNew(path(a)),
            9 => Op::SetLen(path(a), b % 12),
            10 | 11 => Op::Read(path(a)),
            12 => Op::RemoveFile(path(a)),
            13 => Op::RemoveDir(path(a)),
            14..=16 => Op::Rename(path(a), path(b)),
            17 => Op::Stat(path(a)),
            _ => Op::Readdir(path(a)),
        };
        ops.push(op);
    }
    ops
}

/// A small xorshift generator for the browser runs (no OS randomness needed).
pub fn seeded_words(seed: u64, n: usize) -> Vec<u64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
        .collect()
}

/// The namespace the persistence tests save: a read-only /task (MapFs) and a /workspace
/// (MemFs) with `a.txt` = "alpha" and `dir/b.txt` = "beta".
#[allow(clippy::arc_with_non_send_sync)]
pub fn sample_namespace() -> oanix_core::Namespace {
    let mut ns = oanix_core::Namespace::new();
    let task = oanix_core::MapFs::builder()
        .file("spec.json", "{}")
        .build()
        .unwrap();
    ns.mount("/task", std::sync::Arc::new(task)).unwrap();
    let ws = oanix_core::MemFs::new();
    ws.write_file("/a.txt", b"alpha").unwrap();
    ws.write_file("/dir/b.txt", b"beta").unwrap();
    ns.mount("/workspace", std::sync::Arc::new(ws)).unwrap();
    ns
}

/// A guest memory that copies in and out and lends nothing (no `slice`/`check` of its own),
/// as the browser's: the trait's defaults do the bounds checks.
pub struct CopyingMemory(pub Vec<u8>);

impl oanix_core::wasi::GuestMemory for CopyingMemory {
    fn read(&self, ptr: u32, out: &mut [u8]) -> Result<(), Errno> {
        let end = (ptr as usize).checked_add(out.len()).ok_or(Errno::Fault)?;
        out.copy_from_slice(self.0.get(ptr as usize..end).ok_or(Errno::Fault)?);
        Ok(())
    }
    fn write(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let end = (ptr as usize).checked_add(data.len()).ok_or(Errno::Fault)?;
        self.0
            .get_mut(ptr as usize..end)
            .ok_or(Errno::Fault)?
            .copy_from_slice(data);
        Ok(())
    }
}
