//! `stepstone archetypes publish DIR --catalog C --approver NAME [--status S]` and
//! `stepstone archetypes deprecate NAME@V --catalog C`.
//!
//! Publishing lints the archetype first (the same checks as `archetypes check`, plus its version
//! against the catalog's latest) and writes nothing when a check fails.

use anyhow::bail;

use crate::args::{PublishArgs, PublishStatus, RuntimeArgs};
use crate::catalog::index::Entry;
use crate::catalog::{Catalog, Request, Resolved, TEMPLATES};
use crate::output;
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::lint;
use crate::scaffold::model::Status;
use crate::scaffold::safety::OutputFile;
use crate::scaffold::source::Archetype;

/// Run `archetypes publish`.
pub(super) fn execute(args: &PublishArgs) -> anyhow::Result<()> {
    let archetype = Archetype::from_folder(&args.dir)?;
    let mut catalog = Catalog::open_for_publish(&args.catalog)?;
    let builtins = super::lint_builtins(&archetype, &RuntimeArgs::default())?;
    let mut findings = lint::check(&archetype, &builtins);
    lint::check_version_against(&archetype, &catalog, &mut findings);
    super::report(&args.dir, &findings)?;
    let status = match args.status {
        PublishStatus::Approved => Status::Approved,
        PublishStatus::Experimental => Status::Experimental,
        PublishStatus::Deprecated => Status::Deprecated,
    };
    let dependency = super::export::dependency(
        &args.runtime,
        RuntimeDependency::Version(env!("CARGO_PKG_VERSION").to_string()),
    )?;
    let label = catalog.label.clone();
    let template = |entry: &Entry| -> anyhow::Result<Vec<OutputFile>> {
        let Some(format) = args.also.first() else {
            return Ok(Vec::new());
        };
        let resolved = Resolved {
            archetype: archetype.clone(),
            entry: entry.clone(),
            catalog: label.clone(),
        };
        super::export::template(&resolved, *format, &dependency)
    };
    let entry = catalog.publish(&archetype, status, &args.approver, &template)?;
    output::status(format!(
        "Published {} {} to {} (status {}, approver {}): {}",
        entry.name,
        entry.version,
        catalog.label,
        entry.status.as_str(),
        entry.approver,
        entry.digest
    ));
    if !args.also.is_empty() {
        output::status(format!(
            "Exported it as a cargo-generate template: {}/{}/ ({})",
            TEMPLATES,
            entry.name,
            "in a git catalog: cargo generate --git URL --tag NAME/vVERSION cargo-generate/NAME; in a folder catalog: its VERSION/ sub-folder"
        ));
    }
    Ok(())
}

/// Run `archetypes deprecate`.
pub(super) fn deprecate(version: &str, catalog: &str) -> anyhow::Result<()> {
    let request = Request::parse(version)?;
    let Some(v) = request.version else {
        bail!(
            "`{version}`: name the version to deprecate, as NAME@VERSION (for example batch-etl@1.0.0)"
        );
    };
    let mut catalog = Catalog::open(catalog)?;
    catalog.set_status(&request.name, &v, Status::Deprecated)?;
    output::status(format!(
        "{} {v} is now deprecated in {}: `new` and `update` refuse it",
        request.name, catalog.label
    ));
    Ok(())
}
