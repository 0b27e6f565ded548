//! The human summary printed at the end of a run.

use std::fmt::Write;

use super::{RunReport, StepStatus};
use crate::memory::human_bytes;

/// Rows shown before the rest are summarized.
const MAX_ROWS: usize = 40;

/// Render the report as a table: one row per step (the first 40, then a count), then totals,
/// peaks and the budget.
pub fn summary_table(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5}  {:<20} {:<9} {:<15} {:>8} {:>10} {:>10} {:>10}",
        "#", "step", "status", "policy", "seconds", "output", "spilled", "reloaded"
    );
    for s in report.steps.iter().take(MAX_ROWS) {
        let status = match s.status {
            StepStatus::Executed => "executed",
            StepStatus::Reused => "reused",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "FAILED",
        };
        let name: String = s.name.chars().take(20).collect();
        let _ = writeln!(
            out,
            "{:>5}  {:<20} {:<9} {:<15} {:>8.3} {:>10} {:>10} {:>10}",
            s.seq,
            name,
            status,
            s.policy.as_str(),
            s.seconds,
            human_bytes(s.output_bytes),
            human_bytes(s.spilled_bytes),
            human_bytes(s.reloaded_bytes),
        );
    }
    if report.steps.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "  … {} more steps (see report.json)",
            report.steps.len() - MAX_ROWS
        );
    }
    let t = &report.totals;
    let _ = writeln!(
        out,
        "{} executed, {} reused, {} skipped, {} failed; {} checkpoints ({}), {} spills ({}), {} reloaded",
        t.steps_executed,
        t.steps_reused,
        t.steps_skipped,
        t.steps_failed,
        t.checkpoints_written,
        human_bytes(t.checkpoint_bytes),
        t.spills_written,
        human_bytes(t.spilled_bytes),
        human_bytes(t.reloaded_bytes),
    );
    let _ = writeln!(
        out,
        "memory: tracked peak {} / budget {}; process RSS peak {}; {:.2} s; run {}",
        human_bytes(report.tracked_peak_bytes),
        human_bytes(report.budget_bytes),
        human_bytes(report.rss_peak_bytes),
        report.seconds,
        report.run_id,
    );
    out
}
