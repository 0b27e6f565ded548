//! `stepstone update [--to V] [--dry-run]`: take a generated project to another version of its
//! archetype, keeping the user's changes (3-way merge per file, see `scaffold/update/`).
//!
//! This file resolves the two versions (the recorded one — its content must still match the
//! recorded digest — and the target, under the catalog's status rules), migrates and completes
//! the answers, prints the plan and applies it. Exit 1 when conflicts are left.

use std::io::IsTerminal;

use anyhow::bail;

use crate::args::UpdateArgs;
use crate::catalog::{Catalogs, Request, Resolved};
use crate::output;
use crate::scaffold::answers::{self, AnswerInput, Answers};
use crate::scaffold::record::ProjectRecord;
use crate::scaffold::source::Archetype;
use crate::scaffold::update::{self, Change, migrate};
use crate::scaffold::{self, ScaffoldError};

/// The recorded version's content, verified against the index and the project's record.
pub(crate) fn recorded_version(
    catalogs: &Catalogs,
    record: &ProjectRecord,
) -> anyhow::Result<Resolved> {
    let request = Request {
        name: record.name.clone(),
        version: Some(record.version.clone()),
    };
    let (catalog, entry) = catalogs.entry(&request)?;
    let archetype = catalog.load(&entry)?;
    if let Some(recorded) = &record.digest
        && recorded != &entry.digest
    {
        bail!(
            "{} {} in catalog {} has digest {}, but this project was made from content with digest {recorded} ({}): \
             the version was changed after the project was made; refused (ask the catalog's owners, or pass the catalog it came from with --catalog)",
            entry.name,
            entry.version,
            catalog.label,
            entry.digest,
            record.path.display()
        );
    }
    Ok(Resolved {
        archetype,
        catalog: catalog.label.clone(),
        entry,
    })
}

/// Answers for `archetype` from a recorded table: unknown keys dropped (with a note), the rest
/// defaulted, prompted, or taken from `defines`.
pub(crate) fn answers_for(
    archetype: &Archetype,
    table: &toml::Table,
    defines: Vec<(String, String)>,
    interactive: bool,
    notes: &mut Vec<String>,
) -> Result<Answers, ScaffoldError> {
    let mut known = toml::Table::new();
    for (key, value) in table {
        if archetype.manifest.variable(key).is_some() {
            known.insert(key.clone(), value.clone());
        } else {
            notes.push(format!(
                "answer `{key}` dropped: {} {} has no such variable",
                archetype.manifest.name, archetype.manifest.version
            ));
        }
    }
    for variable in &archetype.manifest.variables {
        if !known.contains_key(&variable.name) && !defines.iter().any(|(k, _)| k == &variable.name)
        {
            notes.push(format!(
                "new variable `{}`{}",
                variable.name,
                if interactive {
                    " (asked)"
                } else {
                    " takes its default"
                }
            ));
        }
    }
    let input = AnswerInput {
        defines,
        file: Some(("the recorded answers".into(), known)),
        interactive,
    };
    answers::collect(&archetype.manifest, &input)
}

/// The target version: `--to V`, else the latest approved; status rules applied.
fn target_version(
    catalogs: &Catalogs,
    record: &ProjectRecord,
    args: &UpdateArgs,
) -> anyhow::Result<Resolved> {
    let version = match args.to.as_deref() {
        Some(v) => Request::parse(&format!("{}@{v}", record.name))?.version,
        None => None,
    };
    let request = Request {
        name: record.name.clone(),
        version,
    };
    catalogs.resolve(&request, args.allow_unapproved)
}

/// Render base and theirs, and plan the merge.
fn plan(
    args: &UpdateArgs,
    record: &ProjectRecord,
    base: &Resolved,
    target: &Resolved,
) -> anyhow::Result<update::Plan> {
    let (from, to) = (&base.entry.version, &target.entry.version);
    let mut notes = Vec::new();
    let quiet = &mut Vec::new();
    let base_answers = answers_for(&base.archetype, &record.answers, Vec::new(), false, quiet)?;
    let manifest = &target.archetype.manifest;
    let migrations = migrate::applicable(manifest, from, to);
    let migrated = migrate::answers(&migrations, record.answers.clone(), &mut notes)?;
    let interactive = !args.no_input && std::io::stdin().is_terminal();
    let defines = args.defines.clone();
    let target_answers = answers_for(
        &target.archetype,
        &migrated,
        defines,
        interactive,
        &mut notes,
    )?;
    let builtins = &record.builtins;
    let base_render = scaffold::render_project(&base.archetype, &base_answers, builtins)?;
    let their_render = scaffold::render_project(&target.archetype, &target_answers, builtins)?;
    let (base_files, _) = update::by_path(base_render);
    let (their_files, their_record) = update::by_path(their_render);
    let Some(their_record) = their_record else {
        bail!("internal: the target version rendered no record");
    };
    update::plan(
        &args.project,
        base_files,
        their_files,
        their_record,
        &migrations,
        notes,
    )
}

fn print_plan(plan: &update::Plan) {
    for note in &plan.notes {
        output::status(format!("  note        {note}"));
    }
    for (from, to) in &plan.moves {
        output::status(format!("  moved       {from} -> {to}"));
    }
    for (path, change) in &plan.changes {
        let extra = match change {
            Change::BinaryConflict(_) => format!(
                " (binary: yours kept, the new one is {path}{})",
                update::THEIRS_SUFFIX
            ),
            Change::KeepDeleted => " (you deleted it; the archetype changed it)".into(),
            Change::KeepModified => " (the archetype dropped it; you changed it)".into(),
            _ => String::new(),
        };
        output::status(format!("  {:<11} {path}{extra}", change.label()));
    }
}

/// Run `stepstone update`.
pub(crate) fn execute(args: UpdateArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let project = &args.project;
    let record = ProjectRecord::read(project)?;
    let catalogs = Catalogs::open(&record.catalog_specs(&args.catalogs.catalogs)?)?;
    let base = recorded_version(&catalogs, &record)?;
    let target = target_version(&catalogs, &record, &args)?;
    let (from, to) = (&base.entry.version, &target.entry.version);
    if to < from {
        bail!(
            "{} {to} is older than the project's {from}: `update` only moves forward (restore an older state from version control)",
            record.name
        );
    }
    if from == to {
        output::status(format!(
            "{} is already at {} {to} ({}); nothing to do",
            project.display(),
            record.name,
            target.catalog
        ));
        return Ok(());
    }
    let plan = plan(&args, &record, &base, &target)?;
    print_plan(&plan);
    let conflicts = plan.conflicts();
    let what = format!("{} {from} -> {to}", record.name);
    if args.dry_run {
        output::status(format!(
            "dry run: {what} would change {} file(s), {} with conflicts; nothing written",
            plan.changes.len(),
            conflicts.len()
        ));
    } else {
        let backup = update::apply::apply(project, &plan, &format!("{from}-{to}"))?;
        output::status(format!(
            "Updated {} to {what} ({} file(s) changed, {} ms){}",
            project.display(),
            plan.changes.len(),
            started.elapsed().as_millis(),
            backup
                .map(|b| format!("; previous contents in {}", b.display()))
                .unwrap_or_default()
        ));
    }
    if !conflicts.is_empty() {
        bail!(
            "{} file(s) with conflicts: {}; edit them (look for <<<<<<< / ======= / >>>>>>>), then run `stepstone check`",
            conflicts.len(),
            conflicts.join(", ")
        );
    }
    Ok(())
}
