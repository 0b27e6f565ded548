//! Applying a target version's `[[migrations]]` when an update crosses them: answers renamed or
//! derived before rendering, project paths moved or deleted before merging.
//!
//! Only migrations whose version is above the recorded one and at or below the target apply,
//! oldest first. Nothing here runs a command or touches the disk (`apply.rs` writes).

use std::collections::BTreeMap;

use semver::Version;

use crate::scaffold::ScaffoldError;
use crate::scaffold::model::{Action, Manifest, Migration};

/// The migrations of `target` that apply from `from` to `to`.
pub(crate) fn applicable<'m>(
    target: &'m Manifest,
    from: &Version,
    to: &Version,
) -> Vec<&'m Migration> {
    target
        .migrations
        .iter()
        .filter(|m| &m.version > from && &m.version <= to)
        .collect()
}

/// Rename and derive recorded answers (a TOML table) for the target version.
pub(crate) fn answers(
    migrations: &[&Migration],
    mut answers: toml::Table,
    notes: &mut Vec<String>,
) -> Result<toml::Table, ScaffoldError> {
    for migration in migrations {
        match &migration.action {
            Action::RenameAnswer { from, to } => {
                if let Some(value) = answers.remove(from) {
                    notes.push(format!(
                        "answer `{from}` renamed to `{to}` ({})",
                        migration.version
                    ));
                    answers.insert(to.clone(), value);
                }
            }
            Action::DeriveAnswer { name, template } => {
                let mut context = tera::Context::new();
                for (key, value) in &answers {
                    context.insert(key.clone(), value);
                }
                let label = format!(
                    "archetype.toml [[migrations]] {} derive_answer {name}",
                    migration.version
                );
                let text = crate::scaffold::render::render_snippet(&label, template, &context)?;
                notes.push(format!(
                    "answer `{name}` derived as {text:?} ({})",
                    migration.version
                ));
                answers.insert(name.clone(), toml::Value::String(text));
            }
            Action::Move { .. } | Action::Delete(_) => {}
        }
    }
    Ok(answers)
}

/// Path moves, `from` → `to` (a file, or a folder and everything below it).
#[derive(Debug, Default)]
pub(crate) struct Moves(Vec<(String, String)>);

impl Moves {
    /// The moves of `migrations`, in order.
    pub(crate) fn of(migrations: &[&Migration]) -> Self {
        Moves(
            migrations
                .iter()
                .filter_map(|m| match &m.action {
                    Action::Move { from, to } => Some((from.clone(), to.clone())),
                    _ => None,
                })
                .collect(),
        )
    }

    /// The moves, `(from, to)`, in order.
    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        self.0.clone()
    }

    /// Where a path of the recorded version ends up after the moves.
    pub(crate) fn forward(&self, path: &str) -> String {
        let mut current = path.to_string();
        for (from, to) in &self.0 {
            if current == *from {
                current = to.clone();
            } else if let Some(rest) = current.strip_prefix(&format!("{from}/")) {
                current = format!("{to}/{rest}");
            }
        }
        current
    }

    /// Rename the keys of a rendered version's files.
    pub(crate) fn rekey(&self, files: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
        files
            .into_iter()
            .map(|(k, v)| (self.forward(&k), v))
            .collect()
    }
}

/// The paths (files or folders) the migrations delete.
pub(crate) fn deletions(migrations: &[&Migration]) -> Vec<String> {
    migrations
        .iter()
        .filter_map(|m| match &m.action {
            Action::Delete(path) => Some(path.clone()),
            _ => None,
        })
        .collect()
}

/// Whether `path` is `root` or below it (a migration path covers a file or a folder).
pub(crate) fn is_under(path: &str, root: &str) -> bool {
    path == root || path.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_follow_files_and_folders_in_order() {
        let moves = Moves(vec![
            ("src/a.rs".into(), "src/b.rs".into()),
            ("src".into(), "lib".into()),
        ]);
        assert_eq!(moves.forward("src/a.rs"), "lib/b.rs");
        assert_eq!(moves.forward("src/x/y.rs"), "lib/x/y.rs");
        assert_eq!(moves.forward("srcx"), "srcx");
    }
}
