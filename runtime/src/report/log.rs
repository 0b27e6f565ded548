//! The run log: the report service the executor writes to while a run goes on.
//!
//! Owns the step rows ([`StepRows`]), the memory events, the totals, the live progress view and
//! the previous run's rows (to say why a step runs again). It never sees the lineage: callers
//! hand it a step's record order (`seq`), its name and figures. At the end of the run it turns
//! into a [`RunReport`] ([`RunLog::take_report`]).

use std::collections::HashMap;
use std::time::Instant;

use super::{
    MemoryEvent, ProgressView, REPORT_SCHEMA_VERSION, ReportConfig, RunReport, RunStatus,
    StepReport, StepRows, StepStatus, Totals,
};
use crate::memory::Accountant;

/// What the executor reports while it runs.
#[derive(Debug)]
pub(crate) struct RunLog {
    pub(crate) run_id: String,
    pub(crate) started_at: String,
    started: Instant,
    pub(super) rows: StepRows,
    events: Vec<MemoryEvent>,
    pub(super) totals: Totals,
    pub(crate) progress: ProgressView,
    /// The live feed (`live.json`, `tasks.json`).
    pub(crate) live: super::live::LiveFeed,
    /// The previous run's steps by record order, to say why a step runs again.
    previous: Option<(String, rustc_hash::FxHashMap<usize, StepReport>)>,
}

/// The figures of the run's configuration and memory the report shows beside the steps.
pub(crate) struct RunFigures<'a> {
    pub(crate) pipeline: &'a str,
    pub(crate) config: ReportConfig,
    pub(crate) memory: &'a Accountant,
}

impl RunLog {
    /// An empty log for run `run_id`, started at `started_at` (RFC 3339).
    pub(crate) fn new(run_id: String, started_at: String, progress: ProgressView) -> Self {
        RunLog {
            run_id,
            started_at,
            started: Instant::now(),
            rows: StepRows::default(),
            events: Vec::new(),
            totals: Totals::default(),
            progress,
            live: super::live::LiveFeed::default(),
            previous: None,
        }
    }

    /// Remember an earlier run's rows (by record order).
    pub(crate) fn set_previous(&mut self, run: String, report: RunReport) {
        let steps = report.steps.into_iter().map(|s| (s.seq, s)).collect();
        self.previous = Some((run, steps));
    }

    /// The row of a step just recorded.
    pub(crate) fn insert(&mut self, row: StepReport) {
        self.rows.insert(row);
    }

    /// Step `seq`'s row will not change any more (its node left the DAG).
    pub(crate) fn finish_row(&mut self, seq: usize) {
        self.rows.finish(seq);
    }

    /// Step `seq` is put back into the DAG to be rebuilt: its row changes again.
    pub(crate) fn reopen_row(&mut self, seq: usize) {
        self.rows.reopen(seq);
    }

    /// Step `seq` failed for `reason` (shorthand for [`StepEvent::Failed`]).
    pub(crate) fn fail(&mut self, seq: usize, reason: &str) {
        self.record(seq, super::StepEvent::Failed { reason });
    }

    /// The row of step `seq` as it stands.
    pub(crate) fn row(&self, seq: usize) -> Option<&StepReport> {
        self.rows.get(seq)
    }

    /// The run's totals so far.
    pub(crate) fn totals(&self) -> &Totals {
        &self.totals
    }

    /// A spill of a finished run was deleted.
    pub(crate) fn object_deleted(&mut self) {
        self.totals.objects_deleted += 1;
    }

    /// A memory event (`spill`, `reload`, `drop`, `checkpoint`, `corrupt`, …) of step `seq`
    /// (of its partition `part`, when the step is partitioned).
    pub(crate) fn event(
        &mut self,
        kind: &str,
        step: &str,
        seq: usize,
        part: Option<u32>,
        bytes: u64,
    ) {
        self.events.push(MemoryEvent {
            t: self.started.elapsed().as_secs_f64(),
            kind: kind.to_string(),
            step: step.to_string(),
            seq,
            partition: part,
            bytes,
        });
    }

    /// Say why step `seq` executed in this run, when nothing more specific (a corrupt object,
    /// a recomputation) was said: `--fresh`, what changed since the previous run, or no object.
    pub(crate) fn explain_execution(&mut self, seq: usize, fresh: bool) {
        let Some(row) = self.rows.get_mut(seq) else {
            return;
        };
        row.reason = if fresh {
            "--fresh".into()
        } else {
            match self
                .previous
                .as_ref()
                .and_then(|(run, steps)| Some((run, steps.get(&seq)?)))
            {
                Some((run, before)) => why_changed(run, before, row),
                None => {
                    super::content_reason(None, row).unwrap_or_else(|| "no stored object".into())
                }
            }
        };
    }

    /// The report of the run, ending with `error` (if any); the rows, events and totals move
    /// into it.
    pub(crate) fn take_report(
        &mut self,
        figures: RunFigures<'_>,
        error: Option<&crate::Error>,
    ) -> RunReport {
        let timeline = figures.memory.finish();
        let status = match error {
            None => RunStatus::Completed,
            Some(crate::Error::Exec(e)) if e.interrupted_by().is_some() => RunStatus::Interrupted,
            Some(_) => RunStatus::Failed,
        };
        let budget_bytes = figures.config.budget_bytes;
        let (steps, steps_folded) = self.rows.take();
        let mut report = RunReport {
            schema_version: REPORT_SCHEMA_VERSION,
            run_id: self.run_id.clone(),
            pipeline: figures.pipeline.to_string(),
            status,
            error: error.map(|e| crate::error_chain(e)),
            started_at: self.started_at.clone(),
            seconds: figures.memory.elapsed(),
            config: figures.config,
            budget_bytes,
            tracked_peak_bytes: figures.memory.peak(),
            rss_peak_bytes: figures.memory.rss_peak(),
            steps,
            steps_folded,
            totals: std::mem::take(&mut self.totals),
            timeline,
            events: std::mem::take(&mut self.events),
        };
        explain_skips(&mut report);
        report.count_statuses();
        report
    }
}

/// Why a step whose earlier run recorded it at the same position is computed again.
fn why_changed(run: &str, before: &StepReport, now: &StepReport) -> String {
    if before.name != now.name {
        return "no stored object".into();
    }
    if let Some(why) = super::content_reason(Some(before), now) {
        return why;
    }
    if before.fingerprint == now.fingerprint {
        return format!("no stored object (run {run} computed it but did not keep it)");
    }
    let mut what = Vec::new();
    if before.code != now.code {
        what.push("its code (or version)");
    }
    if before.params_hash != now.params_hash {
        what.push("its parameters");
    }
    if before.output_type != now.output_type {
        what.push("its output type");
    }
    if before.parents != now.parents {
        what.push("an upstream step");
    }
    if what.is_empty() {
        what.push("its module path or the storage format");
    }
    format!("stale: {} changed since run {run}", what.join(" and "))
}

/// A skipped step whose dependents were served from stored objects says so.
fn explain_skips(report: &mut RunReport) {
    let index: HashMap<_, _> = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.fingerprint, i))
        .collect();
    let mut behind_reuse = vec![false; report.steps.len()];
    for i in (0..report.steps.len()).rev() {
        let step = &report.steps[i];
        if step.status == StepStatus::Reused || behind_reuse[i] {
            for parent in &step.parents {
                if let Some(&p) = index.get(parent) {
                    behind_reuse[p] = true;
                }
            }
        }
    }
    for (row, behind) in report.steps.iter_mut().zip(behind_reuse) {
        if row.status == StepStatus::Skipped && behind {
            row.reason = "not needed: downstream steps were reused from stored objects".into();
        }
    }
}
