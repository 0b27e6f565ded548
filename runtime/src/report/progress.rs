//! Live progress: an indicatif bar on a terminal (steps done/planned, current step, tracked
//! memory against the budget, RSS, bytes spilled), plain lines with `--progress` on a
//! non-terminal, nothing otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Progress;
use crate::memory::{current_rss, human_bytes};

/// How often plain progress lines are printed at most.
const LINE_EVERY: Duration = Duration::from_secs(1);

/// Where progress goes for one run.
#[derive(Debug)]
pub(crate) struct ProgressView {
    bar: Option<ProgressBar>,
    lines: bool,
    planned: u64,
    done: u64,
    last_line: Option<Instant>,
}

/// What the view shows after a step.
pub(crate) struct StepProgress<'a> {
    pub(crate) step: &'a str,
    pub(crate) tracked: u64,
    pub(crate) budget: u64,
    pub(crate) spilled: u64,
}

impl ProgressView {
    pub(crate) fn new(mode: Progress) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let (bar, lines) = match (mode, terminal) {
            (Progress::Never, _) | (Progress::Auto, false) => (None, false),
            (_, true) => {
                let bar =
                    ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(10));
                let style = ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} steps  {msg}",
                )
                .map(|s| s.progress_chars("=> "))
                .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                (Some(bar), false)
            }
            (Progress::Always, false) => (None, true),
        };
        ProgressView {
            bar,
            lines,
            planned: 0,
            done: 0,
            last_line: None,
        }
    }

    /// More steps were planned.
    pub(crate) fn planned(&mut self, steps: u64) {
        self.planned += steps;
        if let Some(bar) = &self.bar {
            bar.set_length(self.planned);
        }
    }

    /// Whether anything is displayed (callers skip building a [`StepProgress`] otherwise).
    pub(crate) fn is_shown(&self) -> bool {
        self.bar.is_some() || self.lines
    }

    /// One planned step is done.
    pub(crate) fn step_done(&mut self, p: StepProgress<'_>) {
        self.done += 1;
        let text = format!(
            "{}  mem {} / {}  rss {}  spilled {}",
            p.step,
            human_bytes(p.tracked),
            human_bytes(p.budget),
            human_bytes(current_rss()),
            human_bytes(p.spilled)
        );
        if let Some(bar) = &self.bar {
            bar.set_position(self.done);
            bar.set_message(text);
        } else if self.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY)
            || self.done == self.planned
        {
            self.last_line = Some(Instant::now());
            eprintln!("[{}/{}] {text}", self.done, self.planned);
        }
    }

    /// The run is over: remove the bar (the summary table follows).
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
