//! `stepstone new NAME`: pick an archetype, gather answers, render, write, optionally run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::args::NewArgs;
use crate::output;
use crate::scaffold::answers::{self, AnswerInput};
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::model::Status;
use crate::scaffold::render::Builtins;
use crate::scaffold::source::{Archetype, Catalog, DEFAULT_ARCHETYPE, MANIFEST};
use crate::scaffold::{self};

/// Package names the generated project depends on; a project cannot share them.
const TAKEN_NAMES: [&str; 3] = ["stepstone", "serde", "tempfile"];

/// Run `stepstone new`.
pub(crate) fn execute(args: NewArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    check_project_name(&args.name)?;
    let archetype = pick(&args)?;
    check_status(&archetype, args.allow_unapproved)?;
    let input = AnswerInput {
        defines: args.defines.clone(),
        file: args
            .answers
            .as_deref()
            .map(answers::read_answers_file)
            .transpose()?,
        interactive: !args.no_input && std::io::stdin().is_terminal(),
    };
    let answers = answers::collect(&archetype.manifest, &input)?;
    let runtime = &args.runtime;
    let dependency = RuntimeDependency::choose(
        runtime.stepstone_path.as_deref(),
        runtime.stepstone_version.as_deref(),
        runtime.stepstone_git.as_deref(),
    )
    .context("resolving --stepstone-path")?;
    let builtins = Builtins {
        project_name: args.name.clone(),
        stepstone_dependency: dependency.toml_value(),
    };
    let dest = args
        .dest
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let count = scaffold::generate(&archetype, &answers, &builtins, &dest, args.force)?;
    let manifest = &archetype.manifest;
    output::status(format!(
        "Created {} from archetype {} {} in {} ({count} files, {} ms)",
        args.name,
        manifest.name,
        manifest.version,
        dest.display(),
        started.elapsed().as_millis()
    ));
    if args.run {
        return run_project(&dest);
    }
    output::status(format!(
        "Next: cd {} && cargo run --release   (tests: cargo test)",
        dest.display()
    ));
    Ok(())
}

fn check_project_name(name: &str) -> anyhow::Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        bail!(
            "project name `{name}` is not a valid package name: use lowercase letters, digits, `-` and `_`, \
             starting with a letter (at most 64 characters)"
        );
    }
    if TAKEN_NAMES.contains(&name.to_ascii_lowercase().replace('-', "_").as_str()) {
        bail!(
            "project name `{name}` is taken by a dependency of the generated project; choose another"
        );
    }
    Ok(())
}

/// `--archetype NAME`; else the single archetype folder given with `--archetype-path`; else the
/// default.
fn pick(args: &NewArgs) -> anyhow::Result<Archetype> {
    let paths = &args.sources.archetype_paths;
    if args.archetype.is_none()
        && let [only] = paths.as_slice()
        && only.join(MANIFEST).exists()
    {
        return Ok(Archetype::from_folder(only)?);
    }
    let catalog = Catalog::discover(paths)?;
    let name = args.archetype.as_deref().unwrap_or(DEFAULT_ARCHETYPE);
    match catalog.find(name) {
        Some(archetype) => Ok(archetype.clone()),
        None => bail!(
            "no archetype named `{name}`; known: {} (see `stepstone archetypes list`)",
            catalog.names()
        ),
    }
}

fn check_status(archetype: &Archetype, allow_unapproved: bool) -> anyhow::Result<()> {
    let m = &archetype.manifest;
    if m.status == Status::Deprecated {
        let instead = m
            .replacement
            .as_deref()
            .map(|r| format!("; use `{r}` instead"))
            .unwrap_or_default();
        output::warn(format!("archetype {} is deprecated{instead}", m.name));
    }
    if m.status != Status::Approved && !allow_unapproved {
        bail!(
            "archetype {} is {} (not approved for new projects by {}); pass --allow-unapproved to use it anyway",
            m.name,
            m.status.as_str(),
            m.owner
        );
    }
    Ok(())
}

/// `cargo run --release` in the new project, its output shown as it comes.
fn run_project(dest: &Path) -> anyhow::Result<()> {
    output::status(format!(
        "Running: cargo run --release (in {})",
        dest.display()
    ));
    let status = super::cargo()
        .args(["run", "--release"])
        .current_dir(dest)
        .status()
        .context("could not start cargo; is it on PATH?")?;
    if !status.success() {
        bail!(
            "`cargo run --release` in {} failed ({status}); the project is in place: fix it and re-run there",
            dest.display()
        );
    }
    Ok(())
}
