//! The `cargo-stepstone` binary, so `cargo stepstone new …` works: same commands as `stepstone`.

fn main() -> std::process::ExitCode {
    stepstone_cli::main(stepstone_cli::Invocation::CargoSubcommand)
}
