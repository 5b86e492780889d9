//! `FuncFs`: files computed by closures.
//!
//! A read-closure runs once per open: the handle serves that snapshot, so a reader sees one
//! consistent value however it chunks its reads, and `stat` reports that value's size. A
//! write-closure receives the bytes of each write call; its error is the write's error
//! (e.g. `InvalidInput` → `EINVAL` for a malformed command), so nothing fails silently.
//! Directories are implied by the files' paths. The tree's shape is fixed: no create,
//! remove or rename.

use crate::clock;
use crate::error::{FsError, FsResult};
use crate::path::FsPath;
use crate::service::{
    open_dir, DirEntry, FileHandle, FileKind, FileService, Follow, MaybeSendSync, Metadata,
    OpenOptions,
};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Produces a file's current contents.
pub trait ReadFn: MaybeSendSync {
    /// Computes the contents.
    fn read(&self) -> FsResult<Vec<u8>>;
}
impl<F: Fn() -> FsResult<Vec<u8>> + MaybeSendSync> ReadFn for F {
    fn read(&self) -> FsResult<Vec<u8>> {
        self()
    }
}

/// Consumes bytes written to a file.
pub trait WriteFn: MaybeSendSync {
    /// Takes one write's bytes.
    fn write(&self, data: &[u8]) -> FsResult<()>;
}
impl<F: Fn(&[u8]) -> FsResult<()> + MaybeSendSync> WriteFn for F {
    fn write(&self, data: &[u8]) -> FsResult<()> {
        self(data)
    }
}

#[derive(Clone)]
struct FuncFile {
    ino: u64,
    read: Option<Arc<dyn ReadFn>>,
    write: Option<Arc<dyn WriteFn>>,
}

/// A tree of computed files.
#[derive(Clone, Default)]
pub struct FuncFs {
    files: BTreeMap<FsPath, FuncFile>,
    dirs: BTreeMap<FsPath, u64>,
    created: u64,
}

impl std::fmt::Debug for FuncFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncFs")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl FuncFs {
    /// An empty tree.
    pub fn new() -> Self {
        let mut fs = FuncFs {
            created: clock::now(),
            ..Default::default()
        };
        fs.dirs.insert(FsPath::root(), 1);
        fs
    }

    fn add(
        mut self,
        path: &str,
        read: Option<Arc<dyn ReadFn>>,
        write: Option<Arc<dyn WriteFn>>,
    ) -> FsResult<Self> {
        let path = FsPath::parse(path)?;
        if path.is_root() || self.dirs.contains_key(&path) || self.files.contains_key(&path) {
            return Err(FsError::AlreadyExists);
        }
        for anc in path.ancestors() {
            if self.files.contains_key(&anc) {
                return Err(FsError::NotADirectory);
            }
            let next = (self.files.len() + self.dirs.len() + 1) as u64;
            self.dirs.entry(anc).or_insert(next);
        }
        let ino = (self.files.len() + self.dirs.len() + 1) as u64;
        self.files.insert(path, FuncFile { ino, read, write });
        Ok(self)
    }

    /// Adds a read-only computed file.
    pub fn read_only(self, path: &str, read: impl ReadFn + 'static) -> FsResult<Self> {
        self.add(path, Some(Arc::new(read)), None)
    }

    /// Adds a write-only file whose writes go to `write`.
    pub fn write_only(self, path: &str, write: impl WriteFn + 'static) -> FsResult<Self> {
        self.add(path, None, Some(Arc::new(write)))
    }

    /// Adds a file that is both computed on read and handled on write.
    pub fn read_write(
        self,
        path: &str,
        read: impl ReadFn + 'static,
        write: impl WriteFn + 'static,
    ) -> FsResult<Self> {
        self.add(path, Some(Arc::new(read)), Some(Arc::new(write)))
    }

    fn file_meta(&self, file: &FuncFile, size: u64) -> Metadata {
        Metadata {
            kind: FileKind::File,
            size,
            ino: file.ino,
            nlink: 1,
            atime: self.created,
            mtime: self.created,
            ctime: self.created,
            readonly: file.write.is_none(),
        }
    }
}

impl FileService for FuncFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        if let Some(&ino) = self.dirs.get(path) {
            return open_dir(Metadata::synthetic_dir(ino), opts);
        }
        let Some(file) = self.files.get(path) else {
            return Err(if opts.create || opts.create_new {
                FsError::ReadOnly
            } else {
                FsError::NotFound
            });
        };
        if opts.create_new {
            return Err(FsError::AlreadyExists);
        }
        if opts.directory {
            return Err(FsError::NotADirectory);
        }
        if (opts.write || opts.append) && file.write.is_none() {
            return Err(FsError::PermissionDenied);
        }
        if opts.read && file.read.is_none() {
            return Err(FsError::PermissionDenied);
        }
        let snapshot = match (&file.read, opts.read) {
            (Some(read), true) => read.read()?,
            _ => Vec::new(),
        };
        let meta = self.file_meta(file, snapshot.len() as u64);
        Ok(Box::new(FuncHandle {
            snapshot,
            meta,
            write: if opts.write || opts.append {
                file.write.clone()
            } else {
                None
            },
            readable: opts.read,
        }))
    }

    fn stat(&self, path: &FsPath, _follow: Follow) -> FsResult<Metadata> {
        if let Some(&ino) = self.dirs.get(path) {
            return Ok(Metadata::synthetic_dir(ino));
        }
        let file = self.files.get(path).ok_or(FsError::NotFound)?;
        let size = match &file.read {
            Some(read) => read.read()?.len() as u64,
            None => 0,
        };
        Ok(self.file_meta(file, size))
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        if !self.dirs.contains_key(path) {
            return Err(if self.files.contains_key(path) {
                FsError::NotADirectory
            } else {
                FsError::NotFound
            });
        }
        let mut out = Vec::new();
        let children = self
            .dirs
            .iter()
            .map(|(p, ino)| (p, *ino, FileKind::Dir))
            .chain(self.files.iter().map(|(p, f)| (p, f.ino, FileKind::File)));
        for (child, ino, kind) in children {
            if child.parent().as_ref() == Some(path) {
                out.push(DirEntry {
                    name: child.file_name().unwrap_or_default().to_string(),
                    kind,
                    ino,
                    cookie: ino,
                });
            }
        }
        out.sort_by_key(|e| e.cookie);
        Ok(out)
    }

    fn kind(&self) -> &'static str {
        "funcfs"
    }
}

struct FuncHandle {
    snapshot: Vec<u8>,
    meta: Metadata,
    write: Option<Arc<dyn WriteFn>>,
    readable: bool,
}

impl FileHandle for FuncHandle {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> FsResult<usize> {
        if !self.readable {
            return Err(FsError::BadHandle);
        }
        Ok(crate::service::read_at_bytes(&self.snapshot, buf, offset))
    }

    /// The offset is ignored: each write is one message to the closure.
    fn write_at(&self, buf: &[u8], _offset: u64) -> FsResult<usize> {
        let write = self.write.as_ref().ok_or(FsError::BadHandle)?;
        write.write(buf)?;
        Ok(buf.len())
    }

    fn append(&self, buf: &[u8]) -> FsResult<u64> {
        self.write_at(buf, 0).map(|n| n as u64)
    }

    fn metadata(&self) -> FsResult<Metadata> {
        Ok(self.meta.clone())
    }

    /// Truncation (as by `O_TRUNC`) is accepted and means nothing for a computed file.
    fn set_len(&self, _len: u64) -> FsResult<()> {
        self.write.as_ref().map(|_| ()).ok_or(FsError::BadHandle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::read_all;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    fn p(s: &str) -> FsPath {
        FsPath::parse(s).unwrap()
    }

    #[test]
    fn reads_snapshot_per_open_and_writes_reach_the_closure() {
        let counter = Arc::new(AtomicU64::new(0));
        let c = counter.clone();
        let got = Arc::new(Mutex::new(Vec::<String>::new()));
        let g = got.clone();
        let fs = FuncFs::new()
            .read_only("/status", move || {
                Ok(format!("n={}", c.fetch_add(1, Ordering::SeqCst)).into_bytes())
            })
            .unwrap()
            .write_only("/ctl/cmd", move |d: &[u8]| {
                let s = std::str::from_utf8(d).map_err(|_| FsError::IllegalSequence)?;
                if s.trim() != "cancel" {
                    return Err(FsError::InvalidInput(format!("unknown command {s:?}")));
                }
                g.lock().unwrap().push(s.to_string());
                Ok(())
            })
            .unwrap();
        let h = fs.open(&p("/status"), &OpenOptions::read()).unwrap();
        assert_eq!(read_all(h.as_ref()).unwrap(), b"n=0");
        assert_eq!(read_all(h.as_ref()).unwrap(), b"n=0", "same snapshot");
        assert_eq!(h.metadata().unwrap().size, 3);
        let h2 = fs.open(&p("/status"), &OpenOptions::read()).unwrap();
        assert_eq!(read_all(h2.as_ref()).unwrap(), b"n=1");
        let w = fs
            .open(
                &p("/ctl/cmd"),
                &OpenOptions {
                    write: true,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(matches!(
            w.write_at(b"bogus", 0),
            Err(FsError::InvalidInput(_))
        ));
        assert_eq!(w.write_at(b"cancel\n", 0), Ok(7));
        assert_eq!(got.lock().unwrap().as_slice(), ["cancel\n"]);
        assert_eq!(
            fs.open(&p("/status"), &OpenOptions::read_write()).err(),
            Some(FsError::PermissionDenied)
        );
        assert_eq!(
            fs.open(&p("/new"), &OpenOptions::create_truncate()).err(),
            Some(FsError::ReadOnly)
        );
        let names: Vec<_> = fs
            .readdir(&FsPath::root())
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("status".to_string(), FileKind::File),
                ("ctl".to_string(), FileKind::Dir)
            ]
        );
        assert_eq!(fs.mkdir(&p("/x")), Err(FsError::ReadOnly));
    }
}
