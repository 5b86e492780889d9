//! `MapFs`: an immutable file system built from a map of paths to bytes, or a builder.
//!
//! It is a frozen [`MemFs`]: the same lookups and cookies, and every mutation fails with
//! `ReadOnly` (`EROFS`).

use crate::error::FsResult;
use crate::fs::MemFs;
use crate::path::FsPath;
use crate::service::{DirEntry, FileHandle, FileService, Follow, Metadata, OpenOptions};
use crate::snapshot::{MemFsSnapshot, ServiceSnapshot};
use std::collections::BTreeMap;

/// An immutable tree of files.
#[derive(Clone, Debug)]
pub struct MapFs {
    fs: MemFs,
}

/// Builds a [`MapFs`] file by file.
#[derive(Debug, Default)]
pub struct MapFsBuilder {
    fs: MemFs,
    error: Option<crate::FsError>,
}

impl MapFsBuilder {
    /// Adds a file (parent directories are created).
    pub fn file(mut self, path: &str, data: impl AsRef<[u8]>) -> Self {
        if self.error.is_none() {
            self.error = self.fs.write_file(path, data.as_ref()).err();
        }
        self
    }

    /// Adds an empty directory (and its parents).
    pub fn dir(mut self, path: &str) -> Self {
        if self.error.is_none() {
            self.error = FsPath::parse(path)
                .and_then(|p| self.fs.create_dir_all(&p))
                .err();
        }
        self
    }

    /// Freezes the tree; fails if any path given was invalid or conflicting.
    pub fn build(self) -> FsResult<MapFs> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.fs.freeze();
        Ok(MapFs { fs: self.fs })
    }
}

impl MapFs {
    /// A builder.
    pub fn builder() -> MapFsBuilder {
        MapFsBuilder::default()
    }

    /// From a map of absolute or relative paths to contents.
    pub fn from_map<K: AsRef<str>, V: AsRef<[u8]>>(files: &BTreeMap<K, V>) -> FsResult<Self> {
        files
            .iter()
            .fold(Self::builder(), |b, (k, v)| b.file(k.as_ref(), v))
            .build()
    }

    /// Rebuilds from a snapshot.
    pub fn from_snapshot(snap: &MemFsSnapshot) -> FsResult<Self> {
        Self::from_owned_snapshot(snap.clone())
    }

    /// Like [`Self::from_snapshot`], taking the snapshot's file bytes instead of copying
    /// them.
    pub fn from_owned_snapshot(snap: MemFsSnapshot) -> FsResult<Self> {
        let fs = MemFs::from_owned_snapshot(snap)?;
        fs.freeze();
        Ok(MapFs { fs })
    }
}

impl FileService for MapFs {
    fn open(&self, path: &FsPath, opts: &OpenOptions) -> FsResult<Box<dyn FileHandle>> {
        self.fs.open(path, opts)
    }
    fn stat(&self, path: &FsPath, follow: Follow) -> FsResult<Metadata> {
        self.fs.stat(path, follow)
    }
    fn dir_path(&self, ino: u64) -> Option<FsPath> {
        self.fs.dir_path(ino)
    }

    fn mem_tree(&self) -> Option<MemFs> {
        Some(self.fs.clone())
    }

    fn readdir(&self, path: &FsPath) -> FsResult<Vec<DirEntry>> {
        self.fs.readdir(path)
    }
    fn readlink(&self, path: &FsPath) -> FsResult<String> {
        self.fs.readlink(path)
    }
    fn snapshot(&self) -> Option<ServiceSnapshot> {
        Some(ServiceSnapshot::Map(self.fs.to_snapshot()))
    }
    fn kind(&self) -> &'static str {
        "mapfs"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::read_all;
    use crate::FsError;

    #[test]
    fn built_from_map_and_read_only() {
        let mut m = BTreeMap::new();
        m.insert("/task/spec.json", "{}".as_bytes());
        m.insert("readme", b"hi".as_slice());
        let fs = MapFs::from_map(&m).unwrap();
        let spec = FsPath::parse("/task/spec.json").unwrap();
        let h = fs.open(&spec, &OpenOptions::read()).unwrap();
        assert_eq!(read_all(h.as_ref()).unwrap(), b"{}");
        assert_eq!(h.write_at(b"x", 0), Err(FsError::BadHandle));
        assert_eq!(
            fs.open(&spec, &OpenOptions::read_write()).err(),
            Some(FsError::ReadOnly)
        );
        let new = FsPath::parse("/new").unwrap();
        assert_eq!(
            fs.open(&new, &OpenOptions::create_truncate()).err(),
            Some(FsError::ReadOnly)
        );
        assert_eq!(fs.mkdir(&new), Err(FsError::ReadOnly));
        assert_eq!(fs.remove_file(&spec), Err(FsError::ReadOnly));
        assert_eq!(fs.rename(&spec, &new), Err(FsError::ReadOnly));
        assert!(fs.stat(&spec, Follow::Yes).unwrap().readonly);
        let names: Vec<_> = fs
            .readdir(&FsPath::root())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["task", "readme"]); // creation order: "/task/spec.json" sorts first
    }

    #[test]
    fn builder_reports_conflicts() {
        let r = MapFs::builder().file("/a", "x").file("/a/b", "y").build();
        assert_eq!(r.err(), Some(FsError::NotADirectory));
        let r = MapFs::builder().file("/bad\0name", "x").build();
        assert!(matches!(r, Err(FsError::InvalidPath(_))));
    }
}
