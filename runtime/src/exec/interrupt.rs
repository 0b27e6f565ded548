//! Stopping a run on SIGINT / SIGTERM: the signal only raises a flag; the executor looks at it
//! at its safe points (before a step starts, and between the chunks of an object being written)
//! and stops there, so no half-written object ever reaches a final path.
//!
//! Owns: the signal handlers that raise the process-wide stop flag (`crate::stop` holds the
//! flag itself, so that input hashing can look at it too).
//! Not responsible for: what a stopped run keeps or reports (`executor.rs` writes the report with
//! status `interrupted`; the generated `main` exits 130 / 143).
//!
//! The handlers are installed once per process, by runs whose [`RunConfig::handle_signals`]
//! is set (the command-line path of every pipeline binary), and stay installed. A second SIGINT
//! or SIGTERM while a stop is pending exits the process at once with 130 / 143 (checkpoints
//! already committed stay valid; the object being written stays a temp file, removed at the
//! next start).
//!
//! [`RunConfig::handle_signals`]: crate::RunConfig::handle_signals

use std::io;
use std::sync::OnceLock;

use signal_hook::consts::signal::{SIGINT, SIGTERM};

use crate::stop::{SIGNAL, STOP};
pub(crate) use crate::stop::{requested, reset, signal_name};

/// Whether the handlers are installed (and the error, if installing failed).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// Install the SIGINT / SIGTERM handlers (once per process).
pub(crate) fn install() -> Result<(), String> {
    INSTALLED
        .get_or_init(|| {
            register_all().map_err(|e| format!("installing the SIGINT/SIGTERM handlers: {e}"))
        })
        .clone()
}

fn register_all() -> io::Result<()> {
    for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
        // Registered first, so it sees the flag as it was before this delivery: the second
        // signal exits at once, the first only raises the flag.
        signal_hook::flag::register_conditional_shutdown(signal, code, &STOP)?;
        signal_hook::flag::register_usize(signal, &SIGNAL, signal as usize)?;
        signal_hook::flag::register(signal, &STOP)?;
    }
    Ok(())
}

/// The exit code a shell expects after `signal`: 128 + its number (130 for SIGINT, 143 for
/// SIGTERM).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(128 + signal).unwrap_or(1)
}

/// A writer that refuses further bytes once a stop is asked for, so the object being written is
/// abandoned (its temp file is removed by the store) instead of finished.
pub(crate) struct StopAware<'w>(pub(crate) &'w mut dyn io::Write);

impl io::Write for StopAware<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.check()?;
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl StopAware<'_> {
    /// The error that abandons the write. Its kind is deliberately *not*
    /// `ErrorKind::Interrupted`: `write_all` and `io::copy` (and so every encoder that writes
    /// through them, arrow-ipc's among them) retry `Interrupted` forever, which would spin the
    /// process at 100 % CPU instead of stopping it.
    fn check(&self) -> io::Result<()> {
        match requested() {
            Some(signal) => Err(io::Error::other(format!(
                "abandoned: the run was asked to stop ({})",
                signal_name(signal)
            ))),
            None => Ok(()),
        }
    }
}
