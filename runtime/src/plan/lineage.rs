//! The lineage DAG (in progress).
pub(crate) struct Lineage;
pub(crate) struct Node;
