//! The helper table written by `stepstone-build` (`$OUT_DIR/stepstone-helpers.txt`): which
//! same-crate items a step's body reaches, with their token hashes, and the hash of the
//! crate's `Cargo.lock`. Read at expansion; mixed into the step's code hash; its path is
//! `include_bytes!`-ed so the compiler rebuilds the crate when the table changes. No table (no
//! `build.rs` calling `stepstone_build::emit()`) means the step hashes its own tokens only. Not
//! responsible for building the table.

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
    /// The table's path (to `include_bytes!`).
    pub(crate) table: String,
}

/// The table entry for the step function `name`, when the crate has a table.
pub(crate) fn lookup(name: &str) -> Option<StepHelpers> {
    let dir = std::env::var("OUT_DIR").ok()?;
    let path = std::path::Path::new(&dir).join(TABLE_FILE);
    let text = std::fs::read_to_string(&path).ok()?;
    let table = path.to_str()?.to_string();
    parse(&text, name).map(|(combined, helpers)| StepHelpers {
        combined,
        helpers,
        table,
    })
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
