//! `stepstone archetypes export NAME[@VERSION] --format cargo-generate --out DIR`: an archetype
//! version (from `--catalog` or built in, digest verified, status rules applied) written as a
//! cargo-generate template.
//!
//! Responsible for resolving the version and its approval record, the default runtime
//! dependency, and writing the folder; the mapping itself is `scaffold/export.rs`.

use anyhow::Context as _;

use crate::args::{RuntimeArgs, TemplateExportArgs, TemplateFormat};
use crate::catalog::{Catalogs, Request, Resolved};
use crate::output;
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::export::{self, Approval};
use crate::scaffold::safety::{self, OutputFile};

/// Run `archetypes export`.
pub(super) fn execute(args: &TemplateExportArgs) -> anyhow::Result<()> {
    let request = Request::parse(&args.name)?;
    let catalogs = Catalogs::open(&args.catalogs.catalogs)?;
    let resolved = catalogs.resolve(&request, args.allow_unapproved)?;
    let dependency = dependency(&args.runtime, RuntimeDependency::default_for_this_binary())?;
    let files = template(&resolved, args.format, &dependency)?;
    safety::write_project(&args.out, &files, args.force)?;
    let m = &resolved.archetype.manifest;
    output::status(format!(
        "Exported {} {} ({}, from {}) as a cargo-generate template in {} ({} files)",
        m.name,
        m.version,
        resolved.entry.status.as_str(),
        resolved.catalog,
        args.out.display(),
        files.len()
    ));
    output::status(format!(
        "Next: cargo generate --path {} --name NAME [--define VARIABLE=VALUE ...]",
        args.out.display()
    ));
    Ok(())
}

/// The TOML value of the template's `stepstone_dependency` default: the flags, else `fallback`.
pub(super) fn dependency(
    runtime: &RuntimeArgs,
    fallback: RuntimeDependency,
) -> anyhow::Result<String> {
    let chosen = runtime.stepstone_path.is_some()
        || runtime.stepstone_version.is_some()
        || runtime.stepstone_git.is_some();
    let dependency = if chosen {
        RuntimeDependency::choose(
            runtime.stepstone_path.as_deref(),
            runtime.stepstone_version.as_deref(),
            runtime.stepstone_git.as_deref(),
        )
        .context("resolving --stepstone-path")?
    } else {
        fallback
    };
    Ok(dependency.toml_value())
}

/// The files of `resolved` exported in `format`.
pub(super) fn template(
    resolved: &Resolved,
    format: TemplateFormat,
    dependency: &str,
) -> anyhow::Result<Vec<OutputFile>> {
    let entry = &resolved.entry;
    let approval = Approval {
        status: entry.status.as_str().to_string(),
        approver: entry.approver.clone(),
        date: entry.date.clone(),
        digest: entry.digest.clone(),
        catalog: resolved.catalog.clone(),
    };
    match format {
        TemplateFormat::CargoGenerate => Ok(export::cargo_generate(
            &resolved.archetype,
            &approval,
            dependency,
        )?),
    }
}
