//! Per-partition identity: what lets one partition of a node be reused while another is
//! recomputed.
//!
//! A node's [`Fingerprint`] covers its code, parameters and its parents' fingerprints: the same
//! for every partition. That is enough when a partition's content follows from its index alone
//! (`Partitions::new(n)`). A source partitioned over files (one task per file of an
//! `InputGlob`) is different: partition i's content follows from file i's content, and adding a
//! file must not change what the other partitions are. Such a node carries **salts**, one per
//! task: for the file source, `xxh3(path, content hash)` of the task's file; for a node that
//! reads a salted node, a hash over the identities of the blocks the task reads (see
//! [`task_salts`]). A salted block is stored under `xxh3(node fingerprint, salt)` and the block's
//! index within its task (0, or a shuffle split's bucket): not under its partition index, so a
//! file added before it in sorted order does not move its key.
//!
//! Nodes that read nothing salted have no salts, and their keys are exactly what they were
//! before (node fingerprint, partition index). Not responsible for hashing files
//! ([`crate::input`]) nor for deciding what runs (the executor probes each block by its key).

use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

use super::partition::ReadRule;
use super::{Fingerprint, Lineage, NodeId};

/// One salt per task of a salted node (`None`: the node's blocks are keyed by the node's
/// fingerprint and their index, as always).
pub(crate) type Salts = Option<Arc<[u128]>>;

/// The fingerprint and the part number that key block `part` of a node with `fingerprint`,
/// `fanout` blocks per task and `salts`.
pub(crate) fn block_key(
    fingerprint: Fingerprint,
    fanout: u32,
    salts: &Salts,
    part: u32,
) -> (Fingerprint, u32) {
    let Some(salts) = salts else {
        return (fingerprint, part);
    };
    let fanout = fanout.max(1);
    let salt = salts.get((part / fanout) as usize).copied().unwrap_or(0);
    (mix(fingerprint.0, salt), part % fanout)
}

/// The salt of one input file: its path and its content hash.
pub(crate) fn file_salt(path: &std::path::Path, content: u128) -> u128 {
    let mut h = Xxh3::new();
    let bytes = path.as_os_str().as_encoded_bytes();
    h.update(b"file");
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
    h.update(&content.to_le_bytes());
    h.digest128()
}

/// What a node about to be recorded is, for its salts.
pub(crate) struct Shape<'a> {
    /// Parents in argument order, eager then lazy.
    pub(crate) parents: &'a [NodeId],
    /// Where the lazy parents start.
    pub(crate) lazy_from: usize,
    /// Its task count.
    pub(crate) partitions: u32,
    /// How its tasks read their eager parents.
    pub(crate) rule: ReadRule,
}

/// The salts of a node of `shape`: `own` when it is a file source (one per file), else, when a
/// parent is salted, one per task hashing what the task reads — the identity of each eager
/// block it reads (a salted block's salt and bucket, an unsalted block's index), every block of
/// each lazy parent, and for a gather its own index (each gather task reads bucket `index` of
/// every split task). `None` when nothing it reads is salted.
pub(crate) fn task_salts(lineage: &Lineage, shape: &Shape<'_>, own: Option<Vec<u128>>) -> Salts {
    if let Some(own) = own {
        return Some(own.into());
    }
    let salted = |p: &NodeId| lineage.get(*p).is_some_and(|n| n.salts.is_some());
    if !shape.parents.iter().any(salted) {
        return None;
    }
    let (eager, lazy) = shape
        .parents
        .split_at(shape.lazy_from.min(shape.parents.len()));
    // Lazy parents are read whole by every task: hash them once.
    let mut common = Xxh3::new();
    for p in lazy {
        common.update(&whole_identity(lineage, *p).to_le_bytes());
    }
    let common = common.digest128();
    let salts = (0..shape.partitions).map(|task| {
        let mut h = Xxh3::new();
        h.update(&common.to_le_bytes());
        for p in eager {
            let identity = match shape.rule {
                ReadRule::Map => {
                    let blocks = lineage.get(*p).map_or(1, |n| n.blocks());
                    block_identity(lineage, *p, if blocks > 1 { task } else { 0 })
                }
                ReadRule::Gather => mix(whole_identity(lineage, *p), u128::from(task)).0,
            };
            h.update(&identity.to_le_bytes());
        }
        h.digest128()
    });
    Some(salts.collect())
}

/// What block `part` of `node` is, within a salt: its salt and bucket when salted, else its
/// index (the node's fingerprint, already in the reader's, says the rest).
fn block_identity(lineage: &Lineage, node: NodeId, part: u32) -> u128 {
    match lineage.get(node) {
        Some(n) if n.salts.is_some() => {
            let (salted, bucket) = block_key(Fingerprint(0), n.fanout, &n.salts, part);
            mix(salted.0, u128::from(bucket)).0
        }
        _ => u128::from(part),
    }
}

/// Every block of `node` at once: its salts in order (or its block count when unsalted).
fn whole_identity(lineage: &Lineage, node: NodeId) -> u128 {
    let mut h = Xxh3::new();
    match lineage.get(node) {
        Some(n) => match &n.salts {
            Some(salts) => {
                h.update(&n.fanout.to_le_bytes());
                for s in salts.iter() {
                    h.update(&s.to_le_bytes());
                }
            }
            None => h.update(&n.blocks().to_le_bytes()),
        },
        None => h.update(b"gone"),
    }
    h.digest128()
}

/// Two 128-bit values into one fingerprint.
fn mix(a: u128, b: u128) -> Fingerprint {
    let mut h = Xxh3::new();
    h.update(&a.to_le_bytes());
    h.update(&b.to_le_bytes());
    Fingerprint(h.digest128())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsalted_blocks_keep_their_node_key_and_salted_ones_follow_their_salt() {
        let fp = Fingerprint(42);
        assert_eq!(block_key(fp, 1, &None, 3), (fp, 3));
        let salts: Salts = Some(vec![7, 8].into());
        let (a, part) = block_key(fp, 1, &salts, 1);
        assert_eq!(part, 0, "a salted block is not keyed by its index");
        assert_ne!(a, fp);
        assert_ne!(a, block_key(fp, 1, &salts, 0).0);
        // The same salt at another index (a file added before it) keys the same object.
        let moved: Salts = Some(vec![5, 7, 8].into());
        assert_eq!(block_key(fp, 1, &moved, 2), (a, 0));
        // A split's buckets share their task's salt and differ by bucket.
        let split = block_key(fp, 4, &salts, 6);
        assert_eq!(split.1, 2);
        assert_eq!(split.0, block_key(fp, 4, &salts, 5).0);
    }

    #[test]
    fn a_file_salt_follows_path_and_content() {
        let p = std::path::Path::new("a.csv");
        assert_eq!(file_salt(p, 1), file_salt(p, 1));
        assert_ne!(file_salt(p, 1), file_salt(p, 2));
        assert_ne!(file_salt(p, 1), file_salt(std::path::Path::new("b.csv"), 1));
    }
}
