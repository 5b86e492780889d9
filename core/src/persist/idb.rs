//! The IndexedDB store (browser), through `idb` (futures over IndexedDB requests).
//!
//! Layout (database version 2; version 1's one-record-per-inode stores are dropped on
//! upgrade): object store `namespaces` (key: namespace name) holds the namespace's mount
//! table as a [`NamespaceSnapshot`] with the MemFs/MapFs inode lists left empty; object
//! store `packs` holds the inodes in packs keyed `[name, seq]`. A pack is
//! `{ entries, data }`: `entries` is a text of one JSON line per inode (its key, its
//! [`InodeSnapshot`] without the file bytes, and where its bytes are in `data`), `data` is
//! one `Uint8Array` with the bytes of the pack's files.
//!
//! Why packs: Chromium's IndexedDB costs about 0.2 ms per record written and per 10 KiB
//! record read whatever its size, so 10,000 files as 10,000 records take seconds to save
//! and to load; the same bytes in a hundred 1 MiB packs take a fraction of that.
//!
//! The rules of [`super`] hold:
//! - **Incremental, O(changed)**: a save writes the inodes that changed (by version
//!   fingerprint) as one new pack, or a few if they are many. The newest copy of an inode
//!   wins at load; a copy left behind in an older pack is garbage, and an inode deleted
//!   since is found out at load because no directory reaches it any more (it is dropped).
//!   The store tracks each pack's live bytes: a save also moves the live inodes out of
//!   packs that are mostly garbage, or of many small packs into one, and deletes those
//!   packs ([`SaveStats::compacted`]), so space and load time stay bounded by what is
//!   live, at a cost bounded by the garbage earlier saves made.
//! - **Atomic**: one transaction per save; durability "relaxed" (see [`IdbStore::save`]).
//! - **One at a time**: a store's saves, loads and deletions run in call order, each after
//!   the one before has finished (an autosave started while another is in flight waits).
//!   A failed or interrupted save leaves the store's view of the database as it was (the
//!   transaction rolled back), so the next save is still incremental.
//! - **Generations**: each save of a namespace stores a generation number in its manifest,
//!   read again inside the next save's transaction. If another writer (another tab on the
//!   same database) saved in between, this store's view is stale: the save replaces the
//!   namespace's packs whole instead of adding to packs it no longer knows — the last
//!   writer's namespace wins, consistently, and nothing a stale view described is lost.
//! - **Corruption reported**: an unreadable pack or entry is listed in
//!   [`Loaded::problems`] and skipped.
//! - **Quota**: `QuotaExceededError` (at a request or at commit) is `NoSpace`.
//!
//! Speed: every request of a save is issued at once and only the transaction's completion
//! is awaited; a load reads every pack of a namespace with one `getAll`.

use super::{assemble, split, InodeKey, Known, Loaded, SaveStats};
use crate::fs::ROOT_INO;
use crate::snapshot::{InodeSnapshot, NamespaceSnapshot, NodeSnapshot};
use crate::{FsError, FsResult, Namespace};
use idb::builder::ObjectStoreBuilder;
use idb::{Database, KeyRange, Query, Transaction, TransactionResult};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction, IdbTransactionMode};

const PACKS: &str = "packs";
const MANIFESTS: &str = "namespaces";
/// A pack holds up to this many bytes of files (more if one file is larger)...
const PACK_BYTES: u64 = 1 << 20;
/// ... and up to this many inodes.
const PACK_INODES: usize = 4096;
/// What an inode costs in a pack besides its bytes (its entry), for the accounting.
const ENTRY_COST: u64 = 128;
/// A pack under this size is small; more than [`MAX_SMALL`] small packs are merged.
const SMALL: u64 = PACK_BYTES / 4;
/// How many small packs (one per small save) may pile up before they are merged.
const MAX_SMALL: usize = 16;

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

/// One inode in a pack (stored as JSON text).
#[derive(Serialize, Deserialize)]
struct Entry {
    mount: String,
    layer: u32,
    /// The inode; a file's bytes are left out (they are `data[off..off + len]`).
    inode: InodeSnapshot,
    off: u64,
    len: u64,
}

/// The manifest's property holding the save's generation (not part of the snapshot).
const GENERATION: &str = "oanixGeneration";

/// What the store holds for one namespace, as this session last saved or loaded it.
#[derive(Default)]
struct Held {
    /// The generation of the save this describes (stored in the manifest).
    generation: u64,
    /// Fingerprint of every inode's newest copy.
    known: Known,
    /// The pack holding each inode's newest copy, and what the copy costs there.
    at: HashMap<InodeKey, (u64, u64)>,
    /// The packs.
    packs: BTreeMap<u64, PackUse>,
    /// The next pack's number.
    next: u64,
}

/// How much of a pack is still the newest copy of some inode.
#[derive(Default)]
struct PackUse {
    total: u64,
    live: u64,
    keys: HashSet<InodeKey>,
}

impl Held {
    /// The copy of `k` in its pack is no longer the newest (or no longer wanted).
    fn forget(&mut self, k: &InodeKey) {
        if let Some((seq, cost)) = self.at.remove(k) {
            if let Some(p) = self.packs.get_mut(&seq) {
                p.live = p.live.saturating_sub(cost);
                p.keys.remove(k);
            }
        }
    }

    /// Packs to empty now: mostly garbage, or all the small ones when there are too many.
    fn to_reclaim(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .packs
            .iter()
            .filter(|(_, p)| p.live * 2 < p.total)
            .map(|(s, _)| *s)
            .collect();
        let small: Vec<u64> = self
            .packs
            .iter()
            .filter(|(s, p)| p.total < SMALL && !out.contains(s))
            .map(|(s, _)| *s)
            .collect();
        if small.len() > MAX_SMALL {
            out.extend(small);
        }
        out
    }
}

/// Named namespaces saved in one IndexedDB database.
pub struct IdbStore {
    db: IdbDatabase,
    /// What the database holds, per namespace (from the last save or load).
    held: RefCell<HashMap<String, Held>>,
    /// Settles when the last operation queued so far has finished ([`Self::turn`]).
    tail: RefCell<Option<Promise>>,
}

/// A store's turn: dropping it lets the next operation run.
struct Turn(Option<Function>);

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(release) = self.0.take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// The generation stored in a manifest record (0 for one without).
fn generation_of(manifest: &JsValue) -> u64 {
    Reflect::get(manifest, &GENERATION.into())
        .ok()
        .and_then(|g| g.as_f64())
        .map_or(0, |g| g as u64)
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

/// Serialises the manifest for IndexedDB (u64 numbers as BigInt: they exceed 2^53).
fn to_js<T: Serialize>(v: &T) -> FsResult<JsValue> {
    let ser = serde_wasm_bindgen::Serializer::new().serialize_large_number_types_as_bigints(true);
    v.serialize(&ser).map_err(js)
}

/// The key of pack `seq` of namespace `name`.
fn pack_key(name: &str, seq: u64) -> JsValue {
    Array::of2(&name.into(), &(seq as f64).into()).into()
}

/// Every pack key of namespace `name`: `[name] < [name, seq] < [name, []]`.
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

/// A pack ready to write (`{ entries, data }`) and its inodes with their costs.
type Packed = (JsValue, Vec<(InodeKey, u64)>);

/// What an inode costs in a pack.
fn cost(node: &InodeSnapshot) -> u64 {
    ENTRY_COST
        + match &node.node {
            NodeSnapshot::File { data } => data.len() as u64,
            _ => 0,
        }
}

/// Packs of `nodes` (in order), each `(entries, data)` as JS values, and each pack's
/// inodes with their costs.
fn packs_of(nodes: Vec<(InodeKey, InodeSnapshot)>) -> FsResult<Vec<Packed>> {
    let mut out = Vec::new();
    let mut entries: Vec<u8> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut keys = Vec::new();
    let mut size = 0u64;
    let flush = |entries: &mut Vec<u8>,
                 data: &mut Vec<u8>,
                 keys: &mut Vec<(InodeKey, u64)>,
                 out: &mut Vec<Packed>|
     -> FsResult<()> {
        let pack = Object::new();
        let text = std::str::from_utf8(entries).map_err(js)?;
        Reflect::set(&pack, &"entries".into(), &text.into()).map_err(js)?;
        Reflect::set(&pack, &"data".into(), &Uint8Array::from(&data[..])).map_err(js)?;
        out.push((pack.into(), std::mem::take(keys)));
        entries.clear();
        data.clear();
        Ok(())
    };
    for ((mount, layer, ino), mut inode) in nodes {
        let c = cost(&inode);
        if !keys.is_empty() && (size + c > PACK_BYTES || keys.len() >= PACK_INODES) {
            flush(&mut entries, &mut data, &mut keys, &mut out)?;
            size = 0;
        }
        let bytes = match &mut inode.node {
            NodeSnapshot::File { data } => std::mem::take(data),
            _ => Vec::new(),
        };
        let entry = Entry {
            mount,
            layer,
            inode,
            off: data.len() as u64,
            len: bytes.len() as u64,
        };
        data.extend_from_slice(&bytes);
        // JSON escapes line breaks inside strings: one line per entry.
        serde_json::to_writer(&mut entries, &entry).map_err(js)?;
        entries.push(b'\n');
        keys.push(((entry.mount, entry.layer, ino), c));
        size += c;
    }
    if !keys.is_empty() {
        flush(&mut entries, &mut data, &mut keys, &mut out)?;
    }
    Ok(out)
}

/// One pack read back: its inodes (or why each is unreadable), newest copy last.
fn unpack(
    seq: u64,
    pack: &JsValue,
    problems: &mut Vec<String>,
) -> Vec<(InodeKey, Result<InodeSnapshot, String>, u64)> {
    let field = |f: &str| Reflect::get(pack, &f.into()).ok();
    let (Some(entries), Some(data)) = (
        field("entries").and_then(|e| e.as_string()),
        field("data").and_then(|d| d.dyn_into::<Uint8Array>().ok()),
    ) else {
        problems.push(format!("pack {seq} is unreadable, skipped"));
        return Vec::new();
    };
    // The pack's bytes, copied out of JS once.
    let data = data.to_vec();
    let mut out = Vec::new();
    for (i, line) in entries.lines().enumerate() {
        let entry = serde_json::from_str::<Entry>(line).map_err(|e| e.to_string());
        let mut entry = match entry {
            Ok(entry) => entry,
            Err(why) => {
                problems.push(format!("pack {seq}: inode entry {i} is unreadable ({why})"));
                continue;
            }
        };
        let key = (entry.mount, entry.layer, entry.inode.ino);
        let end = entry.off.checked_add(entry.len);
        let node = match (&mut entry.inode.node, end) {
            (NodeSnapshot::File { data: bytes }, Some(end)) if end <= data.len() as u64 => {
                *bytes = data[entry.off as usize..end as usize].to_vec();
                Ok(entry.inode)
            }
            (NodeSnapshot::File { .. }, _) => Err("its bytes are out of the pack".to_string()),
            _ => Ok(entry.inode),
        };
        let c = node.as_ref().map_or(ENTRY_COST, cost);
        out.push((key, node, c));
    }
    out
}

/// The inodes a directory reaches from each layer's root: a copy left in an older pack
/// of an inode deleted since is not among them.
fn reachable(
    newest: &HashMap<InodeKey, (Result<InodeSnapshot, String>, u64, u64)>,
) -> HashSet<InodeKey> {
    let mut seen = HashSet::new();
    let mut todo: Vec<InodeKey> = newest.keys().filter(|k| k.2 == ROOT_INO).cloned().collect();
    while let Some(k) = todo.pop() {
        if !seen.insert(k.clone()) {
            continue;
        }
        if let Some((Ok(node), _, _)) = newest.get(&k) {
            if let NodeSnapshot::Dir { entries, .. } = &node.node {
                for (_, ino, _) in entries {
                    todo.push((k.0.clone(), k.1, *ino));
                }
            }
        }
    }
    seen
}

impl IdbStore {
    /// Opens (creating or upgrading if needed) the database `db_name`.
    pub async fn open(db_name: &str) -> FsResult<Self> {
        let db = Database::builder(db_name)
            .version(2)
            .add_object_store(ObjectStoreBuilder::new(PACKS))
            .add_object_store(ObjectStoreBuilder::new(MANIFESTS))
            .build()
            .await
            .map_err(idb)?;
        Ok(IdbStore {
            db: db.into(),
            held: RefCell::default(),
            tail: RefCell::default(),
        })
    }

    /// Waits until every save, load and deletion called before on this store has finished;
    /// the next one waits for the returned turn to drop. A caller that gives up while
    /// waiting (its future dropped) does not let its successor overtake the operations
    /// before it.
    async fn turn(&self) -> Turn {
        let mut release = None;
        let mine = Promise::new(&mut |resolve, _| release = Some(resolve));
        let turn = Turn(release);
        let before = self.tail.borrow_mut().take();
        let next = match &before {
            Some(b) => Promise::all(&Array::of2(b, &mine)),
            None => mine,
        };
        *self.tail.borrow_mut() = Some(next);
        if let Some(b) = before {
            let _ = JsFuture::from(b).await;
        }
        turn
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

    /// Like [`Self::save`], but aborts the transaction after `requests` writes were issued
    /// (a pack, a deletion, the manifest): what a tab closed mid-save does. For tests of
    /// atomicity.
    #[doc(hidden)]
    pub async fn save_interrupted(
        &self,
        name: &str,
        ns: &Namespace,
        requests: usize,
    ) -> FsResult<()> {
        match self.save_inner(name, ns, Some(requests)).await {
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
        let _turn = self.turn().await;
        // What this store last saved or loaded is what the database holds, unless another
        // writer saved since (checked by generation in the save's transaction). Without it
        // (a first save), the namespace's packs are replaced whole. `write` changes it only
        // once its transaction committed: after a failed save it is still the database's.
        let mut held = self.held.borrow_mut().remove(name);
        let saved = self.write(name, ns, &mut held, interrupt_after).await;
        if let Some(held) = held {
            self.held.borrow_mut().insert(name.to_string(), held);
        }
        saved
    }

    /// The save itself: an incremental save from `held`, or — when there is none, or the
    /// stored generation shows another writer saved since — a save that replaces the
    /// namespace's packs whole. `held` is updated after the commit, and only then.
    async fn write(
        &self,
        name: &str,
        ns: &Namespace,
        held: &mut Option<Held>,
        interrupt_after: Option<usize>,
    ) -> FsResult<SaveStats> {
        if let Some(stats) = self.attempt(name, ns, held, interrupt_after).await? {
            return Ok(stats);
        }
        // Stale: rolled back; again, whole.
        *held = None;
        self.attempt(name, ns, held, interrupt_after)
            .await?
            .ok_or_else(|| FsError::Io("IndexedDB: a whole save found a stale view".into()))
    }

    /// One transaction of a save: every request is issued without waiting for another, the
    /// stored generation (read first) is checked while the writes go on, then the manifest
    /// is put and the commit awaited (a failed request aborts it). `Ok(None)`: the view was
    /// stale (another writer saved), nothing was written.
    async fn attempt(
        &self,
        name: &str,
        ns: &Namespace,
        held: &mut Option<Held>,
        interrupt_after: Option<usize>,
    ) -> FsResult<Option<SaveStats>> {
        let (raw, tx) = self.transaction(&[PACKS, MANIFESTS], true)?;
        // Requests run in the order issued: this reads the generation before any write.
        let stored = tx
            .object_store(MANIFESTS)
            .map_err(idb)?
            .get(JsValue::from(name))
            .map_err(idb)?;
        let mut blank = Held::default();
        let fresh = held.is_none();
        let view = match held.as_mut() {
            Some(h) => h,
            None => &mut blank,
        };
        // Packs to empty: their live inodes are copied again (the split runs with them
        // forgotten, for a moment).
        let reclaim = view.to_reclaim();
        let mut moved: HashMap<InodeKey, (u64, u64)> = HashMap::new();
        for seq in &reclaim {
            for k in view.packs.get(seq).map(|p| &p.keys).into_iter().flatten() {
                if let Some(fp) = view.known.get(k) {
                    moved.insert(k.clone(), fp);
                }
            }
        }
        for k in moved.keys() {
            view.known.remove(k);
        }
        let cut = split(ns, &view.known);
        for (k, fp) in &moved {
            view.known.restore(k, *fp);
        }
        let mut stats = SaveStats::default();
        for (k, node) in &cut.changed {
            if moved.get(k).copied() == cut.present.get(k) {
                stats.compacted += 1;
            } else {
                stats.written += 1;
                if let NodeSnapshot::File { data } = &node.node {
                    stats.bytes += data.len() as u64;
                }
            }
        }
        // Inodes gone since the last save: their copies become garbage.
        let gone = view.known.missing_from(&cut.present);
        stats.deleted = gone.len();
        stats.unchanged = cut.present.len() - cut.changed.len();
        let manifest = to_js(&cut.manifest)?;
        let packs = packs_of(cut.changed)?;
        let mut requests = 0;
        let mut issue = || match interrupt_after {
            Some(n) if n == requests => Err(FsError::Cancelled),
            _ => {
                requests += 1;
                Ok(())
            }
        };
        let mut next = view.next;
        let issued = (|| {
            let store = tx.object_store(PACKS).map_err(idb)?;
            if fresh {
                issue()?;
                store.delete(range(name)?).map_err(idb)?;
            }
            for seq in &reclaim {
                issue()?;
                store.delete(pack_key(name, *seq)).map_err(idb)?;
            }
            let mut placed = Vec::new();
            for (pack, keys) in packs {
                issue()?;
                store.put(&pack, Some(&pack_key(name, next))).map_err(idb)?;
                placed.push((next, keys));
                next += 1;
            }
            Ok(placed)
        })();
        let placed = match issued {
            Ok(placed) => placed,
            Err(e) => {
                rolled_back(tx).await;
                return Err(e);
            }
        };
        // The writes go on meanwhile; the transaction stays active for the manifest.
        let stored = match stored.await {
            Ok(m) => m.map(|m| generation_of(&m)),
            Err(e) => {
                rolled_back(tx).await;
                return Err(idb(e));
            }
        };
        if !fresh && stored != Some(view.generation) {
            rolled_back(tx).await;
            return Ok(None);
        }
        let generation = stored.unwrap_or(0) + 1;
        let put_manifest = (|| {
            issue()?;
            Reflect::set(&manifest, &GENERATION.into(), &(generation as f64).into()).map_err(js)?;
            tx.object_store(MANIFESTS)
                .map_err(idb)?
                .put(&manifest, Some(&name.into()))
                .map_err(idb)?;
            Ok(())
        })();
        if let Err(e) = put_manifest {
            rolled_back(tx).await;
            return Err(e);
        }
        committed(&raw, tx).await?;
        // Committed: the view becomes what the database now holds.
        for seq in &reclaim {
            for k in view.packs.remove(seq).into_iter().flat_map(|p| p.keys) {
                view.at.remove(&k);
            }
        }
        for k in &gone {
            view.forget(k);
        }
        for (seq, keys) in placed {
            let mut pack = PackUse::default();
            for (k, c) in keys {
                view.forget(&k);
                pack.total += c;
                pack.live += c;
                view.at.insert(k.clone(), (seq, c));
                pack.keys.insert(k);
            }
            view.packs.insert(seq, pack);
        }
        view.next = next;
        view.known = cut.present;
        view.generation = generation;
        if fresh {
            *held = Some(blank);
        }
        Ok(Some(stats))
    }

    /// Restores namespace `name` (`None` if never saved). Unreadable packs and inodes are
    /// reported in [`Loaded::problems`] and skipped.
    pub async fn load(&self, name: &str) -> FsResult<Option<Loaded>> {
        let _turn = self.turn().await;
        let (_, tx) = self.transaction(&[PACKS, MANIFESTS], false)?;
        let packs = tx.object_store(PACKS).map_err(idb)?;
        // All three requests go out before the first is awaited.
        let manifest = tx
            .object_store(MANIFESTS)
            .map_err(idb)?
            .get(JsValue::from(name))
            .map_err(idb)?;
        let keys = packs.get_all_keys(Some(range(name)?), None).map_err(idb)?;
        let values = packs.get_all(Some(range(name)?), None).map_err(idb)?;
        let Some(raw) = manifest.await.map_err(idb)? else {
            return Ok(None);
        };
        let keys = keys.await.map_err(idb)?;
        let values = values.await.map_err(idb)?;
        let mut held = Held {
            generation: generation_of(&raw),
            ..Held::default()
        };
        let manifest: NamespaceSnapshot = serde_wasm_bindgen::from_value(raw)
            .map_err(|e| FsError::Io(format!("manifest of {name:?} is unreadable: {e}")))?;
        let mut problems = Vec::new();
        // Packs come in key order, oldest first: a later copy of an inode replaces one read
        // before.
        let mut newest: HashMap<InodeKey, (Result<InodeSnapshot, String>, u64, u64)> =
            HashMap::new();
        for (k, v) in keys.iter().zip(values) {
            let Some(seq) = Array::from(k).get(1).as_f64().map(|s| s as u64) else {
                problems.push(format!("pack with a malformed key {k:?} skipped"));
                continue;
            };
            held.next = held.next.max(seq + 1);
            let pack = held.packs.entry(seq).or_default();
            for (key, node, c) in unpack(seq, &v, &mut problems) {
                pack.total += c;
                newest.insert(key, (node, seq, c));
            }
        }
        let live = reachable(&newest);
        let mut records = Vec::new();
        for (k, (node, seq, c)) in newest {
            if !live.contains(&k) {
                continue; // deleted since: a left-over copy
            }
            if node.is_ok() {
                if let Some(p) = held.packs.get_mut(&seq) {
                    p.live += c;
                    p.keys.insert(k.clone());
                }
                held.at.insert(k.clone(), (seq, c));
            }
            records.push((k, node));
        }
        let (loaded, known) = assemble(manifest, records, problems)?;
        // Copies the namespace does not have (a mount removed since) are garbage too.
        let stale: Vec<InodeKey> = held
            .at
            .keys()
            .filter(|k| !known.contains_key(k))
            .cloned()
            .collect();
        for k in &stale {
            held.forget(k);
        }
        held.known = known;
        self.held.borrow_mut().insert(name.to_string(), held);
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

    /// Deletes namespace `name` (its manifest and every pack), atomically.
    pub async fn delete(&self, name: &str) -> FsResult<()> {
        let _turn = self.turn().await;
        let (raw, tx) = self.transaction(&[PACKS, MANIFESTS], true)?;
        let issued = (|| {
            tx.object_store(PACKS)
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
        self.held.borrow_mut().remove(name);
        Ok(())
    }

    /// How many packs namespace `name` has: for tests of compaction.
    #[doc(hidden)]
    pub async fn pack_count(&self, name: &str) -> FsResult<u32> {
        let (_, tx) = self.transaction(&[PACKS], false)?;
        tx.object_store(PACKS)
            .map_err(idb)?
            .count(Some(range(name)?))
            .map_err(idb)?
            .await
            .map_err(idb)
    }

    /// Replaces the entry of inode `(mount, layer, ino)` in the newest pack holding it with
    /// the text `v`: for tests of corrupt records.
    #[doc(hidden)]
    pub async fn put_raw(
        &self,
        name: &str,
        mount: &str,
        layer: u32,
        ino: u64,
        v: &JsValue,
    ) -> FsResult<()> {
        let (raw, tx) = self.transaction(&[PACKS], true)?;
        let store = tx.object_store(PACKS).map_err(idb)?;
        let keys = store
            .get_all_keys(Some(range(name)?), None)
            .map_err(idb)?
            .await
            .map_err(idb)?;
        let values = store
            .get_all(Some(range(name)?), None)
            .map_err(idb)?
            .await
            .map_err(idb)?;
        let target = (mount, layer, ino);
        for (k, pack) in keys.iter().zip(values).rev() {
            let entries = Reflect::get(&pack, &"entries".into())
                .map_err(js)?
                .as_string()
                .unwrap_or_default();
            let holds = |line: &str| {
                serde_json::from_str::<Entry>(line)
                    .is_ok_and(|e| (e.mount.as_str(), e.layer, e.inode.ino) == target)
            };
            if entries.lines().any(holds) {
                let text = v.as_string().unwrap_or_else(|| format!("{v:?}"));
                let lines: Vec<&str> = entries
                    .lines()
                    .map(|l| if holds(l) { text.as_str() } else { l })
                    .collect();
                Reflect::set(&pack, &"entries".into(), &lines.join("\n").into()).map_err(js)?;
                store.put(&pack, Some(k)).map_err(idb)?;
                return committed(&raw, tx).await;
            }
        }
        Err(FsError::NotFound)
    }
}

/// Whether a JS error is the browser's quota error (for callers showing it).
pub fn is_quota_error(e: &JsValue) -> bool {
    js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .is_some_and(|n| n == "QuotaExceededError")
}
