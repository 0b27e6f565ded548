//! The size trait against the truth: a counting global allocator sees the bytes a value asks
//! for; `MemSize` must agree within 10 % for the seed `Row`, and the resident estimate must
//! cover the allocator's real cost.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

use stepstone::{Footprint, MemSize};

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: forwards to the system allocator; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug, Clone)]
struct Row {
    id: u64,
    key: u32,
    value: f64,
    tag: String,
}

impl MemSize for Row {
    fn add_heap(&self, acc: &mut Footprint) {
        self.tag.add_heap(acc);
    }
}

fn generate(rows: u64) -> Vec<Row> {
    (0..rows)
        .map(|id| Row {
            id,
            key: (id % 1000) as u32,
            value: id as f64 * 0.5,
            tag: format!("t{}", id % 97),
        })
        .collect()
}

#[test]
fn seed_rows_are_sized_within_ten_percent_of_a_counting_allocator() {
    let before = LIVE.load(Ordering::SeqCst);
    let rows = generate(200_000);
    let counted =
        (LIVE.load(Ordering::SeqCst) - before) as f64 + std::mem::size_of::<Vec<Row>>() as f64;
    let footprint = rows.footprint();
    let ratio = footprint.requested as f64 / counted;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "MemSize says {} bytes, the allocator saw {counted}",
        footprint.requested
    );
    assert_eq!(
        footprint.allocations, 200_001,
        "one per tag plus the vector"
    );
    assert!(
        footprint.resident >= footprint.requested,
        "resident covers malloc overhead"
    );
    // A cloned dataset (what each seed step makes) is sized the same way.
    let before = LIVE.load(Ordering::SeqCst);
    let copy: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            value: r.value + 1.0,
            ..r.clone()
        })
        .collect();
    let counted =
        (LIVE.load(Ordering::SeqCst) - before) as f64 + std::mem::size_of::<Vec<Row>>() as f64;
    let ratio = copy.footprint().requested as f64 / counted;
    assert!((0.9..=1.1).contains(&ratio), "clone: ratio {ratio}");
    assert!(rows[0].id == 0 && rows[0].key == 0 && copy[1].value > 0.0);
}
