//! The `stepstone` command line: scaffold pipeline projects from approved archetypes.
//!
//! Both binaries, `stepstone` and `cargo-stepstone` (so `cargo stepstone …` works), call
//! [`main`]: parse the arguments (`args`), run the subcommand (`cmd/<name>.rs`), map the outcome
//! to an exit code. Scaffolding itself lives in `scaffold/`; `output` formats what is printed.
//!
//! Exit codes: 0 success, 1 failure (the message names what, where and the fix), 2 usage error.

#![deny(missing_docs)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod args;
mod catalog;
mod cmd;
mod output;
mod scaffold;
mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

/// How the process was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// As `stepstone …`.
    Direct,
    /// As `cargo-stepstone …`: cargo runs `cargo stepstone X` as `cargo-stepstone stepstone X`.
    CargoSubcommand,
}

/// Run the command line of this process and return its exit code.
pub fn main(invocation: Invocation) -> ExitCode {
    run(std::env::args_os().collect(), invocation)
}

/// Run with explicit arguments (`argv[0]` first) and return the exit code: 0 ok, 1 failure,
/// 2 usage error (help and version exit 0).
pub fn run(mut argv: Vec<OsString>, invocation: Invocation) -> ExitCode {
    let mut command = args::Cli::command();
    if invocation == Invocation::CargoSubcommand {
        if argv.get(1).is_some_and(|a| a == "stepstone") {
            argv.remove(1);
        }
        command = command.bin_name("cargo stepstone");
    }
    let parsed = command
        .try_get_matches_from(argv)
        .and_then(|m| args::Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match cmd::execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&e);
            if e.downcast_ref::<scaffold::record::NotAProject>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
