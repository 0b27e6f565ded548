//! Content-addressed steps in the executor: recording a step with `InputFile` / `InputGlob`
//! parameters or `#[step(volatile)]`, resolving its identity, and checking its inputs after it
//! ran.
//!
//! Such a node's fingerprint at record time (its *static* fingerprint) covers code, parameters,
//! parents and the content hash of its input files. Its children, however, see its
//! [`content_identity`]: the hash of its output's content. The fingerprints of such nodes and of
//! everything recorded below them are therefore not final when recorded: they are resolved, in
//! record order, when execution starts ([`Executor::resolve_pending`], before any planning).
//! A content-addressed node's identity comes from the record of an earlier run (static
//! fingerprint → output hash) when there is one and the step is not volatile, else from running
//! it then. So a volatile step always runs, an input step runs when its files changed, and in
//! both cases its descendants are reused exactly when its output came out the same (early
//! cutoff). Since nothing runs while the pipeline is being recorded, a missing input recorded
//! anywhere before the first materialization fails the run before any step runs.
//!
//! The executor owns the run's inputs registry ([`RunInputs`](crate::input::RunInputs)).
//! Hooks elsewhere: `Pipeline::record_node` (take the pending content, mix the input hash into
//! the fingerprint, `RunInputs::note_record`), [`Executor::materialize`]
//! ([`Executor::resolve_pending`]) and [`Executor::finish`] ([`Executor::check_content`] before
//! the output is admitted). Not responsible for hashing files ([`crate::input`]) or for the
//! report's wording ([`crate::report`]).

use std::io::Write;

use xxhash_rust::xxh3::Xxh3;

use super::executor::Executor;
use crate::input::{InputSource, NodeContent, changed_since_hashed};
use crate::plan::{
    BlockId, BoxError, Fingerprint, Lineage, NodeId, StepSpec, Value, content_identity,
};
use crate::report::StepEvent;

impl Executor {
    /// The next recorded node is step `spec` with input-file parameters `files` (`(parameter
    /// name, source)`, what `#[step]` passes) or `#[step(volatile)]`. The files are hashed
    /// now; a missing one is returned as the error the run fails with before any step runs.
    pub(crate) fn pend_content(
        &mut self,
        spec: &StepSpec,
        files: &[(&str, &dyn InputSource)],
    ) -> crate::Result<()> {
        let mut content = NodeContent {
            volatile: spec.volatile,
            helpers: spec.helpers,
            name: spec.name.to_string(),
            ..NodeContent::default()
        };
        let mut failed = Ok(());
        if !files.is_empty() {
            let dir = self.input_root();
            match self
                .inputs
                .hash_params(&dir, &self.services.store, spec.name, files)
            {
                Ok((hash, reads)) => {
                    content.inputs_hash = Some(hash);
                    content.reads = reads;
                }
                Err(e) => {
                    // Still content-addressed, so the step is not resolved from a record.
                    content.inputs_hash = Some(0);
                    failed = Err(e.into());
                }
            }
        }
        self.inputs.pending = Some(content);
        failed
    }

    /// Where the input stat cache and output records live (machine-local).
    fn input_root(&self) -> std::path::PathBuf {
        crate::input::local_root(
            &self.config.checkpoint_dir,
            self.config.spill_dir.as_deref(),
        )
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

    /// `StepBuilder::per_split`: the next recorded node (step `step`) runs once per split of
    /// `files` (parameter `param`), each file hashed now. A file that cannot be read is
    /// returned as the error the run fails with.
    pub(crate) fn pending_files(
        &mut self,
        step: &str,
        param: &str,
        files: &crate::FileSplits,
    ) -> crate::Result<()> {
        let dir = self.input_root();
        let (_, reads) =
            self.inputs
                .hash_params(&dir, &self.services.store, step, &[(param, files)])?;
        self.inputs.pending_files = Some(crate::input::FileParts::new(step, reads, files));
        Ok(())
    }

    /// `StepBuilder::input_file`: the next recorded node (step `step`) reads `source`. A file
    /// that cannot be read is returned as the error the run fails with.
    pub(crate) fn pending_input(
        &mut self,
        step: &str,
        param: &str,
        source: &dyn InputSource,
    ) -> crate::Result<()> {
        let dir = self.input_root();
        let hashed = self
            .inputs
            .hash_params(&dir, &self.services.store, step, &[(param, source)]);
        let content = self.pending_for(step);
        let (hash, reads) = match hashed {
            Ok(ok) => ok,
            Err(e) => {
                content.inputs_hash = Some(0);
                return Err(e.into());
            }
        };
        content.inputs_hash = Some(match content.inputs_hash {
            Some(before) => {
                xxhash_rust::xxh3::xxh3_128(&[before.to_le_bytes(), hash.to_le_bytes()].concat())
            }
            None => hash,
        });
        content.reads.extend(reads);
        Ok(())
    }

    /// Before anything is planned: give every node recorded since the last resolution its final
    /// fingerprint, in record order. A content-addressed node's static fingerprint is computed
    /// from its parents' final ones; its identity then comes from an earlier run's record (not
    /// volatile, not `--fresh`) or from running it now; its descendants' fingerprints follow.
    pub(crate) fn resolve_pending(&mut self, lineage: &mut Lineage) -> crate::Result<()> {
        if self.inputs.resolving || self.inputs.unresolved.is_empty() {
            return Ok(());
        }
        self.inputs.resolving = true;
        let result = self.resolve_in_order(lineage);
        self.inputs.resolving = false;
        result
    }

    fn resolve_in_order(&mut self, lineage: &mut Lineage) -> crate::Result<()> {
        while let Some((id, pending)) = self.inputs.unresolved.pop_first() {
            let Some(node) = lineage.get(id) else {
                continue;
            };
            let parents: Vec<Fingerprint> = node
                .parents
                .iter()
                .filter_map(|p| lineage.get(*p).map(|n| n.fingerprint))
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
            lineage.set_fingerprint(id, fp);
            let event = StepEvent::Fingerprinted {
                fingerprint: fp,
                parents: Some(parents),
            };
            self.services.log.record(id.0, event);
            let Some(content) = self.inputs.nodes.get_mut(&id) else {
                continue;
            };
            content.static_fp = Some(fp);
            let (volatile, name, module) = (
                content.volatile,
                content.name.clone(),
                content.module.clone(),
            );
            if let Some(shipped) = self.inputs.shipped.get(&id).copied() {
                // A worker: the coordinator resolved it (and ran it, when it had to).
                self.set_fingerprint(lineage, id, shipped);
                if let Some(c) = self.inputs.nodes.get_mut(&id) {
                    c.resolved = true;
                }
                continue;
            }
            if volatile {
                self.blocks.get_mut(BlockId::whole(id)).probed = true; // never reuse an object: it always executes
            } else if !self.config.fresh
                && let Some(output) = self.inputs.recorded_output(&self.services.store, fp)
            {
                let identity = identity(lineage, id, &name, &module, output);
                self.set_fingerprint(lineage, id, identity);
                if let Some(c) = self.inputs.nodes.get_mut(&id) {
                    c.resolved = true;
                }
                continue;
            }
            // Run it now: its output decides its identity (set by `check_content`).
            self.materialize(lineage, &[id])?;
        }
        Ok(())
    }

    /// Before `id`'s freshly computed output is admitted: its input files must be as they were
    /// when hashed, and a content-addressed node gets its identity from the output's content.
    /// An error means the step fails and nothing is stored for it.
    pub(crate) fn check_content(
        &mut self,
        lineage: &mut Lineage,
        id: NodeId,
        value: &Value,
    ) -> Result<(), BoxError> {
        if self.inputs.nodes.is_empty() {
            return Ok(()); // no content-addressed node in this run: nothing to hash
        }
        let Some(content) = self.inputs.nodes.get(&id) else {
            return Ok(());
        };
        if let Some(why) = changed_since_hashed(&content.reads) {
            return Err(why.into());
        }
        let Some(node) = lineage.get(id) else {
            return Ok(());
        };
        let mut hasher = HashWriter(Xxh3::new());
        (node.ops.encode)(&**value, &mut hasher, None)
            .map_err(|e| format!("cannot encode the output to hash its content: {e}"))?;
        let output = hasher.0.digest128();
        let identity = identity(lineage, id, &content.name, &content.module, output);
        let (resolved, static_fp, current) =
            (content.resolved, content.static_fp, node.fingerprint);
        let event = StepEvent::OutputHash { hash: output };
        self.services.log.record(id.0, event);
        if resolved {
            if current != identity {
                tracing::warn!(
                    seq = id.0,
                    "a step reading input files gave another output for the same inputs; it is not deterministic, so its descendants may hold results of the earlier output"
                );
            }
            return Ok(());
        }
        self.set_fingerprint(lineage, id, identity);
        if let Some(fp) = static_fp {
            self.inputs.record_output(&self.services.store, fp, output);
        }
        if let Some(c) = self.inputs.nodes.get_mut(&id) {
            c.resolved = true;
        }
        Ok(())
    }

    /// `id` takes its final fingerprint, in the lineage and in its report row.
    fn set_fingerprint(&mut self, lineage: &mut Lineage, id: NodeId, fp: Fingerprint) {
        lineage.set_fingerprint(id, fp);
        let event = StepEvent::Fingerprinted {
            fingerprint: fp,
            parents: None,
        };
        self.services.log.record(id.0, event);
    }
}

/// The identity of content-addressed node `id` whose output hashed to `output`.
fn identity(lineage: &Lineage, id: NodeId, name: &str, module: &str, output: u128) -> Fingerprint {
    let type_name = lineage.get(id).map_or("", |n| n.ops.type_name);
    content_identity(name, module, type_name, output)
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
