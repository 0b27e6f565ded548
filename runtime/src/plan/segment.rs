//! Segments: the unit of work that leaves the process.
//!
//! A segment is a group of a schedule's tasks that runs in one worker, under the worker's own
//! budget, with local spills: only the values other segments (or the coordinator) read cross
//! the process boundary, as stored objects. The planner groups tasks in schedule order: a task
//! joins the segment that makes every block it reads in this schedule (a partition's chain of
//! narrow steps, or a whole unpartitioned chain); a task that reads blocks of several segments
//! (an aggregate over partitions, a shuffle's gather, a join of two datasets) or none (a source,
//! a step reading only stored blocks) starts a segment of its own. Since a task joins only the
//! one segment it depends on, segments form a DAG in schedule order.
//!
//! Owns the grouping and the order between segments. Not responsible for which blocks must be
//! written at a segment's edge (the executor knows who else reads a block, `processes.rs`).

use rustc_hash::FxHashMap;

use super::{BlockId, Lineage, Task};

/// Tasks of a schedule that run together in one worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Positions in the schedule, ascending.
    pub(crate) positions: Vec<usize>,
    /// Segments (by index) that make a block one of its tasks reads.
    pub(crate) after: Vec<usize>,
}

/// Group `tasks` (schedule order; `reads[i]`: the blocks task i reads) into segments.
pub(crate) fn segments(lineage: &Lineage, tasks: &[Task], reads: &[Vec<BlockId>]) -> Vec<Segment> {
    let position: FxHashMap<Task, usize> = tasks.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut segment_of = vec![usize::MAX; tasks.len()];
    let mut out: Vec<Segment> = Vec::new();
    for (pos, reads) in reads.iter().enumerate().take(tasks.len()) {
        let mut makers: Vec<usize> = reads
            .iter()
            .filter_map(|b| {
                let fanout = lineage.get(b.node).map_or(1, |n| n.fanout.max(1));
                let producer = Task {
                    node: b.node,
                    index: b.part / fanout,
                };
                position.get(&producer).map(|&p| segment_of[p])
            })
            .filter(|s| *s != usize::MAX)
            .collect();
        makers.sort_unstable();
        makers.dedup();
        let joined = match makers.as_slice() {
            [one] => *one,
            _ => {
                out.push(Segment {
                    positions: Vec::new(),
                    after: makers,
                });
                out.len() - 1
            }
        };
        out[joined].positions.push(pos);
        segment_of[pos] = joined;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::NodeId;

    fn t(node: usize, index: u32) -> Task {
        Task {
            node: NodeId(node),
            index,
        }
    }

    #[test]
    fn chains_per_partition_and_a_reader_of_all_of_them_alone() {
        let lineage = Lineage::default();
        // Two partitions of a two-step chain (nodes 0 → 1), then node 2 reading both.
        let tasks = [t(0, 0), t(1, 0), t(0, 1), t(1, 1), t(2, 0)];
        let b = |n: usize, p: u32| BlockId::new(NodeId(n), p);
        let reads = vec![
            vec![],
            vec![b(0, 0)],
            vec![],
            vec![b(0, 1)],
            vec![b(1, 0), b(1, 1)],
        ];
        let segs = segments(&lineage, &tasks, &reads);
        assert_eq!(segs.len(), 3);
        assert_eq!(segs[0].positions, vec![0, 1]);
        assert_eq!(segs[1].positions, vec![2, 3]);
        assert_eq!(segs[2].positions, vec![4]);
        assert_eq!(segs[2].after, vec![0, 1]);
        assert!(segs[0].after.is_empty());
    }

    #[test]
    fn a_step_reading_only_stored_blocks_starts_a_segment() {
        let lineage = Lineage::default();
        // Node 5's block is stored (not made in this schedule): the task starts a segment,
        // and the next one joins it.
        let tasks = [t(6, 0), t(7, 0)];
        let b = |n: usize, p: u32| BlockId::new(NodeId(n), p);
        let reads = vec![vec![b(5, 0)], vec![b(6, 0), b(5, 0)]];
        let segs = segments(&lineage, &tasks, &reads);
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].positions, vec![0, 1]);
    }
}
