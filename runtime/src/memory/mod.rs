//! Memory: the budget, the size trait, resident-memory readings and the eviction choice.
//!
//! Responsible for measuring and deciding; the executor ([`crate::exec`]) acts on the decisions
//! (spilling, dropping, reloading).

mod accountant;
mod budget;
mod eviction;
mod rss;
mod shared;
mod size;

pub use accountant::{Accountant, MemorySample, Reservation};
pub use budget::{Budget, ParseBudgetError, human_bytes};
pub use eviction::{Candidate, choose_victim};
pub use rss::{current_rss, fix_mmap_threshold, peak_rss, release_free_memory, reset_peak_rss};
pub use shared::{BufferId, SharedBuffers};
pub use size::{Footprint, MemSize, SAMPLE, allocation_cost};
