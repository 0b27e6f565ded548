//! The catalog index (`catalog.toml`): one entry per published archetype version with its
//! status, approver, date and content digest.
//!
//! Responsible for the index's grammar, its validation (a bad index is refused whole, with the
//! file and line), and writing it back in a stable order. Not responsible for the archetype
//! content (`folder.rs`, `git.rs`) or for deciding what a status allows (`mod.rs`).

use anyhow::{Context as _, bail};
use semver::Version;
use serde::{Deserialize, Serialize};

use super::digest;
use crate::scaffold::model::{Status, line_of};

/// The index's file name at the root of a catalog.
pub(crate) const INDEX: &str = "catalog.toml";

/// The only index format this binary reads and writes.
pub(crate) const FORMAT: u32 = 1;

/// One published archetype version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    /// Archetype name.
    pub(crate) name: String,
    /// Its version (semver).
    pub(crate) version: Version,
    /// Whether `new` and `update` may use it.
    pub(crate) status: Status,
    /// Who approved (published) it.
    pub(crate) approver: String,
    /// When it was published (RFC 3339, UTC).
    pub(crate) date: String,
    /// The content digest (see `digest.rs`).
    pub(crate) digest: String,
}

/// A whole index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Index {
    /// Index format version.
    pub(crate) format: u32,
    /// Every version, sorted by name then version.
    #[serde(default, rename = "versions")]
    pub(crate) entries: Vec<Entry>,
}

impl Index {
    /// An empty index.
    pub(crate) fn new() -> Self {
        Index {
            format: FORMAT,
            entries: Vec::new(),
        }
    }

    /// Parse and validate `text`, read from `label` (for messages).
    pub(crate) fn parse(text: &str, label: &str) -> anyhow::Result<Self> {
        let index: Index = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(":{}", line_of(text, s.start)))
                .unwrap_or_default();
            anyhow::anyhow!(
                "catalog index {label}{line} is malformed: {}; fix it or re-publish into a fresh catalog",
                e.message().trim()
            )
        })?;
        if index.format != FORMAT {
            bail!(
                "catalog index {label} has format {} but this stepstone reads format {FORMAT}; upgrade stepstone",
                index.format
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for entry in &index.entries {
            let at = format!("catalog index {label}: {} {}", entry.name, entry.version);
            if !crate::scaffold::model::is_package_like(&entry.name) {
                bail!("{at}: the name must be lowercase letters, digits and `-`");
            }
            if !digest::is_well_formed(&entry.digest) {
                bail!(
                    "{at}: digest `{}` is not `{}:` and 32 hex digits",
                    entry.digest,
                    digest::ALGORITHM
                );
            }
            if entry.approver.trim().is_empty() {
                bail!("{at}: no approver recorded");
            }
            if !seen.insert((entry.name.clone(), entry.version.clone())) {
                bail!("{at}: listed twice");
            }
        }
        Ok(index)
    }

    /// The text to write (entries sorted).
    pub(crate) fn to_text(&self) -> anyhow::Result<String> {
        let mut sorted = self.clone();
        sorted
            .entries
            .sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        let body = toml::to_string(&sorted).context("encoding the catalog index")?;
        Ok(format!(
            "# Stepstone archetype catalog: every published version with its status, approver,\n\
             # date and content digest. Written by `stepstone archetypes publish|deprecate`.\n\n{body}"
        ))
    }

    /// The versions of `name`, oldest first.
    pub(crate) fn versions(&self, name: &str) -> Vec<&Entry> {
        let mut found: Vec<&Entry> = self.entries.iter().filter(|e| e.name == name).collect();
        found.sort_by(|a, b| a.version.cmp(&b.version));
        found
    }

    /// The entry of `name` at `version`.
    pub(crate) fn find(&self, name: &str, version: &Version) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name && &e.version == version)
    }

    /// The highest version of `name`, whatever its status.
    pub(crate) fn latest(&self, name: &str) -> Option<&Entry> {
        self.versions(name).into_iter().last()
    }

    /// The highest approved version of `name`.
    pub(crate) fn latest_approved(&self, name: &str) -> Option<&Entry> {
        self.versions(name)
            .into_iter()
            .rfind(|e| e.status == Status::Approved)
    }
}

/// Now as RFC 3339 (UTC, seconds).
pub(crate) fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: &str, status: Status) -> Entry {
        Entry {
            name: "a".into(),
            version: Version::parse(version).unwrap(),
            status,
            approver: "me".into(),
            date: now(),
            digest: format!("{}:{}", digest::ALGORITHM, "0".repeat(32)),
        }
    }

    #[test]
    fn round_trips_and_picks_the_latest_approved() {
        let mut index = Index::new();
        index.entries.push(entry("1.10.0", Status::Experimental));
        index.entries.push(entry("1.2.0", Status::Approved));
        index.entries.push(entry("1.9.0", Status::Deprecated));
        let text = index.to_text().unwrap();
        let back = Index::parse(&text, "t").unwrap();
        assert_eq!(back.latest("a").unwrap().version.to_string(), "1.10.0");
        assert_eq!(
            back.latest_approved("a").unwrap().version.to_string(),
            "1.2.0"
        );
    }

    #[test]
    fn a_bad_index_names_file_and_line() {
        let err = Index::parse("format = 1\n[[versions]]\nname = 3\n", "c/catalog.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("c/catalog.toml:3"), "{err}");
        let err = Index::parse("format = 7\n", "c").unwrap_err().to_string();
        assert!(err.contains("format 7"), "{err}");
        let mut index = Index::new();
        index.entries.push(entry("1.0.0", Status::Approved));
        index.entries.push(entry("1.0.0", Status::Approved));
        let err = Index::parse(&index.to_text().unwrap(), "c")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
