//! The record of object-store inputs in the checkpoint store, `inputs/objects.json`
//! ([`StoreFile::InputObjects`]): for each `s3://` URL, the version it had when it was hashed
//! ([`ObjectVersion`]: ETag, size, last-modified) and that version's content hash.
//!
//! Responsible for: looking a version up (a hit costs no download: a `HEAD` or a listing told
//! the version), recording a freshly hashed one, and writing the record back (best effort: a
//! record that cannot be written only costs a download next time). Because it lives in the
//! store, every machine that uses the store — a later run, a worker process, a Spark executor —
//! sees what the coordinator hashed. Not responsible for reading objects (`object.rs`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreFile};

/// What identifies one version of an object without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ObjectVersion {
    /// The ETag as the server gave it (quotes included).
    pub(crate) etag: String,
    /// Size in bytes.
    pub(crate) size: u64,
    /// Last-modified time, milliseconds since the epoch.
    pub(crate) modified_ms: i64,
}

/// One object's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    version: ObjectVersion,
    /// xxh3-128 of the content, 32 hex digits.
    hash: String,
    /// When it was hashed, milliseconds since the epoch.
    hashed_ms: i64,
}

/// The file's layout.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RecordFile {
    format: u32,
    objects: BTreeMap<String, Entry>,
}

const FORMAT: u32 = 1;

/// Entries kept; beyond it the ones hashed longest ago among those this run did not use go
/// (they only cost a download if their object is used again).
const MAX_ENTRIES: usize = 100_000;

/// The record as one run sees it (loaded on first use).
#[derive(Debug, Default)]
pub(crate) struct ObjectRecords {
    loaded: Option<RecordFile>,
    dirty: bool,
    used: HashSet<String>,
}

impl ObjectRecords {
    fn file(&mut self, store: &Store) -> &mut RecordFile {
        self.loaded.get_or_insert_with(|| load(store))
    }

    /// The content hash recorded for `url` at `version`, if that is the version recorded.
    pub(crate) fn lookup(
        &mut self,
        store: &Store,
        url: &str,
        version: &ObjectVersion,
    ) -> Option<u128> {
        self.used.insert(url.to_string());
        let entry = self.file(store).objects.get(url)?;
        (entry.version == *version)
            .then(|| u128::from_str_radix(&entry.hash, 16).ok())
            .flatten()
    }

    /// The version recorded for `url`, whatever it is.
    pub(crate) fn recorded(&mut self, store: &Store, url: &str) -> Option<ObjectVersion> {
        self.file(store).objects.get(url).map(|e| e.version.clone())
    }

    /// `url` at `version` hashed to `hash` (just now).
    pub(crate) fn insert(&mut self, store: &Store, url: &str, version: ObjectVersion, hash: u128) {
        self.used.insert(url.to_string());
        let entry = Entry {
            version,
            hash: format!("{hash:032x}"),
            hashed_ms: now_ms(),
        };
        self.file(store).objects.insert(url.to_string(), entry);
        self.dirty = true;
    }

    /// Write the record back if it changed. A worker never writes (its coordinator's record is
    /// the one every attempt must agree with).
    pub(crate) fn save(&mut self, store: &Store) {
        if !self.dirty || store.is_attached() {
            return;
        }
        let used = &self.used;
        let Some(file) = self.loaded.as_mut() else {
            return;
        };
        super::content::drop_oldest_unused(&mut file.objects, used, MAX_ENTRIES, |e| e.hashed_ms);
        file.format = FORMAT;
        let written = serde_json::to_vec(&*file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                store
                    .write_store_file(StoreFile::InputObjects, &bytes)
                    .map_err(|e| crate::error_chain(&e))
            });
        match written {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(
                error = %e,
                "cannot record the hashes of input objects; they will be downloaded again to hash them next time"
            ),
        }
    }
}

fn load(store: &Store) -> RecordFile {
    match store.read_store_file(StoreFile::InputObjects) {
        Ok(Some(bytes)) => match serde_json::from_slice::<RecordFile>(&bytes) {
            Ok(file) if file.format == FORMAT => file,
            Ok(_) | Err(_) => {
                tracing::warn!(
                    "the record of input objects (inputs/objects.json) is not readable; input objects are hashed again"
                );
                RecordFile::default()
            }
        },
        Ok(None) => RecordFile::default(),
        Err(e) => {
            tracing::warn!(error = %crate::error_chain(&e), "cannot read the record of input objects; input objects are hashed again");
            RecordFile::default()
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
