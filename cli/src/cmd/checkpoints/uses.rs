//! Which runs and steps used each fingerprint, from the run reports' rows: a row's own
//! fingerprint and the salted object keys it lists (`object_keys`, per-file partitions).
//!
//! Reads the catalog only. An object's "origin" (the step and run shown by `checkpoints ls`) is
//! the latest run that executed the step, else the latest run that mentions it.

use std::collections::HashMap;

use serde::Serialize;
use stepstone::Fingerprint;
use stepstone::report::StepStatus;

use crate::cmd::runs::catalog::Catalog;

/// One report row that names a fingerprint.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Use {
    pub(crate) run: String,
    pub(crate) run_status: &'static str,
    pub(crate) seq: usize,
    pub(crate) step: String,
    pub(crate) status: String,
    pub(crate) reason: String,
    #[serde(skip)]
    pub(crate) executed: bool,
}

/// Fingerprint → its uses, oldest run first.
#[derive(Debug, Default)]
pub(crate) struct Uses {
    by_fingerprint: HashMap<Fingerprint, Vec<Use>>,
}

impl Uses {
    pub(crate) fn index(catalog: &Catalog) -> Uses {
        let mut by_fingerprint: HashMap<Fingerprint, Vec<Use>> = HashMap::new();
        for run in &catalog.runs {
            let Some(report) = &run.report else { continue };
            for s in &report.steps {
                let status = serde_json::to_value(s.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let used = Use {
                    run: run.id.clone(),
                    run_status: run.status(),
                    seq: s.seq,
                    step: s.name.clone(),
                    status,
                    reason: s.reason.clone(),
                    executed: s.status == StepStatus::Executed,
                };
                for key in &s.object_keys {
                    by_fingerprint.entry(*key).or_default().push(used.clone());
                }
                by_fingerprint.entry(s.fingerprint).or_default().push(used);
            }
        }
        Uses { by_fingerprint }
    }

    /// Every use of `fp`, oldest run first.
    pub(crate) fn of(&self, fp: Fingerprint) -> &[Use] {
        self.by_fingerprint.get(&fp).map_or(&[], Vec::as_slice)
    }

    /// The step and run that made `fp`'s object (see the module doc).
    pub(crate) fn origin(&self, fp: Fingerprint) -> Option<&Use> {
        let all = self.of(fp);
        all.iter().rev().find(|u| u.executed).or_else(|| all.last())
    }
}
