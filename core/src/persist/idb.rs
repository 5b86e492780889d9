//! The IndexedDB store (browser), through `rexie`.
//!
//! Layout: object store `manifests` (key: namespace name) holds the namespace's mount table
//! as a [`NamespaceSnapshot`] with the MemFs/MapFs inode lists left empty; object store
//! `inodes` holds one record per inode, keyed `[name, mount, layer, ino]`.
//!
//! The rules (incremental, atomic, corruption reported, quota = `NoSpace`) are those of
//! [`super`]; `QuotaExceededError` is the browser's quota error.

use super::{assemble, plan, split, InodeKey, Loaded, SaveStats};
use crate::snapshot::{InodeSnapshot, NamespaceSnapshot, NodeSnapshot};
use crate::{FsError, FsResult, Namespace};
use js_sys::Array;
use rexie::{KeyRange, ObjectStore, Rexie, Store, Transaction, TransactionMode};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::{JsCast, JsValue};

const INODES: &str = "inodes";
const MANIFESTS: &str = "manifests";

/// Named namespaces saved in one IndexedDB database.
pub struct IdbStore {
    db: Rexie,
    /// Digests of what the database holds, per namespace (from the last save or load).
    saved: RefCell<HashMap<String, HashMap<InodeKey, u64>>>,
}

fn idb(e: rexie::Error) -> FsError {
    let text = format!("{e:?}");
    if text.contains("QuotaExceeded") {
        FsError::NoSpace
    } else {
        FsError::Io(format!("IndexedDB: {text}"))
    }
}

fn js(e: impl std::fmt::Debug) -> FsError {
    FsError::Io(format!("IndexedDB: {e:?}"))
}

/// Serialises for IndexedDB: u64 times/inode numbers as BigInt (they exceed 2^53), bytes
/// as Uint8Array.
fn to_js<T: serde::Serialize>(v: &T) -> FsResult<JsValue> {
    let ser = serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    v.serialize(&ser).map_err(js)
}

fn key(name: &str, k: &InodeKey) -> JsValue {
    Array::of4(
        &name.into(),
        &k.0.as_str().into(),
        &k.1.into(),
        &(k.2 as f64).into(),
    )
    .into()
}

fn parse_key(v: &JsValue) -> Option<InodeKey> {
    let a: &Array = v.dyn_ref()?;
    Some((
        a.get(1).as_string()?,
        a.get(2).as_f64()? as u32,
        a.get(3).as_f64()? as u64,
    ))
}

/// Every inode key of namespace `name`: `[name] < [name, ...] < [name, []]`.
fn range(name: &str) -> FsResult<KeyRange> {
    let lower: JsValue = Array::of1(&name.into()).into();
    let upper: JsValue = Array::of2(&name.into(), &Array::new()).into();
    KeyRange::bound(&lower, &upper, Some(false), Some(false)).map_err(js)
}

/// The keys of namespace `name`'s inode records in `store`.
async fn keys_of(store: &Store, name: &str) -> FsResult<Vec<JsValue>> {
    store
        .get_all_keys(Some(range(name)?), None)
        .await
        .map_err(idb)
}

impl IdbStore {
    /// Opens (creating if needed) the database `db_name`.
    pub async fn open(db_name: &str) -> FsResult<Self> {
        let db = Rexie::builder(db_name)
            .version(1)
            .add_object_store(ObjectStore::new(INODES))
            .add_object_store(ObjectStore::new(MANIFESTS))
            .build()
            .await
            .map_err(idb)?;
        Ok(IdbStore {
            db,
            saved: RefCell::default(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> String {
        self.db.name()
    }

    /// Saves `ns` as `name`, writing only what changed, in one transaction.
    pub async fn save(&self, name: &str, ns: &Namespace) -> FsResult<SaveStats> {
        self.save_inner(name, ns, None).await
    }

    /// Like [`Self::save`], but aborts the transaction after `puts` writes: what a tab closed
    /// mid-save does. For tests of atomicity.
    #[doc(hidden)]
    pub async fn save_interrupted(&self, name: &str, ns: &Namespace, puts: usize) -> FsResult<()> {
        match self.save_inner(name, ns, Some(puts)).await {
            Err(FsError::Cancelled) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(FsError::Io(
                "the save finished before the interruption".into(),
            )),
        }
    }

    async fn save_inner(
        &self,
        name: &str,
        ns: &Namespace,
        interrupt_after: Option<usize>,
    ) -> FsResult<SaveStats> {
        // What this session saved or loaded is what the store holds (one page owns a
        // database): then its keys need not be listed again (listing 10k keys costs more
        // than a one-file edit). A first save lists them.
        let known = self.saved.borrow_mut().remove(name).unwrap_or_default();
        let work = async |tx: &Transaction| {
            let store = tx.store(INODES).map_err(idb)?;
            let listed: Vec<InodeKey> = if known.is_empty() {
                keys_of(&store, name)
                    .await?
                    .iter()
                    .filter_map(parse_key)
                    .collect()
            } else {
                Vec::new()
            };
            let cut = split(ns, &known);
            let manifest = to_js(&cut.manifest)?;
            let plan = plan(&cut, listed.iter().chain(known.keys()));
            let mut stats = SaveStats {
                unchanged: plan.unchanged,
                ..SaveStats::default()
            };
            for (k, node) in &plan.put {
                if interrupt_after == Some(stats.written) {
                    return Err(FsError::Cancelled);
                }
                store
                    .put(&to_js(node)?, Some(&key(name, k)))
                    .await
                    .map_err(idb)?;
                stats.written += 1;
                if let NodeSnapshot::File { data } = &node.node {
                    stats.bytes += data.len() as u64;
                }
            }
            for k in &plan.delete {
                store.delete(key(name, k)).await.map_err(idb)?;
                stats.deleted += 1;
            }
            tx.store(MANIFESTS)
                .map_err(idb)?
                .put(&manifest, Some(&name.into()))
                .await
                .map_err(idb)?;
            drop(plan);
            Ok((stats, cut.present))
        };
        match self.atomically(work).await {
            Ok((stats, present)) => {
                self.saved.borrow_mut().insert(name.to_string(), present);
                Ok(stats)
            }
            Err(e) => {
                self.saved.borrow_mut().insert(name.to_string(), known);
                Err(e)
            }
        }
    }

    /// Restores namespace `name` (`None` if never saved). Unreadable records are reported in
    /// [`Loaded::problems`] and skipped.
    pub async fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        let tx = self
            .db
            .transaction(&[INODES, MANIFESTS], TransactionMode::ReadOnly)
            .map_err(idb)?;
        let manifests = tx.store(MANIFESTS).map_err(idb)?;
        let Some(raw) = manifests.get(name.into()).await.map_err(idb)? else {
            return Ok(None);
        };
        let manifest: NamespaceSnapshot = serde_wasm_bindgen::from_value(raw)
            .map_err(|e| FsError::Io(format!("manifest of {name:?} is unreadable: {e}")))?;
        let store = tx.store(INODES).map_err(idb)?;
        let mut problems = Vec::new();
        let mut records = Vec::new();
        for (k, v) in store
            .scan(Some(range(name)?), None, None, None)
            .await
            .map_err(idb)?
        {
            match parse_key(&k) {
                Some(k) => records.push((
                    k,
                    serde_wasm_bindgen::from_value::<InodeSnapshot>(v).map_err(|e| e.to_string()),
                )),
                None => problems.push(format!("record with a malformed key {k:?} skipped")),
            }
        }
        let (loaded, digests) = assemble(manifest, records, problems)?;
        self.saved.borrow_mut().insert(name.to_string(), digests);
        Ok(Some(loaded))
    }

    /// Names of the saved namespaces, sorted.
    pub async fn list(&self) -> FsResult<Vec<String>> {
        let tx = self
            .db
            .transaction(&[MANIFESTS], TransactionMode::ReadOnly)
            .map_err(idb)?;
        let keys = tx
            .store(MANIFESTS)
            .map_err(idb)?
            .get_all_keys(None, None)
            .await
            .map_err(idb)?;
        let mut names: Vec<String> = keys.iter().filter_map(|k| k.as_string()).collect();
        names.sort();
        Ok(names)
    }

    /// Deletes namespace `name` (its manifest and every inode record), atomically.
    pub async fn delete(&self, name: &str) -> FsResult<()> {
        self.atomically(async |tx: &Transaction| {
            let store = tx.store(INODES).map_err(idb)?;
            for k in keys_of(&store, name).await? {
                store.delete(k).await.map_err(idb)?;
            }
            tx.store(MANIFESTS)
                .map_err(idb)?
                .delete(name.into())
                .await
                .map_err(idb)
        })
        .await?;
        self.saved.borrow_mut().remove(name);
        Ok(())
    }

    /// Runs `work` in one read-write transaction over both object stores: committed when
    /// it succeeds, aborted (nothing of it written) when it fails.
    async fn atomically<T>(
        &self,
        work: impl AsyncFnOnce(&Transaction) -> FsResult<T>,
    ) -> FsResult<T> {
        let tx = self
            .db
            .transaction(&[INODES, MANIFESTS], TransactionMode::ReadWrite)
            .map_err(idb)?;
        match work(&tx).await {
            Ok(v) => {
                tx.done().await.map_err(idb)?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.abort().await;
                Err(e)
            }
        }
    }

    /// Writes a raw value under an inode key: for tests of corrupt records.
    #[doc(hidden)]
    pub async fn put_raw(
        &self,
        name: &str,
        mount: &str,
        layer: u32,
        ino: u64,
        v: &JsValue,
    ) -> FsResult<()> {
        let tx = self
            .db
            .transaction(&[INODES], TransactionMode::ReadWrite)
            .map_err(idb)?;
        let k = key(name, &(mount.to_string(), layer, ino));
        tx.store(INODES)
            .map_err(idb)?
            .put(v, Some(&k))
            .await
            .map_err(idb)?;
        tx.done().await.map_err(idb)?;
        Ok(())
    }
}

/// Whether a JS error is the browser's quota error (for callers showing it).
pub fn is_quota_error(e: &JsValue) -> bool {
    js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "QuotaExceededError")
}
