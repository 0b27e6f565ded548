//! `stepstone archetypes list | show NAME | check DIR [--build] | test DIR | publish DIR |
//! export NAME | deprecate NAME@V`: this file dispatches and holds list, show and check;
//! publishing, deprecating, exporting and testing have their own files.

mod export;
mod list;
mod publish;
mod test;

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::args::{ArchetypesCommand, CatalogArgs, RuntimeArgs};
use crate::catalog::Catalog;
use crate::output;
use crate::scaffold::answers::{self, AnswerInput};
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::lint;
use crate::scaffold::model::Manifest;
use crate::scaffold::render::Builtins;
use crate::scaffold::source::{self, Archetype};

/// Run an `archetypes` subcommand.
pub(crate) fn execute(command: ArchetypesCommand) -> anyhow::Result<()> {
    match command {
        ArchetypesCommand::List {
            sources,
            catalogs,
            json,
        } => list::execute(&sources, &catalogs, json),
        ArchetypesCommand::Show {
            name,
            sources,
            catalogs,
            json,
        } => {
            let request = crate::catalog::Request::parse(&name)?;
            let folders = source::ArchetypePaths::discover(&sources.archetype_paths)?;
            if request.version.is_none()
                && let Some(archetype) = folders.find(&request.name)
            {
                return show(archetype, json);
            }
            // A catalog version: content verified, any status (showing is not using).
            let catalogs = crate::catalog::Catalogs::open(&catalogs.catalogs)?;
            let (catalog, entry) = catalogs.entry(&request)?;
            show(&catalog.load(&entry)?, json)
        }
        ArchetypesCommand::Check {
            dir,
            build,
            runtime,
            catalogs,
        } => check(&dir, build, &runtime, &catalogs),
        ArchetypesCommand::Test { dir, runtime } => test::execute(&dir, &runtime),
        ArchetypesCommand::Publish(args) => publish::execute(&args),
        ArchetypesCommand::Export(args) => export::execute(&args),
        ArchetypesCommand::Deprecate { version, catalog } => publish::deprecate(&version, &catalog),
    }
}

#[derive(Serialize)]
struct Details<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    source: String,
    files: Vec<&'a str>,
}

fn show(archetype: &Archetype, json: bool) -> anyhow::Result<()> {
    let m = &archetype.manifest;
    if json {
        let files = archetype.files.iter().map(|f| f.path.as_str()).collect();
        return output::json(&Details {
            manifest: m,
            source: archetype.origin.to_string(),
            files,
        });
    }
    println!(
        "{} {} ({}) — {}",
        m.name,
        m.version,
        m.status.as_str(),
        m.description
    );
    println!("owner: {}   source: {}", m.owner, archetype.origin);
    if let Some(r) = &m.replacement {
        println!("replacement: {r}");
    }
    println!("\nvariables (--define NAME=VALUE):");
    let mut rows = Vec::new();
    for v in &m.variables {
        let default = v
            .default
            .as_ref()
            .map_or_else(|| "(required)".to_string(), |d| d.to_text());
        rows.push(vec![
            format!("  {}", v.name),
            v.rule.describe(),
            format!("default {default}"),
            v.help.clone(),
        ]);
    }
    print!("{}", output::table(&rows));
    for (name, template) in &m.derived {
        println!("  {name} = {template}   (derived)");
    }
    if !m.files.is_empty() {
        println!("\nconditional files:");
        for rule in &m.files {
            println!("  {}  when {}", rule.path, rule.when);
        }
    }
    println!("\nfiles:");
    for file in &archetype.files {
        println!("  {}", file.path);
    }
    Ok(())
}

/// The built-ins `check`, `test` and `publish` render with.
pub(super) fn lint_builtins(
    archetype: &Archetype,
    runtime: &RuntimeArgs,
) -> anyhow::Result<Builtins> {
    let dependency = RuntimeDependency::choose(
        runtime.stepstone_path.as_deref(),
        runtime.stepstone_version.as_deref(),
        runtime.stepstone_git.as_deref(),
    )?;
    Ok(Builtins {
        project_name: format!("check-{}", archetype.manifest.name),
        stepstone_dependency: dependency.toml_value(),
    })
}

/// Print the findings; an error when there are errors.
pub(super) fn report(dir: &Path, findings: &lint::Findings) -> anyhow::Result<()> {
    for warning in &findings.warnings {
        output::warn(warning);
    }
    for error in &findings.errors {
        output::status(format!("error: {error}"));
    }
    if !findings.errors.is_empty() {
        bail!(
            "archetype {} has {} error(s)",
            dir.display(),
            findings.errors.len()
        );
    }
    Ok(())
}

fn check(
    dir: &Path,
    build: bool,
    runtime: &RuntimeArgs,
    catalogs: &CatalogArgs,
) -> anyhow::Result<()> {
    let archetype = Archetype::from_folder(dir)?;
    let builtins = lint_builtins(&archetype, runtime)?;
    let mut findings = lint::check(&archetype, &builtins);
    for spec in &catalogs.catalogs {
        let catalog = Catalog::open(spec)?;
        lint::check_version_against(&archetype, &catalog, &mut findings);
    }
    report(dir, &findings)?;
    output::status(format!(
        "{} {}: ok ({} files rendered with the defaults, {} warning(s))",
        archetype.manifest.name,
        archetype.manifest.version,
        findings.rendered,
        findings.warnings.len()
    ));
    if build {
        build_and_test(&archetype, &builtins)?;
    }
    Ok(())
}

/// Generate with the defaults into a temporary folder and run `cargo test` there.
fn build_and_test(archetype: &Archetype, builtins: &Builtins) -> anyhow::Result<()> {
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let dest = work.path().join(&builtins.project_name);
    let answers = answers::collect(&archetype.manifest, &AnswerInput::default())?;
    crate::scaffold::generate(archetype, &answers, builtins, &dest, false)?;
    output::status(format!("Running: cargo test (in {})", dest.display()));
    let status = super::cargo()
        .arg("test")
        .current_dir(&dest)
        .status()
        .context("could not start cargo")?;
    if !status.success() {
        bail!("`cargo test` of the generated project failed ({status})");
    }
    output::status(format!(
        "{}: generated project builds and passes its tests",
        archetype.manifest.name
    ));
    Ok(())
}
