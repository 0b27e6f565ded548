//! The `stepstone` binary: see the `stepstone_cli` library for the commands and exit codes.

fn main() -> std::process::ExitCode {
    stepstone_cli::main(stepstone_cli::Invocation::Direct)
}
