//! One file (or folder) per subcommand; `execute` dispatches.
//!
//! Commands turn parsed arguments into calls to `scaffold` and lines for `output`; errors are
//! `anyhow` with context, mapped to exit code 1 by the caller.

mod archetypes;
mod build_dir;
mod check;
mod checkpoints;
mod completions;
mod new;
pub(crate) mod runs;
mod spark;
mod ui;
mod update;

use crate::args::{Cli, Command};

/// Run the parsed command line.
pub(crate) fn execute(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::New(args) => new::execute(args),
        Command::Update(args) => update::execute(args),
        Command::Check(args) => check::execute(args),
        Command::Archetypes(command) => archetypes::execute(command),
        Command::Completions { shell } => completions::execute(shell),
        Command::Checkpoints(command) => checkpoints::execute(command),
        Command::Runs(command) => runs::execute(command),
        Command::Ui(args) => ui::execute(args),
        Command::Spark(command) => spark::execute(command),
    }
}

/// `cargo`, or the cargo that launched us (`cargo stepstone` sets `CARGO`).
pub(crate) fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}
