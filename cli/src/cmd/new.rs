//! `stepstone new NAME`: pick an archetype, gather answers, render, write, optionally run.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail};

use super::build_dir::BuildDir;
use crate::args::NewArgs;
use crate::catalog::{Catalogs, Request};
use crate::output;
use crate::scaffold::answers::{self, AnswerInput};
use crate::scaffold::dependency::RuntimeDependency;
use crate::scaffold::model::Status;
use crate::scaffold::render::Builtins;
use crate::scaffold::source::{Archetype, ArchetypePaths, DEFAULT_ARCHETYPE, MANIFEST};
use crate::scaffold::{self};

/// Package names the generated project depends on; a project cannot share them.
const TAKEN_NAMES: [&str; 3] = ["stepstone", "serde", "tempfile"];

/// Run `stepstone new`.
pub(crate) fn execute(args: NewArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    check_project_name(&args.name)?;
    let archetype = pick(&args)?;
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
        "Created {} from archetype {} {} ({}) in {} ({count} files, {} ms)",
        args.name,
        manifest.name,
        manifest.version,
        archetype.origin,
        dest.display(),
        started.elapsed().as_millis()
    ));
    if args.run {
        let release = args.release || !cfg!(debug_assertions);
        let (build_dir, fell_back) =
            BuildDir::choose(args.no_shared_target).claim(&args.name, &dest);
        if let Some(reason) = fell_back {
            output::warn(reason);
        }
        return run_project(&dest, release, &build_dir);
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

/// `--archetype NAME[@VERSION]`; else the single archetype folder given with `--archetype-path`;
/// else the default. A name without a version is first looked up in the `--archetype-path`
/// folders; everything else is resolved in the catalogs (status rules, digest verified).
fn pick(args: &NewArgs) -> anyhow::Result<Archetype> {
    let paths = &args.sources.archetype_paths;
    if args.archetype.is_none()
        && let [only] = paths.as_slice()
        && only.join(MANIFEST).exists()
    {
        return checked_folder(Archetype::from_folder(only)?, args.allow_unapproved);
    }
    let text = args.archetype.as_deref().unwrap_or(DEFAULT_ARCHETYPE);
    let request = Request::parse(text)?;
    if request.version.is_none() && paths.iter().any(|p| !p.as_os_str().is_empty()) {
        let folders = ArchetypePaths::discover(paths)?;
        if let Some(archetype) = folders.find(&request.name) {
            return checked_folder(archetype.clone(), args.allow_unapproved);
        }
    }
    let catalogs = Catalogs::open(&args.catalogs.catalogs)?;
    Ok(catalogs.resolve(&request, args.allow_unapproved)?.archetype)
}

/// An archetype from an `--archetype-path` folder: its manifest's status decides.
fn checked_folder(archetype: Archetype, allow_unapproved: bool) -> anyhow::Result<Archetype> {
    check_status(&archetype, allow_unapproved)?;
    Ok(archetype)
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

/// `cargo run` (with `--release` when `release`) in the new project, built in `build_dir`,
/// its output shown as it comes. The profile follows this binary's unless `--release` is given:
/// a debug `stepstone` (the README's first command) builds the project in the `dev` profile,
/// which compiles the Arrow/Parquet stack several times faster than `release`.
fn run_project(dest: &Path, release: bool, build_dir: &BuildDir) -> anyhow::Result<()> {
    let command = if release {
        "cargo run --release"
    } else {
        "cargo run"
    };
    output::status(format!(
        "Running: {command} (in {}; building in {})",
        dest.display(),
        build_dir.describe()
    ));
    let mut cargo = super::cargo();
    cargo.arg("run").current_dir(dest);
    if release {
        cargo.arg("--release");
    }
    if let Some(dir) = build_dir.to_set() {
        cargo.env("CARGO_TARGET_DIR", dir);
    }
    let status = cargo
        .status()
        .context("could not start cargo; is it on PATH?")?;
    if !status.success() {
        bail!(
            "`{command}` in {} failed ({status}); the project is in place: fix it and re-run there",
            dest.display()
        );
    }
    match build_dir.to_set() {
        Some(dir) => output::status(format!(
            "Next: cd {} && export CARGO_TARGET_DIR={}; then `{command}` reuses this build \
             (tests: cargo test). Without CARGO_TARGET_DIR the project's own target/ compiles \
             the dependencies again",
            dest.display(),
            dir.display()
        )),
        None => output::status(format!(
            "Next: cd {} && {command}   (tests: cargo test)",
            dest.display()
        )),
    }
    Ok(())
}
