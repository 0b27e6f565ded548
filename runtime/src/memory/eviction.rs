//! The eviction choice (Belady): among unpinned resident values, evict the one whose next use in
//! the plan is farthest away; ties go to the larger value, then to the older block.
//!
//! Generic over the key that names a value (the executor's block ids), so the choice knows
//! nothing of the lineage.

/// A resident value that may be evicted, named by `K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<K> {
    /// The value's key (lower = older).
    pub block: K,
    /// Position in the schedule of its next use; `u64::MAX` when no use is planned yet (kept only
    /// because a handle is still alive).
    pub next_use: u64,
    /// Charged bytes.
    pub bytes: u64,
}

/// Pick the victim: farthest next use, then largest, then lowest key.
pub fn choose_victim<K: Ord + Copy>(
    candidates: impl IntoIterator<Item = Candidate<K>>,
) -> Option<Candidate<K>> {
    candidates.into_iter().max_by(|a, b| {
        a.next_use
            .cmp(&b.next_use)
            .then(a.bytes.cmp(&b.bytes))
            .then(b.block.cmp(&a.block))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(block: usize, next_use: u64, bytes: u64) -> Candidate<usize> {
        Candidate {
            block,
            next_use,
            bytes,
        }
    }

    #[test]
    fn farthest_next_use_first_then_larger() {
        let v = choose_victim([c(1, 5, 10), c(2, 9, 1), c(3, 9, 2), c(4, 2, 100)]);
        assert_eq!(v.map(|c| c.block), Some(3));
        assert_eq!(
            choose_victim([c(1, 3, 7), c(2, 3, 7)]).map(|c| c.block),
            Some(1)
        );
        assert_eq!(choose_victim(Vec::<Candidate<usize>>::new()), None);
        assert_eq!(
            choose_victim([c(1, 3, 7), c(2, u64::MAX, 1)]).map(|c| c.block),
            Some(2)
        );
    }
}
