//! Logging for pipeline binaries: `tracing` events (per-step spans, warnings about corrupt
//! objects or failed spills) to stderr, filtered by `RUST_LOG` (default: Stepstone's warnings).

/// Install a stderr `tracing` subscriber honouring `RUST_LOG` (e.g. `RUST_LOG=stepstone=debug`);
/// without it, Stepstone's warnings are shown. Does nothing if a subscriber is already set.
/// The `#[pipeline]`-generated `main` calls it.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("stepstone=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
