//! The eviction choice (Belady): among unpinned resident values, evict the one whose next use in
//! the plan is farthest away; ties go to the larger value, then to the older node.

use crate::plan::NodeId;

/// A resident value that may be evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The node holding the value.
    pub node: NodeId,
    /// Position in the schedule of its next use; `u64::MAX` when no use is planned yet (kept only
    /// because a handle is still alive).
    pub next_use: u64,
    /// Charged bytes.
    pub bytes: u64,
}

/// Pick the victim: farthest next use, then largest, then lowest node id.
pub fn choose_victim(candidates: impl IntoIterator<Item = Candidate>) -> Option<Candidate> {
    candidates.into_iter().max_by(|a, b| {
        a.next_use
            .cmp(&b.next_use)
            .then(a.bytes.cmp(&b.bytes))
            .then(b.node.cmp(&a.node))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(node: usize, next_use: u64, bytes: u64) -> Candidate {
        Candidate {
            node: NodeId(node),
            next_use,
            bytes,
        }
    }

    #[test]
    fn farthest_next_use_first_then_larger() {
        let v = choose_victim([c(1, 5, 10), c(2, 9, 1), c(3, 9, 2), c(4, 2, 100)]);
        assert_eq!(v.map(|c| c.node), Some(NodeId(3)));
        assert_eq!(
            choose_victim([c(1, 3, 7), c(2, 3, 7)]).map(|c| c.node),
            Some(NodeId(1))
        );
        assert_eq!(choose_victim(Vec::new()), None);
        assert_eq!(
            choose_victim([c(1, 3, 7), c(2, u64::MAX, 1)]).map(|c| c.node),
            Some(NodeId(2))
        );
    }
}
