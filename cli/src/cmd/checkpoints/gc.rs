//! `stepstone checkpoints gc`: delete the objects and run folders no kept run needs.
//!
//! What is kept (the plan, decided from the run reports only):
//! - the checkpoints the latest completed run executed or reused (by the steps' fingerprints
//!   and the salted keys of per-file partitions their rows list, `object_keys`);
//! - every object (spills included) a failed run started after it references: a resume needs it;
//! - the report folders of the `--keep-runs` latest runs, and the checkpoints they reference;
//! - everything, when a run after the latest completed one has no readable report (killed: its
//!   objects cannot be told apart), or when there are no reports at all;
//! - anything written more recently than `--older-than`.
//!
//! Everything else in `objects/` is deleted, corrupt objects included; stray files are left
//! alone. Deleting takes the directory lock (`Store::open_maintenance`); `--dry-run` only reads.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;
use stepstone::Fingerprint;
use stepstone::memory::human_bytes;
use stepstone::report::StepStatus;
use stepstone::store::{BlockKey, ObjectKind, Store, StoreError};

use super::{age_seconds, kind_name};
use crate::args::GcArgs;
use crate::cmd::runs::catalog::{Catalog, open_store};
use crate::output;

/// What the reports say must stay.
#[derive(Debug, Default)]
struct Plan {
    /// Keep checkpoint objects of these fingerprints.
    checkpoints: HashSet<Fingerprint>,
    /// Keep any object of these fingerprints (a failed run's resume).
    any: HashSet<Fingerprint>,
    /// Keep every object, and why.
    keep_all: Option<String>,
    /// Run folders to delete.
    runs_to_delete: Vec<String>,
}

fn plan(catalog: &Catalog, keep_runs: usize) -> Plan {
    let mut plan = Plan::default();
    let n = catalog.runs.len();
    if n == 0 {
        plan.keep_all = Some("there are no run reports, so no object can be told unneeded".into());
        return plan;
    }
    let latest_completed = catalog.latest_completed();
    let protected_from = latest_completed.unwrap_or(0);
    for (i, run) in catalog.runs.iter().enumerate() {
        let after_completed = latest_completed.is_none_or(|l| i > l);
        let kept = i >= protected_from || i + keep_runs >= n;
        if !kept {
            plan.runs_to_delete.push(run.id.clone());
            continue;
        }
        let Some(report) = &run.report else {
            if after_completed {
                plan.keep_all = Some(format!(
                    "run {} has no usable report ({}); resume it by running the pipeline again, \
                     or delete its folder runs/{} if it is abandoned",
                    run.id,
                    run.problem.as_deref().unwrap_or("unknown"),
                    run.id
                ));
            }
            continue;
        };
        for s in &report.steps {
            // A step's objects: keyed by its fingerprint, or by the salted keys of a step over
            // files (and of what was computed from one), which the row lists.
            let keys = || std::iter::once(s.fingerprint).chain(s.object_keys.iter().copied());
            if after_completed && i != latest_completed.unwrap_or(usize::MAX) {
                plan.any.extend(keys());
            }
            if matches!(s.status, StepStatus::Executed | StepStatus::Reused) {
                plan.checkpoints.extend(keys());
            }
        }
    }
    plan
}

/// One deleted (or, with `--dry-run`, deletable) object.
#[derive(Debug, Serialize)]
struct Freed {
    path: String,
    kind: &'static str,
    bytes: u64,
    #[serde(skip)]
    key: BlockKey,
}

/// `checkpoints gc --json`.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    dry_run: bool,
    objects: &'a [Freed],
    runs: &'a [String],
    freed_objects: usize,
    freed_bytes: u64,
    kept_objects: usize,
    kept_bytes: u64,
    note: Option<&'a str>,
}

/// Open the store: with the lock to delete, read-only for a dry run.
fn open(dir: &Path, dry_run: bool) -> anyhow::Result<Store> {
    if dry_run {
        return open_store(dir);
    }
    match Store::open_maintenance(dir, false) {
        Ok(store) => Ok(store),
        Err(StoreError::Locked { pid, .. }) => bail!(
            "cannot gc {}: a run (pid {pid}) is using it, and gc deletes only while no run is \
             active; wait for the run to finish and run gc again (`--dry-run` works meanwhile)",
            dir.display()
        ),
        Err(e @ StoreError::Leased { .. }) => bail!(
            "cannot gc {}: {e}; gc deletes only while no run is active (`--dry-run` works \
             meanwhile)",
            dir.display()
        ),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot open the checkpoint directory {} for gc; pass --dir with the pipeline's \
                 checkpoint directory",
                dir.display()
            )
        }),
    }
}

/// The key of a well-named object file under `objects/` (for corrupt objects).
fn key_of(path: &Path) -> Option<BlockKey> {
    let (hex, part) = path.file_name()?.to_str()?.split_once('.')?;
    if hex.len() != 32 {
        return None;
    }
    Some(BlockKey {
        fingerprint: hex.parse().ok()?,
        part: part.parse().ok()?,
    })
}

/// Split `objects/` into what to free and what stays (count and bytes kept).
fn sort_objects(
    store: &Store,
    plan: &Plan,
    args: &GcArgs,
) -> anyhow::Result<(Vec<Freed>, usize, u64)> {
    let old_enough = |rel: &Path| match args.older_than {
        None => true,
        Some(min) => age_seconds(store, rel).is_some_and(|age| age >= min.as_secs()),
    };
    let (mut freed, mut kept_objects, mut kept_bytes) = (Vec::new(), 0usize, 0u64);
    for entry in store.list_objects()? {
        let (key, kind, bytes, rel) = match entry {
            Ok(info) => (
                info.key,
                kind_name(info.kind),
                info.file_len,
                info.path.clone(),
            ),
            Err(StoreError::Corrupt { path, .. }) => {
                let Some(key) = key_of(&path) else {
                    output::warn(format!(
                        "left alone: {} is not an object file",
                        path.display()
                    ));
                    continue;
                };
                let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                let rel = path
                    .strip_prefix(store.root())
                    .unwrap_or(&path)
                    .to_path_buf();
                (key, "corrupt", bytes, rel)
            }
            Err(e) => return Err(e).context("gc stopped before deleting anything more"),
        };
        let needed = plan.keep_all.is_some()
            || plan.any.contains(&key.fingerprint)
            || (kind == kind_name(ObjectKind::Checkpoint)
                && plan.checkpoints.contains(&key.fingerprint));
        if needed || !old_enough(&rel) {
            kept_objects += 1;
            kept_bytes += bytes;
        } else {
            freed.push(Freed {
                path: rel.display().to_string(),
                kind,
                bytes,
                key,
            });
        }
    }
    Ok((freed, kept_objects, kept_bytes))
}

pub(crate) fn execute(args: &GcArgs) -> anyhow::Result<()> {
    let dir = &args.store.dir;
    let store = open(dir, args.dry_run)?;
    let catalog = Catalog::load(&store)?;
    let plan = plan(&catalog, args.keep_runs);
    let (freed, kept_objects, kept_bytes) = sort_objects(&store, &plan, args)?;
    if !args.dry_run {
        for f in &freed {
            store.remove_object(f.key)?;
        }
        for run in &plan.runs_to_delete {
            store.remove_run(run)?;
        }
    }
    let freed_bytes: u64 = freed.iter().map(|f| f.bytes).sum();
    let summary = Summary {
        dry_run: args.dry_run,
        objects: &freed,
        runs: &plan.runs_to_delete,
        freed_objects: freed.len(),
        freed_bytes,
        kept_objects,
        kept_bytes,
        note: plan.keep_all.as_deref(),
    };
    if args.store.json {
        return output::json(&summary);
    }
    print_summary(&summary);
    Ok(())
}

fn print_summary(s: &Summary<'_>) {
    let verb = if s.dry_run { "would delete" } else { "deleted" };
    if let Some(note) = s.note {
        output::status(format!("keeping every object: {note}"));
    }
    for f in s.objects {
        println!(
            "{verb} {:<10} {:>10}  {}",
            f.kind,
            human_bytes(f.bytes),
            f.path
        );
    }
    for run in s.runs {
        println!("{verb} run folder runs/{run}");
    }
    let verb = if s.dry_run { "would free" } else { "freed" };
    println!(
        "{verb} {} objects ({}) and {} run folders; kept {} objects ({})",
        s.freed_objects,
        human_bytes(s.freed_bytes),
        s.runs.len(),
        s.kept_objects,
        human_bytes(s.kept_bytes)
    );
}
