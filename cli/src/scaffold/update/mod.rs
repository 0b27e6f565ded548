//! `stepstone update`'s engine: plan a per-file 3-way merge of (recorded version rendered with
//! the recorded answers) → (the project) → (target version rendered), then apply it.
//!
//! `plan` reads the project and decides every file's fate without writing: clean changes,
//! conflicts (markers), additions, deletions of pristine files the archetype dropped, files the
//! user deleted (they stay deleted), binary files (never merged). `apply.rs` writes the plan:
//! backups first, then moves, contents, deletions, and the record last. `merge.rs` merges one
//! file; `migrate.rs` applies `[[migrations]]`. The command (`cmd/update.rs`) resolves versions
//! and answers.

pub(crate) mod apply;
pub(crate) mod merge;
pub(crate) mod migrate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context as _, bail};

use super::safety::{OutputFile, RelPath};
use merge::Merged;
use migrate::Moves;

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The user had not changed it: the new version's contents.
    Update(Vec<u8>),
    /// Both changed it, on different lines: merged.
    Merge(Vec<u8>),
    /// Both changed the same lines: written with conflict markers.
    Conflict(Vec<u8>),
    /// New in the target version.
    Add(Vec<u8>),
    /// Dropped by the target version (or a migration) and unchanged by the user.
    Delete,
    /// Binary and changed on both sides: the user's file kept, the new one written beside it.
    BinaryConflict(Vec<u8>),
    /// The user deleted it and the archetype changed it: it stays deleted.
    KeepDeleted,
    /// The archetype dropped it but the user changed it: kept.
    KeepModified,
}

impl Change {
    /// The word printed in the listing.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Change::Update(_) => "updated",
            Change::Merge(_) => "merged",
            Change::Conflict(_) => "CONFLICT",
            Change::Add(_) => "added",
            Change::Delete => "deleted",
            Change::BinaryConflict(_) => "CONFLICT",
            Change::KeepDeleted => "kept deleted",
            Change::KeepModified => "kept",
        }
    }

    /// Whether it needs the user's attention before the project is consistent.
    pub(crate) fn is_conflict(&self) -> bool {
        matches!(self, Change::Conflict(_) | Change::BinaryConflict(_))
    }
}

/// The suffix of the new version of a binary file that conflicted.
pub(crate) const THEIRS_SUFFIX: &str = ".theirs";

/// Everything an update will do, computed before anything is written.
#[derive(Debug)]
pub(crate) struct Plan {
    /// Project paths moved by migrations (done first).
    pub(crate) moves: Vec<(String, String)>,
    /// Per-file changes, by path.
    pub(crate) changes: Vec<(String, Change)>,
    /// The new record (written last).
    pub(crate) record: OutputFile,
    /// Things worth telling the user (migrations applied, answers dropped).
    pub(crate) notes: Vec<String>,
}

impl Plan {
    /// The paths with conflicts.
    pub(crate) fn conflicts(&self) -> Vec<&str> {
        self.changes
            .iter()
            .filter(|(_, c)| c.is_conflict())
            .map(|(p, _)| p.as_str())
            .collect()
    }
}

/// Rendered files by path, without the record.
pub(crate) fn by_path(files: Vec<OutputFile>) -> (BTreeMap<String, Vec<u8>>, Option<OutputFile>) {
    let mut map = BTreeMap::new();
    let mut record = None;
    for file in files {
        if file.path.to_string() == super::render::RECORD_PATH {
            record = Some(file);
        } else {
            map.insert(file.path.to_string(), file.contents);
        }
    }
    (map, record)
}

/// The project's file at `path`: `None` when absent; a symlink or folder is refused.
pub(crate) fn read_project_file(project: &Path, path: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let rel = RelPath::parse(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    super::safety::check_existing_path(project, &rel)?;
    let full = rel.under(project);
    match std::fs::symlink_metadata(&full) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", full.display())),
        Ok(meta) if !meta.is_file() => bail!("{} is not a regular file; refused", full.display()),
        Ok(_) => Ok(Some(
            std::fs::read(&full).with_context(|| format!("reading {}", full.display()))?,
        )),
    }
}

/// Decide every file's fate. `base` and `theirs` are the two rendered versions (without the
/// record); `record` is the target's record.
pub(crate) fn plan(
    project: &Path,
    base: BTreeMap<String, Vec<u8>>,
    theirs: BTreeMap<String, Vec<u8>>,
    record: OutputFile,
    migrations: &[&crate::scaffold::model::Migration],
    mut notes: Vec<String>,
) -> anyhow::Result<Plan> {
    let moves_rule = Moves::of(migrations);
    let mut moves = Vec::new();
    for (from, to) in moves_rule.pairs() {
        let from_exists = std::fs::symlink_metadata(
            RelPath::parse(&from)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .under(project),
        )
        .is_ok();
        let to_exists = std::fs::symlink_metadata(
            RelPath::parse(&to)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .under(project),
        )
        .is_ok();
        if from_exists && !to_exists {
            moves.push((from, to));
        } else if from_exists {
            notes.push(format!(
                "migration: {from} not moved to {to}, which already exists"
            ));
        }
    }
    let base = moves_rule.rekey(base);
    let mut doomed = Vec::new();
    for deleted in migrate::deletions(migrations) {
        for path in files_under(project, &deleted)? {
            if !base.contains_key(&path) && !theirs.contains_key(&path) {
                doomed.push(path);
            }
        }
    }
    let disk_path = |path: &str| -> String {
        for (from, to) in moves.iter().rev() {
            if path == to {
                return from.clone();
            }
            if let Some(rest) = path.strip_prefix(&format!("{to}/")) {
                return format!("{from}/{rest}");
            }
        }
        path.to_string()
    };
    let paths: BTreeSet<&String> = base.keys().chain(theirs.keys()).collect();
    let mut changes = Vec::new();
    for path in paths {
        let ours = read_project_file(project, &disk_path(path))?;
        let change = decide(base.get(path), ours.as_deref(), theirs.get(path));
        if let Some(change) = change {
            changes.push((path.clone(), change));
        }
    }
    changes.extend(doomed.into_iter().map(|p| (p, Change::Delete)));
    Ok(Plan {
        moves,
        changes,
        record,
        notes,
    })
}

/// The project's files at or below `path` (a file or a folder); a symlink is refused.
fn files_under(project: &Path, path: &str) -> anyhow::Result<Vec<String>> {
    let full = RelPath::parse(path)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .under(project);
    let Ok(meta) = std::fs::symlink_metadata(&full) else {
        return Ok(Vec::new());
    };
    if meta.file_type().is_symlink() {
        bail!(
            "{} is a symlink; stepstone never follows them",
            full.display()
        );
    }
    if meta.is_file() {
        return Ok(vec![path.to_string()]);
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&full).with_context(|| format!("reading {}", full.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        out.extend(files_under(project, &format!("{path}/{name}"))?);
    }
    Ok(out)
}

/// One file's fate; `None` = nothing to do.
fn decide(base: Option<&Vec<u8>>, ours: Option<&[u8]>, theirs: Option<&Vec<u8>>) -> Option<Change> {
    match (base, ours, theirs) {
        (_, None, None) => None,
        (Some(b), None, Some(t)) => (b != t).then_some(Change::KeepDeleted),
        (None, None, Some(t)) => Some(Change::Add(t.clone())),
        (Some(b), Some(o), None) => Some(if o == b.as_slice() {
            Change::Delete
        } else {
            Change::KeepModified
        }),
        (None, Some(_), None) => None,
        (b, Some(o), Some(t)) => {
            let empty = Vec::new();
            let b = b.unwrap_or(&empty);
            match merge::three_way(b, o, t) {
                Merged::Clean(merged) if merged == o => None,
                Merged::Clean(merged) if o == b.as_slice() => Some(Change::Update(merged)),
                Merged::Clean(merged) => Some(Change::Merge(merged)),
                Merged::Conflict(marked) => Some(Change::Conflict(marked)),
                Merged::Binary => Some(Change::BinaryConflict(t.clone())),
            }
        }
    }
}
