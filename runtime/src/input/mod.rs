//! External inputs that never give a stale result: the [`InputFile`] and [`InputGlob`]
//! parameter types, the streamed content hash of the files they name, the stat cache that keeps
//! an unchanged input from being read on every run, and the per-run record of what each step
//! read (re-checked after the step ran).
//!
//! A step parameter of one of these types is fingerprinted by the **content** of its files (and
//! for a glob the sorted names), hashed with xxh3-128 when the step is recorded. A missing or
//! unreadable file is an error naming the step, the parameter and the path, raised before any
//! step runs. Not responsible for scheduling: the executor
//! decides when a content-addressed step runs (`exec/inputs.rs`).

mod content;
mod object;
mod parts;
mod pattern;
mod reader;
mod record;
mod run;
mod split;
mod types;

pub use content::{StatCache, StatKey, hash_file, hash_reader};
#[cfg(feature = "arrow")]
pub(crate) use object::RemoteObject;
pub(crate) use parts::FileParts;
pub use reader::InputReader;
#[cfg(feature = "arrow")]
pub(crate) use reader::ObjectReader;
pub(crate) use run::{NodeContent, RunInputs, changed_since_hashed};
pub use split::{FileSplit, FileSplits, Piece};
pub use types::{InputFile, InputGlob, InputSource};

use std::path::{Path, PathBuf};

/// Where the stat cache and the record of input-step outputs live: the checkpoint directory
/// itself when it is local; for an `s3://` store (the cache is about this machine's files:
/// devices, inodes) the spill directory when one is given, else
/// `$STEPSTONE_CACHE` / `$XDG_CACHE_HOME/stepstone` / `~/.cache/stepstone` under
/// `inputs/<xxh3-64 of the URL>`. A run resuming from S3 on another machine therefore re-runs
/// an input-reading step once (its output hash then lets the stored descendants be reused).
pub(crate) fn local_root(checkpoint_dir: &Path, spill_dir: Option<&Path>) -> PathBuf {
    let text = checkpoint_dir.to_string_lossy();
    if !text.starts_with("s3://") {
        return checkpoint_dir.to_path_buf();
    }
    if let Some(dir) = spill_dir {
        return dir.to_path_buf();
    }
    let env = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let cache = env("STEPSTONE_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("stepstone")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("stepstone")))
        .unwrap_or_else(|| std::env::temp_dir().join("stepstone"));
    let key = xxhash_rust::xxh3::xxh3_64(text.as_bytes());
    cache.join("inputs").join(format!("{key:016x}"))
}

#[cfg(test)]
mod tests {
    use super::local_root;
    use std::path::Path;

    #[test]
    fn a_local_store_keeps_its_input_cache_inside() {
        assert_eq!(local_root(Path::new("ck"), None), Path::new("ck"));
    }

    #[test]
    fn an_s3_store_keeps_its_input_cache_on_this_machine() {
        let url = Path::new("s3://bucket/prefix");
        assert_eq!(
            local_root(url, Some(Path::new("/spill"))),
            Path::new("/spill")
        );
        let root = local_root(url, None);
        assert!(
            !root.to_string_lossy().contains("s3:"),
            "{}",
            root.display()
        );
        assert!(root.is_absolute() || root.starts_with(std::env::temp_dir()));
    }
}
