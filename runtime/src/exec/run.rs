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
        super::worker::serve(config, task, build);
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
