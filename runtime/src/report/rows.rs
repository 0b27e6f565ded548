//! Step rows of a run, bounded: rows of finished steps are kept one by one up to a cap, then
//! folded into one row per (step name, status), so a 100,000-step loop does not grow the
//! runtime's memory by a report row per step.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::{Deserialize, Serialize};

use super::{StepReport, StepStatus};

/// Finished step rows kept individually; later ones are folded.
pub const STEP_ROWS_CAP: usize = 10_000;

/// Several finished steps with the same name and status, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldedSteps {
    /// Step name.
    pub name: String,
    /// Their status.
    pub status: StepStatus,
    /// How many steps.
    pub count: usize,
    /// Lowest record order folded.
    pub first_seq: usize,
    /// Highest record order folded.
    pub last_seq: usize,
    /// Seconds spent computing them.
    pub seconds: f64,
    /// Output bytes (requested), summed.
    pub output_bytes: u64,
    /// Spilled bytes, summed.
    pub spilled_bytes: u64,
    /// Reloaded bytes, summed.
    pub reloaded_bytes: u64,
}

/// The rows of one run.
#[derive(Debug, Default)]
pub(crate) struct StepRows {
    live: FxHashMap<usize, StepReport>,
    finished: Vec<StepReport>,
    /// By step name, then status (`status_key`).
    folded: BTreeMap<String, [Option<FoldedSteps>; 4]>,
}

fn status_key(status: StepStatus) -> u8 {
    match status {
        StepStatus::Executed => 0,
        StepStatus::Reused => 1,
        StepStatus::Skipped => 2,
        StepStatus::Failed => 3,
    }
}

impl StepRows {
    pub(crate) fn insert(&mut self, row: StepReport) {
        self.live.insert(row.seq, row);
    }

    /// The row of step `seq`, live or finished (not folded).
    pub(crate) fn get(&self, seq: usize) -> Option<&StepReport> {
        self.live
            .get(&seq)
            .or_else(|| self.finished.iter().find(|r| r.seq == seq))
    }

    pub(crate) fn get_mut(&mut self, seq: usize) -> Option<&mut StepReport> {
        self.live.get_mut(&seq)
    }

    /// A finished row changes again (its node was put back into the DAG to be rebuilt).
    pub(crate) fn reopen(&mut self, seq: usize) {
        if self.live.contains_key(&seq) {
            return;
        }
        if let Some(i) = self.finished.iter().position(|r| r.seq == seq) {
            let row = self.finished.remove(i);
            self.live.insert(seq, row);
        }
    }

    /// The step's row will not change any more.
    pub(crate) fn finish(&mut self, seq: usize) {
        let Some(row) = self.live.remove(&seq) else {
            return;
        };
        if self.finished.len() < STEP_ROWS_CAP {
            self.finished.push(row);
            return;
        }
        // Looked up by the borrowed name: a 100,000-step loop folds 90,000 rows.
        let slots = match self.folded.get_mut(row.name.as_str()) {
            Some(slots) => slots,
            None => self.folded.entry(row.name.clone()).or_default(),
        };
        let fold = slots[usize::from(status_key(row.status))].get_or_insert_with(|| FoldedSteps {
            name: row.name.clone(),
            status: row.status,
            count: 0,
            first_seq: row.seq,
            last_seq: row.seq,
            seconds: 0.0,
            output_bytes: 0,
            spilled_bytes: 0,
            reloaded_bytes: 0,
        });
        fold.count += 1;
        fold.first_seq = fold.first_seq.min(row.seq);
        fold.last_seq = fold.last_seq.max(row.seq);
        fold.seconds += row.seconds;
        fold.output_bytes += row.output_bytes;
        fold.spilled_bytes += row.spilled_bytes;
        fold.reloaded_bytes += row.reloaded_bytes;
    }

    /// All rows in record order (finishing the live ones), and the folded ones.
    pub(crate) fn take(&mut self) -> (Vec<StepReport>, Vec<FoldedSteps>) {
        let mut live: Vec<usize> = self.live.keys().copied().collect();
        live.sort_unstable();
        for seq in live {
            self.finish(seq);
        }
        let mut rows = std::mem::take(&mut self.finished);
        rows.sort_by_key(|r| r.seq);
        (
            rows,
            std::mem::take(&mut self.folded)
                .into_values()
                .flat_map(|slots| slots.into_iter().flatten())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::report::test_row as row;

    /// The first `STEP_ROWS_CAP` finished rows are kept (in record order whatever order they
    /// finished in); later ones fold into one row per (name, status), ordered by name then
    /// status.
    #[test]
    fn rows_beyond_the_cap_fold_per_name_and_status() {
        let mut rows = StepRows::default();
        let total = STEP_ROWS_CAP + 7;
        for seq in (0..total).rev() {
            let (name, status) = match seq % 3 {
                0 => ("next", StepStatus::Executed),
                1 => ("next", StepStatus::Reused),
                _ => ("alpha", StepStatus::Executed),
            };
            rows.insert(row(seq, name, status));
            rows.finish(seq);
        }
        let (kept, folded) = rows.take();
        assert_eq!(kept.len(), STEP_ROWS_CAP);
        assert!(kept.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(kept[0].seq, 7, "the rows finished first are kept");
        let summary: Vec<(&str, StepStatus, usize, usize, usize)> = folded
            .iter()
            .map(|f| (f.name.as_str(), f.status, f.count, f.first_seq, f.last_seq))
            .collect();
        assert_eq!(
            summary,
            [
                ("alpha", StepStatus::Executed, 2, 2, 5),
                ("next", StepStatus::Executed, 3, 0, 6),
                ("next", StepStatus::Reused, 2, 1, 4),
            ]
        );
        assert_eq!(folded.iter().map(|f| f.output_bytes).sum::<u64>(), 14);
    }
}
