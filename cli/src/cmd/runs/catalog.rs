//! The runs of a checkpoint directory, read once: every `runs/<id>/` folder with its parsed
//! report (or why it has none), oldest first, and run-id lookup (`latest`, exact, unique prefix).
//!
//! Shared by `runs` and `checkpoints` (which maps fingerprints to the steps and runs that made
//! them). Reads only; never writes.

use std::path::Path;

use anyhow::{Context, bail};
use stepstone::report::{REPORT_SCHEMA_VERSION, REPORT_SCHEMA_VERSIONS_READ, RunReport, RunStatus};
use stepstone::store::Store;

/// One run folder.
#[derive(Debug)]
pub(crate) struct RunEntry {
    /// Folder name under `runs/`.
    pub(crate) id: String,
    /// The parsed report, when there is a readable one.
    pub(crate) report: Option<RunReport>,
    /// Why there is no report (missing: killed or still running; unreadable; newer schema).
    pub(crate) problem: Option<String>,
}

impl RunEntry {
    /// `completed`, `failed`, `interrupted`, or `incomplete` when there is no readable report.
    pub(crate) fn status(&self) -> &'static str {
        self.report
            .as_ref()
            .map_or("incomplete", |r| r.status.as_str())
    }
}

/// All runs of a directory, oldest first.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) runs: Vec<RunEntry>,
}

/// Open a checkpoint directory for reading, with a fix in the error.
pub(crate) fn open_store(dir: &Path) -> anyhow::Result<Store> {
    Store::open_read_only(dir).with_context(|| {
        format!(
            "cannot read the checkpoint directory {}; pass --dir with the pipeline's checkpoint \
             directory (default ./.stepstone, or STEPSTONE_CHECKPOINT_DIR)",
            dir.display()
        )
    })
}

/// Order of run ids: `<UTC stamp>-<pid>-<counter>`, by stamp, then counter (numerically).
fn order_key(id: &str) -> (String, u64, String) {
    let stamp = id.split('-').next().unwrap_or_default().to_string();
    let counter = id
        .rsplit('-')
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (stamp, counter, id.to_string())
}

impl Catalog {
    /// Read every run folder's report.
    pub(crate) fn load(store: &Store) -> anyhow::Result<Catalog> {
        let mut ids = store
            .list_runs()
            .with_context(|| format!("cannot list {}", store.root().join("runs").display()))?;
        ids.sort_by_key(|id| order_key(id));
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids {
            let (report, problem) = match store.read_run_file(&id, "report.json") {
                Ok(Some(bytes)) => parse_report(&bytes),
                Ok(None) => (
                    None,
                    Some("no report.json (the run was killed, or is still running)".to_string()),
                ),
                Err(e) => (None, Some(format!("cannot read report.json: {e}"))),
            };
            runs.push(RunEntry {
                id,
                report,
                problem,
            });
        }
        Ok(Catalog { runs })
    }

    /// Index of the latest run that completed.
    pub(crate) fn latest_completed(&self) -> Option<usize> {
        self.runs.iter().rposition(|r| {
            r.report
                .as_ref()
                .is_some_and(|r| r.status == RunStatus::Completed)
        })
    }

    /// The run named by `id`: `latest`, an exact id, or a unique prefix.
    pub(crate) fn resolve(&self, id: &str, dir: &Path) -> anyhow::Result<&RunEntry> {
        let found = if id == "latest" {
            self.runs.last().into_iter().collect::<Vec<_>>()
        } else if let Some(exact) = self.runs.iter().find(|r| r.id == id) {
            vec![exact]
        } else {
            self.runs.iter().filter(|r| r.id.starts_with(id)).collect()
        };
        match found.as_slice() {
            [one] => Ok(one),
            [] if self.runs.is_empty() => bail!(
                "{} has no runs; run the pipeline with this checkpoint directory first, or pass \
                 --dir",
                dir.join("runs").display()
            ),
            [] => bail!(
                "no run `{id}` in {}; `stepstone runs ls --dir {}` lists the run ids",
                dir.join("runs").display(),
                dir.display()
            ),
            many => bail!(
                "run id prefix `{id}` is ambiguous: {}; give more characters",
                many.iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The report of the run named by `id`, or an error saying why it has none.
    pub(crate) fn report(&self, id: &str, dir: &Path) -> anyhow::Result<&RunReport> {
        let entry = self.resolve(id, dir)?;
        match &entry.report {
            Some(report) => Ok(report),
            None => bail!(
                "run {} in {} has no usable report: {}",
                entry.id,
                dir.display(),
                entry.problem.as_deref().unwrap_or("unknown")
            ),
        }
    }
}

/// A report's bytes parsed, or why they cannot be (unreadable, a schema this version does not
/// read).
pub(crate) fn parse_report(bytes: &[u8]) -> (Option<RunReport>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Version {
        schema_version: Option<u32>,
    }
    if let Ok(Version {
        schema_version: Some(v),
    }) = serde_json::from_slice::<Version>(bytes)
        && !REPORT_SCHEMA_VERSIONS_READ.contains(&v)
    {
        let problem = format!(
            "report.json has schema version {v}; this stepstone reads versions 1 to \
             {REPORT_SCHEMA_VERSION} (use the stepstone that wrote it)"
        );
        return (None, Some(problem));
    }
    match serde_json::from_slice::<RunReport>(bytes) {
        Ok(report) => (Some(report), None),
        Err(e) => (
            None,
            Some(format!("report.json is not a valid report: {e}")),
        ),
    }
}
