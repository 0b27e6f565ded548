//! Shared helpers for the workspace test suite (ui, scaffold, crash, resume, reliability).
//!
//! The tests themselves live in `tests/tests/*.rs`, one file per behaviour area.
