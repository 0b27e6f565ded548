//! Declarative migrations (`[[migrations]]`) and example answer sets (`[[examples]]`) of a
//! manifest.
//!
//! Responsible for their grammar and validation: a migration names the version that introduced
//! it and exactly one action (move or delete a project path, rename or derive an answer); no
//! action runs a command. Not responsible for applying them (`scaffold/update/migrate.rs`) or
//! for running examples (`cmd/archetypes/test.rs`).

use serde::{Deserialize, Serialize};

use crate::scaffold::safety::RelPath;

/// What a migration does, applied by `stepstone update` when it crosses the migration's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Action {
    /// Move a project file (or folder) from one path to another.
    Move {
        /// The old path, relative to the project.
        from: String,
        /// The new path.
        to: String,
    },
    /// Delete a project path that no version renders any more (generated or legacy files);
    /// archetype files the target drops are deleted anyway when pristine, kept when changed.
    Delete(String),
    /// Rename a recorded answer.
    RenameAnswer {
        /// The old variable name.
        from: String,
        /// The new variable name.
        to: String,
    },
    /// Set an answer from a Tera template over the other answers.
    DeriveAnswer {
        /// The variable to set.
        name: String,
        /// The template (`{{ rows * 2 }}`).
        template: String,
    },
}

/// One migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Migration {
    /// The archetype version that introduced it: applied when updating from a version below it
    /// to one at or above it.
    pub(crate) version: semver::Version,
    /// What to do.
    pub(crate) action: Action,
}

/// An example answer set, rendered, built, tested and run by `archetypes test`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Example {
    /// A short name (used for the generated folder).
    pub(crate) name: String,
    /// Answers (`key = value`); the rest take their defaults.
    #[serde(default)]
    pub(crate) answers: toml::Table,
    /// Arguments for the generated binary's run (`cargo run -- ARGS`).
    #[serde(default)]
    pub(crate) run: Vec<String>,
}

/// `[[migrations]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMigration {
    version: String,
    #[serde(rename = "move")]
    move_path: Option<FromTo>,
    delete: Option<String>,
    rename_answer: Option<FromTo>,
    derive_answer: Option<Derive>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FromTo {
    from: String,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Derive {
    name: String,
    template: String,
}

fn path(text: &str) -> Result<String, String> {
    RelPath::parse(text)
        .map(|p| p.to_string())
        .map_err(|e| format!("[[migrations]]: {e}"))
}

impl RawMigration {
    /// Validate into a [`Migration`]; the message says what is wrong.
    pub(super) fn validate(self, variables: &[String]) -> Result<Migration, String> {
        let version = semver::Version::parse(&self.version).map_err(|e| {
            format!(
                "[[migrations]] version `{}` is not a semver version: {e}",
                self.version
            )
        })?;
        let mut actions = Vec::new();
        if let Some(m) = self.move_path {
            actions.push(Action::Move {
                from: path(&m.from)?,
                to: path(&m.to)?,
            });
        }
        if let Some(d) = self.delete {
            actions.push(Action::Delete(path(&d)?));
        }
        if let Some(r) = self.rename_answer {
            if !variables.contains(&r.to) {
                return Err(format!(
                    "[[migrations]] rename_answer to `{}`: no such variable in this version",
                    r.to
                ));
            }
            actions.push(Action::RenameAnswer {
                from: r.from,
                to: r.to,
            });
        }
        if let Some(d) = self.derive_answer {
            if !variables.contains(&d.name) {
                return Err(format!(
                    "[[migrations]] derive_answer `{}`: no such variable in this version",
                    d.name
                ));
            }
            actions.push(Action::DeriveAnswer {
                name: d.name,
                template: d.template,
            });
        }
        match <[Action; 1]>::try_from(actions) {
            Ok([action]) => Ok(Migration { version, action }),
            Err(_) => Err(format!(
                "[[migrations]] for {version}: give exactly one of move, delete, rename_answer, derive_answer"
            )),
        }
    }
}
