//! A run from start to end: open the store (lock, cleanup), let the pipeline record its steps,
//! compute the output and pending sinks, then either complete (delete spill and persist
//! objects, write the report) or fail (keep every object for a resume, write the report).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use super::ExecError;
use super::pipeline::Pipeline;
use crate::config::RunConfig;
use crate::memory::Accountant;
use crate::plan::{Data, Handle, Lineage, NodeId};
use crate::report::StepRows;
use crate::report::{
    REPORT_SCHEMA_VERSION, ReportConfig, RunReport, RunStatus, Totals, summary_table,
};
use crate::store::{ObjectKind, Store, StoreOptions};

use super::Outcome;

/// Run a pipeline: `build` records steps and returns the output handle; the output (and every
/// sink) is computed under `config`'s budget, resuming from what the checkpoint directory holds.
///
/// On success, spill objects and persist copies are deleted and `runs/<id>/report.json` is
/// written. On failure (a step error or panic, the store, the budget), every checkpoint written
/// so far is durable, spills are kept for the next run to reuse, the report is written with the
/// error, and the error is returned. A stop request (SIGINT / SIGTERM when
/// [`RunConfig::handle_signals`] is set, or [`crate::exec::request_stop`]) ends the run at its
/// next safe point the same way, with status `interrupted` and [`ExecError::Interrupted`].
pub fn run<T: Data>(
    config: &RunConfig,
    build: impl FnOnce(&mut Pipeline) -> crate::Result<Handle<T>>,
) -> crate::Result<Outcome<T>> {
    if config.handle_signals {
        super::interrupt::install().map_err(crate::Error::pipeline)?;
    }
    super::interrupt::reset();
    let mut pipeline = Pipeline::open(config.clone())?;
    pipeline.load_previous_report();
    let result = build(&mut pipeline).and_then(|output| pipeline.finish_output(&output));
    // Whatever a stop request made fail (an abandoned object write, say), the run was
    // interrupted, and says so.
    let result = match (result, super::interrupt::requested()) {
        (Err(_), Some(signal)) => Err(ExecError::Interrupted { signal }.into()),
        (result, _) => result,
    };
    match result {
        Ok(value) => {
            let report = pipeline.complete(None)?;
            Ok(Outcome { value, report })
        }
        Err(error) => {
            let _ = pipeline.complete(Some(&error));
            Err(error)
        }
    }
}

static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

fn new_run_id() -> (String, String) {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let stamp: String = now.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let n = RUN_COUNTER.fetch_add(1, Ordering::Relaxed);
    (format!("{stamp}-{}-{n}", std::process::id()), now)
}

impl Pipeline {
    fn open(config: RunConfig) -> crate::Result<Pipeline> {
        let (run_id, started_at) = new_run_id();
        let options = StoreOptions {
            wait_for_lock: config.wait_for_lock,
            ..StoreOptions::default()
        };
        let store = match &config.backend {
            Some(backend) => {
                Store::open_with_backend(backend.clone(), &config.checkpoint_dir, &run_id, options)?
            }
            None => Store::open_with_spill_dir(
                &config.checkpoint_dir,
                config.spill_dir.as_deref(),
                &run_id,
                options,
            )?,
        };
        let progress = config.progress;
        Ok(Pipeline {
            memory: Arc::new(Accountant::start(config.budget, config.sample_memory_every)),
            config,
            run_id,
            started_at,
            lineage: Lineage::default(),
            store: Arc::new(store),
            deferred: None,
            rows: StepRows::default(),
            events: Vec::new(),
            totals: Totals::default(),
            recorded_since_flush: 0,
            resident: BTreeSet::new(),
            objects: HashMap::new(),
            uses: HashMap::new(),
            freed_since_trim: 0,
            output_history: HashMap::new(),
            has_estimates: false,
            rss_at_start: crate::memory::current_rss(),
            previous: None,
            progress: crate::report::ProgressView::new(progress),
            inputs: crate::input::RunInputs::default(),
        })
    }

    /// Remember the latest earlier run's steps (when its report is readable) so a recomputed step
    /// can say what changed.
    fn load_previous_report(&mut self) {
        if self.config.fresh {
            return; // every step runs again "because of --fresh"
        }
        let runs = self.store.list_runs().unwrap_or_default();
        for run in runs.iter().rev().filter(|r| **r != self.run_id) {
            let Ok(Some(bytes)) = self.store.read_run_file(run, "report.json") else {
                continue;
            };
            match serde_json::from_slice::<RunReport>(&bytes) {
                Ok(report) => {
                    let steps = report.steps.into_iter().map(|s| (s.seq, s)).collect();
                    self.previous = Some((run.clone(), steps));
                    return;
                }
                Err(e) => tracing::warn!(run = %run, error = %e, "ignoring an unreadable report"),
            }
        }
    }

    /// Compute the output and every sink not yet run, and hand the output over.
    fn finish_output<T: Data>(&mut self, output: &Handle<T>) -> crate::Result<T> {
        let mut targets: Vec<NodeId> = self
            .lineage
            .nodes()
            .filter(|n| n.sink && !n.done && n.id != output.id)
            .map(|n| n.id)
            .collect();
        targets.sort();
        targets.push(output.id);
        let value = self.value_of(output.id)?;
        let _ = targets.pop();
        if !targets.is_empty() {
            self.materialize(&targets)?;
        }
        self.drop_value(output.id);
        let typed = value
            .downcast::<T>()
            .map_err(|_| ExecError::UnknownOutput(output.id.0))?;
        match Arc::try_unwrap(typed) {
            Ok(v) => Ok(v),
            // Someone (an earlier `get`) still shares it: hand over a copy made by its codec.
            Err(shared) => <T::Codec as crate::store::ValueCodec<T>>::duplicate(&shared)
                .map_err(crate::Error::pipeline),
        }
    }

    /// End the run: on success delete spills and persist copies; always write the report.
    fn complete(&mut self, error: Option<&crate::Error>) -> crate::Result<RunReport> {
        if error.is_none() {
            let spills: Vec<_> = self
                .objects
                .iter()
                .filter(|(_, kind)| **kind == ObjectKind::Spill)
                .map(|(k, _)| *k)
                .collect();
            for key in spills {
                self.store.remove(key, ObjectKind::Spill)?;
                self.totals.objects_deleted += 1;
            }
            self.store.finish_run()?;
        }
        let report = self.build_report(error);
        let json = serde_json::to_vec_pretty(&report)
            .map_err(|e| crate::Error::pipeline(e.to_string()))?;
        self.store.write_run_file("report.json", &json)?;
        if let Some(path) = &self.config.report_path {
            std::fs::write(path, &json).map_err(|source| crate::store::StoreError::Io {
                op: "write report",
                path: path.clone(),
                source,
            })?;
        }
        self.progress.finish();
        if self.config.print_summary {
            eprint!("{}", summary_table(&report));
        }
        Ok(report)
    }

    fn build_report(&mut self, error: Option<&crate::Error>) -> RunReport {
        let timeline = self.memory.finish();
        let mut report = RunReport {
            schema_version: REPORT_SCHEMA_VERSION,
            run_id: self.run_id.clone(),
            pipeline: self.config.pipeline.clone(),
            status: match error {
                None => RunStatus::Completed,
                Some(crate::Error::Exec(e)) if e.interrupted_by().is_some() => {
                    RunStatus::Interrupted
                }
                Some(_) => RunStatus::Failed,
            },
            error: error.map(|e| crate::error_chain(e)),
            started_at: self.started_at.clone(),
            seconds: self.memory.elapsed(),
            config: ReportConfig {
                budget_bytes: self.config.budget.bytes(),
                checkpoint_dir: self.config.checkpoint_dir.display().to_string(),
                fresh: self.config.fresh,
                jobs: self.config.jobs,
                checkpoint_every: self.config.checkpoint_every,
            },
            budget_bytes: self.config.budget.bytes(),
            tracked_peak_bytes: self.memory.peak(),
            rss_peak_bytes: self.memory.rss_peak(),
            steps: Vec::new(),
            steps_folded: Vec::new(),
            totals: std::mem::take(&mut self.totals),
            timeline,
            events: std::mem::take(&mut self.events),
        };
        (report.steps, report.steps_folded) = self.rows.take();
        explain_skips(&mut report);
        report.count_statuses();
        report
    }
}

/// A skipped step whose dependents were served from stored objects says so.
fn explain_skips(report: &mut RunReport) {
    use crate::report::StepStatus;
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
