//! `stepstone archetypes list | show NAME | check DIR [--build]`.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::args::{ArchetypesCommand, RuntimeArgs};
use crate::output;
use crate::scaffold::answers::{self, AnswerInput};
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::lint;
use crate::scaffold::model::Manifest;
use crate::scaffold::render::Builtins;
use crate::scaffold::source::{Archetype, Catalog};

/// Run an `archetypes` subcommand.
pub(crate) fn execute(command: ArchetypesCommand) -> anyhow::Result<()> {
    match command {
        ArchetypesCommand::List { sources, json } => {
            list(&Catalog::discover(&sources.archetype_paths)?, json)
        }
        ArchetypesCommand::Show {
            name,
            sources,
            json,
        } => {
            let catalog = Catalog::discover(&sources.archetype_paths)?;
            match catalog.find(&name) {
                Some(archetype) => show(archetype, json),
                None => bail!("no archetype named `{name}`; known: {}", catalog.names()),
            }
        }
        ArchetypesCommand::Check {
            dir,
            build,
            runtime,
        } => check(&dir, build, &runtime),
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    name: &'a str,
    version: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<&'a str>,
    owner: &'a str,
    description: &'a str,
    source: String,
}

fn summary(archetype: &Archetype) -> Summary<'_> {
    let m = &archetype.manifest;
    Summary {
        name: &m.name,
        version: &m.version,
        status: m.status.as_str(),
        replacement: m.replacement.as_deref(),
        owner: &m.owner,
        description: &m.description,
        source: archetype.origin.to_string(),
    }
}

fn list(catalog: &Catalog, json: bool) -> anyhow::Result<()> {
    let visible = catalog.visible();
    if json {
        return output::json(&visible.iter().map(|a| summary(a)).collect::<Vec<_>>());
    }
    let mut rows = vec![vec![
        "NAME".into(),
        "VERSION".into(),
        "STATUS".into(),
        "SOURCE".into(),
        "DESCRIPTION".into(),
    ]];
    for archetype in visible {
        let s = summary(archetype);
        rows.push(vec![
            s.name.into(),
            s.version.into(),
            s.status.into(),
            s.source,
            s.description.into(),
        ]);
    }
    print!("{}", output::table(&rows));
    Ok(())
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

fn check(dir: &Path, build: bool, runtime: &RuntimeArgs) -> anyhow::Result<()> {
    let archetype = Archetype::from_folder(dir)?;
    let dependency = RuntimeDependency::choose(
        runtime.stepstone_path.as_deref(),
        runtime.stepstone_version.as_deref(),
        runtime.stepstone_git.as_deref(),
    )?;
    let builtins = Builtins {
        project_name: format!("check-{}", archetype.manifest.name),
        stepstone_dependency: dependency.toml_value(),
    };
    let findings = lint::check(&archetype, &builtins);
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
