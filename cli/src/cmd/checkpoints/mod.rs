//! `stepstone checkpoints ls | inspect | verify | gc`: the objects of a checkpoint directory.
//!
//! Objects are listed and checked through `stepstone::store` (headers, full payload checks);
//! which step and run an object belongs to comes from the run reports, whose rows carry
//! fingerprints (`uses`). `gc` (deleting) is in `gc.rs`; everything else here only reads.

mod export;
mod gc;
mod uses;

use std::path::Path;
use std::time::SystemTime;

use anyhow::bail;
use serde::Serialize;
use stepstone::memory::human_bytes;
use stepstone::store::{ObjectInfo, ObjectKind, Store, StoreError};

use super::runs::catalog::{Catalog, open_store};
use crate::args::{CheckpointsCommand, StoreArgs};
use crate::output;
use uses::{Use, Uses};

/// Run a `checkpoints` subcommand.
pub(crate) fn execute(command: CheckpointsCommand) -> anyhow::Result<()> {
    match command {
        CheckpointsCommand::Ls { store } => ls(&store),
        CheckpointsCommand::Inspect { fingerprint, store } => inspect(&fingerprint, &store),
        CheckpointsCommand::Export(args) => export::execute(&args),
        CheckpointsCommand::Verify { store } => verify(&store),
        CheckpointsCommand::Gc(args) => gc::execute(&args),
    }
}

pub(crate) fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Checkpoint => "checkpoint",
        ObjectKind::Spill => "spill",
        ObjectKind::Persist => "persist",
        ObjectKind::Exchange => "exchange",
    }
}

/// Seconds since the file was last written (`None` if the store does not say).
pub(crate) fn age_seconds(store: &Store, rel: &Path) -> Option<u64> {
    let modified = store.modified(rel)?;
    Some(SystemTime::now().duration_since(modified).ok()?.as_secs())
}

/// `42s`, `7m`, `3h`, `12d`.
fn human_age(seconds: Option<u64>) -> String {
    match seconds {
        None => "-".to_string(),
        Some(s) if s < 60 => format!("{s}s"),
        Some(s) if s < 3600 => format!("{}m", s / 60),
        Some(s) if s < 86_400 => format!("{}h", s / 3600),
        Some(s) => format!("{}d", s / 86_400),
    }
}

/// `fp` for part 0, `fp.part` otherwise.
fn block_name(info: &ObjectInfo) -> String {
    match info.key.part {
        0 => info.key.fingerprint.to_hex(),
        part => format!("{}.{part}", info.key.fingerprint.to_hex()),
    }
}

/// One line of `checkpoints ls --json`.
#[derive(Debug, Serialize)]
struct ObjectLine {
    fingerprint: String,
    part: u32,
    step: Option<String>,
    kind: &'static str,
    type_name: String,
    file_bytes: u64,
    raw_bytes: u64,
    age_seconds: Option<u64>,
    run: Option<String>,
    path: String,
}

fn ls(args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(&args.dir)?;
    let catalog = Catalog::load(&store)?;
    let uses = Uses::index(&catalog);
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for entry in store.list_objects()? {
        match entry {
            Ok(info) => {
                let origin = uses.origin(info.key.fingerprint);
                lines.push(ObjectLine {
                    fingerprint: block_name(&info),
                    part: info.key.part,
                    step: origin.map(|u| u.step.clone()),
                    kind: kind_name(info.kind),
                    type_name: info.type_name.clone(),
                    file_bytes: info.file_len,
                    raw_bytes: info.raw_len,
                    age_seconds: age_seconds(&store, &info.path),
                    run: origin.map(|u| u.run.clone()),
                    path: info.path.display().to_string(),
                });
            }
            Err(e) => bad.push(e),
        }
    }
    for e in &bad {
        output::warn(format!(
            "{e} (`stepstone checkpoints verify` lists every bad object)"
        ));
    }
    if args.json {
        return output::json(&lines);
    }
    if lines.is_empty() {
        output::status(format!(
            "no objects in {}",
            args.dir.join("objects").display()
        ));
        return Ok(());
    }
    let mut rows = vec![
        ["fingerprint", "step", "kind", "size", "age", "run"]
            .map(String::from)
            .to_vec(),
    ];
    let total: u64 = lines.iter().map(|l| l.file_bytes).sum();
    for l in &lines {
        rows.push(vec![
            l.fingerprint.clone(),
            l.step.clone().unwrap_or_else(|| "-".into()),
            l.kind.to_string(),
            human_bytes(l.file_bytes),
            human_age(l.age_seconds),
            l.run.clone().unwrap_or_else(|| "-".into()),
        ]);
    }
    print!("{}", output::table(&rows));
    output::status(format!("{} objects, {}", lines.len(), human_bytes(total)));
    Ok(())
}

/// `checkpoints inspect --json`.
#[derive(Debug, Serialize)]
struct Inspection<'a> {
    path: String,
    fingerprint: String,
    part: u32,
    kind: &'static str,
    type_name: &'a str,
    compression: String,
    file_bytes: u64,
    payload_bytes: u64,
    raw_bytes: u64,
    footprint_requested_bytes: u64,
    footprint_resident_bytes: u64,
    footprint_allocations: u64,
    payload_checksum: String,
    age_seconds: Option<u64>,
    payload_check: String,
    used_by: Vec<&'a Use>,
}

fn inspect(prefix: &str, args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(&args.dir)?;
    let catalog = Catalog::load(&store)?;
    let uses = Uses::index(&catalog);
    let info = &find_one(&store, prefix, args)?;
    let check = match store.verify(info.key) {
        Ok(_) => "ok (header and payload checksum verified)".to_string(),
        Err(e) => format!("CORRUPT: {e}"),
    };
    let view = Inspection {
        path: info.path.display().to_string(),
        fingerprint: info.key.fingerprint.to_hex(),
        part: info.key.part,
        kind: kind_name(info.kind),
        type_name: &info.type_name,
        compression: format!("{:?}", info.compression).to_lowercase(),
        file_bytes: info.file_len,
        payload_bytes: info.payload_len,
        raw_bytes: info.raw_len,
        footprint_requested_bytes: info.footprint.requested,
        footprint_resident_bytes: info.footprint.resident,
        footprint_allocations: info.footprint.allocations,
        payload_checksum: format!("{:016x}", info.checksum),
        age_seconds: age_seconds(&store, &info.path),
        payload_check: check,
        used_by: uses.of(info.key.fingerprint).iter().collect(),
    };
    if args.json {
        return output::json(&view);
    }
    print!("{}", inspection_table(&view));
    Ok(())
}

/// The one valid object whose fingerprint starts with `prefix`.
pub(crate) fn find_one(
    store: &Store,
    prefix: &str,
    args: &StoreArgs,
) -> anyhow::Result<ObjectInfo> {
    let infos: Vec<ObjectInfo> = store.list_objects()?.into_iter().flatten().collect();
    let matches: Vec<&ObjectInfo> = infos
        .iter()
        .filter(|i| i.key.fingerprint.to_hex().starts_with(prefix))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!(
            "no valid object with fingerprint {prefix}… in {}; `stepstone checkpoints ls --dir {}` \
             lists them (`verify` lists corrupt ones)",
            args.dir.join("objects").display(),
            args.dir.display()
        ),
        many => bail!(
            "fingerprint prefix {prefix} matches {} objects ({}); give more digits",
            many.len(),
            many.iter()
                .map(|i| block_name(i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The human view of `checkpoints inspect`.
fn inspection_table(view: &Inspection<'_>) -> String {
    let mut rows = vec![
        vec!["fingerprint".to_string(), view.fingerprint.clone()],
        vec!["part".into(), view.part.to_string()],
        vec!["path".into(), view.path.clone()],
        vec!["kind".into(), view.kind.into()],
        vec!["type".into(), view.type_name.into()],
        vec!["compression".into(), view.compression.clone()],
        vec!["file size".into(), human_bytes(view.file_bytes)],
        vec![
            "payload".into(),
            format!(
                "{} stored, {} raw",
                human_bytes(view.payload_bytes),
                human_bytes(view.raw_bytes)
            ),
        ],
        vec![
            "footprint".into(),
            format!(
                "{} requested, {} resident, {} allocations",
                human_bytes(view.footprint_requested_bytes),
                human_bytes(view.footprint_resident_bytes),
                view.footprint_allocations
            ),
        ],
        vec!["checksum".into(), view.payload_checksum.clone()],
        vec!["age".into(), human_age(view.age_seconds)],
        vec!["payload check".into(), view.payload_check.clone()],
    ];
    if view.used_by.is_empty() {
        rows.push(vec![
            "used by".into(),
            "- (no run report mentions it)".into(),
        ]);
    }
    for u in &view.used_by {
        rows.push(vec![
            "used by".into(),
            format!(
                "run {} ({}): step #{} {} {} — {}",
                u.run, u.run_status, u.seq, u.step, u.status, u.reason
            ),
        ]);
    }
    output::table(&rows)
}

/// One line of `checkpoints verify --json`.
#[derive(Debug, Serialize)]
struct VerifyLine {
    path: String,
    ok: bool,
    error: Option<String>,
}

fn verify(args: &StoreArgs) -> anyhow::Result<()> {
    let store = open_store(&args.dir)?;
    let mut lines = Vec::new();
    let mut bytes = 0u64;
    for entry in store.list_objects()? {
        let checked = entry.and_then(|info| store.verify(info.key));
        lines.push(match checked {
            Ok(info) => {
                bytes += info.file_len;
                VerifyLine {
                    path: info.path.display().to_string(),
                    ok: true,
                    error: None,
                }
            }
            Err(e) => VerifyLine {
                path: error_path(&e, &store),
                ok: false,
                error: Some(e.to_string()),
            },
        });
    }
    let bad: Vec<&VerifyLine> = lines.iter().filter(|l| !l.ok).collect();
    if args.json {
        output::json(&lines)?;
    } else {
        for l in &bad {
            println!(
                "BAD  {}  {}",
                l.path,
                l.error.as_deref().unwrap_or_default()
            );
        }
    }
    if bad.is_empty() {
        output::status(format!(
            "{} objects verified ({}), all good",
            lines.len(),
            human_bytes(bytes)
        ));
        return Ok(());
    }
    bail!(
        "{} of {} objects in {} are bad (listed above); a run treats them as absent and recomputes \
         them; `stepstone checkpoints gc` deletes them, or delete the files by hand",
        bad.len(),
        lines.len(),
        args.dir.join("objects").display()
    )
}

/// The object path an error names, relative to the store when possible.
fn error_path(e: &StoreError, store: &Store) -> String {
    let path = match e {
        StoreError::Corrupt { path, .. } | StoreError::Io { path, .. } => path.as_path(),
        _ => return "?".to_string(),
    };
    path.strip_prefix(store.root())
        .unwrap_or(path)
        .display()
        .to_string()
}
