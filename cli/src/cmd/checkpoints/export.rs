//! `stepstone checkpoints export FP --format parquet|arrow --out FILE`: hand an Arrow object's
//! batch to other tools.
//!
//! The object is read and verified through `stepstone::store` (identity, checksum, bounded
//! decoding) and written with `stepstone::arrow`: Parquet through its atomic sink, Arrow IPC as
//! a plain file (no Stepstone identity, so it is never mistaken for an object) through a temp
//! file in the destination's folder, fsync and rename. Postcard objects are refused with the
//! reason: their encoding carries no schema.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use stepstone::arrow::{Batch, batch_from_payload, write_ipc_file, write_parquet};
use stepstone::store::CodecId;

use super::super::runs::catalog::open_store;
use super::find_one;
use crate::args::{ExportArgs, ExportFormat};
use crate::output;

/// Run `checkpoints export`.
pub(crate) fn execute(args: &ExportArgs) -> anyhow::Result<()> {
    let store = open_store(&args.store.dir)?;
    let info = find_one(&store, &args.fingerprint, &args.store)?;
    if info.codec != CodecId::ArrowIpc {
        bail!(
            "object {} holds a postcard value of type `{}`, which cannot be exported: postcard \
             carries no schema, so only that Rust type can read it. Make the step return \
             stepstone::arrow::Batch to get Arrow objects that export (and that pyarrow and \
             DuckDB open directly)",
            info.key.fingerprint,
            info.type_name
        );
    }
    let (_, payload) = store
        .read_value(info.key, info.kind, &info.type_name)
        .with_context(|| format!("reading object {}", info.path.display()))?;
    let batch = batch_from_payload(payload)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("decoding object {}", info.path.display()))?;
    match args.format {
        ExportFormat::Parquet => write_parquet(std::slice::from_ref(&batch), &args.out)?,
        ExportFormat::Arrow => write_arrow(&batch, &args.out)?,
    }
    output::status(format!(
        "wrote {} rows × {} columns to {}",
        batch.num_rows(),
        batch.num_columns(),
        args.out.display()
    ));
    Ok(())
}

/// Write `batch` as a plain Arrow IPC file at `out`, atomically.
fn write_arrow(batch: &Batch, out: &Path) -> anyhow::Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .with_context(|| format!("--out {} is not a file name", out.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> anyhow::Result<()> {
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut buffered = std::io::BufWriter::new(&mut file);
        write_ipc_file(batch, &mut buffered).map_err(anyhow::Error::msg)?;
        buffered.flush()?;
        drop(buffered);
        file.sync_all()
            .with_context(|| format!("fsync {}", tmp.display()))?;
        std::fs::rename(&tmp, out).with_context(|| format!("renaming into {}", out.display()))?;
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync directory {}", dir.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
