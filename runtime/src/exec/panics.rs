//! A panicking step body is a failed step, not a dead process: the body runs under
//! `catch_unwind` (on the scheduler thread and on workers), and a panic hook records where it
//! panicked and with what message, so the error reads `step X panicked at src/file.rs:L:C: msg`.
//!
//! Owns: the process-wide panic hook (installed once, chaining to the hook that was there) and
//! the per-thread "inside a step body" marker with the last panic seen there. Not responsible
//! for: what the failed run keeps (`run.rs`, `executor.rs`).
//!
//! Outside step bodies the previous hook runs unchanged. Inside one, the panic is not printed
//! (the run's error and report carry it) unless `RUST_BACKTRACE` is set, in which case the
//! previous hook prints it with its backtrace as usual. With `panic = "abort"` nothing can be
//! caught: the process aborts as if killed, every committed checkpoint stays valid, spills are
//! kept, no report is written, and the next run resumes.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

thread_local! {
    static IN_STEP: Cell<bool> = const { Cell::new(false) };
    static LAST: RefCell<Option<Caught>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Where and why a step body panicked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caught {
    /// `file:line:column`, when the panic reported it.
    pub(crate) location: Option<String>,
    /// The panic message (`<non-string panic payload>` when it was not a string).
    pub(crate) message: String,
}

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if IN_STEP.with(Cell::get) {
                let caught = Caught {
                    location: info
                        .location()
                        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())),
                    message: payload_message(info.payload()),
                };
                LAST.with(|last| *last.borrow_mut() = Some(caught));
                if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
                    previous(info);
                }
            } else {
                previous(info);
            }
        }));
    });
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// Run a step body; a panic comes back as `Err` with its location and message.
pub(crate) fn catch_step<R>(body: impl FnOnce() -> R) -> Result<R, Caught> {
    install_hook();
    let was = IN_STEP.with(|f| f.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(body));
    IN_STEP.with(|f| f.set(was));
    result.map_err(|payload| {
        LAST.with(|last| last.borrow_mut().take())
            .unwrap_or_else(|| Caught {
                location: None,
                message: payload_message(&*payload),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_with_its_location_and_message() {
        let line = line!() + 1;
        let caught = catch_step(|| -> u32 { panic!("bad row {}", 7) }).unwrap_err();
        assert_eq!(caught.message, "bad row 7");
        let at = caught.location.clone().unwrap_or_default();
        assert!(at.starts_with(&format!("{}:{line}:", file!())), "{at}");
    }

    #[test]
    fn a_body_that_returns_is_untouched() {
        assert_eq!(catch_step(|| 41 + 1), Ok(42));
    }

    #[test]
    fn a_non_string_payload_is_named() {
        let caught = catch_step(|| std::panic::panic_any(17u8)).unwrap_err();
        assert_eq!(caught.message, "<non-string panic payload>");
    }
}
