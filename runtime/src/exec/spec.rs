//! [`NodeSpec`]: what a recorded step is before the pipeline turns it into a node — name,
//! code hash, version, policy, serialized parameters, inputs, partitions. Made by the builder
//! (`builder.rs`) and the `#[step]` expansion's calls, consumed by `Pipeline::record_erased`
//! (`pipeline.rs`).

use crate::plan::{NodeId, Policy};

/// What a recorded step is, before the pipeline turns it into a node.
pub(super) struct NodeSpec {
    pub(super) name: String,
    pub(super) module: String,
    pub(super) code: String,
    pub(super) version: Option<String>,
    pub(super) policy: Option<Policy>,
    pub(super) params: Vec<u8>,
    pub(super) inputs: Vec<NodeId>,
    pub(super) lazy: Vec<NodeId>,
    /// Partitions a source makes (`None`: as many as its partitioned inputs, or 1).
    pub(super) partitions: Option<u32>,
}

impl NodeSpec {
    /// A spec for step `name` with nothing else set.
    pub(super) fn named(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.to_string(),
            module: String::new(),
            code: String::new(),
            version: None,
            policy: None,
            params: Vec::new(),
            inputs: Vec::new(),
            lazy: Vec::new(),
            partitions: None,
        }
    }
}
