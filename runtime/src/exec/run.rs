//! A run from start to end: open the store (lock, cleanup), let the pipeline record its steps,
//! compute the output and pending sinks, then either complete (delete spill and persist
//! objects, write the report) or fail (keep every object for a resume, write the report).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use super::pipeline::Pipeline;
use super::{ExecError, Outcome};
use crate::config::RunConfig;
use crate::plan::{Data, Handle};

/// Run a pipeline: `build` records steps and returns the output handle; the output (and every
/// sink) is computed under `config`'s budget, resuming from what the checkpoint directory holds.
///
/// On success, spill objects and persist copies are deleted and `runs/<id>/report.json` is
/// written. On failure (a step error or panic, the store, the budget), every checkpoint written
/// so far is durable, spills are kept for the next run to reuse, the report is written with the
/// error, and the error is returned. A stop request (SIGINT / SIGTERM when
/// [`RunConfig::handle_signals`] is set, or [`crate::exec::request_stop`]) ends the run at its
/// next safe point the same way, with status `interrupted` and [`ExecError::Interrupted`].
///
/// In worker mode ([`RunConfig::worker`], the hidden `--run-task` flag a coordinator starts
/// this binary with) this runs the one task the spec names and exits the process with the
/// worker's exit code ([`crate::exec::exit_codes`]); it does not return.
pub fn run<T: Data>(
    config: &RunConfig,
    build: impl FnOnce(&mut Pipeline) -> crate::Result<Handle<T>>,
) -> crate::Result<Outcome<T>> {
    if let Some(task) = &config.worker {
        serve(config, task, build);
    }
    if config.handle_signals {
        super::interrupt::install().map_err(crate::Error::pipeline)?;
    }
    super::interrupt::reset();
    let (run_id, started_at) = new_run_id();
    let mut pipeline = Pipeline::open(config.clone(), run_id, started_at)?;
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

/// Worker mode: run the task `task` names (recording the pipeline with `build` up to its
/// last step), write the attempt's outcome into the run's folder, and exit with its code.
pub(super) fn serve<T: crate::plan::Data>(
    config: &crate::config::RunConfig,
    task: &crate::config::WorkerTask,
    build: impl FnOnce(&mut Pipeline) -> crate::Result<crate::plan::Handle<T>>,
) -> ! {
    super::worker::start_lifeline(task.lifeline);
    if config.handle_signals
        && let Err(e) = super::interrupt::install()
    {
        tracing::warn!(error = %e, "a worker could not install its signal handlers");
    }
    super::interrupt::reset();
    let started = std::time::Instant::now();
    let spec = &task.spec;
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut pipeline = match Pipeline::open(config.clone(), spec.run_id.clone(), now) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "error: worker for segment {} of run {}: {}",
                spec.segment,
                spec.run_id,
                crate::error_chain(&e)
            );
            std::process::exit(super::remote::exit_codes::TRANSIENT);
        }
    };
    // The build's own result does not matter: the segment's outcome does.
    let _ = build(&mut pipeline);
    let Some(outcome) = pipeline.finish_worker(started) else {
        std::process::exit(super::remote::exit_codes::REFUSED);
    };
    let mut code = outcome.exit_code;
    if let Some(error) = &outcome.error {
        eprintln!(
            "error: segment {} attempt {} of run {}: {}",
            spec.segment, task.attempt, spec.run_id, error.message
        );
    }
    let name = format!("task-s{:05}-a{}.json", spec.segment, task.attempt);
    let written = serde_json::to_vec_pretty(&outcome)
        .map_err(|e| e.to_string())
        .and_then(|json| {
            pipeline
                .store()
                .write_run_file(&name, &json)
                .map_err(|e| crate::error_chain(&e))
        });
    if let Err(e) = written {
        eprintln!("error: the attempt report {name} could not be written: {e}");
        if code == super::remote::exit_codes::SUCCEEDED {
            code = super::remote::exit_codes::TRANSIENT;
        }
    }
    drop(pipeline);
    std::process::exit(code);
}
