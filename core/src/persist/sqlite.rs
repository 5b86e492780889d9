//! The SQLite store (native), through `rusqlite` (SQLite bundled).
//!
//! Tables: `manifests(name, manifest)`, `inodes(name, mount, layer, ino, record, data)` and
//! `generations(name, generation)`; `record` is the inode as JSON without its file bytes,
//! which go to `data` as a BLOB. The rules (incremental, atomic, corruption reported, disk
//! full = `NoSpace`) are those of [`super`]; SQLite's journal makes a crash mid-save roll
//! back to the previous state.
//!
//! Several stores (processes) on one file: each save bumps the name's generation, read in
//! the save's own (immediate, write-locked) transaction. A store whose last save or load is
//! not the newest generation has a stale view, so it writes its namespace whole instead of
//! only what changed for it: the last writer's namespace wins, never a mix of two.

use super::{assemble, plan, split, InodeKey, Known, Loaded, SaveStats};
use crate::service::lock;
use crate::snapshot::{InodeSnapshot, NamespaceSnapshot, NodeSnapshot};
use crate::{FsError, FsResult, Namespace};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

/// Named namespaces saved in one SQLite database file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Digests of what the database holds, per namespace, and the generation they are of
    /// (from this store's last save or load).
    saved: Mutex<HashMap<String, (u64, Known)>>,
}

fn db(e: rusqlite::Error) -> FsError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => FsError::NoSpace,
        Some(rusqlite::ErrorCode::ReadOnly) => FsError::ReadOnly,
        _ => FsError::Io(format!("SQLite: {e}")),
    }
}

/// The (mount, layer, ino) key in a row's first three columns.
fn key_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<InodeKey> {
    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
}

/// The generation of namespace `name`'s last save (0: none, or saved before generations).
fn generation(conn: &Connection, name: &str) -> FsResult<u64> {
    let g = conn
        .query_row(
            "SELECT generation FROM generations WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(db)?;
    Ok(g.unwrap_or(0) as u64)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> FsResult<Self> {
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS manifests (name TEXT PRIMARY KEY, manifest TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS inodes (
                 name TEXT NOT NULL, mount TEXT NOT NULL, layer INTEGER NOT NULL,
                 ino INTEGER NOT NULL, record TEXT NOT NULL, data BLOB,
                 PRIMARY KEY (name, mount, layer, ino));
             CREATE TABLE IF NOT EXISTS generations (
                 name TEXT PRIMARY KEY, generation INTEGER NOT NULL);",
        )
        .map_err(db)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            saved: Mutex::default(),
        })
    }

    /// Saves `ns` as `name`, writing only what changed, in one transaction.
    pub fn save(&self, name: &str, ns: &Namespace) -> FsResult<SaveStats> {
        self.save_with(name, ns, |_| Ok(()))
    }

    /// Like [`Self::save`], calling `before_put(n)` before the n-th write: an error there
    /// rolls the save back (and a test may crash the process there).
    #[doc(hidden)]
    pub fn save_with(
        &self,
        name: &str,
        ns: &Namespace,
        mut before_put: impl FnMut(usize) -> FsResult<()>,
    ) -> FsResult<SaveStats> {
        let mut conn = lock(&self.conn);
        // Immediate: the write lock is taken before the generation is read, so no other
        // writer comes between the check and the writes.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let stored = generation(&tx, name)?;
        let known = match lock(&self.saved).get(name) {
            Some((g, known)) if *g == stored => known.clone(),
            _ => Known::new(),
        };
        let existing: HashSet<InodeKey> = {
            let mut q = tx
                .prepare("SELECT mount, layer, ino FROM inodes WHERE name = ?1")
                .map_err(db)?;
            let rows = q.query_map([name], key_of).map_err(db)?;
            rows.collect::<Result<_, _>>().map_err(db)?
        };
        let mut cut = split(ns, &known);
        if cut.misses(&existing) {
            cut = split(ns, &Known::new());
        }
        let manifest =
            serde_json::to_string(&cut.manifest).map_err(|e| FsError::Io(e.to_string()))?;
        let plan = plan(&cut, &existing);
        let mut stats = SaveStats {
            unchanged: plan.unchanged,
            ..SaveStats::default()
        };
        {
            let mut put = tx
                .prepare(
                    "INSERT OR REPLACE INTO inodes (name, mount, layer, ino, record, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(db)?;
            for ((mount, layer, ino), node) in &plan.put {
                before_put(stats.written)?;
                let mut bare = node.clone();
                let data = match &mut bare.node {
                    NodeSnapshot::File { data } => Some(std::mem::take(data)),
                    _ => None,
                };
                let record =
                    serde_json::to_string(&bare).map_err(|e| FsError::Io(e.to_string()))?;
                stats.bytes += data.as_ref().map_or(0, |d| d.len() as u64);
                put.execute(params![name, mount, layer, *ino as i64, record, data])
                    .map_err(db)?;
                stats.written += 1;
            }
            let mut del = tx
                .prepare(
                    "DELETE FROM inodes WHERE name = ?1 AND mount = ?2 AND layer = ?3 AND ino = ?4",
                )
                .map_err(db)?;
            for (mount, layer, ino) in &plan.delete {
                del.execute(params![name, mount, layer, *ino as i64])
                    .map_err(db)?;
                stats.deleted += 1;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO manifests (name, manifest) VALUES (?1, ?2)",
            params![name, manifest],
        )
        .map_err(db)?;
        tx.execute(
            "INSERT OR REPLACE INTO generations (name, generation) VALUES (?1, ?2)",
            params![name, (stored + 1) as i64],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        drop(plan);
        lock(&self.saved).insert(name.to_string(), (stored + 1, cut.present));
        Ok(stats)
    }

    /// Restores namespace `name` (`None` if never saved); unreadable records are reported in
    /// [`Loaded::problems`] and skipped.
    pub fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        let conn = lock(&self.conn);
        let Some(manifest) = conn
            .query_row(
                "SELECT manifest FROM manifests WHERE name = ?1",
                [name],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(db)?
        else {
            return Ok(None);
        };
        let manifest: NamespaceSnapshot = serde_json::from_str(&manifest)
            .map_err(|e| FsError::Io(format!("manifest of {name:?} is unreadable: {e}")))?;
        let mut q = conn
            .prepare("SELECT mount, layer, ino, record, data FROM inodes WHERE name = ?1")
            .map_err(db)?;
        let rows = q
            .query_map([name], |r| {
                Ok((
                    key_of(r)?,
                    r.get::<_, String>(3),
                    r.get::<_, Option<Vec<u8>>>(4),
                ))
            })
            .map_err(db)?;
        let mut records = Vec::new();
        for row in rows {
            let (key, record, data) = row.map_err(db)?;
            let node = record
                .map_err(|e| e.to_string())
                .and_then(|r| serde_json::from_str::<InodeSnapshot>(&r).map_err(|e| e.to_string()))
                .map(|mut n| {
                    if let (NodeSnapshot::File { data: d }, Ok(Some(bytes))) = (&mut n.node, &data)
                    {
                        *d = bytes.clone();
                    }
                    n
                });
            records.push((key, node));
        }
        let stored = generation(&conn, name)?;
        let (loaded, digests) = assemble(manifest, records, Vec::new())?;
        lock(&self.saved).insert(name.to_string(), (stored, digests));
        Ok(Some(loaded))
    }

    /// Names of the saved namespaces, sorted.
    pub fn list(&self) -> FsResult<Vec<String>> {
        let conn = lock(&self.conn);
        let mut q = conn
            .prepare("SELECT name FROM manifests ORDER BY name")
            .map_err(db)?;
        let names = q.query_map([], |r| r.get(0)).map_err(db)?;
        names.collect::<Result<_, _>>().map_err(db)
    }

    /// Deletes namespace `name`, atomically.
    pub fn delete(&self, name: &str) -> FsResult<()> {
        let mut conn = lock(&self.conn);
        let tx = conn.transaction().map_err(db)?;
        tx.execute("DELETE FROM inodes WHERE name = ?1", [name])
            .map_err(db)?;
        tx.execute("DELETE FROM manifests WHERE name = ?1", [name])
            .map_err(db)?;
        tx.execute("DELETE FROM generations WHERE name = ?1", [name])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        lock(&self.saved).remove(name);
        Ok(())
    }

    /// Overwrites one inode record with raw text: for tests of corrupt records.
    #[doc(hidden)]
    pub fn put_raw(
        &self,
        name: &str,
        mount: &str,
        layer: u32,
        ino: u64,
        record: &str,
    ) -> FsResult<()> {
        lock(&self.conn)
            .execute(
                "INSERT OR REPLACE INTO inodes (name, mount, layer, ino, record, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                params![name, mount, layer, ino as i64, record],
            )
            .map(|_| ())
            .map_err(db)
    }
}
