//! The executor's knowledge of the process heap beyond the charges: bytes freed in small
//! allocations since the last trim (malloc keeps those in RSS until reused or trimmed), whether
//! a resident charge is a sampled estimate, the RSS the run started at (`measure.rs` reads
//! them), and the shared-buffer ledger ([`SharedBuffers`]).
//!
//! Owns: [`Heap`]. Changed by `residency.rs` (eviction, freeing, trimming) and `measure.rs`;
//! not responsible for the charges themselves (the accountant's).

use crate::memory::{Footprint, SharedBuffers, current_rss};

/// Freed bytes after which memory is handed back to the OS.
pub(super) const TRIM_AFTER: u64 = 8 << 20;

/// What the executor knows of the process heap beyond the charges.
pub(crate) struct Heap {
    /// Bytes freed in small allocations since the last trim.
    pub(crate) freed_since_trim: u64,
    /// Some resident value may be charged a sampled estimate (see `measure.rs`).
    pub(crate) has_estimates: bool,
    /// The process's RSS when the run started (what the run's own memory is measured from).
    pub(crate) rss_at_start: u64,
    /// Buffers of resident values that may share them, each counted once.
    pub(crate) buffers: SharedBuffers,
}

impl Heap {
    /// The heap as the run starts.
    pub(crate) fn start() -> Heap {
        Heap {
            freed_since_trim: 0,
            has_estimates: false,
            rss_at_start: current_rss(),
            buffers: SharedBuffers::new(),
        }
    }

    /// A value charged `charged` bytes (of `footprint`) was freed.
    pub(crate) fn freed(&mut self, charged: u64, footprint: Option<Footprint>) {
        self.freed_since_trim += small_part(charged, footprint);
    }

    /// A value of `footprint` was just allocated: its small allocations came out of what malloc
    /// kept from earlier frees first.
    pub(crate) fn allocated(&mut self, footprint: Footprint) {
        let small = small_part(footprint.resident, Some(footprint));
        self.freed_since_trim = self.freed_since_trim.saturating_sub(small);
    }
}

/// Of `charged` bytes, those in small allocations (what malloc keeps in its free lists when
/// they are freed, and can serve small requests from); large ones are `mmap`ed.
pub(crate) fn small_part(charged: u64, footprint: Option<Footprint>) -> u64 {
    charged.saturating_sub(footprint.map_or(0, |f| f.mapped))
}
