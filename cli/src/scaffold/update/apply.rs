//! Writing an update plan into the project.
//!
//! Order: every file the plan changes, moves or deletes is first copied to
//! `.stepstone/backup/FROM-TO/` (so whatever happens, the user's bytes survive); then migration
//! moves, then contents (each written to a temporary file beside it and renamed over the old
//! one, keeping its permissions), then deletions, and the record last — so an update that fails
//! half-way still names the old version and can be re-run. Every path is checked first: no
//! symlink is followed, nothing is written outside the project.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Change, Plan, THEIRS_SUFFIX};
use crate::scaffold::safety::{RelPath, check_existing_path};

fn rel(path: &str) -> anyhow::Result<RelPath> {
    RelPath::parse(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Write `contents` at `target` through a temporary file in the same folder.
fn replace(target: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = target
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent folder", target.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let old = fs::metadata(target).ok().map(|m| m.permissions());
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing in {}", dir.display()))?;
    temp.write_all(contents)
        .with_context(|| format!("writing {}", target.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match &old {
            Some(p) => p.mode(),
            None if contents.starts_with(b"#!") => 0o755,
            None => 0o644,
        };
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))?;
    }
    temp.persist(target)
        .map_err(|e| anyhow::anyhow!("replacing {}: {}", target.display(), e.error))?;
    Ok(())
}

/// Refuse a symlink at `path` or at any folder above it (a moved path may be a folder).
fn no_symlink_on_the_way(project: &Path, path: &str) -> anyhow::Result<()> {
    let mut at = project.to_path_buf();
    for part in rel(path)?.parts() {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            anyhow::bail!(
                "{} is a symlink; stepstone never follows them: replace it with the real file or folder",
                at.display()
            );
        }
    }
    Ok(())
}

/// A fresh backup folder for this update.
fn backup_dir(project: &Path, label: &str) -> PathBuf {
    let root = project.join(".stepstone").join("backup");
    let mut dir = root.join(label);
    let mut n = 2;
    while dir.exists() {
        dir = root.join(format!("{label}.{n}"));
        n += 1;
    }
    dir
}

/// Copy every file the plan touches into a backup folder; returns it (or `None` when nothing
/// existing is touched).
fn back_up(project: &Path, plan: &Plan, label: &str) -> anyhow::Result<Option<PathBuf>> {
    let mut touched: Vec<String> = plan
        .changes
        .iter()
        .filter(|(_, c)| {
            matches!(
                c,
                Change::Update(_) | Change::Merge(_) | Change::Conflict(_) | Change::Delete
            )
        })
        .map(|(p, _)| p.clone())
        .collect();
    touched.extend(plan.moves.iter().map(|(from, _)| from.clone()));
    // A `FILE.theirs` from an earlier update (or the user's own file of that name) is replaced.
    touched.extend(
        plan.changes
            .iter()
            .filter(|(_, c)| matches!(c, Change::BinaryConflict(_)))
            .map(|(p, _)| format!("{p}{THEIRS_SUFFIX}")),
    );
    let dir = backup_dir(project, label);
    let mut any = false;
    for path in touched {
        let source = rel(&path)?.under(project);
        let Ok(meta) = fs::symlink_metadata(&source) else {
            continue;
        };
        let target = rel(&path)?.under(&dir);
        if meta.is_dir() {
            copy_tree(&source, &target)?;
        } else if meta.is_file() {
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(&source, &target).with_context(|| {
                format!("backing up {} to {}", source.display(), target.display())
            })?;
        }
        any = true;
    }
    Ok(any.then_some(dir))
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Write `plan` into `project`; `label` names the backup folder (`1.0.0-1.1.0`). Returns the
/// backup folder, if one was made.
pub(crate) fn apply(project: &Path, plan: &Plan, label: &str) -> anyhow::Result<Option<PathBuf>> {
    for (path, change) in &plan.changes {
        check_existing_path(project, &rel(path)?)?;
        if matches!(change, Change::BinaryConflict(_)) {
            check_existing_path(project, &rel(&format!("{path}{THEIRS_SUFFIX}"))?)?;
        }
    }
    for (from, to) in &plan.moves {
        no_symlink_on_the_way(project, from)?;
        no_symlink_on_the_way(project, to)?;
    }
    // Every path written is checked before the first byte is: the record, and the backup
    // folder (a cloned project may carry a symlinked `.stepstone` or `.stepstone/backup`, which
    // would put the backups outside the project).
    check_existing_path(project, &plan.record.path)?;
    no_symlink_on_the_way(project, ".stepstone/backup")?;
    let backup_folder = backup_dir(project, label);
    let backup_rel = backup_folder
        .strip_prefix(project)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    no_symlink_on_the_way(project, &backup_rel)?;
    let backup = back_up(project, plan, label)?;
    for (from, to) in &plan.moves {
        let (from, to) = (rel(from)?.under(project), rel(to)?.under(project));
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::rename(&from, &to)
            .with_context(|| format!("moving {} to {}", from.display(), to.display()))?;
    }
    for (path, change) in &plan.changes {
        let target = rel(path)?.under(project);
        match change {
            Change::Update(bytes)
            | Change::Merge(bytes)
            | Change::Conflict(bytes)
            | Change::Add(bytes) => {
                replace(&target, bytes)?;
            }
            Change::BinaryConflict(theirs) => {
                replace(
                    &rel(&format!("{path}{THEIRS_SUFFIX}"))?.under(project),
                    theirs,
                )?;
            }
            Change::Delete => {
                if fs::symlink_metadata(&target).is_ok() {
                    fs::remove_file(&target)
                        .with_context(|| format!("deleting {}", target.display()))?;
                }
            }
            Change::KeepDeleted | Change::KeepModified => {}
        }
    }
    replace(&plan.record.path.under(project), &plan.record.contents)?;
    Ok(backup)
}
