//! The runs of the store as the page shows them: one summary per run for the list, and one
//! view per run (its report, live progress, task times, lineage layout, notable events).
//!
//! A run with a `report.json` is finished and never changes: its summary and its serialized
//! view are cached. A run without one is read again on every request: `live.json` says how far
//! it got, and whether it is still going ([`STALE_AFTER`]). Blocking: call from tokio's
//! blocking pool. Reads only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::Serialize;
use stepstone::report::{LIVE_FILE, LiveProgress, RunReport, TASKS_FILE, TaskTimes};
use stepstone::store::Store;

use super::layout::{Layout, layout};
use crate::cmd::runs::catalog::parse_report;

/// A run without a report whose `live.json` is older than this is shown as `incomplete`
/// (killed, or stuck in one step that long).
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(300);
/// Finished runs' serialized views kept in memory.
const VIEWS_CACHED: usize = 4;

/// One line of the runs list (`/api/runs`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunSummary {
    id: String,
    /// `completed`, `failed`, `interrupted`, `running` or `incomplete`.
    status: String,
    pipeline: Option<String>,
    started_at: Option<String>,
    seconds: Option<f64>,
    steps_executed: Option<usize>,
    steps_reused: Option<usize>,
    steps_skipped: Option<usize>,
    steps_failed: Option<usize>,
    budget_bytes: Option<u64>,
    tracked_peak_bytes: Option<u64>,
    rss_peak_bytes: Option<u64>,
    tasks_done: Option<u64>,
    tasks_planned: Option<u64>,
    problem: Option<String>,
}

/// Something a user should see about a run beyond memory traffic.
#[derive(Debug, Clone, Serialize)]
struct Notable {
    /// `corrupt`, `restore`, `panic`, `error` or `interrupted`.
    kind: String,
    /// Seconds since the start, when known.
    t: Option<f64>,
    step: Option<String>,
    partition: Option<u32>,
    /// Where a panic happened (`src/file.rs:L:C`).
    location: Option<String>,
    detail: String,
}

/// `/api/runs/{id}`.
#[derive(Serialize)]
struct RunView<'a> {
    id: &'a str,
    dir: &'a str,
    status: &'a str,
    problem: Option<&'a str>,
    report: Option<&'a RunReport>,
    live: Option<&'a LiveProgress>,
    tasks: Option<&'a TaskTimes>,
    layout: Option<&'a Layout>,
    notable: Vec<Notable>,
}

/// The runs of one store, with caches.
pub(crate) struct Runs {
    store: Store,
    dir: String,
    summaries: Mutex<HashMap<String, RunSummary>>,
    views: Mutex<VecDeque<(String, Arc<Vec<u8>>)>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Runs {
    pub(crate) fn new(store: Store, dir: String) -> Self {
        Runs {
            store,
            dir,
            summaries: Mutex::default(),
            views: Mutex::default(),
        }
    }

    /// Run ids, newest first (the store lists them oldest first).
    pub(crate) fn ids(&self) -> anyhow::Result<Vec<String>> {
        let mut ids = self.store.list_runs().with_context(|| {
            format!(
                "cannot list the runs of {}; check the directory (or the S3 settings) and reload",
                self.dir
            )
        })?;
        ids.reverse();
        Ok(ids)
    }

    /// Every run, newest first (`status`: only those with that status).
    pub(crate) fn list(&self, status: Option<&str>) -> anyhow::Result<Vec<RunSummary>> {
        let ids = self.ids()?;
        let mut out = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let cached = self.cached_summary(id);
            let summary = match cached {
                Some(s) => s,
                None => self.summary(id, i == 0)?,
            };
            if status.is_none_or(|s| s == summary.status) {
                out.push(summary);
            }
        }
        Ok(out)
    }

    fn cached_summary(&self, id: &str) -> Option<RunSummary> {
        let summaries = self
            .summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        summaries.get(id).cloned()
    }

    /// Read one run's summary (`newest`: it may still be running); cache a finished one.
    fn summary(&self, id: &str, newest: bool) -> anyhow::Result<RunSummary> {
        let (report, problem) = self.report(id)?;
        let summary = match report {
            Some(r) => finished_summary(id, &r),
            None => {
                let live = self.live(id)?;
                let status = live_status(live.as_ref(), newest);
                unfinished_summary(id, status, live.as_ref(), problem)
            }
        };
        if summary.status != "running" && summary.status != "incomplete" {
            let mut summaries = self
                .summaries
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            summaries.insert(id.to_string(), summary.clone());
        }
        Ok(summary)
    }

    /// The run's report, or why it has none.
    fn report(&self, id: &str) -> anyhow::Result<(Option<RunReport>, Option<String>)> {
        match self.store.read_run_file(id, "report.json") {
            Ok(Some(bytes)) => Ok(parse_report(&bytes)),
            Ok(None) => Ok((
                None,
                Some("no report.json yet (the run is going on, or was killed)".to_string()),
            )),
            Err(e) => Err(anyhow::Error::new(e).context(format!(
                "cannot read the report of run {id} in {}",
                self.dir
            ))),
        }
    }

    fn live(&self, id: &str) -> anyhow::Result<Option<LiveProgress>> {
        let bytes = self
            .store
            .read_run_file(id, LIVE_FILE)
            .with_context(|| format!("cannot read {LIVE_FILE} of run {id} in {}", self.dir))?;
        // A half-understood live file (another version) is as good as none.
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// `/api/runs/{id}` as JSON bytes; `None` when there is no such run.
    pub(crate) fn view(&self, id: &str) -> anyhow::Result<Option<Arc<Vec<u8>>>> {
        {
            let views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, bytes)) = views.iter().find(|(v, _)| v == id) {
                return Ok(Some(bytes.clone()));
            }
        }
        let ids = self.ids()?;
        let Some(position) = ids.iter().position(|i| i == id) else {
            return Ok(None);
        };
        let (report, problem) = self.report(id)?;
        let (live, tasks, status) = match &report {
            Some(r) => (None, self.tasks(id), r.status.as_str().to_string()),
            None => {
                let live = self.live(id)?;
                let status = live_status(live.as_ref(), position == 0).to_string();
                (live, None, status)
            }
        };
        let layout = report.as_ref().map(layout);
        let view = RunView {
            id,
            dir: &self.dir,
            status: &status,
            problem: problem.as_deref(),
            report: report.as_ref(),
            live: live.as_ref(),
            tasks: tasks.as_ref(),
            layout: layout.as_ref(),
            notable: report.as_ref().map(notable).unwrap_or_default(),
        };
        let bytes =
            Arc::new(serde_json::to_vec(&view).with_context(|| format!("cannot encode run {id}"))?);
        if report.is_some() {
            let mut views = self.views.lock().unwrap_or_else(PoisonError::into_inner);
            if views.len() == VIEWS_CACHED {
                views.pop_front();
            }
            views.push_back((id.to_string(), bytes.clone()));
        }
        Ok(Some(bytes))
    }

    /// The task times of a finished run (none when it had no partitioned step, or the file is
    /// unreadable: the page then shows no task chart).
    fn tasks(&self, id: &str) -> Option<TaskTimes> {
        let bytes = self.store.read_run_file(id, TASKS_FILE).ok()??;
        serde_json::from_slice(&bytes).ok()
    }
}

/// `running` when the newest run's live file is fresh, else `incomplete`.
fn live_status(live: Option<&LiveProgress>, newest: bool) -> &'static str {
    let fresh = live.is_some_and(|l| {
        now_ms().saturating_sub(l.updated_unix_ms) < STALE_AFTER.as_millis() as u64
    });
    if newest && fresh {
        "running"
    } else {
        "incomplete"
    }
}

fn finished_summary(id: &str, r: &RunReport) -> RunSummary {
    RunSummary {
        id: id.to_string(),
        status: r.status.as_str().to_string(),
        pipeline: Some(r.pipeline.clone()),
        started_at: Some(r.started_at.clone()),
        seconds: Some(r.seconds),
        steps_executed: Some(r.totals.steps_executed),
        steps_reused: Some(r.totals.steps_reused),
        steps_skipped: Some(r.totals.steps_skipped),
        steps_failed: Some(r.totals.steps_failed),
        budget_bytes: Some(r.budget_bytes),
        tracked_peak_bytes: Some(r.tracked_peak_bytes),
        rss_peak_bytes: Some(r.rss_peak_bytes),
        tasks_done: None,
        tasks_planned: None,
        problem: None,
    }
}

fn unfinished_summary(
    id: &str,
    status: &str,
    live: Option<&LiveProgress>,
    problem: Option<String>,
) -> RunSummary {
    RunSummary {
        id: id.to_string(),
        status: status.to_string(),
        pipeline: live.map(|l| l.pipeline.clone()),
        started_at: live.map(|l| l.started_at.clone()),
        seconds: live.map(|l| l.seconds),
        steps_executed: None,
        steps_reused: None,
        steps_skipped: None,
        steps_failed: None,
        budget_bytes: live.map(|l| l.budget_bytes),
        tracked_peak_bytes: live.and_then(|l| l.timeline.iter().map(|s| s.tracked_bytes).max()),
        rss_peak_bytes: live.and_then(|l| l.timeline.iter().map(|s| s.rss_bytes).max()),
        tasks_done: live.map(|l| l.tasks_done),
        tasks_planned: live.map(|l| l.tasks_planned),
        problem,
    }
}

/// Corrupt objects, restored lineage, and how the run ended when it did not complete.
fn notable(r: &RunReport) -> Vec<Notable> {
    let mut out: Vec<Notable> = r
        .events
        .iter()
        .filter(|e| e.kind == "corrupt" || e.kind == "restore")
        .map(|e| Notable {
            kind: e.kind.clone(),
            t: Some(e.t),
            step: Some(e.step.clone()),
            partition: e.partition,
            location: None,
            detail: if e.kind == "corrupt" {
                "a stored object failed verification; the step was computed again".into()
            } else {
                "lineage restored to rebuild a lost value".into()
            },
        })
        .collect();
    if let Some(error) = &r.error {
        let failed = r
            .steps
            .iter()
            .find(|s| s.status == stepstone::report::StepStatus::Failed);
        let (kind, location) = match error.split_once("panicked at ") {
            Some((_, rest)) => ("panic", rest.split_once(": ").map(|(at, _)| at.to_string())),
            None if r.status == stepstone::report::RunStatus::Interrupted => ("interrupted", None),
            None => ("error", None),
        };
        out.push(Notable {
            kind: kind.to_string(),
            t: Some(r.seconds),
            step: failed.map(|s| s.name.clone()),
            partition: None,
            location,
            detail: error.clone(),
        });
    }
    out
}
