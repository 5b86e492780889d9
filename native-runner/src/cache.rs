//! The compiled-module cache on disk: a second `oanix run` of the same module skips
//! compilation.
//!
//! An entry is one file, `<dir>/<key>.cwasm`, where `key` is the SHA-256 of the module's
//! bytes and of the engine's compatibility hash (wasmtime's version and every setting that
//! changes the machine code), so a changed module, engine setting or wasmtime version is a
//! different entry. The file is `MAGIC`, the SHA-256 of key and payload, then the payload
//! (the module as [`Module::serialize`] wrote it). On load the checksum is verified before
//! wasmtime sees a byte: a truncated, corrupt or foreign file (another module's entry
//! copied over, an older format) is a miss, and is overwritten by the recompiled module —
//! never a crash or wrong code. Entries are written
//! to a unique temporary file, then renamed into place, so concurrent runs filling the
//! cache never expose a partial entry.
//!
//! Why not wasmtime's own `cache` feature: it trusts its (zstd-compressed) files without a
//! checksum, so a corrupted entry that still decompresses would be loaded as code.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Module};

/// First bytes of every entry (format version 1).
const MAGIC: &[u8; 8] = b"OANIXC1\n";
/// Header: magic + SHA-256 of the payload.
const HEADER: usize = MAGIC.len() + 32;

/// A directory of compiled modules.
#[derive(Debug, Clone)]
pub struct DiskCache {
    dir: PathBuf,
}

/// Feeds `Hash` output into SHA-256 (for the engine's compatibility hash).
struct ShaHasher(Sha256);
impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0 // never used: the digest is read with `finalize`
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl DiskCache {
    /// A cache in `dir` (created on first store).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DiskCache { dir: dir.into() }
    }

    /// The user's cache: `$OANIX_CACHE_DIR` if set, else `oanix/modules` in the platform's
    /// cache directory (`$XDG_CACHE_HOME` or `~/.cache` on Linux). `None` without a home.
    pub fn user_default() -> Option<Self> {
        if let Some(dir) = std::env::var_os("OANIX_CACHE_DIR") {
            return Some(DiskCache::new(dir));
        }
        let base = directories_next::BaseDirs::new()?;
        Some(DiskCache::new(
            base.cache_dir().join("oanix").join("modules"),
        ))
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry's path for `bytes` compiled by `engine`.
    pub fn entry_path(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        self.path_of(&key(engine, bytes))
    }

    fn path_of(&self, key: &[u8; 32]) -> PathBuf {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{hex}.cwasm"))
    }

    /// The cached module for `bytes`, if a valid entry exists.
    pub fn load(&self, engine: &Engine, bytes: &[u8]) -> Option<Module> {
        let key = key(engine, bytes);
        let file = std::fs::read(self.path_of(&key)).ok()?;
        let payload = verified_payload(&key, &file)?;
        deserialize_verified(engine, payload)
    }

    /// Stores `module` (compiled from `bytes`): written to a temporary file, then renamed.
    /// Failures only cost the next run a compilation, so they are returned for logging.
    pub fn store(&self, engine: &Engine, bytes: &[u8], module: &Module) -> std::io::Result<()> {
        let payload = module.serialize().map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&self.dir)?;
        let key = key(engine, bytes);
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        {
            let mut f = tmp.as_file();
            f.write_all(MAGIC)?;
            f.write_all(&checksum(&key, &payload))?;
            f.write_all(&payload)?;
            f.sync_all()?;
        }
        tmp.persist(self.path_of(&key)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The key of `bytes` compiled by `engine`: SHA-256 of the module and of the engine's
/// compatibility hash (version, target, settings).
fn key(engine: &Engine, bytes: &[u8]) -> [u8; 32] {
    let mut h = ShaHasher(Sha256::new());
    h.0.update((bytes.len() as u64).to_le_bytes());
    h.0.update(bytes);
    engine.precompile_compatibility_hash().hash(&mut h);
    h.0.finalize().into()
}

/// What an entry's header holds: SHA-256 of its key and payload.
fn checksum(key: &[u8; 32], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(key);
    h.update(payload);
    h.finalize().into()
}

/// The payload of the entry for `key` when its magic and checksum are right.
fn verified_payload<'a>(key: &[u8; 32], file: &'a [u8]) -> Option<&'a [u8]> {
    if file.len() < HEADER || &file[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (sum, payload) = file[MAGIC.len()..].split_at(32);
    (checksum(key, payload).as_slice() == sum).then_some(payload)
}

/// Loads a serialized module whose checksum [`verified_payload`] checked.
// The crate's one `unsafe` (it is `deny(unsafe_code)` everywhere else): see SAFETY below.
#[allow(unsafe_code)]
fn deserialize_verified(engine: &Engine, payload: &[u8]) -> Option<Module> {
    // SAFETY: `Module::deserialize` requires bytes produced by `Module::serialize` of a
    // compatible engine, unmodified. `payload` is exactly what `DiskCache::store` wrote
    // (its SHA-256, written beside it, matched: no truncation or corruption), under a key
    // that includes this engine's compatibility hash; wasmtime itself re-checks its header
    // (version, target, settings) and returns an error, not code, on a mismatch. Only a
    // deliberate forgery by someone able to write the user's own cache directory could
    // pass, and such a user can already replace the `oanix` binary.
    unsafe { Module::deserialize(engine, payload) }.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_before_use() {
        let k = [7u8; 32];
        let good = [MAGIC.as_slice(), &checksum(&k, b"abc"), b"abc"].concat();
        assert_eq!(verified_payload(&k, &good), Some(&b"abc"[..]));
        // Another key's entry (a file copied or renamed) is refused.
        assert_eq!(verified_payload(&[8u8; 32], &good), None);
        assert_eq!(verified_payload(&k, &good[..good.len() - 1]), None);
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(verified_payload(&k, &flipped), None);
        assert_eq!(verified_payload(&k, b"OANIXC1\n"), None);
        assert_eq!(verified_payload(&k, b""), None);
    }
}
