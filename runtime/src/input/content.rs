//! Content hashes of input files and the stat cache that avoids re-reading unchanged ones.
//!
//! A file's content hash is xxh3-128 over its bytes, read in 128 KiB blocks (never whole into
//! memory; files of 32 MiB and more in 1 MiB blocks read ahead on a second thread). The stat cache,
//! `inputs/stat-cache.json` in the checkpoint directory, maps a path to the [`StatKey`] it had when it was hashed and the hash: a file whose key is unchanged is not
//! read again. The key holds device, inode, size, and modification *and* status-change times in
//! nanoseconds; the status-change time cannot be set back by `touch -d`, so rewriting a file with
//! the same size and restoring its modification time still re-hashes. Not responsible for which
//! files a step reads (see [`super::run`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Bytes read per block while hashing: small enough that a block is still in the CPU's L2
/// cache when it is hashed right after the read.
const BLOCK: usize = 128 << 10;

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatKey {
    /// Device id.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
}

impl StatKey {
    /// Stat `path` (following symlinks). Anything but a regular file is refused: a pipe, a
    /// FIFO or a device (`/dev/stdin`, `<(…)`, `/dev/zero`) would be read to its end by the hash
    /// and then give the step nothing (or never end), and has no content identity to reuse.
    pub fn of(path: &Path) -> std::io::Result<StatKey> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other(format!(
                "it is {}, not a regular file: an input is hashed before its step reads it, so it must be a file that can be read twice; save the stream to a file first (e.g. `cat > data/in.csv`)",
                file_kind(&meta)
            )));
        }
        Ok(StatKey::from_metadata(&meta))
    }

    #[cfg(unix)]
    fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        StatKey {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        let ns = |t: std::io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128)
        };
        StatKey {
            dev: 0,
            ino: 0,
            size: meta.len(),
            mtime_ns: ns(meta.modified()),
            ctime_ns: ns(meta.created()),
        }
    }
}

/// What a non-regular file is, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a pipe (FIFO)";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// The error that ends hashing when the run was asked to stop.
fn stopped() -> Option<std::io::Error> {
    crate::stop::requested().map(|signal| {
        std::io::Error::other(format!(
            "hashing was abandoned: the run was asked to stop ({})",
            crate::stop::signal_name(signal)
        ))
    })
}

/// xxh3-128 of everything `reader` yields, read in 128 KiB blocks. (The `twox-hash`
/// implementation: it picks AVX2 at run time where the CPU has it; the digest is the standard
/// xxh3-128.)
pub fn hash_reader(mut reader: impl Read) -> std::io::Result<u128> {
    let mut hasher = twox_hash::XxHash3_128::new();
    let mut buf = vec![0u8; BLOCK];
    loop {
        if let Some(e) = stopped() {
            return Err(e);
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.write(&buf[..n]);
    }
    Ok(hasher.finish_128())
}

/// Files at least this large are hashed with a read-ahead thread when the machine has a second
/// core: one thread reads the next block while this one hashes the last, so the hash costs
/// about the longer of the two instead of their sum.
const OVERLAP_FROM: u64 = 32 << 20;

/// Block size of the read-ahead path (fewer hand-overs between the two threads).
const OVERLAP_BLOCK: usize = 1 << 20;

/// xxh3-128 of the file at `path`, streamed (the same digest as [`hash_reader`] of its bytes).
pub fn hash_file(path: &Path) -> std::io::Result<u128> {
    // Checked before the open: opening a FIFO with no writer blocks.
    StatKey::of(path)?;
    let file = std::fs::File::open(path)?;
    let large = file.metadata().is_ok_and(|m| m.len() >= OVERLAP_FROM);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if large && cores > 1 {
        hash_read_ahead(file)
    } else {
        hash_reader(file)
    }
}

/// [`hash_reader`] with the reads on a second thread: three 1 MiB buffers circulate between
/// the reader (fills one while the hasher consumes another) and this thread.
fn hash_read_ahead(mut reader: impl Read + Send) -> std::io::Result<u128> {
    use std::sync::mpsc::sync_channel;
    const BUFFERS: usize = 3;
    let (full_tx, full_rx) = sync_channel::<std::io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        let _ = empty_tx.send(vec![0u8; OVERLAP_BLOCK]);
    }
    // `move`: on an early return the channels' ends held here are dropped before the scope
    // joins the reader thread, which then stops instead of waiting for a buffer forever.
    std::thread::scope(move |scope| {
        scope.spawn(move || {
            while let Ok(mut buf) = empty_rx.recv() {
                let filled = fill(&mut reader, &mut buf);
                let done = !matches!(filled, Ok(n) if n > 0);
                if full_tx.send(filled.map(|n| (buf, n))).is_err() || done {
                    return;
                }
            }
        });
        let mut hasher = twox_hash::XxHash3_128::new();
        loop {
            if let Some(e) = stopped() {
                // Dropping the channels ends the reader thread.
                return Err(e);
            }
            match full_rx.recv() {
                Ok(Ok((buf, n))) if n > 0 => {
                    hasher.write(&buf[..n]);
                    // The reader may have stopped already (end of file): nothing to hand back.
                    let _ = empty_tx.send(buf);
                }
                Ok(Ok(_)) | Err(_) => break,
                Ok(Err(e)) => return Err(e),
            }
        }
        Ok(hasher.finish_128())
    })
}

/// Read until `buf` is full or the end: the bytes read (0 at the end).
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheEntry {
    key: StatKey,
    /// 32 hex digits.
    hash: String,
    /// When the file was hashed, nanoseconds since the epoch.
    hashed_at_ns: i128,
}

/// Entries kept in the stat cache; beyond it the ones hashed longest ago are dropped (they only
/// cost a re-read if their file is used again).
const MAX_ENTRIES: usize = 100_000;

/// A file changed less than this before it was hashed may change again within the same
/// timestamp tick without its stat changing (the "racy git" problem): its entry is not trusted.
const RACY_NS: i128 = 2_000_000_000;

fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// The persistent stat cache of one checkpoint directory (best effort: an unreadable or
/// unwritable cache only costs re-reading the inputs).
#[derive(Debug, Default)]
pub struct StatCache {
    file: Option<PathBuf>,
    entries: BTreeMap<String, CacheEntry>,
    dirty: bool,
    max_entries: usize,
    /// Entries looked up or written by this run: never evicted at save, whatever their age (a
    /// glob of more files than the cap would otherwise re-hash the overflow every run).
    used: std::collections::HashSet<String>,
}

impl StatCache {
    /// The cache kept in `checkpoint_dir` (empty when there is none yet or it is unreadable).
    pub fn open(checkpoint_dir: &Path) -> StatCache {
        let inputs = checkpoint_dir.join("inputs");
        // The temp files of writers that died mid-save (both caches of this folder).
        sweep_dead_temps(&inputs, "stat-cache");
        sweep_dead_temps(&inputs, "outputs");
        let file = inputs.join("stat-cache.json");
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        StatCache {
            file: Some(file),
            entries,
            dirty: false,
            max_entries: MAX_ENTRIES,
            used: Default::default(),
        }
    }

    /// The content hash of `path`, whose stat is `key`: from the cache when the key matches,
    /// else read and hashed (and remembered).
    ///
    /// An entry is trusted only when the file's last change was clearly (two seconds) before it
    /// was hashed, so a write within the same timestamp tick as the hashing is never missed.
    pub fn hash(&mut self, path: &Path, key: StatKey) -> std::io::Result<u128> {
        self.hash_at(path, key, now_ns())
    }

    fn hash_at(&mut self, path: &Path, key: StatKey, now: i128) -> std::io::Result<u128> {
        let name = cache_name(path);
        self.used.insert(name.clone());
        if let Some(e) = self.entries.get(&name)
            && e.key == key
            && key.mtime_ns.max(key.ctime_ns) + RACY_NS <= e.hashed_at_ns
            && let Ok(hash) = u128::from_str_radix(&e.hash, 16)
        {
            return Ok(hash);
        }
        let hash = hash_file(path)?;
        self.entries.insert(
            name,
            CacheEntry {
                key,
                hash: format!("{hash:032x}"),
                hashed_at_ns: now,
            },
        );
        self.dirty = true;
        Ok(hash)
    }

    /// Write the cache back if it changed (atomically: a temporary file renamed over it).
    pub fn save(&mut self) {
        let Some(file) = &self.file else { return };
        if !self.dirty {
            return;
        }
        // Over the cap, drop the entries hashed longest ago among those this run did not use.
        drop_oldest_unused(&mut self.entries, &self.used, self.max_entries, |e| {
            e.hashed_at_ns
        });
        match serde_json::to_vec(&self.entries) {
            Ok(bytes) => match write_atomic(file, &bytes) {
                Ok(()) => self.dirty = false,
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "cannot write the input stat cache; unchanged inputs will be read again next run")
                }
            },
            Err(e) => tracing::warn!(error = %e, "cannot encode the input stat cache"),
        }
    }
}

/// The absolute form of `path` (lexical: no file-system calls), so that the same relative path
/// run from two folders does not share an entry. Two names of one file (a symlink) get two
/// entries, each with the file's own stat key: harmless.
fn cache_name(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .to_string_lossy()
        .into_owned()
}

/// Write `bytes` to `file` through a temporary file in the same directory (`<name>.tmp<pid>`)
/// and a rename. A failed write (a full disk) removes its temp file; temp files of processes
/// that died before renaming are swept by [`sweep_dead_temps`].
pub(crate) fn write_atomic(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, file));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Remove the temp files [`write_atomic`] left in `dir` for `file_stem` (`<stem>.tmp<pid>`)
/// whose process is gone (a crash between write and rename). Best effort.
pub(crate) fn sweep_dead_temps(dir: &Path, file_stem: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!("{file_stem}.tmp");
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Keep at most `cap` entries (or as many as this run used): drop those hashed longest ago
/// (`age`: when they were hashed) among the entries not in `used`. The stat cache and the
/// record of input objects both bound themselves this way.
pub(crate) fn drop_oldest_unused<V, T: Ord + Copy>(
    entries: &mut BTreeMap<String, V>,
    used: &std::collections::HashSet<String>,
    cap: usize,
    age: impl Fn(&V) -> T,
) {
    let cap = cap.max(used.len());
    if entries.len() <= cap {
        return;
    }
    let mut ages: Vec<T> = entries
        .iter()
        .filter(|(name, _)| !used.contains(*name))
        .map(|(_, e)| age(e))
        .collect();
    ages.sort_unstable();
    let drop = entries.len() - cap;
    if let Some(&cutoff) = ages.get(drop.saturating_sub(1)) {
        let mut dropped = 0;
        entries.retain(|name, e| {
            let old = !used.contains(name) && age(e) <= cutoff && dropped < drop;
            dropped += usize::from(old);
            !old
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_cache_write_leaves_no_temp_file_and_dead_writers_temps_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        // The rename fails (a directory is in the way): the temp file goes too.
        let file = dir.path().join("outputs.json");
        std::fs::create_dir_all(file.join("in-the-way")).unwrap();
        assert!(write_atomic(&file, b"{}").is_err());
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("outputs.json")]);
        // A dead writer's temp file is swept, a live one's is not.
        let dead = dir.path().join("stat-cache.tmp4294967295");
        let live = dir
            .path()
            .join(format!("stat-cache.tmp{}", std::process::id()));
        std::fs::write(&dead, b"half").unwrap();
        std::fs::write(&live, b"mine").unwrap();
        sweep_dead_temps(dir.path(), "stat-cache");
        assert!(!dead.exists() && live.exists());
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_devices_are_not_inputs() {
        let err = StatKey::of(Path::new("/dev/zero")).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        assert!(hash_file(Path::new("/dev/null")).is_err());
    }

    #[test]
    fn hash_is_streamed_and_matches_one_shot() {
        let data: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        let streamed = hash_reader(&data[..]).unwrap();
        assert_eq!(streamed, xxhash_rust::xxh3::xxh3_128(&data));
    }

    #[test]
    fn the_read_ahead_hash_is_the_same_digest() {
        for len in [
            0,
            1,
            OVERLAP_BLOCK - 1,
            OVERLAP_BLOCK,
            3 * OVERLAP_BLOCK + 5,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            assert_eq!(
                hash_read_ahead(&data[..]).unwrap(),
                xxhash_rust::xxh3::xxh3_128(&data),
                "{len} bytes"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("big.bin");
        let data: Vec<u8> = (0..OVERLAP_FROM as usize + 12_345)
            .map(|i| (i % 241) as u8)
            .collect();
        std::fs::write(&file, &data).unwrap();
        assert_eq!(
            hash_file(&file).unwrap(),
            xxhash_rust::xxh3::xxh3_128(&data)
        );
    }

    #[test]
    fn a_read_error_on_the_read_ahead_thread_is_returned() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("disk gone"));
                }
                self.0 -= 1;
                buf.fill(7);
                Ok(buf.len())
            }
        }
        let e = hash_read_ahead(Failing(5)).unwrap_err();
        assert_eq!(e.to_string(), "disk gone");
    }

    #[test]
    fn cache_hit_skips_reading_and_a_changed_key_rehashes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.txt");
        std::fs::write(&file, "1 2 3").unwrap();
        let key = StatKey::of(&file).unwrap();
        let later = key.ctime_ns.max(key.mtime_ns) + RACY_NS;
        let mut cache = StatCache::open(dir.path());
        let first = cache.hash_at(&file, key, later).unwrap();
        cache.save();
        // Same key, different bytes: the cache answers without reading (what the key is for).
        std::fs::write(&file, "4 5 6").unwrap();
        let mut reopened = StatCache::open(dir.path());
        assert_eq!(reopened.hash(&file, key).unwrap(), first);
        // Another key (here: another ctime) re-hashes.
        let other = StatKey {
            ctime_ns: key.ctime_ns + 1,
            ..key
        };
        assert_ne!(reopened.hash(&file, other).unwrap(), first);
    }

    #[test]
    fn the_cache_keeps_what_a_run_used_and_then_the_most_recently_hashed_entries() {
        let dir = tempfile::tempdir().unwrap();
        let hash = |cache: &mut StatCache, name: &str, at: i128| {
            let file = dir.path().join(name);
            std::fs::write(&file, name).unwrap();
            cache
                .hash_at(&file, StatKey::of(&file).unwrap(), at)
                .unwrap();
        };
        let kept = || {
            let reopened = StatCache::open(dir.path());
            let names: Vec<String> = reopened
                .entries
                .keys()
                .map(|k| k[k.len() - 1..].to_string())
                .collect();
            names
        };
        // One run reads three files with a cap of two: all three stay (issue 21: a glob of more
        // files than the cap re-hashed the overflow on every run).
        let mut cache = StatCache::open(dir.path());
        cache.max_entries = 2;
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            hash(&mut cache, name, i as i128);
        }
        cache.save();
        assert_eq!(kept(), ["a", "b", "c"]);
        // The next run reads c and d: the unused entries hashed longest ago go.
        let mut cache = StatCache::open(dir.path());
        cache.max_entries = 2;
        hash(&mut cache, "c", 10);
        hash(&mut cache, "d", 11);
        cache.save();
        assert_eq!(kept(), ["c", "d"]);
    }

    #[test]
    fn an_entry_hashed_in_the_same_tick_as_the_last_change_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("in.txt");
        std::fs::write(&file, "1 2 3").unwrap();
        let key = StatKey::of(&file).unwrap();
        let mut cache = StatCache::open(dir.path());
        let first = cache.hash_at(&file, key, key.ctime_ns).unwrap();
        std::fs::write(&file, "4 5 6").unwrap();
        assert_ne!(cache.hash(&file, key).unwrap(), first);
    }
}
