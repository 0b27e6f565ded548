//! The live feed of a run: what a running run has done so far, written to its run folder while
//! it goes, so `stepstone ui` (or any reader of the store, local or S3) can follow it.
//!
//! Two files, both through [`Store::write_run_file`] (atomic, on whichever tier the store uses):
//! - `runs/<id>/live.json` ([`LiveProgress`]): tasks done of planned, the current step, memory
//!   against the budget, a few recent task times. Written after a task finishes once the run has
//!   gone on for [`LIVE_EVERY`], then at most every [`LIVE_EVERY`]: a run of 100,000 tiny steps
//!   writes it twice a second at most, and a run shorter than that (most tests) not at all.
//! - `runs/<id>/tasks.json` ([`TaskTimes`]): the seconds of every task of a partitioned step
//!   (up to [`TASK_TIMES_CAP`]), written once when the run ends, beside `report.json`.
//!
//! A failed write never fails the run: it is logged once and the feed stops. Not responsible for
//! the report itself (`log.rs`) nor for what is shown on a terminal (`progress.rs`).

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::RunLog;
use crate::memory::{MemorySample, current_rss};
use crate::store::Store;

/// Name of the live progress file in a run's folder.
pub const LIVE_FILE: &str = "live.json";
/// Name of the per-task times file in a run's folder.
pub const TASKS_FILE: &str = "tasks.json";
/// Version of the `live.json` and `tasks.json` schemas.
pub const LIVE_SCHEMA_VERSION: u32 = 1;
/// Shortest time between two writes of `live.json`.
pub const LIVE_EVERY: Duration = Duration::from_millis(500);
/// Task times kept for `tasks.json`; later ones are counted in [`TaskTimes::dropped`].
pub const TASK_TIMES_CAP: usize = 100_000;

/// Memory samples kept in `live.json` (one per write; older ones are thinned out).
const LIVE_SAMPLES_CAP: usize = 600;
/// Recent task times kept in `live.json`.
const RECENT_TASKS: usize = 32;

/// The time one task (one partition of a step) took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskTime {
    /// Record order of the step.
    pub seq: usize,
    /// The partition.
    pub partition: u32,
    /// Seconds its body ran.
    pub seconds: f64,
}

/// A recent task, named (`live.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentTask {
    /// Step name.
    pub step: String,
    /// Record order of the step.
    pub seq: usize,
    /// The partition (0 for an unpartitioned step).
    pub partition: u32,
    /// Seconds its body ran.
    pub seconds: f64,
}

/// `runs/<id>/live.json`: a running run's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveProgress {
    /// [`LIVE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run identifier.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Start time (RFC 3339, UTC).
    pub started_at: String,
    /// When this file was written, milliseconds since the Unix epoch (to tell a live run from
    /// one that was killed).
    pub updated_unix_ms: u64,
    /// Seconds since the run started.
    pub seconds: f64,
    /// Tasks (step × partition) planned so far.
    pub tasks_planned: u64,
    /// Tasks done so far (computed or found stored).
    pub tasks_done: u64,
    /// The step of the last task done.
    pub current_step: String,
    /// Budget in bytes.
    pub budget_bytes: u64,
    /// Bytes the runtime accounts now.
    pub tracked_bytes: u64,
    /// Resident set size of the process now.
    pub rss_bytes: u64,
    /// Bytes spilled so far.
    pub spilled_bytes: u64,
    /// Memory at each write of this file.
    pub timeline: Vec<MemorySample>,
    /// The last tasks computed, oldest first.
    pub recent_tasks: Vec<RecentTask>,
}

/// `runs/<id>/tasks.json`: the time of every task of a partitioned step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskTimes {
    /// [`LIVE_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// In the order they finished.
    pub tasks: Vec<TaskTime>,
    /// Tasks past [`TASK_TIMES_CAP`], not listed.
    pub dropped: u64,
}

/// What the executor knows at the end of a task that the log does not.
pub(crate) struct LiveNow<'a> {
    pub(crate) pipeline: &'a str,
    pub(crate) step: &'a str,
    pub(crate) tracked: u64,
    pub(crate) budget: u64,
}

/// The feed's state inside the [`RunLog`].
#[derive(Debug)]
pub(crate) struct LiveFeed {
    started: Instant,
    /// The last write of `live.json`, or the start.
    last_write: Instant,
    stopped: bool,
    planned: u64,
    done: u64,
    samples: Vec<MemorySample>,
    recent: VecDeque<RecentTask>,
    tasks: TaskTimes,
}

impl Default for LiveFeed {
    fn default() -> Self {
        let now = Instant::now();
        LiveFeed {
            started: now,
            last_write: now,
            stopped: false,
            planned: 0,
            done: 0,
            samples: Vec::new(),
            recent: VecDeque::with_capacity(RECENT_TASKS),
            tasks: TaskTimes {
                schema_version: LIVE_SCHEMA_VERSION,
                ..TaskTimes::default()
            },
        }
    }
}

impl RunLog {
    /// More tasks were planned (beside the progress view's count).
    pub(crate) fn live_planned(&mut self, tasks: u64) {
        self.live.planned += tasks;
    }

    /// Task `partition` of step `seq` (`partitions` in all) ran for `seconds`.
    pub(crate) fn live_task_time(
        &mut self,
        seq: usize,
        step: &str,
        (partition, partitions): (u32, u32),
        seconds: f64,
    ) {
        let feed = &mut self.live;
        if partitions > 1 {
            if feed.tasks.tasks.len() < TASK_TIMES_CAP {
                feed.tasks.tasks.push(TaskTime {
                    seq,
                    partition,
                    seconds,
                });
            } else {
                feed.tasks.dropped += 1;
            }
        }
        // Reuse the oldest entry's name buffer: no allocation per task once the ring is full.
        let mut entry = if feed.recent.len() == RECENT_TASKS {
            feed.recent.pop_front()
        } else {
            None
        }
        .unwrap_or(RecentTask {
            step: String::new(),
            seq,
            partition,
            seconds,
        });
        entry.step.clear();
        entry.step.push_str(step);
        (entry.seq, entry.partition, entry.seconds) = (seq, partition, seconds);
        feed.recent.push_back(entry);
    }

    /// A task is done: rewrite `live.json` when the last write (or the start) is older than
    /// [`LIVE_EVERY`].
    pub(crate) fn live_step_done(&mut self, store: &Store, now: LiveNow<'_>) {
        self.live.done += 1;
        if self.live.stopped || self.live.last_write.elapsed() < LIVE_EVERY {
            return;
        }
        self.live.last_write = Instant::now();
        let seconds = self.live.started.elapsed().as_secs_f64();
        let rss = current_rss();
        let feed = &mut self.live;
        if feed.samples.len() == LIVE_SAMPLES_CAP {
            // Keep every other sample: the timeline stays bounded and spans the whole run.
            let mut i = 0;
            feed.samples.retain(|_| {
                i += 1;
                i % 2 == 0
            });
        }
        feed.samples.push(MemorySample {
            t: seconds,
            tracked_bytes: now.tracked,
            rss_bytes: rss,
        });
        let progress = LiveProgress {
            schema_version: LIVE_SCHEMA_VERSION,
            run_id: self.run_id.clone(),
            pipeline: now.pipeline.to_string(),
            started_at: self.started_at.clone(),
            updated_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            seconds,
            tasks_planned: feed.planned,
            tasks_done: feed.done,
            current_step: now.step.to_string(),
            budget_bytes: now.budget,
            tracked_bytes: now.tracked,
            rss_bytes: rss,
            spilled_bytes: self.totals.spilled_bytes,
            timeline: feed.samples.clone(),
            recent_tasks: feed.recent.iter().cloned().collect(),
        };
        write_or_stop(&mut self.live.stopped, store, LIVE_FILE, &progress);
    }

    /// The run ends: write `tasks.json` when any partitioned task ran.
    pub(crate) fn live_finish(&mut self, store: &Store) {
        if self.live.tasks.tasks.is_empty() && self.live.tasks.dropped == 0 {
            return;
        }
        let tasks = std::mem::take(&mut self.live.tasks);
        let mut stopped = false;
        write_or_stop(&mut stopped, store, TASKS_FILE, &tasks);
    }
}

/// Write `value` as `runs/<id>/<name>`; on failure warn and set `stopped`.
fn write_or_stop<T: Serialize>(stopped: &mut bool, store: &Store, name: &str, value: &T) {
    let written = serde_json::to_vec(value)
        .map_err(|e| e.to_string())
        .and_then(|json| store.write_run_file(name, &json).map_err(|e| e.to_string()));
    if let Err(error) = written {
        *stopped = true;
        tracing::warn!(
            file = name,
            %error,
            "cannot write the run's live progress; the run goes on without it"
        );
    }
}
