//! Counting buffers shared between values once: the ledger behind Arrow values' sizes.
//!
//! A batch derived by replacing one column shares every other column's buffers with its parent;
//! charging each value its own buffers would count the shared ones twice. [`SharedBuffers`]
//! keeps, per buffer identity (the address of an allocation), its size and how many resident
//! values hold it. Responsible for: the charge on admit (bytes of buffers no resident value held
//! yet), the release on drop or spill (bytes of buffers no other resident value holds) and the
//! bytes a drop would free (for the Belady choice). Not responsible for: finding a value's
//! buffers (`ValueOps::buffers`) or acting on the figures (the executor).

use std::collections::HashMap;

/// Identity of a buffer allocation (its start address while it is alive).
pub type BufferId = usize;

#[derive(Debug, Clone, Copy)]
struct Held {
    bytes: u64,
    holders: u32,
}

/// The buffers of the resident values, each counted once.
///
/// ```
/// use stepstone::memory::SharedBuffers;
/// let mut ledger = SharedBuffers::new();
/// assert_eq!(ledger.admit(1, &[(0xa0, 100), (0xb0, 50)]), 150);
/// assert_eq!(ledger.admit(2, &[(0xa0, 100), (0xc0, 50)]), 50); // shares 0xa0
/// assert_eq!(ledger.freed_if_dropped(1), 50);
/// assert_eq!(ledger.release(1), 50);
/// assert_eq!(ledger.release(2), 150);
/// assert_eq!(ledger.held_bytes(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SharedBuffers {
    buffers: HashMap<BufferId, Held>,
    values: HashMap<u64, Vec<BufferId>>,
    held: u64,
}

impl SharedBuffers {
    /// An empty ledger.
    pub fn new() -> SharedBuffers {
        SharedBuffers::default()
    }

    /// Value `value` became resident holding `buffers` (identity, bytes); returns the bytes to
    /// charge: buffers no resident value held before (and growth of a buffer seen smaller).
    /// The executor releases a value before admitting it again; if it does not, the old entry
    /// is released first and the net charge returned (never below zero).
    pub fn admit(&mut self, value: u64, buffers: &[(BufferId, u64)]) -> u64 {
        let released = self.release(value);
        let mut ids: Vec<BufferId> = Vec::with_capacity(buffers.len());
        let mut charge = 0u64;
        for &(id, bytes) in buffers {
            if ids.contains(&id) {
                continue; // listed twice by the same value: one holder
            }
            ids.push(id);
            let held = self.buffers.entry(id).or_insert(Held {
                bytes: 0,
                holders: 0,
            });
            if bytes > held.bytes {
                charge += bytes - held.bytes;
                held.bytes = bytes;
            }
            held.holders += 1;
        }
        self.values.insert(value, ids);
        self.held += charge;
        charge.saturating_sub(released)
    }

    /// Value `value` left memory (dropped or spilled); returns the bytes freed: its buffers no
    /// other resident value holds. Releasing an unknown value frees nothing.
    pub fn release(&mut self, value: u64) -> u64 {
        let Some(ids) = self.values.remove(&value) else {
            return 0;
        };
        let mut freed = 0u64;
        for id in ids {
            if let Some(held) = self.buffers.get_mut(&id) {
                held.holders -= 1;
                if held.holders == 0 {
                    freed += held.bytes;
                    self.buffers.remove(&id);
                }
            }
        }
        self.held -= freed;
        freed
    }

    /// Bytes [`SharedBuffers::release`] of `value` would free now (what evicting it buys).
    pub fn freed_if_dropped(&self, value: u64) -> u64 {
        self.values.get(&value).map_or(0, |ids| {
            ids.iter()
                .filter_map(|id| self.buffers.get(id))
                .filter(|held| held.holders == 1)
                .map(|held| held.bytes)
                .sum()
        })
    }

    /// Bytes of all buffers held by resident values, each once.
    pub fn held_bytes(&self) -> u64 {
        self.held
    }

    /// Whether `value` is in the ledger.
    pub fn contains(&self, value: u64) -> bool {
        self.values.contains_key(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_derived_value_costs_its_new_buffers_only() {
        let mut l = SharedBuffers::new();
        let parent = [(1, 800), (2, 400), (3, 600)];
        let child = [(1, 800), (2, 400), (4, 600)]; // column 3 replaced by 4
        assert_eq!(l.admit(10, &parent), 1800);
        assert_eq!(l.admit(11, &child), 600);
        assert_eq!(l.held_bytes(), 2400);
        assert_eq!(l.freed_if_dropped(10), 600);
        assert_eq!(l.freed_if_dropped(11), 600);
        assert_eq!(l.release(10), 600);
        assert_eq!(l.freed_if_dropped(11), 1800);
        assert_eq!(l.release(11), 1800);
        assert_eq!(l.release(11), 0);
        assert_eq!(l.held_bytes(), 0);
    }

    #[test]
    fn a_buffer_listed_twice_is_one_holder_and_readmit_is_net() {
        let mut l = SharedBuffers::new();
        assert_eq!(l.admit(1, &[(7, 100), (7, 100)]), 100);
        assert_eq!(l.freed_if_dropped(1), 100);
        assert_eq!(l.admit(1, &[(7, 100)]), 0);
        assert_eq!(l.release(1), 100);
        assert!(!l.contains(1));
    }

    proptest! {
        #[test]
        fn charges_minus_frees_is_what_is_held(
            ops in proptest::collection::vec((0u64..6, proptest::collection::vec(0usize..12, 0..6), any::<bool>()), 1..60)
        ) {
            // A buffer's size is a function of its identity, as for real allocations.
            let size = |id: usize| (id as u64 + 1) * 64;
            let mut l = SharedBuffers::new();
            let mut live: HashMap<u64, Vec<usize>> = HashMap::new();
            let (mut charged, mut freed) = (0u64, 0u64);
            for (value, ids, admit) in ops {
                if admit {
                    let buffers: Vec<(usize, u64)> = ids.iter().map(|&i| (i, size(i))).collect();
                    freed += l.release(value); // the executor releases before re-admitting
                    charged += l.admit(value, &buffers);
                    live.insert(value, ids);
                } else {
                    let expect = l.freed_if_dropped(value);
                    let got = l.release(value);
                    prop_assert_eq!(expect, got);
                    freed += got;
                    live.remove(&value);
                }
                let mut distinct: Vec<usize> = live.values().flatten().copied().collect();
                distinct.sort_unstable();
                distinct.dedup();
                let expected: u64 = distinct.iter().map(|&i| size(i)).sum();
                prop_assert_eq!(l.held_bytes(), expected);
                prop_assert_eq!(charged - freed, expected);
            }
        }
    }
}
