//! `stepstone runs lineage`: the run's step graph as Graphviz DOT or a Mermaid flowchart.
//!
//! One node per report row (record order and step name; the label adds the policy and what
//! happened), one edge per parent fingerprint found among the rows, filled by status. Parents
//! outside the rows (folded past the report's row cap) are drawn as one "earlier steps" node.
//! Only formats text; reading the report is the caller's job.

use std::collections::HashMap;
use std::fmt::Write;

use stepstone::Fingerprint;
use stepstone::report::{RunReport, StepStatus};

use crate::args::GraphFormat;

/// Fill and border colour per status.
pub(crate) fn colours(status: StepStatus) -> (&'static str, &'static str) {
    match status {
        StepStatus::Executed => ("#c8e6c9", "#2e7d32"),
        StepStatus::Reused => ("#bbdefb", "#1565c0"),
        StepStatus::Skipped => ("#eeeeee", "#9e9e9e"),
        StepStatus::Failed => ("#ffcdd2", "#c62828"),
    }
}

pub(crate) fn status_name(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Executed => "executed",
        StepStatus::Reused => "reused",
        StepStatus::Skipped => "skipped",
        StepStatus::Failed => "failed",
    }
}

/// Edges `(parent, child)` by row index; `None` as parent means "a step outside the rows".
pub(crate) fn edges(report: &RunReport) -> Vec<(Option<usize>, usize)> {
    let index: HashMap<Fingerprint, usize> = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.fingerprint, i))
        .collect();
    let mut out = Vec::new();
    for (child, step) in report.steps.iter().enumerate() {
        for parent in &step.parents {
            out.push((index.get(parent).copied(), child));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Render the graph.
pub(crate) fn render(report: &RunReport, format: GraphFormat) -> String {
    match format {
        GraphFormat::Dot => dot(report),
        GraphFormat::Mermaid => mermaid(report),
    }
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph lineage {{");
    let _ = writeln!(
        out,
        "  label=\"{} — run {}\";\n  labelloc=t;\n  rankdir=TB;",
        dot_escape(&report.pipeline),
        dot_escape(&report.run_id)
    );
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];"
    );
    for (i, s) in report.steps.iter().enumerate() {
        let (fill, border) = colours(s.status);
        let mut style = "rounded,filled".to_string();
        if s.status == StepStatus::Skipped {
            style.push_str(",dashed");
        }
        let peripheries = if s.policy == stepstone::Policy::Checkpoint {
            2
        } else {
            1
        };
        let _ = writeln!(
            out,
            "  n{i} [label=\"#{} {}\\n{} · {}\", fillcolor=\"{fill}\", color=\"{border}\", style=\"{style}\", peripheries={peripheries}, tooltip=\"{}\"];",
            s.seq,
            dot_escape(&s.name),
            s.policy.as_str(),
            status_name(s.status),
            dot_escape(&s.reason),
        );
    }
    let edges = edges(report);
    if edges.iter().any(|(p, _)| p.is_none()) {
        let _ = writeln!(
            out,
            "  earlier [label=\"earlier steps\\n(folded in the report)\", style=dashed];"
        );
    }
    for (parent, child) in edges {
        match parent {
            Some(p) => {
                let _ = writeln!(out, "  n{p} -> n{child};");
            }
            None => {
                let _ = writeln!(out, "  earlier -> n{child};");
            }
        }
    }
    out.push_str("}\n");
    out
}

/// Mermaid labels: quotes and angle brackets as entity codes; `#` starts one, so it is one too.
fn mermaid_escape(text: &str) -> String {
    text.replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

fn mermaid(report: &RunReport) -> String {
    let mut out = String::from("flowchart TD\n");
    for (i, s) in report.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "  n{i}[\"{}: {}<br/>{} · {}\"]:::{}",
            s.seq,
            mermaid_escape(&s.name),
            s.policy.as_str(),
            status_name(s.status),
            status_name(s.status)
        );
    }
    let edges = edges(report);
    if edges.iter().any(|(p, _)| p.is_none()) {
        out.push_str("  earlier[\"earlier steps (folded in the report)\"]\n");
    }
    for (parent, child) in edges {
        match parent {
            Some(p) => {
                let _ = writeln!(out, "  n{p} --> n{child}");
            }
            None => {
                let _ = writeln!(out, "  earlier --> n{child}");
            }
        }
    }
    for status in [
        StepStatus::Executed,
        StepStatus::Reused,
        StepStatus::Skipped,
        StepStatus::Failed,
    ] {
        let (fill, border) = colours(status);
        let _ = writeln!(
            out,
            "  classDef {} fill:{fill},stroke:{border};",
            status_name(status)
        );
    }
    out
}
