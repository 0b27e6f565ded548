//! Content-addressed steps in the executor: recording a step with `InputFile` / `InputGlob`
//! parameters or `#[step(volatile)]`, resolving its identity, and checking its inputs after it
//! ran.
//!
//! Such a node's fingerprint at record time (its *static* fingerprint) covers code, parameters,
//! parents and the content hash of its input files. Its children, however, see its
//! [`content_identity`]: the hash of its output's content. That identity is resolved when the
//! node is recorded — from the record of an earlier run (static fingerprint → output hash) when
//! there is one and the step is not volatile, else by running the step right away. So a
//! volatile step always runs, an input step runs when its files changed, and in both cases its
//! descendants are reused exactly when its output came out the same (early cutoff).
//!
//! Hooks elsewhere: `Pipeline::record_node` (take the pending content, mix the input hash into
//! the fingerprint, call [`Pipeline::resolve_content`]) and `Pipeline::finish` (call
//! [`Pipeline::check_content`] before the output is admitted). Not responsible for hashing files
//! ([`crate::input`]) or for the report's wording ([`crate::report`]).

use std::io::Write;

use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use super::pipeline::Pipeline;
use crate::input::{InputSource, NodeContent, changed_since_hashed};
use crate::plan::{
    Args, BoxError, Data, Fingerprint, Handle, NodeId, StepSpec, Value, content_identity,
};

impl Pipeline {
    /// Record a step whose parameters include input files: `files` are `(parameter name,
    /// source)` for each `InputFile` / `InputGlob` parameter (what `#[step]` passes). The
    /// files are hashed now; a missing one makes the run fail, naming step, parameter and path,
    /// before this step or any step recorded after it runs.
    pub fn record_with_inputs<T: Data, P: Serialize + ?Sized>(
        &mut self,
        spec: &StepSpec,
        params: &P,
        inputs: &[NodeId],
        lazy: &[NodeId],
        files: &[(&str, &dyn InputSource)],
        compute: impl Fn(&Args<'_>) -> Result<T, BoxError> + Send + Sync + 'static,
    ) -> Handle<T> {
        let mut content = NodeContent {
            volatile: spec.volatile,
            helpers: spec.helpers,
            name: spec.name.to_string(),
            module: spec.module.to_string(),
            ..NodeContent::default()
        };
        if !files.is_empty() {
            let dir = self.config.checkpoint_dir.clone();
            match self.inputs.hash_params(&dir, spec.name, files) {
                Ok((hash, reads)) => {
                    content.inputs_hash = Some(hash);
                    content.reads = reads;
                }
                Err(e) => {
                    // Still content-addressed, so the step is not resolved from a record.
                    content.inputs_hash = Some(0);
                    if self.deferred.is_none() {
                        self.deferred = Some(e.into());
                    }
                }
            }
        }
        self.inputs.pending = Some(content);
        self.record_lazy(spec, params, inputs, lazy, compute)
    }

    /// Right after `id` was recorded with static fingerprint `fp`: resolve the identity of a
    /// content-addressed node (from an earlier run's record, or by running it now).
    pub(crate) fn resolve_content(&mut self, id: NodeId, content: Option<NodeContent>) {
        let Some(mut content) = content.filter(NodeContent::is_content_addressed) else {
            return;
        };
        let Some(node) = self.lineage.get_mut(id) else {
            return;
        };
        let fp = node.fingerprint;
        content.static_fp = Some(fp);
        if content.volatile {
            node.probed = true; // never reuse an object: it always executes
        }
        let dir = self.config.checkpoint_dir.clone();
        let recorded = (!content.volatile && !self.config.fresh && self.deferred.is_none())
            .then(|| self.inputs.recorded_output(&dir, fp))
            .flatten();
        if let Some(output) = recorded {
            let identity = self.identity_of(id, &content, output);
            self.set_fingerprint(id, identity);
            content.resolved = true;
            self.inputs.nodes.insert(id, content);
            return;
        }
        self.inputs.nodes.insert(id, content);
        if self.deferred.is_some() {
            return;
        }
        if let Err(e) = self.materialize(&[id]) {
            self.deferred = Some(e);
        }
    }

    /// Before `id`'s freshly computed output is admitted: its input files must be as they were
    /// when hashed, and a content-addressed node gets its identity from the output's content.
    /// An error means the step fails and nothing is stored for it.
    pub(crate) fn check_content(&mut self, id: NodeId, value: &Value) -> Result<(), BoxError> {
        let Some(content) = self.inputs.nodes.get(&id) else {
            return Ok(());
        };
        if let Some(why) = changed_since_hashed(&content.reads) {
            return Err(why.into());
        }
        let Some(node) = self.lineage.get(id) else {
            return Ok(());
        };
        let mut hasher = HashWriter(Xxh3::new());
        (node.ops.encode)(&**value, &mut hasher)
            .map_err(|e| format!("cannot encode the output to hash its content: {e}"))?;
        let output = hasher.0.digest128();
        let identity = self.identity_of(id, content, output);
        let (resolved, static_fp, current) =
            (content.resolved, content.static_fp, node.fingerprint);
        if let Some(row) = self.rows.get_mut(id.0) {
            row.content.output_hash = Some(format!("{output:032x}"));
        }
        if resolved {
            if current != identity {
                tracing::warn!(
                    seq = id.0,
                    "a step reading input files gave another output for the same inputs; it is not deterministic, so its descendants may hold results of the earlier output"
                );
            }
            return Ok(());
        }
        self.set_fingerprint(id, identity);
        if let Some(fp) = static_fp {
            let dir = self.config.checkpoint_dir.clone();
            self.inputs.record_output(&dir, fp, output);
        }
        if let Some(c) = self.inputs.nodes.get_mut(&id) {
            c.resolved = true;
        }
        Ok(())
    }

    fn identity_of(&self, id: NodeId, content: &NodeContent, output: u128) -> Fingerprint {
        let type_name = self.lineage.get(id).map_or("", |n| n.ops.type_name);
        content_identity(&content.name, &content.module, type_name, output)
    }

    fn set_fingerprint(&mut self, id: NodeId, fp: Fingerprint) {
        if let Some(n) = self.lineage.get_mut(id) {
            n.fingerprint = fp;
        }
        if let Some(row) = self.rows.get_mut(id.0) {
            row.fingerprint = fp;
        }
    }
}

/// Feeds encoded bytes into a hasher.
struct HashWriter(Xxh3);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
