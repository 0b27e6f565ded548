//! Run reports: what each step did, memory peaks, spill/reload/checkpoint totals.

/// The report of one run (written to `runs/<run-id>/report.json`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunReport {}
