//! Final trees: a service's and the host directory's, with inode numbers replaced by the
//! first path naming the inode so that they compare across systems.

use oanix_core::service::read_all;
use oanix_core::Follow;
use oanix_core::{FileKind, FileService, FsPath, OpenOptions};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    Dir,
    /// Bytes, link count, and the first path (in sorted order) naming the same inode.
    File(Vec<u8>, u64, String),
    /// Target, link count, first path naming the same inode.
    Symlink(String, u64, String),
}

pub(super) type Tree = BTreeMap<String, Node>;

/// Replaces inode numbers by the first path naming the inode (comparable across systems).
fn canonical(raw: BTreeMap<String, (Node, u64)>) -> Tree {
    let mut first: BTreeMap<u64, String> = BTreeMap::new();
    for (p, (_, ino)) in &raw {
        first.entry(*ino).or_insert_with(|| p.clone());
    }
    raw.into_iter()
        .map(|(p, (n, ino))| {
            let f = first[&ino].clone();
            let n = match n {
                Node::File(b, l, _) => Node::File(b, l, f),
                Node::Symlink(t, l, _) => Node::Symlink(t, l, f),
                d => d,
            };
            (p, n)
        })
        .collect()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

pub(super) fn dump_service(fs: &dyn FileService) -> Tree {
    fn walk(fs: &dyn FileService, dir: &str, out: &mut BTreeMap<String, (Node, u64)>) {
        for e in fs.readdir(&FsPath::parse(dir).unwrap()).unwrap() {
            let p = join(dir, &e.name);
            let fp = FsPath::parse(&p).unwrap();
            let m = fs.stat(&fp, Follow::No).unwrap();
            let n = match m.kind {
                FileKind::Dir => {
                    walk(fs, &p, out);
                    Node::Dir
                }
                FileKind::Symlink => Node::Symlink(fs.readlink(&fp).unwrap(), m.nlink, p.clone()),
                _ => {
                    let h = fs.open(&fp, &OpenOptions::read()).unwrap();
                    Node::File(read_all(h.as_ref()).unwrap(), m.nlink, p.clone())
                }
            };
            out.insert(p, (n, m.ino));
        }
    }
    let mut raw = BTreeMap::new();
    walk(fs, "", &mut raw);
    canonical(raw)
}

pub(super) fn dump_host(root: &Path) -> Tree {
    fn walk(root: &Path, dir: &str, out: &mut BTreeMap<String, (Node, u64)>) {
        let host = if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(dir)
        };
        for e in std::fs::read_dir(host).unwrap() {
            let e = e.unwrap();
            let p = join(dir, e.file_name().to_str().unwrap());
            let m = std::fs::symlink_metadata(root.join(&p)).unwrap();
            let n = if m.is_dir() {
                walk(root, &p, out);
                Node::Dir
            } else if m.file_type().is_symlink() {
                let t = std::fs::read_link(root.join(&p)).unwrap();
                Node::Symlink(t.to_str().unwrap().to_string(), m.nlink(), p.clone())
            } else {
                let b = std::fs::read(root.join(&p)).unwrap();
                Node::File(b, m.nlink(), p.clone())
            };
            out.insert(p, (n, m.ino()));
        }
    }
    let mut raw = BTreeMap::new();
    walk(root, "", &mut raw);
    canonical(raw)
}
