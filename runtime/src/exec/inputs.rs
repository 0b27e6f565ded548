//! Content-addressed steps in the executor: recording a step with `InputFile` / `InputGlob`
//! parameters or `#[step(volatile)]`, resolving its identity, and checking its inputs after it
//! ran.
//!
//! Such a node's fingerprint at record time (its *static* fingerprint) covers code, parameters,
//! parents and the content hash of its input files. Its children, however, see its
//! [`content_identity`]: the hash of its output's content. The fingerprints of such nodes and of
//! everything recorded below them are therefore not final when recorded: they are resolved, in
//! record order, when execution starts ([`Pipeline::resolve_pending`], before any planning).
//! A content-addressed node's identity comes from the record of an earlier run (static
//! fingerprint → output hash) when there is one and the step is not volatile, else from running
//! it then. So a volatile step always runs, an input step runs when its files changed, and in
//! both cases its descendants are reused exactly when its output came out the same (early
//! cutoff). Since nothing runs while the pipeline is being recorded, a missing input recorded
//! anywhere before the first materialization fails the run before any step runs.
//!
//! Hooks elsewhere: `Pipeline::record_node` (take the pending content, mix the input hash into
//! the fingerprint, [`RunInputs::note_record`](crate::input::RunInputs)), `Pipeline::materialize`
//! ([`Pipeline::resolve_pending`]) and `Pipeline::finish` ([`Pipeline::check_content`] before
//! the output is admitted). Not responsible for hashing files ([`crate::input`]) or for the
//! report's wording ([`crate::report`]).

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
    /// before any step runs (unless an earlier `get` or the lookahead window already ran some).
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
            ..NodeContent::default()
        };
        if !files.is_empty() {
            let dir = crate::input::local_root(
                &self.config.checkpoint_dir,
                self.config.spill_dir.as_deref(),
            );
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

    /// `StepBuilder::volatile`: the next recorded node (step `step`) is volatile.
    pub(crate) fn pending_volatile(&mut self, step: &str) {
        self.pending_for(step).volatile = true;
    }

    /// The content for the next recorded node, which must be step `step` (content left by a
    /// builder that was dropped without `run` is discarded).
    fn pending_for(&mut self, step: &str) -> &mut NodeContent {
        if self.inputs.pending.as_ref().is_some_and(|c| c.name != step) {
            self.inputs.pending = None;
        }
        self.inputs.pending.get_or_insert_with(|| NodeContent {
            name: step.to_string(),
            ..NodeContent::default()
        })
    }

    /// `StepBuilder::input_file`: the next recorded node (step `step`) reads `source`.
    pub(crate) fn pending_input(&mut self, step: &str, param: &str, source: &dyn InputSource) {
        let dir = crate::input::local_root(
            &self.config.checkpoint_dir,
            self.config.spill_dir.as_deref(),
        );
        let hashed = self.inputs.hash_params(&dir, step, &[(param, source)]);
        let content = self.pending_for(step);
        let (hash, reads) = match hashed {
            Ok(ok) => ok,
            Err(e) => {
                content.inputs_hash = Some(0);
                self.deferred.get_or_insert(e.into());
                return;
            }
        };
        content.inputs_hash = Some(match content.inputs_hash {
            Some(before) => {
                xxhash_rust::xxh3::xxh3_128(&[before.to_le_bytes(), hash.to_le_bytes()].concat())
            }
            None => hash,
        });
        content.reads.extend(reads);
    }

    /// Before anything is planned: give every node recorded since the last resolution its final
    /// fingerprint, in record order. A content-addressed node's static fingerprint is computed
    /// from its parents' final ones; its identity then comes from an earlier run's record (not
    /// volatile, not `--fresh`) or from running it now; its descendants' fingerprints follow.
    pub(crate) fn resolve_pending(&mut self) -> crate::Result<()> {
        if self.inputs.resolving || self.inputs.unresolved.is_empty() {
            return Ok(());
        }
        self.inputs.resolving = true;
        let result = self.resolve_in_order();
        self.inputs.resolving = false;
        result
    }

    fn resolve_in_order(&mut self) -> crate::Result<()> {
        while let Some((id, pending)) = self.inputs.unresolved.pop_first() {
            let Some(node) = self.lineage.get(id) else {
                continue;
            };
            let parents: Vec<Fingerprint> = node
                .parents
                .iter()
                .filter_map(|p| self.lineage.get(*p).map(|n| n.fingerprint))
                .collect();
            if parents.len() != node.parents.len() {
                // A parent is gone (cannot happen to a node that has not run, which keeps its
                // lineage): keep the record-time fingerprint rather than guess.
                tracing::warn!(
                    seq = id.0,
                    "a parent of a node awaiting its fingerprint is gone"
                );
                continue;
            }
            let fp = pending.fingerprint(&parents);
            self.set_fingerprint(id, fp);
            if let Some(row) = self.rows.get_mut(id.0) {
                row.parents = parents;
            }
            let Some(content) = self.inputs.nodes.get_mut(&id) else {
                continue;
            };
            content.static_fp = Some(fp);
            let (volatile, name, module) = (
                content.volatile,
                content.name.clone(),
                content.module.clone(),
            );
            if volatile {
                if let Some(n) = self.lineage.get_mut(id) {
                    n.probed = true; // never reuse an object: it always executes
                }
            } else if !self.config.fresh {
                let dir = crate::input::local_root(
                    &self.config.checkpoint_dir,
                    self.config.spill_dir.as_deref(),
                );
                if let Some(output) = self.inputs.recorded_output(&dir, fp) {
                    let identity = self.identity(id, &name, &module, output);
                    self.set_fingerprint(id, identity);
                    if let Some(c) = self.inputs.nodes.get_mut(&id) {
                        c.resolved = true;
                    }
                    continue;
                }
            }
            // Run it now: its output decides its identity (set by `check_content`).
            self.materialize(&[id])?;
        }
        Ok(())
    }

    /// Before `id`'s freshly computed output is admitted: its input files must be as they were
    /// when hashed, and a content-addressed node gets its identity from the output's content.
    /// An error means the step fails and nothing is stored for it.
    pub(crate) fn check_content(&mut self, id: NodeId, value: &Value) -> Result<(), BoxError> {
        if self.inputs.nodes.is_empty() {
            return Ok(()); // no content-addressed node in this run: nothing to hash
        }
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
        (node.ops.encode)(&**value, &mut hasher, None)
            .map_err(|e| format!("cannot encode the output to hash its content: {e}"))?;
        let output = hasher.0.digest128();
        let identity = self.identity(id, &content.name, &content.module, output);
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
            let dir = crate::input::local_root(
                &self.config.checkpoint_dir,
                self.config.spill_dir.as_deref(),
            );
            self.inputs.record_output(&dir, fp, output);
        }
        if let Some(c) = self.inputs.nodes.get_mut(&id) {
            c.resolved = true;
        }
        Ok(())
    }

    fn identity(&self, id: NodeId, name: &str, module: &str, output: u128) -> Fingerprint {
        let type_name = self.lineage.get(id).map_or("", |n| n.ops.type_name);
        content_identity(name, module, type_name, output)
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
