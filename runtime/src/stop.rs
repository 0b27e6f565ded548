//! The process-wide stop request: raised by the SIGINT / SIGTERM handlers (`exec/interrupt.rs`
//! installs them) or by [`request_stop`], read at safe points — by the executor between steps
//! and while an object is written, by input hashing between blocks.
//!
//! Owns: the flag and the signal that raised it. A leaf module (it imports nothing of the
//! crate), so that every layer can look at it without an import circle. Not responsible for:
//! installing handlers or what a stopped run does.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// A stop was asked for and not yet acted on by a finished run.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);
/// The signal that asked for it (0 when none).
pub(crate) static SIGNAL: AtomicUsize = AtomicUsize::new(0);

/// Forget a stop asked for before this run started (a new run starts clean).
pub(crate) fn reset() {
    SIGNAL.store(0, Ordering::SeqCst);
    STOP.store(false, Ordering::SeqCst);
}

/// The signal number that asked the run to stop, if one did.
pub(crate) fn requested() -> Option<i32> {
    if !STOP.load(Ordering::Relaxed) {
        return None;
    }
    match SIGNAL.load(Ordering::SeqCst) {
        0 => Some(SIGTERM),
        s => i32::try_from(s).ok(),
    }
}

/// Ask the current run to stop, as a signal would (for embedding applications and tests).
pub fn request_stop(signal: i32) {
    SIGNAL.store(usize::try_from(signal).unwrap_or(0), Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// The conventional name of a stop signal.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a stop request",
    }
}
