//! Lazy inputs: a step that reads many large datasets one after another (`Args::parts`) gets
//! them loaded on demand while it runs, so only one has to be resident at a time.

use std::sync::{Mutex, PoisonError};

use super::ExecError;
use super::blocks::Pin;
use super::executor::Executor;
use super::objects::ReadFailure;
use crate::memory::Accountant;
use crate::plan::{BlockId, LazyAhead, LazySlot, LazySource, Lineage, Policy, Value, ValueOps};
use crate::store::{ObjectInfo, Store};

/// One lazy load that happened during a step: input index, payload bytes read, or the failure.
pub(crate) type LazyLoad = (usize, Result<u64, ReadFailure>);

/// Loads lazy inputs from the store during a step, charging the accountant.
pub(crate) struct StoreSource<'a> {
    store: &'a Store,
    memory: &'a Accountant,
    objects: Vec<Option<(ObjectInfo, ValueOps)>>,
    loads: Mutex<Vec<LazyLoad>>,
}

impl<'a> StoreSource<'a> {
    pub(crate) fn new(
        store: &'a Store,
        memory: &'a Accountant,
        objects: Vec<Option<(ObjectInfo, ValueOps)>>,
    ) -> Self {
        StoreSource {
            store,
            memory,
            objects,
            loads: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn into_loads(self) -> Vec<LazyLoad> {
        self.loads
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl LazySource for StoreSource<'_> {
    fn fetch(&self, index: usize) -> Result<(Value, u64), String> {
        let Some(Some((info, ops))) = self.objects.get(index) else {
            return Err("no stored object".into());
        };
        let result = self
            .store
            .read_value(info.key, info.kind, ops.type_name)
            .map_err(|e| ReadFailure::of_store(&e))
            .and_then(|(info, payload)| {
                let value = (ops.decode)(payload).map_err(|e| {
                    ReadFailure::Invalid(format!("decoding {}: {e}", ops.type_name))
                })?;
                Ok((value, info.payload_len))
            });
        let mut loads = self.loads.lock().unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok((value, payload_len)) => {
                loads.push((index, Ok(payload_len)));
                let charge = (ops.footprint)(&*value).resident;
                self.memory.charge(charge);
                Ok((value, charge))
            }
            Err(e) => {
                let why = e.why().to_string();
                loads.push((index, Err(e)));
                Err(why)
            }
        }
    }

    fn release(&self, bytes: u64) {
        self.memory.release(bytes);
    }
}

impl Executor {
    /// Make every lazy input resident or stored (computing those that are neither); `cache`
    /// inputs are pinned resident since they have no object to load from. Returns the largest
    /// charge one lazy load will take.
    pub(crate) fn prepare_lazy(
        &mut self,
        lineage: &mut Lineage,
        lazy: &[BlockId],
        pinned: &mut Vec<Pin>,
    ) -> crate::Result<u64> {
        let mut largest = 0u64;
        self.spill_failure = None;
        for &p in lazy {
            let cache = lineage
                .get(p.node)
                .is_some_and(|n| n.policy == Policy::Cache);
            let available = self.blocks.get(p).is_present() || self.probe_earlier(lineage, p)?;
            if !available || cache {
                self.ensure_resident(lineage, p)?;
            }
            if cache && lineage.get(p.node).is_some() {
                pinned.push(self.blocks.get_mut(p).pins.pin());
            }
            if lineage.get(p.node).is_some() {
                let b = self.blocks.get(p);
                let load = b.stored.as_ref().map_or(b.charged, |s| {
                    s.footprint.resident.max(b.charged) + s.raw_len
                });
                largest = largest.max(load);
            }
        }
        // Making a later input resident evicts earlier ones to disk; if such a spill failed, the
        // evicted input was dropped and is neither in memory nor stored: say why, instead of
        // letting the step find "no stored object".
        if let Some(failure) = self.spill_failure.take()
            && let Some(&lost) = lazy
                .iter()
                .find(|&&p| lineage.get(p.node).is_some() && !self.blocks.get(p).is_present())
        {
            let name = |id: BlockId| {
                lineage
                    .get(id.node)
                    .map(|n| n.name.clone())
                    .unwrap_or_default()
            };
            return Err(ExecError::SpillFailed {
                input: name(lost),
                failure,
            }
            .into());
        }
        Ok(largest)
    }

    /// The slots a step's lazy inputs are served from, and the objects stored ones load from.
    #[allow(clippy::type_complexity)]
    pub(crate) fn lazy_slots(
        &self,
        lineage: &Lineage,
        lazy: &[BlockId],
    ) -> (Vec<LazySlot>, Vec<Option<(ObjectInfo, ValueOps)>>) {
        let mut slots = Vec::with_capacity(lazy.len());
        let mut objects = Vec::with_capacity(lazy.len());
        for p in lazy {
            let b = self.blocks.get(*p);
            match &b.value {
                Some(value) => {
                    slots.push(LazySlot::Resident(value.clone()));
                    objects.push(None);
                }
                None => {
                    slots.push(LazySlot::Stored);
                    let ops = lineage.get(p.node).map(|n| n.ops);
                    objects.push(b.stored.clone().zip(ops));
                }
            }
        }
        (slots, objects)
    }

    /// Account lazy loads in the report; forget objects that failed their checks. Returns the
    /// first failure, if a load failed (an I/O failure keeps its object).
    pub(crate) fn record_lazy_loads(
        &mut self,
        lineage: &mut Lineage,
        lazy: &[BlockId],
        loads: Vec<LazyLoad>,
    ) -> Option<(BlockId, ReadFailure)> {
        let mut unreadable = None;
        for (index, result) in loads {
            let Some(&id) = lazy.get(index) else { continue };
            match result {
                Ok(bytes) => {
                    let event = crate::report::StepEvent::Reloaded { bytes, first: None };
                    self.services.log.record(id.node.0, event);
                    self.mark_loaded(lineage, id);
                    self.block_event(lineage, "reload", id, bytes);
                }
                Err(failure) => {
                    if let ReadFailure::Invalid(why) = &failure {
                        self.forget_object(lineage, id, why);
                    }
                    unreadable.get_or_insert((id, failure));
                }
            }
        }
        unreadable
    }
}

/// The result of one lazy load.
type Loaded = Result<(Value, u64), String>;

/// Lazy loads started ahead of a step's body on scoped threads ([`LazyAhead`]): owned by the
/// task's run, which ends the scope. Loads nobody took are joined and their charges released
/// when it is dropped (a body that stopped reading early).
pub(crate) struct ReadAhead<'scope, 'env> {
    scope: &'scope std::thread::Scope<'scope, 'env>,
    source: &'env StoreSource<'env>,
    width: usize,
    started: Mutex<Vec<(usize, std::thread::ScopedJoinHandle<'scope, Loaded>)>>,
}

impl<'scope, 'env> ReadAhead<'scope, 'env> {
    /// Loads of `source` on `scope`, `width` beside the body's own.
    pub(crate) fn new(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        source: &'env StoreSource<'env>,
        width: usize,
    ) -> Self {
        ReadAhead {
            scope,
            source,
            width,
            started: Mutex::new(Vec::new()),
        }
    }

    fn join(handle: std::thread::ScopedJoinHandle<'scope, Loaded>) -> Loaded {
        handle
            .join()
            .unwrap_or_else(|_| Err("the thread loading it panicked".into()))
    }
}

impl LazyAhead for ReadAhead<'_, '_> {
    fn width(&self) -> usize {
        self.width
    }

    fn start(&self, index: usize) {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        if started.iter().any(|(i, _)| *i == index) {
            return;
        }
        let source = self.source;
        let handle = self.scope.spawn(move || source.fetch(index));
        started.push((index, handle));
    }

    fn take(&self, index: usize) -> Option<Loaded> {
        let handle = {
            let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
            let at = started.iter().position(|(i, _)| *i == index)?;
            started.swap_remove(at).1
        };
        Some(Self::join(handle))
    }
}

impl Drop for ReadAhead<'_, '_> {
    fn drop(&mut self) {
        let started = std::mem::take(
            self.started
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (_, handle) in started {
            if let Ok((_, bytes)) = Self::join(handle) {
                self.source.release(bytes);
            }
        }
    }
}
