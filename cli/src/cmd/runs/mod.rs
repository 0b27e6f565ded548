//! `stepstone runs ls | show | plot | lineage`: the run reports of a checkpoint directory.
//!
//! `catalog` reads the run folders; `plot` draws memory over time (SVG); `lineage` prints the
//! step graph (DOT or Mermaid). This file lists and shows runs. Nothing here writes to the
//! checkpoint directory.

pub(crate) mod catalog;
pub(crate) mod lineage;
mod plot;

use std::fmt::Write;

use serde::Serialize;
use stepstone::memory::human_bytes;
use stepstone::report::{RunReport, summary_table};

use crate::args::{RunsCommand, StoreArgs};
use crate::output;
use catalog::{Catalog, RunEntry, open_store};

/// Run a `runs` subcommand.
pub(crate) fn execute(command: RunsCommand) -> anyhow::Result<()> {
    match command {
        RunsCommand::Ls { store } => ls(&store),
        RunsCommand::Show { id, store } => show(&id, &store),
        RunsCommand::Plot { id, out, dir } => {
            let catalog = Catalog::load(&open_store(&dir)?)?;
            let report = catalog.report(&id, &dir)?;
            plot::write_svg(report, &out)?;
            output::status(format!("wrote {} (run {})", out.display(), report.run_id));
            Ok(())
        }
        RunsCommand::Lineage { id, format, dir } => {
            let catalog = Catalog::load(&open_store(&dir)?)?;
            print!("{}", lineage::render(catalog.report(&id, &dir)?, format));
            Ok(())
        }
    }
}

/// One line of `runs ls --json`.
#[derive(Debug, Serialize)]
struct RunLine<'a> {
    id: &'a str,
    pipeline: Option<&'a str>,
    status: &'a str,
    started_at: Option<&'a str>,
    seconds: Option<f64>,
    steps_executed: Option<usize>,
    steps_reused: Option<usize>,
    steps_skipped: Option<usize>,
    steps_failed: Option<usize>,
    budget_bytes: Option<u64>,
    tracked_peak_bytes: Option<u64>,
    rss_peak_bytes: Option<u64>,
    problem: Option<&'a str>,
}

fn line(entry: &RunEntry) -> RunLine<'_> {
    let r = entry.report.as_ref();
    RunLine {
        id: &entry.id,
        pipeline: r.map(|r| r.pipeline.as_str()),
        status: entry.status(),
        started_at: r.map(|r| r.started_at.as_str()),
        seconds: r.map(|r| r.seconds),
        steps_executed: r.map(|r| r.totals.steps_executed),
        steps_reused: r.map(|r| r.totals.steps_reused),
        steps_skipped: r.map(|r| r.totals.steps_skipped),
        steps_failed: r.map(|r| r.totals.steps_failed),
        budget_bytes: r.map(|r| r.budget_bytes),
        tracked_peak_bytes: r.map(|r| r.tracked_peak_bytes),
        rss_peak_bytes: r.map(|r| r.rss_peak_bytes),
        problem: entry.problem.as_deref(),
    }
}

fn ls(args: &StoreArgs) -> anyhow::Result<()> {
    let catalog = Catalog::load(&open_store(&args.dir)?)?;
    let lines: Vec<RunLine<'_>> = catalog.runs.iter().map(line).collect();
    if args.json {
        return output::json(&lines);
    }
    if lines.is_empty() {
        output::status(format!("no runs in {}", args.dir.join("runs").display()));
        return Ok(());
    }
    let mut rows = vec![
        [
            "run",
            "pipeline",
            "status",
            "started",
            "seconds",
            "exec/reused/skipped",
            "tracked peak",
            "rss peak",
            "budget",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let bytes = |b: Option<u64>| b.map_or_else(|| "-".to_string(), human_bytes);
    for l in &lines {
        rows.push(vec![
            l.id.to_string(),
            l.pipeline.unwrap_or("-").to_string(),
            l.status.to_string(),
            l.started_at.unwrap_or("-").to_string(),
            l.seconds.map_or_else(|| "-".into(), |s| format!("{s:.2}")),
            match (l.steps_executed, l.steps_reused, l.steps_skipped) {
                (Some(e), Some(r), Some(s)) => format!("{e}/{r}/{s}"),
                _ => "-".to_string(),
            },
            bytes(l.tracked_peak_bytes),
            bytes(l.rss_peak_bytes),
            bytes(l.budget_bytes),
        ]);
    }
    print!("{}", output::table(&rows));
    Ok(())
}

fn show(id: &str, args: &StoreArgs) -> anyhow::Result<()> {
    let catalog = Catalog::load(&open_store(&args.dir)?)?;
    let report = catalog.report(id, &args.dir)?;
    if args.json {
        return output::json(report);
    }
    print!("{}", describe(report));
    Ok(())
}

/// The human view of one report: header, configuration, the summary table, totals.
fn describe(r: &RunReport) -> String {
    let mut out = String::new();
    let c = &r.config;
    let t = &r.totals;
    let _ = writeln!(out, "run       {}", r.run_id);
    let _ = writeln!(out, "pipeline  {}", r.pipeline);
    let status = r.status.as_str();
    let _ = writeln!(out, "status    {status}");
    if let Some(error) = &r.error {
        let _ = writeln!(out, "error     {error}");
    }
    let _ = writeln!(out, "started   {} ({:.2} s)", r.started_at, r.seconds);
    let _ = writeln!(
        out,
        "config    budget {}, jobs {}, fresh {}, checkpoint_every {}, dir {}",
        human_bytes(c.budget_bytes),
        c.jobs,
        c.fresh,
        c.checkpoint_every
            .map_or_else(|| "-".to_string(), |n| n.to_string()),
        c.checkpoint_dir
    );
    let _ = writeln!(
        out,
        "totals    {} checkpoints written ({}), {} spills ({}), {} reloaded, {} objects deleted at the end\n",
        t.checkpoints_written,
        human_bytes(t.checkpoint_bytes),
        t.spills_written,
        human_bytes(t.spilled_bytes),
        human_bytes(t.reloaded_bytes),
        t.objects_deleted
    );
    out.push_str(&summary_table(r));
    for f in &r.steps_folded {
        let _ = writeln!(
            out,
            "  + {} × {} {:?} (#{}..#{}), {:.3} s",
            f.count, f.name, f.status, f.first_seq, f.last_seq, f.seconds
        );
    }
    out
}
