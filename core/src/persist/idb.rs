//! The IndexedDB store (browser), through `idb` (futures over IndexedDB requests).
//!
//! Layout: object store `manifests` (key: namespace name) holds the namespace's mount table
//! as a [`NamespaceSnapshot`] with the MemFs/MapFs inode lists left empty; object store
//! `inodes` holds one record per inode, keyed `[name, mount, layer, ino]`.
//!
//! The rules (incremental, atomic, corruption reported, quota = `NoSpace`) are those of
//! [`super`]; `QuotaExceededError` is the browser's quota error.
//!
//! Speed: every request of a save is issued at once and only the transaction's completion
//! is awaited (awaiting each write costs a trip through the event loop per record); a load
//! reads a namespace's keys and records with one `getAllKeys` and one `getAll`.

use super::{assemble, plan, split, InodeKey, Loaded, SaveStats};
use crate::snapshot::{InodeSnapshot, NamespaceSnapshot, NodeSnapshot};
use crate::{FsError, FsResult, Namespace};
use idb::builder::ObjectStoreBuilder;
use idb::{Database, KeyRange, Query, Transaction, TransactionResult};
use js_sys::{Array, Object, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

const INODES: &str = "inodes";
const MANIFESTS: &str = "manifests";

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase`, for the one method web-sys binds only under
    /// `--cfg web_sys_unstable_apis`.
    type DatabaseWithOptions;
    /// `IDBDatabase.transaction(stores, mode, options)` (options: `{ durability }`).
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(
        this: &DatabaseWithOptions,
        stores: &Array,
        mode: IdbTransactionMode,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;
}

/// Named namespaces saved in one IndexedDB database.
pub struct IdbStore {
    db: IdbDatabase,
    /// Digests of what the database holds, per namespace (from the last save or load).
    saved: RefCell<HashMap<String, HashMap<InodeKey, u64>>>,
}

fn idb(e: idb::Error) -> FsError {
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

/// Why `tx` failed: its error (quota = `NoSpace`), else `fallback`.
fn failure(tx: &IdbTransaction, fallback: FsError) -> FsError {
    match tx.error() {
        Some(e) if e.name() == "QuotaExceededError" => FsError::NoSpace,
        Some(e) => FsError::Io(format!("IndexedDB: {}: {}", e.name(), e.message())),
        None => fallback,
    }
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
fn range(name: &str) -> FsResult<Query> {
    let lower: JsValue = Array::of1(&name.into()).into();
    let upper: JsValue = Array::of2(&name.into(), &Array::new()).into();
    Ok(KeyRange::bound(&lower, &upper, Some(false), Some(false))
        .map_err(idb)?
        .into())
}

/// Awaits the end of `tx` (`raw` is the same transaction): `Ok` if it committed, the reason
/// (quota = `NoSpace`) if not.
async fn committed(raw: &IdbTransaction, tx: Transaction) -> FsResult<()> {
    match tx.await {
        Ok(TransactionResult::Committed) => Ok(()),
        Ok(TransactionResult::Aborted) => Err(failure(
            raw,
            FsError::Io("IndexedDB: transaction aborted".into()),
        )),
        Err(e) => Err(failure(raw, idb(e))),
    }
}

/// Aborts `tx` and waits until it is rolled back (a later transaction sees none of it).
async fn rolled_back(tx: Transaction) {
    if let Ok(tx) = tx.abort() {
        let _ = tx.await;
    }
}

impl IdbStore {
    /// Opens (creating if needed) the database `db_name`.
    pub async fn open(db_name: &str) -> FsResult<Self> {
        let db = Database::builder(db_name)
            .version(1)
            .add_object_store(ObjectStoreBuilder::new(INODES))
            .add_object_store(ObjectStoreBuilder::new(MANIFESTS))
            .build()
            .await
            .map_err(idb)?;
        Ok(IdbStore {
            db: db.into(),
            saved: RefCell::default(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> String {
        self.db.name()
    }

    /// A transaction over `stores`, read-write if `write`. Read-write transactions use
    /// relaxed durability: see [`Self::save`].
    fn transaction(&self, stores: &[&str], write: bool) -> FsResult<(IdbTransaction, Transaction)> {
        let names: Array = stores.iter().map(|s| JsValue::from(*s)).collect();
        let raw = if write {
            let options = Object::new();
            Reflect::set(&options, &"durability".into(), &"relaxed".into()).map_err(js)?;
            self.db
                .unchecked_ref::<DatabaseWithOptions>()
                .transaction_with_options(&names, IdbTransactionMode::Readwrite, &options)
        } else {
            self.db
                .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly)
        }
        .map_err(|e| FsError::Io(format!("IndexedDB: cannot open a transaction: {e:?}")))?;
        Ok((raw.clone(), Transaction::from(raw)))
    }

    /// Saves `ns` as `name`, writing only what changed, in one transaction.
    ///
    /// The transaction is atomic: after a crash, a closed tab or an error, the database
    /// holds either the previous save or this one, whole. Its durability is "relaxed": the
    /// browser reports it committed once the operating system has the data, without
    /// waiting for the disk to flush it, so a power loss or OS crash right after a save may
    /// lose that save (the previous one is then what loads), never leave half of it.
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
        let result = self.write(name, ns, &known, interrupt_after).await;
        match result {
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

    /// The save itself: every request is issued without waiting for it, then the
    /// transaction's completion is awaited (a failed request aborts it).
    async fn write(
        &self,
        name: &str,
        ns: &Namespace,
        known: &super::Known,
        interrupt_after: Option<usize>,
    ) -> FsResult<(SaveStats, super::Known)> {
        let (raw, tx) = self.transaction(&[INODES, MANIFESTS], true)?;
        let issued = async {
            let store = tx.object_store(INODES).map_err(idb)?;
            let listed: Vec<InodeKey> = if known.is_empty() {
                store
                    .get_all_keys(Some(range(name)?), None)
                    .map_err(idb)?
                    .await
                    .map_err(idb)?
                    .iter()
                    .filter_map(parse_key)
                    .collect()
            } else {
                Vec::new()
            };
            let cut = split(ns, known);
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
                store.put(&to_js(node)?, Some(&key(name, k))).map_err(idb)?;
                stats.written += 1;
                if let NodeSnapshot::File { data } = &node.node {
                    stats.bytes += data.len() as u64;
                }
            }
            for k in &plan.delete {
                store.delete(key(name, k)).map_err(idb)?;
                stats.deleted += 1;
            }
            tx.object_store(MANIFESTS)
                .map_err(idb)?
                .put(&manifest, Some(&name.into()))
                .map_err(idb)?;
            drop(plan);
            Ok((stats, cut.present))
        }
        .await;
        match issued {
            Ok(done) => {
                committed(&raw, tx).await?;
                Ok(done)
            }
            Err(e) => {
                rolled_back(tx).await;
                Err(e)
            }
        }
    }

    /// Restores namespace `name` (`None` if never saved). Unreadable records are reported in
    /// [`Loaded::problems`] and skipped.
    pub async fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        let (_, tx) = self.transaction(&[INODES, MANIFESTS], false)?;
        let inodes = tx.object_store(INODES).map_err(idb)?;
        // All three requests go out before the first is awaited.
        let manifest = tx
            .object_store(MANIFESTS)
            .map_err(idb)?
            .get(JsValue::from(name))
            .map_err(idb)?;
        let keys = inodes.get_all_keys(Some(range(name)?), None).map_err(idb)?;
        let values = inodes.get_all(Some(range(name)?), None).map_err(idb)?;
        let Some(raw) = manifest.await.map_err(idb)? else {
            return Ok(None);
        };
        let keys = keys.await.map_err(idb)?;
        let values = values.await.map_err(idb)?;
        let manifest: NamespaceSnapshot = serde_wasm_bindgen::from_value(raw)
            .map_err(|e| FsError::Io(format!("manifest of {name:?} is unreadable: {e}")))?;
        let mut problems = Vec::new();
        let mut records = Vec::new();
        for (k, v) in keys.iter().zip(values) {
            match parse_key(k) {
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
        let (_, tx) = self.transaction(&[MANIFESTS], false)?;
        let keys = tx
            .object_store(MANIFESTS)
            .map_err(idb)?
            .get_all_keys(None, None)
            .map_err(idb)?
            .await
            .map_err(idb)?;
        let mut names: Vec<String> = keys.iter().filter_map(|k| k.as_string()).collect();
        names.sort();
        Ok(names)
    }

    /// Deletes namespace `name` (its manifest and every inode record), atomically.
    pub async fn delete(&self, name: &str) -> FsResult<()> {
        let (raw, tx) = self.transaction(&[INODES, MANIFESTS], true)?;
        let issued = (|| {
            tx.object_store(INODES)
                .map_err(idb)?
                .delete(range(name)?)
                .map_err(idb)?;
            tx.object_store(MANIFESTS)
                .map_err(idb)?
                .delete(JsValue::from(name))
                .map_err(idb)?;
            Ok(())
        })();
        match issued {
            Ok(()) => committed(&raw, tx).await?,
            Err(e) => {
                rolled_back(tx).await;
                return Err(e);
            }
        }
        self.saved.borrow_mut().remove(name);
        Ok(())
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
        let (raw, tx) = self.transaction(&[INODES], true)?;
        let k = key(name, &(mount.to_string(), layer, ino));
        tx.object_store(INODES)
            .map_err(idb)?
            .put(v, Some(&k))
            .map_err(idb)?;
        committed(&raw, tx).await
    }
}

/// Whether a JS error is the browser's quota error (for callers showing it).
pub fn is_quota_error(e: &JsValue) -> bool {
    js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "QuotaExceededError")
}
