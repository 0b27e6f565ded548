//! Command-line grammar of the catalog-aware commands: `update`, `check`, and the catalog flags
//! shared with `new` and `archetypes`.
//!
//! Describes what the user can type; does no work (see `cmd/update.rs`, `cmd/check.rs`,
//! `cmd/archetypes/`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Catalogs to search before the built-in archetypes.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct CatalogArgs {
    /// A catalog: a folder, or a git repository (local path or URL). Repeatable (or
    /// `,`-separated in STEPSTONE_ARCHETYPES); the first catalog with the archetype wins; the
    /// built-in archetypes are searched last.
    #[arg(
        long = "catalog",
        value_name = "C",
        env = "STEPSTONE_ARCHETYPES",
        value_delimiter = ','
    )]
    pub(crate) catalogs: Vec<String>,
}

pub(crate) const UPDATE_HELP: &str = "\
The update is a 3-way merge per file: base = the recorded version re-rendered with the recorded
answers, ours = the project as it is, theirs = the target version rendered with the answers
(new variables take their default, or are asked on a terminal). Clean changes are applied;
overlapping changes are written with conflict markers (<<<<<<< ours / ======= / >>>>>>> theirs)
and listed; files you deleted stay deleted; binary files are never merged (yours is kept, the
new one is written beside it as FILE.theirs). Every file the update changes is first copied to
.stepstone/backup/FROM-TO/. The record .stepstone/archetype.toml then names the new
version, also when there are conflicts.

Exit codes: 0 updated cleanly (or already current), 1 conflicts or an error, 2 usage.

Examples:
  stepstone update --dry-run                 what would change, nothing written
  stepstone update --to 1.1.0 --catalog ../arch-catalog";

/// Arguments of `stepstone update`.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// The version to update to [default: the catalog's latest approved].
    #[arg(long, value_name = "VERSION")]
    pub(crate) to: Option<String>,
    /// Print what would change; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) catalogs: CatalogArgs,
    /// The generated project's folder.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) project: PathBuf,
    /// Update to an `experimental` version.
    #[arg(long)]
    pub(crate) allow_unapproved: bool,
    /// Never prompt: new variables take their defaults (or --define).
    #[arg(long)]
    pub(crate) no_input: bool,
    /// Answer a variable the new version adds (or change one): `--define K=V` (repeatable).
    #[arg(long = "define", short = 'D', value_name = "K=V", value_parser = super::parse_define)]
    pub(crate) defines: Vec<(String, String)>,
}

pub(crate) const CHECK_HELP: &str = "\
Reports every file of the archetype as pristine, modified or missing against the recorded
version re-rendered with the recorded answers, files the project added, conflict markers left
by an update, and the recorded version against the catalog's latest approved one.

Exit codes: 0 pristine and current; 1 drift (a file modified or missing, conflict markers, an
outdated, deprecated or unverifiable version); 2 usage (not a generated project). With
--conflicts-only, only conflict markers give 1 (the archetypes' own .ci/run uses this).";

/// Arguments of `stepstone check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) catalogs: CatalogArgs,
    /// The generated project's folder.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) project: PathBuf,
    /// Exit 1 only for conflict markers (drift is reported, not failed).
    #[arg(long)]
    pub(crate) conflicts_only: bool,
}

/// Status given when publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PublishStatus {
    /// Used by default.
    Approved,
    /// Needs `--allow-unapproved`.
    Experimental,
    /// Refused by `new` and `update`.
    Deprecated,
}

/// Arguments of `stepstone archetypes publish`.
#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// The archetype folder (contains archetype.toml).
    pub(crate) dir: PathBuf,
    /// The catalog to publish into (a folder, created if missing, or a local git clone).
    #[arg(long, value_name = "C")]
    pub(crate) catalog: String,
    /// Who approves this version (recorded in the index).
    #[arg(long, value_name = "NAME")]
    pub(crate) approver: String,
    /// The status recorded for this version.
    #[arg(long, value_enum, default_value_t = PublishStatus::Approved)]
    pub(crate) status: PublishStatus,
    /// Also write the version as a template for this tool, beside it in the catalog
    /// (`cargo-generate/NAME/` in a git catalog, at the version's tag;
    /// `cargo-generate/NAME/VERSION/` in a folder catalog).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) also: Vec<TemplateFormat>,
    /// How that template's projects depend on the runtime [default: this binary's released
    /// version; a catalog is shared, so a local path is rarely right].
    #[command(flatten)]
    pub(crate) runtime: super::RuntimeArgs,
}

/// Template formats an archetype can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TemplateFormat {
    /// A cargo-generate template: cargo-generate.toml and Liquid files.
    CargoGenerate,
}

pub(crate) const TEMPLATE_EXPORT_HELP: &str = "\
The template renders the same files as `stepstone new` for the same answers (without
.stepstone/archetype.toml, Stepstone's own record): one placeholder per variable (integers as
strings whose regex is their range), [conditional] blocks for [[files]] rules, derived values
computed in the files, the approval record (version, status, approver, digest) in its
[stepstone] table. An archetype whose Tera Liquid cannot express (loops, includes, macros,
arithmetic, tests, filters other than upper, lower, capitalize, trim*, replace, safe) is refused
with file:line and the construct.

Examples:
  stepstone archetypes export batch-etl --format cargo-generate --out ../batch-etl-template
  cargo generate --path ../batch-etl-template --name my-pipeline --define rows=5000 --silent";

/// Arguments of `stepstone archetypes export`.
#[derive(Debug, Args)]
pub(crate) struct TemplateExportArgs {
    /// The archetype, `NAME` (latest approved) or `NAME@VERSION`, from --catalog or built in.
    pub(crate) name: String,
    /// The template format.
    #[arg(long, value_enum, default_value_t = TemplateFormat::CargoGenerate)]
    pub(crate) format: TemplateFormat,
    /// The folder to write the template into (new or empty, unless --force).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Write into a non-empty --out (files with the same names are replaced).
    #[arg(long)]
    pub(crate) force: bool,
    /// Export an `experimental` version.
    #[arg(long)]
    pub(crate) allow_unapproved: bool,
    #[command(flatten)]
    pub(crate) catalogs: CatalogArgs,
    /// The default of the template's `stepstone_dependency` placeholder.
    #[command(flatten)]
    pub(crate) runtime: super::RuntimeArgs,
}
