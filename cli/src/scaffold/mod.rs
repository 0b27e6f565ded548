//! Scaffolding: turning an archetype (manifest + files) and answers into a project on disk.
//!
//! The flow is `source` (load an archetype, built-in or from a folder) → `model` (validated
//! manifest) → `answers` (checked values) → `render` (files in memory) → `safety` (write through
//! a temporary folder, never outside the destination). `dependency` says how the generated
//! project finds the runtime; `lint` checks an archetype for `archetypes check`; `export` (with
//! `liquid`) writes an archetype as a cargo-generate template. Nothing here
//! prints or prompts except `answers` (interactive prompts, when asked to).

pub(crate) mod answers;
pub(crate) mod dependency;
pub(crate) mod drift;
pub(crate) mod export;
pub(crate) mod lint;
pub(crate) mod liquid;
pub(crate) mod model;
pub(crate) mod record;
pub(crate) mod render;
pub(crate) mod safety;
pub(crate) mod source;
pub(crate) mod update;

use std::path::Path;

use answers::Answers;
use render::Builtins;
use safety::OutputFile;
use source::Archetype;

/// What can go wrong while scaffolding; every message says where and how to fix it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScaffoldError {
    /// The manifest (or an answers file) is malformed.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Manifest {
        /// The file.
        file: String,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A template failed to parse or render (Tera's report carries file:line:column).
    #[error("template {file}: {}", report.strip_prefix("error: ").unwrap_or(report))]
    Template {
        /// The archetype file (or manifest entry) being rendered.
        file: String,
        /// Tera's report.
        report: String,
    },
    /// A template construct cargo-generate's Liquid cannot express (export only).
    #[error(
        "{file}:{line}: `{construct}`: {why} cannot be exported to cargo-generate (its Liquid has no equivalent); rewrite it with the exportable subset (templates/README.md) or keep using `stepstone new`"
    )]
    Untranslatable {
        /// The archetype file (or manifest entry).
        file: String,
        /// 1-based line.
        line: usize,
        /// The tag or expression as written.
        construct: String,
        /// What it is.
        why: String,
    },
    /// A path could leave the destination.
    #[error("{path}: {reason}")]
    UnsafePath {
        /// The offending path (and what it rendered to).
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// A symlink in an archetype.
    #[error(
        "{path} is a symlink: archetypes may not contain symlinks (stepstone never follows or creates them); replace it with a regular file"
    )]
    Symlink {
        /// Where.
        path: String,
    },
    /// An answer breaks its variable's rule.
    #[error("variable `{variable}`: {message}")]
    Answer {
        /// The variable.
        variable: String,
        /// What is wrong, with the rule.
        message: String,
    },
    /// An answer for a variable the archetype does not declare.
    #[error("unknown variable `{name}` (from {origin}): archetype {archetype} declares: {known}")]
    UnknownVariable {
        /// The key given.
        name: String,
        /// `--define` or the answers file.
        origin: String,
        /// The archetype.
        archetype: String,
        /// The declared variables.
        known: String,
    },
    /// The destination cannot be written as asked.
    #[error("destination {path} {reason}")]
    Destination {
        /// The destination (or the offending path inside it).
        path: String,
        /// Why.
        reason: String,
    },
    /// A folder given as an archetype path holds no archetype.
    #[error(
        "{path} holds no archetype.toml, and none of its sub-folders does: not an archetype path"
    )]
    NotArchetype {
        /// The folder.
        path: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Render `archetype` with `answers` into files (plus the `.stepstone/archetype.toml` record).
pub(crate) fn render_project(
    archetype: &Archetype,
    answers: &Answers,
    builtins: &Builtins,
) -> Result<Vec<OutputFile>, ScaffoldError> {
    let context = render::context(archetype, answers, builtins)?;
    let mut files = render::render(archetype, &context)?;
    files.push(render::record(archetype, answers, builtins)?);
    Ok(files)
}

/// Render and write in one go (nothing is written if rendering fails).
pub(crate) fn generate(
    archetype: &Archetype,
    answers: &Answers,
    builtins: &Builtins,
    dest: &Path,
    force: bool,
) -> Result<usize, ScaffoldError> {
    let files = render_project(archetype, answers, builtins)?;
    safety::write_project(dest, &files, force)?;
    Ok(files.len())
}
