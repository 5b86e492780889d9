//! [`MemFs`] to and from its serialisable form ([`MemFsSnapshot`]).

use super::*;
use crate::snapshot::{InodeSnapshot, MemFsSnapshot, NodeSnapshot};

impl MemFs {
    /// Rebuilds a file system from a snapshot, checking that it is consistent.
    pub fn from_snapshot(snap: &MemFsSnapshot) -> FsResult<Self> {
        Self::from_owned_snapshot(snap.clone())
    }

    /// Like [`Self::from_snapshot`], taking the snapshot's file bytes instead of copying
    /// them (a restore of 100 MiB from storage copies nothing more).
    pub fn from_owned_snapshot(snap: MemFsSnapshot) -> FsResult<Self> {
        let fs = MemFs::new();
        {
            let mut inner = lock(&fs.inner);
            inner.inodes.clear();
            let mut total = 0u64;
            for node in snap.inodes {
                let data = match node.node {
                    NodeSnapshot::File { data } => {
                        total += data.len() as u64;
                        Data::File(super::FileData::from_vec(data))
                    }
                    NodeSnapshot::Symlink { target } => Data::Symlink(target),
                    NodeSnapshot::Dir {
                        parent,
                        next_cookie,
                        entries,
                    } => {
                        let mut map = BTreeMap::new();
                        for (name, ino, cookie) in entries {
                            validate_name(&name)?;
                            map.insert(name, Slot { ino, cookie });
                        }
                        Data::Dir(DirData {
                            entries: map,
                            next_cookie,
                            parent,
                        })
                    }
                };
                let inode = Inode {
                    data,
                    nlink: node.nlink,
                    open: 0,
                    version: 0,
                    atime: node.atime,
                    mtime: node.mtime,
                    ctime: node.ctime,
                };
                if inner.inodes.insert(node.ino, inode).is_some() {
                    return Err(bad_snapshot(format!("inode {} appears twice", node.ino)));
                }
            }
            inner.total_bytes = total;
            inner.next_ino = snap
                .next_ino
                .max(inner.inodes.keys().max().copied().unwrap_or(0) + 1);
            match inner.inodes.get(&ROOT_INO) {
                Some(root) if matches!(root.data, Data::Dir(_)) => {}
                _ => return Err(bad_snapshot("no root directory".into())),
            }
            for (ino, inode) in &inner.inodes {
                if let Data::Dir(d) = &inode.data {
                    if !inner.inodes.contains_key(&d.parent) {
                        return Err(bad_snapshot(format!("dir {ino} has a missing parent")));
                    }
                    for (name, slot) in &d.entries {
                        if !inner.inodes.contains_key(&slot.ino) {
                            return Err(bad_snapshot(format!(
                                "entry {name:?} of dir {ino} points to missing inode {}",
                                slot.ino
                            )));
                        }
                    }
                }
            }
        }
        Ok(fs)
    }

    /// A serialisable copy of the whole inode table.
    pub fn to_snapshot(&self) -> MemFsSnapshot {
        let inner = lock(&self.inner);
        let mut inodes: Vec<InodeSnapshot> = inner
            .inodes
            .iter()
            .filter(|(_, i)| i.nlink > 0)
            .map(|(ino, i)| inode_snapshot(*ino, i))
            .collect();
        inodes.sort_by_key(|i| i.ino);
        MemFsSnapshot {
            next_ino: inner.next_ino,
            inodes,
        }
    }
}

fn bad_snapshot(why: String) -> FsError {
    FsError::InvalidInput(format!("corrupt MemFs snapshot: {why}"))
}

impl MemFs {
    /// For incremental persistence: this tree's identity (shared by clones, unique in the
    /// process), its next inode number, and the version of every live inode — a changed
    /// inode has a new version, so comparing with an earlier call finds what changed
    /// without reading any file's bytes.
    pub fn versions(&self) -> (u64, u64, Vec<(Ino, u64)>) {
        let inner = lock(&self.inner);
        let versions = inner
            .inodes
            .iter()
            .filter(|(_, i)| i.nlink > 0)
            .map(|(ino, i)| (*ino, i.version))
            .collect();
        (inner.tree_id, inner.next_ino, versions)
    }

    /// Snapshots of the live inodes among `inos` (the changed ones a save writes).
    pub fn inode_snapshots(&self, inos: &[Ino]) -> Vec<InodeSnapshot> {
        let inner = lock(&self.inner);
        inos.iter()
            .filter_map(|ino| {
                let i = inner.inodes.get(ino).filter(|i| i.nlink > 0)?;
                Some(inode_snapshot(*ino, i))
            })
            .collect()
    }
}

fn inode_snapshot(ino: Ino, i: &Inode) -> InodeSnapshot {
    InodeSnapshot {
        ino,
        nlink: i.nlink,
        atime: i.atime,
        mtime: i.mtime,
        ctime: i.ctime,
        node: match &i.data {
            Data::File(b) => NodeSnapshot::File { data: b.to_vec() },
            Data::Symlink(t) => NodeSnapshot::Symlink { target: t.clone() },
            Data::Dir(d) => NodeSnapshot::Dir {
                parent: d.parent,
                next_cookie: d.next_cookie,
                entries: d
                    .entries
                    .iter()
                    .map(|(n, s)| (n.clone(), s.ino, s.cookie))
                    .collect(),
            },
        },
    }
}
