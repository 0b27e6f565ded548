//! `stepstone completions bash|zsh|fish`: print a completion script to stdout.

use clap::CommandFactory;
use clap_complete::Shell as Target;

use crate::args::{Cli, Shell};

/// Print the script for `shell`.
pub(crate) fn execute(shell: Shell) -> anyhow::Result<()> {
    let target = match shell {
        Shell::Bash => Target::Bash,
        Shell::Zsh => Target::Zsh,
        Shell::Fish => Target::Fish,
    };
    clap_complete::generate(
        target,
        &mut Cli::command(),
        "stepstone",
        &mut std::io::stdout(),
    );
    Ok(())
}
