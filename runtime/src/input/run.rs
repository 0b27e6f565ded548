//! One run's view of its inputs: which files each content-addressed node read (and their stat
//! when hashed, to re-check after the step ran), the per-run hash memo (each file hashed at most
//! once per run), the persistent stat cache (machine-local: stat keys are this machine's), and
//! the record of output content hashes by static fingerprint (`inputs/outputs.json` in the
//! checkpoint store, local or S3, so every machine sees it) that lets a later run resolve an input-reading node's
//! identity without running it, and the fingerprint inputs of nodes whose fingerprint waits for
//! that resolution. Not responsible for scheduling (see `exec/inputs.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use super::content::{StatCache, StatKey};
use super::object;
use super::pattern::{ObjectUrl, is_object_url};
use super::record::{ObjectRecords, ObjectVersion};
use super::types::InputSource;
use crate::plan::FingerprintInputs;
use crate::plan::{Fingerprint, NodeId, PlanError};
use crate::report::InputRecord;
use crate::store::{Store, StoreFile};

/// One file a node read, as it was when hashed.
#[derive(Debug, Clone)]
pub(crate) struct FileRead {
    pub(crate) param: String,
    /// The path, or an object's URL.
    pub(crate) path: PathBuf,
    pub(crate) version: Version,
    pub(crate) hash: u128,
}

/// What a file or an object was when it was hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Version {
    /// A local file's stat.
    File(StatKey),
    /// An object's version (its reads are pinned to it).
    Object(ObjectVersion),
}

impl Version {
    fn size(&self) -> u64 {
        match self {
            Version::File(key) => key.size,
            Version::Object(v) => v.size,
        }
    }
}

impl FileRead {
    pub(crate) fn record(&self) -> InputRecord {
        InputRecord {
            param: self.param.clone(),
            path: self.path.display().to_string(),
            size: self.version.size(),
            hash: format!("{:032x}", self.hash),
        }
    }
}

/// What a node recorded with content in its identity carries until it has run.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeContent {
    pub(crate) volatile: bool,
    pub(crate) reads: Vec<FileRead>,
    /// Hash over the reads (names for globs, contents), part of the static fingerprint.
    pub(crate) inputs_hash: Option<u128>,
    /// The fingerprint computed at record time (before the output was known).
    pub(crate) static_fp: Option<Fingerprint>,
    /// The identity has been set from the output content hash (or its record).
    pub(crate) resolved: bool,
    /// Step name and module (part of the identity).
    pub(crate) name: String,
    pub(crate) module: String,
    /// Same-crate helpers in the code hash (for the report).
    pub(crate) helpers: &'static [(&'static str, &'static str)],
}

impl NodeContent {
    /// Whether the node's identity is its output's content (volatile or reading inputs).
    pub(crate) fn is_content_addressed(&self) -> bool {
        self.volatile || self.inputs_hash.is_some()
    }

    /// The report's content record as known when the step is recorded.
    pub(crate) fn report(&self) -> crate::report::ContentRecord {
        use crate::report::MAX_LISTED_INPUTS;
        let total = self.reads.len();
        let digest = (total > MAX_LISTED_INPUTS).then(|| {
            let mut all = xxhash_rust::xxh3::Xxh3::new();
            for r in &self.reads {
                all.update(r.param.as_bytes());
                all.update(r.path.as_os_str().as_encoded_bytes());
                all.update(&r.hash.to_le_bytes());
            }
            format!("{:032x}", all.digest128())
        });
        crate::report::ContentRecord {
            inputs: self
                .reads
                .iter()
                .take(MAX_LISTED_INPUTS)
                .map(FileRead::record)
                .collect(),
            inputs_total: (total > MAX_LISTED_INPUTS).then_some(total as u64),
            inputs_digest: digest,
            helpers: self
                .helpers
                .iter()
                .map(|(n, h)| ((*n).to_string(), (*h).to_string()))
                .collect(),
            volatile: self.volatile,
            output_hash: None,
        }
    }
}

/// The fingerprint inputs of a node whose fingerprint waits for a content-addressed ancestor
/// (or itself) to be resolved, owned, without the parents' fingerprints.
#[derive(Debug, Clone)]
pub(crate) struct PendingFingerprint {
    code: String,
    name: String,
    module: String,
    version: Option<String>,
    params: Vec<u8>,
    output_type: &'static str,
    inputs: Option<u128>,
}

impl PendingFingerprint {
    fn of(f: &FingerprintInputs<'_>, output_type: &'static str) -> Self {
        PendingFingerprint {
            code: f.code.to_string(),
            name: f.name.to_string(),
            module: f.module.to_string(),
            version: f.version.map(str::to_string),
            params: f.params.to_vec(),
            output_type,
            inputs: f.inputs,
        }
    }

    /// The fingerprint with the parents' (now final) fingerprints.
    pub(crate) fn fingerprint(&self, parents: &[Fingerprint]) -> Fingerprint {
        FingerprintInputs {
            code: &self.code,
            name: &self.name,
            module: &self.module,
            version: self.version.as_deref(),
            params: &self.params,
            output_type: self.output_type,
            parents,
            inputs: self.inputs,
        }
        .fingerprint()
    }
}

/// Per-run input state, owned by the pipeline.
#[derive(Debug, Default)]
pub(crate) struct RunInputs {
    cache: Option<StatCache>,
    memo: HashMap<PathBuf, (StatKey, u128)>,
    /// Objects hashed (or found in the record) this run: each is looked at once per run.
    object_memo: HashMap<String, (ObjectVersion, u128)>,
    /// The store's record of input objects (loaded on first use).
    objects: ObjectRecords,
    pub(crate) nodes: HashMap<NodeId, NodeContent>,
    outputs: Option<BTreeMap<String, String>>,
    /// Set by the step wrapper just before it records the node.
    pub(crate) pending: Option<NodeContent>,
    /// Nodes whose fingerprint is not final yet, in record (= topological) order.
    pub(crate) unresolved: BTreeMap<NodeId, PendingFingerprint>,
    /// A resolution is running (the materializations it starts do not start another).
    pub(crate) resolving: bool,
    /// Set by `StepBuilder::per_file` just before it records the node: its files.
    pub(crate) pending_files: Option<super::FileParts>,
    /// In a worker: the identities of content-addressed steps, as the coordinator resolved
    /// them (the worker never resolves one itself: a volatile step would differ).
    pub(crate) shipped: HashMap<NodeId, crate::plan::Fingerprint>,
}

impl RunInputs {
    /// What the step wrapper left for step `step`, the one being recorded now (content left by a
    /// builder of another step that was dropped without `run` is discarded).
    pub(crate) fn take_pending(&mut self, step: &str) -> Option<NodeContent> {
        self.pending.take().filter(|c| c.name == step)
    }

    /// The files of step `step`, the one being recorded now, when it is partitioned per file.
    pub(crate) fn take_files(&mut self, step: &str) -> Option<super::FileParts> {
        self.pending_files.take().filter(|f| f.step == step)
    }

    /// A node was recorded with fingerprint inputs `f`: keep what its identity needs when it is
    /// content-addressed or has a parent whose fingerprint is not final.
    pub(crate) fn note_record(
        &mut self,
        id: NodeId,
        f: &FingerprintInputs<'_>,
        output_type: &'static str,
        parents: &[NodeId],
        content: Option<NodeContent>,
    ) {
        let content = content
            .filter(NodeContent::is_content_addressed)
            .map(|mut c| {
                (c.name, c.module) = (f.name.to_string(), f.module.to_string());
                c
            });
        let waits =
            !self.unresolved.is_empty() && parents.iter().any(|p| self.unresolved.contains_key(p));
        if content.is_some() || waits {
            self.unresolved
                .insert(id, PendingFingerprint::of(f, output_type));
        }
        if let Some(content) = content {
            self.nodes.insert(id, content);
        }
    }

    /// Hash the files of `params` (`(name, source)`), for step `step`: local files through the
    /// stat cache under `checkpoint_dir`, objects through the record in `store`.
    pub(crate) fn hash_params(
        &mut self,
        checkpoint_dir: &Path,
        store: &Store,
        step: &str,
        params: &[(&str, &dyn InputSource)],
    ) -> Result<(u128, Vec<FileRead>), PlanError> {
        let mut all = Xxh3::new();
        let mut reads = Vec::new();
        for (param, source) in params {
            let error = |path: &str, problem: String| PlanError::Input {
                step: step.to_string(),
                param: (*param).to_string(),
                path: path.to_string(),
                problem,
            };
            let files = source
                .input_files()
                .map_err(|p| error(&source.describe(), p))?;
            if source.names_count() && files.is_empty() {
                return Err(error(
                    &source.describe(),
                    "no file matches the pattern".into(),
                ));
            }
            all.update(param.as_bytes());
            all.update(&(files.len() as u64).to_le_bytes());
            for path in files {
                let shown = path.display().to_string();
                let hashed = if is_object_url(&path) {
                    self.hash_object(store, &shown)
                        .map(|(v, h)| (Version::Object(v), h))
                } else {
                    self.hash_file(checkpoint_dir, &path)
                        .map(|(k, h)| (Version::File(k), h))
                };
                let (version, hash) = hashed.map_err(|e| error(&shown, e.to_string()))?;
                if source.names_count() {
                    all.update(&(shown.len() as u64).to_le_bytes());
                    all.update(shown.as_bytes());
                }
                all.update(&hash.to_le_bytes());
                reads.push(FileRead {
                    param: (*param).to_string(),
                    path,
                    version,
                    hash,
                });
            }
        }
        if let Some(cache) = &mut self.cache {
            cache.save();
        }
        self.objects.save(store);
        Ok((all.digest128(), reads))
    }

    fn hash_file(&mut self, dir: &Path, path: &Path) -> std::io::Result<(StatKey, u128)> {
        let key = StatKey::of(path)?;
        if let Some((k, h)) = self.memo.get(path)
            && *k == key
        {
            return Ok((key, *h));
        }
        let cache = self.cache.get_or_insert_with(|| StatCache::open(dir));
        let hash = cache.hash(path, key)?;
        // Re-stat: a file written while it was hashed is not cached as this content.
        if StatKey::of(path)? != key {
            return Err(std::io::Error::other(
                "it changed while it was being hashed; run again once it is no longer written",
            ));
        }
        self.memo.insert(path.to_path_buf(), (key, hash));
        Ok((key, hash))
    }

    /// The content hash of the object at `url`: its version from a `HEAD` (or its glob's
    /// listing), the hash from the store's record when that version is recorded there, else one
    /// streamed `GET` (recorded). In a worker, a version other than the one the coordinator
    /// recorded means the object changed after the coordinator hashed it: an error, before this
    /// task reads anything.
    fn hash_object(&mut self, store: &Store, url: &str) -> std::io::Result<(ObjectVersion, u128)> {
        if let Some(known) = self.object_memo.get(url) {
            return Ok(known.clone());
        }
        let parsed = match ObjectUrl::parse(url) {
            Some(Ok(parsed)) => parsed,
            Some(Err(e)) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)),
            None => return Err(std::io::Error::other("not an s3:// URL")),
        };
        let version = object::observe(&parsed, url)?;
        let hash = match self.objects.lookup(store, url, &version) {
            Some(hash) => {
                tracing::debug!(
                    url,
                    "input object unchanged since it was hashed (recorded in the store)"
                );
                hash
            }
            None => {
                if store.is_attached()
                    && let Some(recorded) = self.objects.recorded(store, url)
                {
                    return Err(std::io::Error::other(format!(
                        "it changed after the coordinator hashed it (ETag {} of {} bytes then, ETag {} of {} bytes now): this task would compute from other bytes than the run's identity says, so it fails and nothing is stored for it; run again to use the new content",
                        recorded.etag, recorded.size, version.etag, version.size
                    )));
                }
                let hash = object::hash(&parsed, url, &version)?;
                self.objects.insert(store, url, version.clone(), hash);
                hash
            }
        };
        object::pin(url, version.clone());
        self.object_memo
            .insert(url.to_string(), (version.clone(), hash));
        Ok((version, hash))
    }

    /// The output content hash recorded for a node whose static fingerprint is `fp` (in the
    /// store, so every machine that uses it sees the record).
    pub(crate) fn recorded_output(&mut self, store: &Store, fp: Fingerprint) -> Option<u128> {
        let outputs = self.outputs.get_or_insert_with(|| load_outputs(store));
        outputs
            .get(&fp.to_hex())
            .and_then(|h| u128::from_str_radix(h, 16).ok())
    }

    /// Remember in the store that the node with static fingerprint `fp` produced output hash
    /// `output`.
    pub(crate) fn record_output(&mut self, store: &Store, fp: Fingerprint, output: u128) {
        let outputs = self.outputs.get_or_insert_with(|| load_outputs(store));
        let hex = format!("{output:032x}");
        if outputs.get(&fp.to_hex()) == Some(&hex) {
            return;
        }
        outputs.insert(fp.to_hex(), hex);
        let written = serde_json::to_vec(outputs)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                store
                    .write_store_file(StoreFile::InputOutputs, &bytes)
                    .map_err(|e| crate::error_chain(&e))
            });
        if let Err(e) = written {
            tracing::warn!(error = %e, "cannot record an output hash; the step will run again next time");
        }
    }
}

/// Why the files a step read are not what they were when it was recorded, if they are not.
/// (Objects are not looked at again: every read of one is pinned to the version that was
/// hashed, so a changed object already failed the read.)
pub(crate) fn changed_since_hashed(reads: &[FileRead]) -> Option<String> {
    for read in reads {
        let shown = read.path.display();
        let Version::File(key) = &read.version else {
            continue;
        };
        match StatKey::of(&read.path) {
            Ok(now) if now == *key => {}
            Ok(now) => {
                return Some(format!(
                    "input {shown} (parameter `{}`) changed while the step read it (size {} → {} bytes); nothing was stored for it. Run again once the file is no longer being written",
                    read.param, key.size, now.size
                ));
            }
            Err(e) => {
                return Some(format!(
                    "input {shown} (parameter `{}`) disappeared while the step read it ({e}); nothing was stored for it",
                    read.param
                ));
            }
        }
    }
    None
}

fn load_outputs(store: &Store) -> BTreeMap<String, String> {
    match store.read_store_file(StoreFile::InputOutputs) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the recorded output hashes; content-addressed steps run again");
            BTreeMap::new()
        }
    }
}
