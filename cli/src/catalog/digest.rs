//! The content digest of an archetype version: what an approver signed off, and what `new` and
//! `update` verify before rendering.
//!
//! Responsible for the exact definition (below) and its text form. Not responsible for where
//! the digest is stored (`index.rs`) or what happens on a mismatch (`mod.rs`).
//!
//! Definition: xxh3-128 over every file of the archetype folder, `archetype.toml` included,
//! sorted by `/`-separated relative path (byte order); each file contributes
//! `u64 LE length of the path ‖ path bytes ‖ u64 LE length of the contents ‖ contents`.
//! Written as `xxh3-128:` followed by 32 lowercase hex digits.

use xxhash_rust::xxh3::Xxh3;

use crate::scaffold::source::{Archetype, MANIFEST};

/// The prefix naming the algorithm in the text form.
pub(crate) const ALGORITHM: &str = "xxh3-128";

/// The digest of `archetype` (its manifest text and its files).
pub(crate) fn of(archetype: &Archetype) -> String {
    let mut entries: Vec<(&str, &[u8])> = archetype
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_slice()))
        .collect();
    entries.push((MANIFEST, archetype.manifest_text.as_bytes()));
    of_files(entries)
}

/// The digest of `(relative path, contents)` pairs, in any order.
pub(crate) fn of_files<'a>(mut entries: Vec<(&'a str, &'a [u8])>) -> String {
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut hasher = Xxh3::new();
    for (path, contents) in entries {
        hasher.update(&(path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update(&(contents.len() as u64).to_le_bytes());
        hasher.update(contents);
    }
    format!("{ALGORITHM}:{:032x}", hasher.digest128())
}

/// Whether `text` has the digest's text form.
pub(crate) fn is_well_formed(text: &str) -> bool {
    text.strip_prefix(ALGORITHM)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|hex| {
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_does_not_matter_and_every_byte_does() {
        let a = of_files(vec![("a", b"1"), ("b/c", b"2")]);
        assert_eq!(a, of_files(vec![("b/c", b"2"), ("a", b"1")]));
        assert_ne!(a, of_files(vec![("a", b"1"), ("b/c", b"3")]));
        // Moving bytes between the path and the contents changes the digest (lengths are framed).
        assert_ne!(of_files(vec![("ab", b"")]), of_files(vec![("a", b"b")]));
        assert!(is_well_formed(&a), "{a}");
        assert!(!is_well_formed("xxh3-128:XYZ"));
    }
}
