//! The helper table of a step: which same-crate items its body reaches, with their token
//! hashes, and the hash of the crate's `Cargo.lock`; mixed into the step's code hash and named
//! in the run report when a helper changes.
//!
//! Two sources, the same format: the table `stepstone-build` writes from a `build.rs`
//! (`$OUT_DIR/stepstone-helpers.txt`, whose path is `include_bytes!`-ed so the compiler rebuilds
//! the crate when it changes), or — with no `build.rs` — the same table built here, at
//! expansion, from the sources the step lives among (`src/` when the step is under it, else the
//! step file's own folder: `examples/`, `tests/`). Safe without a build script because editing
//! any of those files recompiles the crate, and a recompilation expands every `#[step]` again.
//! Not responsible for the scan itself (`stepstone_build::table_for`).

use std::path::Path;

use xxhash_rust::xxh3::xxh3_128;

/// Must match `stepstone_build::TABLE_FILE` / `TABLE_HEADER`.
const TABLE_FILE: &str = "stepstone-helpers.txt";
const TABLE_HEADER: &str = "stepstone-helpers v1";

/// What the table says about one step.
pub(crate) struct StepHelpers {
    /// Hash over the lock file, unparsed files and every helper (32 hex digits).
    pub(crate) combined: String,
    /// `(helper, hash)`, sorted.
    pub(crate) helpers: Vec<(String, String)>,
    /// The build script's table file (to `include_bytes!`), when it came from one.
    pub(crate) table: Option<String>,
}

/// The table entry for the step function `name`: from the build script's table when there is
/// one, else from the table built at expansion (`None` only when neither can be had: outside
/// a compiler, or sources that cannot be listed).
pub(crate) fn lookup(name: &str) -> Option<StepHelpers> {
    if let Some(found) = from_build_script(name) {
        return Some(found);
    }
    let text = automatic::table()?;
    parse(&text, name).map(|(combined, helpers)| StepHelpers {
        combined,
        helpers,
        table: None,
    })
}

/// The entry in `$OUT_DIR/stepstone-helpers.txt`, when a `build.rs` wrote one.
fn from_build_script(name: &str) -> Option<StepHelpers> {
    let dir = std::env::var("OUT_DIR").ok()?;
    let path = Path::new(&dir).join(TABLE_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let table = path.to_str()?.to_string();
    parse(&text, name).map(|(combined, helpers)| StepHelpers {
        combined,
        helpers,
        table: Some(table),
    })
}

/// The helper table built at expansion, for crates without a `build.rs`.
mod automatic {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, PoisonError};
    use std::time::SystemTime;

    /// What a table was built from: every `.rs` file under the root with its length and mtime.
    type Signature = Vec<(PathBuf, u64, Option<SystemTime>)>;

    /// Tables built in this compiler process, per scanned root (a crate has many steps; a
    /// long-lived process, such as an IDE's macro server, sees the files change).
    static TABLES: Mutex<Option<HashMap<PathBuf, (Signature, String)>>> = Mutex::new(None);

    /// The table for the sources around the macro call being expanded.
    pub(super) fn table() -> Option<String> {
        let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
        let root = scan_root(&manifest)?;
        let signature = signature(&root)?;
        let mut tables = TABLES.lock().unwrap_or_else(PoisonError::into_inner);
        let tables = tables.get_or_insert_with(HashMap::new);
        if let Some((seen, text)) = tables.get(&root)
            && *seen == signature
        {
            return Some(text.clone());
        }
        let lock = manifest
            .ancestors()
            .map(|d| d.join("Cargo.lock"))
            .find(|p| p.is_file());
        let (text, _warnings) = stepstone_build::table_for(&root, lock.as_deref()).ok()?;
        tables.insert(root, (signature, text.clone()));
        Some(text)
    }

    /// `src/` when the step being expanded is under it (or its file is unknown), else the folder
    /// of its file (an example, a test, a bench: their helpers sit beside them).
    fn scan_root(manifest: &Path) -> Option<PathBuf> {
        let src = manifest.join("src");
        let file = proc_macro::is_available()
            .then(|| proc_macro::Span::call_site().local_file())
            .flatten()
            .map(|f| if f.is_absolute() { f } else { manifest.join(f) });
        match file {
            Some(f) if !f.starts_with(&src) => f.parent().map(Path::to_path_buf),
            _ => src.is_dir().then_some(src),
        }
    }

    fn signature(root: &Path) -> Option<Signature> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).ok()?.flatten() {
                let path = entry.path();
                let meta = entry.metadata().ok()?;
                if meta.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push((path, meta.len(), meta.modified().ok()));
                }
            }
        }
        out.sort();
        Some(out)
    }
}

/// `(combined hash, helpers)` of step `name` in `text`. Several steps with the same function
/// name (in different modules) share the union of their helpers: conservative.
fn parse(text: &str, name: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut lines = text.lines();
    if lines.next()? != TABLE_HEADER {
        return None;
    }
    let mut shared = String::new();
    let mut helpers: Vec<(String, String)> = Vec::new();
    for line in lines {
        let mut words = line.split(' ');
        match words.next() {
            Some("lock") | Some("unparsed") => {
                shared.push_str(line);
                shared.push('\n');
            }
            Some("step") if words.next() == Some(name) => {
                for word in words {
                    if let Some((helper, hash)) = word.rsplit_once('=') {
                        helpers.push((helper.replace('\u{a0}', " "), hash.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    helpers.sort();
    helpers.dedup();
    let mut all = shared;
    for (helper, hash) in &helpers {
        all.push_str(helper);
        all.push('=');
        all.push_str(hash);
        all.push('\n');
    }
    Some((format!("{:032x}", xxh3_128(all.as_bytes())), helpers))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "stepstone-helpers v1\nlock 00ff\nstep load scale=aa impl\u{a0}Row=bb\nstep other\nstep load offset=cc\n";

    #[test]
    fn a_step_gets_its_helpers_and_a_hash_that_follows_them() {
        let (hash, helpers) = parse(TABLE, "load").unwrap();
        assert_eq!(
            helpers,
            [("impl Row", "bb"), ("offset", "cc"), ("scale", "aa")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let (edited, _) = parse(&TABLE.replace("scale=aa", "scale=ab"), "load").unwrap();
        assert_ne!(hash, edited);
        let (other, _) = parse(TABLE, "other").unwrap();
        let (other_edited, _) = parse(&TABLE.replace("scale=aa", "scale=ab"), "other").unwrap();
        assert_eq!(
            other, other_edited,
            "a sibling's hash does not follow another's helper"
        );
        let (relocked, _) = parse(&TABLE.replace("lock 00ff", "lock 0100"), "other").unwrap();
        assert_ne!(other, relocked);
        assert!(parse("something else\n", "load").is_none());
    }
}
