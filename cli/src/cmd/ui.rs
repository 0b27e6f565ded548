//! `stepstone ui`: serve a web page of the runs of a checkpoint directory (local or S3).
//!
//! Opens the store read-only and hands it to the server in `crate::ui`; the page, its JSON
//! endpoints and its safety rules live there. Nothing here writes to the checkpoint directory.

use crate::args::UiArgs;
use crate::cmd::runs::catalog::open_store;
use crate::ui::{ServeOptions, serve};

/// Run `stepstone ui` until the process is stopped.
pub(crate) fn execute(args: UiArgs) -> anyhow::Result<()> {
    let store = open_store(&args.dir)?;
    serve(ServeOptions {
        store,
        dir: args.dir.display().to_string(),
        bind: args.bind,
        open: args.open,
    })
}
