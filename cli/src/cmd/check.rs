//! `stepstone check [--json]`: a generated project's drift from its archetype version — each
//! file pristine / modified / missing / added, conflicts (markers, or a binary `FILE.theirs`
//! left by `update`), the version against the
//! catalog's latest approved one and its status.
//!
//! Exit codes: 0 pristine and current; 1 drift (or, with `--conflicts-only`, conflict markers
//! only); 2 not a generated project.

use anyhow::bail;
use serde::Serialize;

use crate::args::CheckArgs;
use crate::catalog::Catalogs;
use crate::output;
use crate::scaffold::drift::{self, FileDrift, State};
use crate::scaffold::model::Status;
use crate::scaffold::record::ProjectRecord;
use crate::scaffold::{self, update};

#[derive(Serialize)]
struct Report {
    archetype: String,
    version: String,
    catalog: String,
    status: &'static str,
    latest_approved: Option<String>,
    current: bool,
    drift: bool,
    conflicts: Vec<String>,
    files: Vec<FileDrift>,
}

/// Run `stepstone check`.
pub(crate) fn execute(args: CheckArgs) -> anyhow::Result<()> {
    let record = ProjectRecord::read(&args.project)?;
    let report = report(&args, &record)?;
    if args.json {
        output::json(&report)?;
    } else {
        print_table(&report);
    }
    if !report.conflicts.is_empty() {
        bail!(
            "unresolved conflicts in {}: resolve the markers (<<<<<<< / ======= / >>>>>>>), and for FILE.theirs keep one version and delete the other",
            report.conflicts.join(", ")
        );
    }
    if report.drift && !args.conflicts_only {
        let outdated = if report.current {
            String::new()
        } else {
            format!(
                " (not current: latest approved is {})",
                report.latest_approved.as_deref().unwrap_or("none")
            )
        };
        bail!(
            "{} drifts from {} {}{outdated}",
            args.project.display(),
            report.archetype,
            report.version,
        );
    }
    Ok(())
}

/// Compare the project with its recorded version, and that version with the catalog.
fn report(args: &CheckArgs, record: &ProjectRecord) -> anyhow::Result<Report> {
    let catalogs = Catalogs::open(&record.catalog_specs(&args.catalogs.catalogs)?)?;
    let base = super::update::recorded_version(&catalogs, record)?;
    let answers = super::update::answers_for(
        &base.archetype,
        &record.answers,
        Vec::new(),
        false,
        &mut Vec::new(),
    )?;
    let rendered = scaffold::render_project(&base.archetype, &answers, &record.builtins)?;
    let (expected, _) = update::by_path(rendered);
    let files = drift::compare(&args.project, &expected)?;
    let latest = catalogs
        .catalog_of(&record.name)
        .and_then(|c| c.index.latest_approved(&record.name))
        .map(|e| e.version.clone());
    let current = latest.as_ref().is_none_or(|l| l <= &record.version)
        && base.entry.status != Status::Deprecated;
    // Conflict markers, and binary conflicts: `FILE.theirs` left beside an archetype file.
    let conflicts: Vec<String> = files
        .iter()
        .filter(|f| {
            f.conflict_markers
                || (f.state == State::Added
                    && f.path
                        .strip_suffix(update::THEIRS_SUFFIX)
                        .is_some_and(|p| expected.contains_key(p)))
        })
        .map(|f| f.path.clone())
        .collect();
    let changed = files
        .iter()
        .any(|f| matches!(f.state, State::Modified | State::Missing));
    Ok(Report {
        archetype: record.name.clone(),
        version: record.version.to_string(),
        catalog: base.catalog.clone(),
        status: base.entry.status.as_str(),
        latest_approved: latest.as_ref().map(ToString::to_string),
        current,
        drift: changed || !current || !conflicts.is_empty(),
        conflicts,
        files,
    })
}

fn print_table(report: &Report) {
    let mut rows = vec![vec!["STATE".to_string(), "PATH".to_string()]];
    for f in &report.files {
        let state = match f.state {
            State::Pristine => "pristine",
            State::Modified => "modified",
            State::Missing => "missing",
            State::Added => "added",
        };
        let marks = if f.conflict_markers {
            "  (conflict markers)"
        } else {
            ""
        };
        rows.push(vec![state.to_string(), format!("{}{marks}", f.path)]);
    }
    print!("{}", output::table(&rows));
    println!(
        "\n{} {} ({}) from {}; latest approved: {}; {}",
        report.archetype,
        report.version,
        report.status,
        report.catalog,
        report.latest_approved.as_deref().unwrap_or("none"),
        if report.current {
            "current"
        } else {
            "not current (stepstone update)"
        }
    );
}
