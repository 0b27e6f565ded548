//! A prepared task and what running it produced: the unit that moves to a worker thread.
//!
//! A [`Prepared`] task owns everything its body needs — the step's closure, its input values,
//! the slots and objects of its lazy inputs — so it can run on a thread that sees only the store
//! and the accountant ([`Prepared::run`]). It is not yet plain data: the closure and the values
//! live in this process (a task description for another process is the next step of the
//! executor's design, docs/design.md "Architecture"). Made by `step.rs`, admitted by
//! `admit.rs`.

use std::time::Instant;

use super::lazy::{LazyLoad, ReadAhead, StoreSource};
use super::panics::{Caught, catch_step};
use crate::memory::Accountant;
use crate::plan::{Args, BlockId, BoxError, Compute, LazyAhead, LazySlot, Partitions, Task, Value};
use crate::store::Store;

/// A task ready to run: everything its body needs, owned, so it can move to a worker.
pub(crate) struct Prepared {
    pub(crate) task: Task,
    /// Which partition of how many the body computes.
    pub(crate) partition: Partitions,
    pub(crate) name: String,
    pub(crate) seq: usize,
    pub(crate) compute: Compute,
    pub(crate) values: Vec<Value>,
    pub(crate) lazy: Vec<BlockId>,
    /// Where each lazy input's blocks start in `lazy` (and the end).
    pub(crate) lazy_starts: Vec<usize>,
    pub(crate) slots: Vec<LazySlot>,
    pub(crate) objects: Vec<Option<(crate::store::ObjectInfo, crate::plan::ValueOps)>>,
    /// Its inputs' pins: released when the task is dropped.
    pub(crate) pinned: Vec<super::blocks::Pin>,
    pub(crate) inputs_bytes: u64,
    /// Bytes charged for the output while the step runs (released when the task is dropped).
    pub(crate) reserved: crate::memory::Reservation,
    /// A source step no earlier output tells the size of: it must run alone.
    pub(crate) size_unknown: bool,
    /// The most one lazy load charges (its decoded value and its payload).
    pub(crate) lazy_largest: u64,
    /// Lazy loads that may run beside the body's own, on other threads (0: one at a time); set
    /// by `Executor::read_ahead` for a task that runs alone.
    pub(crate) read_ahead: usize,
}

/// What running a prepared step produced.
pub(crate) struct Ran {
    /// The body's result, or where and why it panicked.
    pub(crate) result: Result<Result<Value, BoxError>, Caught>,
    pub(crate) seconds: f64,
    pub(crate) loads: Vec<LazyLoad>,
}

impl Prepared {
    /// Run the body. Needs only the store and the accountant (for lazy inputs).
    pub(crate) fn run(&self, store: &Store, memory: &Accountant) -> Ran {
        let source = StoreSource::new(store, memory, self.objects.clone());
        let width = self.read_ahead;
        let started = Instant::now();
        let result = {
            let _span = tracing::info_span!("step", name = %self.name, seq = self.seq).entered();
            if width == 0 {
                catch_step(|| self.call(&source, None))
            } else {
                // The threads loading ahead live in a scope that ends with the body: loads it
                // did not take are joined and released when `ahead` is dropped.
                std::thread::scope(|scope| {
                    let ahead = ReadAhead::new(scope, &source, width);
                    catch_step(|| self.call(&source, Some(&ahead)))
                })
            }
        };
        Ran {
            result,
            seconds: started.elapsed().as_secs_f64(),
            loads: source.into_loads(),
        }
    }

    fn call(
        &self,
        source: &StoreSource<'_>,
        ahead: Option<&dyn LazyAhead>,
    ) -> Result<Value, BoxError> {
        (self.compute)(&Args {
            step: &self.name,
            partition: self.partition,
            values: &self.values,
            lazy: &self.slots,
            lazy_starts: &self.lazy_starts,
            source: Some(source),
            ahead,
        })
    }
}
