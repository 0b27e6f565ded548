//! Parallel execution (`--jobs N`): independent ready steps run on worker threads, admitted in
//! schedule order only when their pinned inputs and output estimate fit the budget. The
//! scheduler thread keeps all bookkeeping (loads, spills, checkpoints, accounting); workers only
//! run step bodies.

use std::collections::HashMap;
use std::sync::{Arc, mpsc};

use super::admit::Finished;
use super::executor::Executor;
use super::task::{Prepared, Ran};
use crate::plan::{BlockId, Lineage, Task};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
}

impl Executor {
    /// Run `schedule` with up to `--jobs` steps at once.
    pub(crate) fn run_parallel(
        &mut self,
        lineage: &mut Lineage,
        schedule: &[Task],
        reads_of_task: &[Vec<BlockId>],
    ) -> crate::Result<()> {
        let store = Arc::clone(&self.services.store);
        let memory = Arc::clone(&self.services.memory);
        let position: HashMap<Task, usize> = schedule
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let mut state = vec![State::Pending; schedule.len()];
        let mut reads_of: HashMap<usize, Vec<BlockId>> = HashMap::new();
        // Runs discarded per position because a lazy input was unreadable (see `Finished`).
        let mut retries: HashMap<usize, usize> = HashMap::new();
        let jobs = self.config.jobs;
        std::thread::scope(|scope| {
            let (done_tx, done_rx) = mpsc::channel::<(usize, Prepared, Ran)>();
            let mut running = 0usize;
            // A step of unknown output size is running: nothing else may start beside it.
            let mut exclusive = false;
            let mut first_pending = 0usize;
            loop {
                // A stop was asked for: start nothing new; return once the running steps end.
                let stopping = super::interrupt::requested().is_some();
                while running < jobs && !exclusive && !stopping {
                    while first_pending < schedule.len() && state[first_pending] == State::Done {
                        first_pending += 1;
                    }
                    let ready = (first_pending..schedule.len()).find(|&pos| {
                        state[pos] == State::Pending
                            && parents_done(lineage, &reads_of_task[pos], &position, &state)
                    });
                    let Some(pos) = ready else { break };
                    let task = schedule[pos];
                    let reads = reads_of_task[pos].clone();
                    if self.task_present(lineage, task) {
                        state[pos] = State::Done;
                        self.after_step(lineage, pos, task, &reads);
                        continue;
                    }
                    // Nothing running: this step must go ahead (and fail clearly if it cannot fit).
                    let Some(mut prepared) = self.prepare(lineage, task, running == 0)? else {
                        break;
                    };
                    let alone = running == 0
                        && !(pos + 1..schedule.len()).any(|other| {
                            state[other] == State::Pending
                                && parents_done(lineage, &reads_of_task[other], &position, &state)
                        });
                    if alone {
                        // Nothing could run beside it: run it here, so a linear chain never
                        // starts a thread (glibc's malloc is slower in a threaded process);
                        // its lazy inputs may load on the other cores.
                        prepared.read_ahead = self.read_ahead(&prepared);
                        let ran = prepared.run(&store, &memory);
                        let tries = retries.entry(pos).or_default();
                        if let Finished::Retry = self.finish(lineage, prepared, ran, tries)? {
                            continue;
                        }
                        state[pos] = State::Done;
                        self.after_step(lineage, pos, task, &reads);
                        continue;
                    }
                    state[pos] = State::Running;
                    exclusive = prepared.size_unknown;
                    reads_of.insert(pos, reads);
                    running += 1;
                    let (tx, store, memory) = (done_tx.clone(), &*store, &*memory);
                    scope.spawn(move || {
                        let ran = prepared.run(store, memory);
                        let _ = tx.send((pos, prepared, ran));
                    });
                }
                if running == 0 {
                    self.check_stop()?;
                    if let Some(pos) = state.iter().position(|s| *s == State::Pending) {
                        let id = schedule[pos].node;
                        return Err(super::ExecError::Lost {
                            step: lineage.get(id).map(|n| n.name.clone()).unwrap_or_default(),
                            seq: id.0,
                            why: "the scheduler found no runnable step (a bug: please report it)"
                                .into(),
                        }
                        .into());
                    }
                    return Ok(());
                }
                let Ok((pos, prepared, ran)) = done_rx.recv() else {
                    return Ok(());
                };
                running -= 1;
                exclusive = false;
                let task = prepared.task;
                let tries = retries.entry(pos).or_default();
                let reads = reads_of.remove(&pos).unwrap_or_default();
                if let Finished::Retry = self.finish(lineage, prepared, ran, tries)? {
                    state[pos] = State::Pending;
                    continue;
                }
                state[pos] = State::Done;
                self.after_step(lineage, pos, task, &reads);
            }
        })
    }
}

/// Whether every task of the schedule that makes a block of `reads` is done.
fn parents_done(
    lineage: &Lineage,
    reads: &[BlockId],
    position: &HashMap<Task, usize>,
    state: &[State],
) -> bool {
    reads.iter().all(|b| {
        let producer = Task {
            node: b.node,
            index: b.part / lineage.get(b.node).map_or(1, |n| n.fanout.max(1)),
        };
        position
            .get(&producer)
            .is_none_or(|&pos| state[pos] == State::Done)
    })
}
