//! The services a run's executor works over (DataFusion's `RuntimeEnv`, Spark's BlockManager
//! disk side): the object store, the memory accountant and the run log.
//!
//! Each service owns its own state and never sees the lineage: the store reads and writes
//! objects by [`BlockKey`](crate::store::BlockKey), the accountant holds the charged bytes
//! against the budget, the log holds report rows, events, totals and progress. The store and the
//! accountant are shared with worker threads (lazy inputs load through them); the log is
//! written by the scheduler thread only.

use std::sync::Arc;

use crate::config::RunConfig;
use crate::memory::Accountant;
use crate::report::{ProgressView, RunLog};
use crate::store::{Store, StoreOptions};

/// The store, the memory accountant and the run log of one run.
pub(crate) struct Services {
    pub(crate) store: Arc<Store>,
    pub(crate) memory: Arc<Accountant>,
    pub(crate) log: RunLog,
}

impl Services {
    /// Open the checkpoint directory (taking its lock; a worker attaches) and start accounting
    /// for run `run_id`.
    pub(crate) fn open(
        config: &RunConfig,
        run_id: String,
        started_at: String,
    ) -> crate::Result<Services> {
        // A worker attaches to its coordinator's run: no lock, no cleanup, its own spills.
        let attach = config.worker.is_some();
        let options = StoreOptions {
            wait_for_lock: config.wait_for_lock,
            number_runs: !attach,
            attach,
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
        // The store numbered the run (the order runs held it, not their hosts' clocks).
        let run_id = store.run_id().map_or(run_id, str::to_string);
        Ok(Services {
            memory: Arc::new(Accountant::start(config.budget, config.sample_memory_every)),
            store: Arc::new(store),
            log: RunLog::new(run_id, started_at, ProgressView::new(config.progress)),
        })
    }

    /// Remember the latest earlier run's steps (when its report is readable) so a recomputed
    /// step can say what changed.
    pub(crate) fn load_previous_report(&mut self) {
        let runs = self.store.list_runs().unwrap_or_default();
        for run in runs.iter().rev().filter(|r| **r != self.log.run_id) {
            let Ok(Some(bytes)) = self.store.read_run_file(run, "report.json") else {
                continue;
            };
            match serde_json::from_slice::<crate::report::RunReport>(&bytes) {
                Ok(report) => {
                    self.log.set_previous(run.clone(), report);
                    return;
                }
                Err(e) => tracing::warn!(run = %run, error = %e, "ignoring an unreadable report"),
            }
        }
    }
}
