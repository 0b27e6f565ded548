//! The size trait: how many bytes a value holds, and what it costs in resident memory.
//!
//! [`MemSize`] walks a value once and records every heap allocation it owns into a
//! [`Footprint`]: the bytes *requested* from the allocator (what a counting allocator sees) and
//! the *resident* estimate (what the process's RSS pays, per the allocator model: glibc rounds
//! each small allocation up to a 16-byte multiple with an 8-byte header and a 32-byte minimum;
//! large ones are whole pages). The budget is charged the resident estimate, because a quota is
//! about RSS.
//!
//! An exact walk visits every element: for a 2-million-row dataset that is a pass over ~100 MB,
//! about 5 % of a step that only copies the rows. [`MemSize::estimated_footprint`] walks long
//! collections by an evenly spaced sample of [`SAMPLE`] elements instead and scales it up (the
//! way Spark's `SizeEstimator` samples arrays); the executor uses it only while the run is far
//! from its budget, and walks exactly otherwise. Not responsible for: deciding what to evict
//! ([`super::accountant`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

/// Bytes a value holds: requested from the allocator, and the resident-memory estimate.
///
/// Also the accumulator a [`MemSize`] walk adds to; an accumulator made by
/// [`Footprint::estimating`] lets long collections walk a sample (see [`Footprint::add_items`]).
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Footprint {
    /// Bytes as a counting allocator sees them: inline size plus every heap allocation's size.
    pub requested: u64,
    /// Resident estimate: inline size plus each allocation rounded per the allocator model.
    pub resident: u64,
    /// Number of live heap allocations.
    pub allocations: u64,
    /// The part of `resident` in allocations large enough for their own `mmap` (at or above
    /// glibc's 128 KiB threshold): handed back to the OS as soon as they are freed, whereas
    /// freed small allocations stay in malloc's free lists (and in RSS) until reused or trimmed.
    #[serde(default)]
    pub mapped: u64,
    /// Collections may walk a sample of their elements (not part of the figures).
    #[serde(skip)]
    estimating: bool,
    /// Some collection was walked by a sample: the figures are an extrapolation.
    #[serde(skip)]
    sampled: bool,
}

/// Two footprints are equal when their figures are (how they were walked does not count).
impl PartialEq for Footprint {
    fn eq(&self, other: &Self) -> bool {
        (self.requested, self.resident, self.allocations, self.mapped)
            == (
                other.requested,
                other.resident,
                other.allocations,
                other.mapped,
            )
    }
}
impl Eq for Footprint {}

/// Elements an estimating walk visits in a long collection.
pub const SAMPLE: usize = 1024;
/// Collections up to this many elements are walked in full even when estimating.
const SAMPLE_ABOVE: usize = 4 * SAMPLE;

/// Allocations at or above this size are served by `mmap` (glibc's default threshold).
const MMAP_THRESHOLD: u64 = 128 * 1024;
const PAGE: u64 = 4096;

/// Resident bytes that one heap allocation of `bytes` costs under glibc malloc on 64-bit Linux.
pub fn allocation_cost(bytes: u64) -> u64 {
    if bytes == 0 {
        0
    } else if bytes >= MMAP_THRESHOLD {
        (bytes + 16).div_ceil(PAGE) * PAGE
    } else {
        ((bytes + 8).div_ceil(16) * 16).max(32)
    }
}

impl Footprint {
    /// A footprint with these figures (none of it in `mmap`ed allocations).
    pub fn new(requested: u64, resident: u64, allocations: u64) -> Self {
        Footprint {
            requested,
            resident,
            allocations,
            ..Footprint::default()
        }
    }
    /// A footprint of `bytes` inline bytes (no heap).
    pub fn inline(bytes: usize) -> Self {
        Footprint {
            requested: bytes as u64,
            resident: bytes as u64,
            allocations: 0,
            ..Footprint::default()
        }
    }
    /// An empty accumulator for an estimating walk: collections longer than 4 × [`SAMPLE`]
    /// elements walk [`SAMPLE`] evenly spaced ones and scale the result.
    pub fn estimating() -> Self {
        Footprint {
            estimating: true,
            ..Footprint::default()
        }
    }
    /// Whether this accumulator lets collections sample.
    pub fn is_estimating(&self) -> bool {
        self.estimating
    }
    /// Whether some collection was walked by a sample, i.e. the figures are an extrapolation.
    pub fn is_sampled(&self) -> bool {
        self.sampled
    }
    /// Record one heap allocation of `bytes` (zero-sized allocations are ignored).
    pub fn add_allocation(&mut self, bytes: usize) {
        if bytes > 0 {
            let cost = allocation_cost(bytes as u64);
            self.requested += bytes as u64;
            self.resident += cost;
            self.allocations += 1;
            if bytes as u64 >= MMAP_THRESHOLD {
                self.mapped += cost;
            }
        }
    }
    /// Record the heap of every element of `items` — or, in an estimating walk of a long slice,
    /// of [`SAMPLE`] evenly spaced elements scaled up to the slice's length. Implementations of
    /// [`MemSize`] for collections call this for their elements.
    pub fn add_items<T: MemSize>(&mut self, items: &[T]) {
        let len = items.len();
        if !self.estimating || len <= SAMPLE_ABOVE {
            for item in items {
                item.add_heap(self);
            }
            return;
        }
        let picks = (0..SAMPLE).filter_map(|i| items.get(i * len / SAMPLE));
        self.add_sample(len, picks, T::add_heap);
    }
    /// Like [`Footprint::add_items`] for a collection known by its length and an iterator
    /// (deques, hash tables, trees); `walk` records one element. The sample is every
    /// `len / SAMPLE`-th element.
    pub fn add_iter<I: Iterator>(
        &mut self,
        len: usize,
        items: I,
        mut walk: impl FnMut(I::Item, &mut Footprint),
    ) {
        if !self.estimating || len <= SAMPLE_ABOVE {
            for item in items {
                walk(item, self);
            }
            return;
        }
        self.add_sample(len, items.step_by(len / SAMPLE), walk);
    }
    /// Walk `picks` into a scratch accumulator and add it scaled by `len / picks`.
    fn add_sample<I: Iterator>(
        &mut self,
        len: usize,
        picks: I,
        mut walk: impl FnMut(I::Item, &mut Footprint),
    ) {
        let mut part = Footprint::estimating();
        let mut walked = 0u64;
        for item in picks {
            walk(item, &mut part);
            walked += 1;
        }
        if walked == 0 {
            return;
        }
        let scale = |x: u64| -> u64 {
            u64::try_from(u128::from(x) * len as u128 / u128::from(walked)).unwrap_or(u64::MAX)
        };
        self.requested = self.requested.saturating_add(scale(part.requested));
        self.resident = self.resident.saturating_add(scale(part.resident));
        self.allocations = self.allocations.saturating_add(scale(part.allocations));
        self.mapped = self.mapped.saturating_add(scale(part.mapped));
        self.sampled = true;
    }
    /// Sum of two footprints (estimating if `self` is; sampled if either is).
    pub fn plus(self, other: Footprint) -> Footprint {
        Footprint {
            requested: self.requested + other.requested,
            resident: self.resident + other.resident,
            allocations: self.allocations + other.allocations,
            mapped: self.mapped + other.mapped,
            estimating: self.estimating,
            sampled: self.sampled || other.sampled,
        }
    }
}

/// The memory size of a value that crosses a step boundary.
///
/// Implement [`MemSize::add_heap`] by calling it on every field (that is what
/// `#[derive(MemSize)]` generates) and [`Footprint::add_allocation`] for buffers you own.
/// Implementations exist for the std types a dataset is made of.
pub trait MemSize {
    /// Record the heap allocations owned by `self` (not its inline bytes) into `acc`.
    fn add_heap(&self, acc: &mut Footprint);

    /// The whole footprint: inline size plus owned heap, every element walked.
    fn footprint(&self) -> Footprint
    where
        Self: Sized,
    {
        let mut acc = Footprint::inline(size_of::<Self>());
        self.add_heap(&mut acc);
        acc
    }

    /// The whole footprint with long collections walked by a sample of [`SAMPLE`] elements and
    /// scaled up ([`Footprint::is_sampled`] tells whether any was). Exact for collections of
    /// up to 4 × [`SAMPLE`] elements and for elements that are all alike; a few outsized
    /// elements can be missed, so the executor trusts it only far from the budget.
    fn estimated_footprint(&self) -> Footprint
    where
        Self: Sized,
    {
        let mut acc = Footprint::estimating();
        acc.requested = size_of::<Self>() as u64;
        acc.resident = acc.requested;
        self.add_heap(&mut acc);
        acc
    }
}

macro_rules! no_heap {
    ($($t:ty),* $(,)?) => {
        $(impl MemSize for $t {
            #[inline]
            fn add_heap(&self, _acc: &mut Footprint) {}
        })*
    };
}

no_heap!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    std::time::Duration,
    std::time::SystemTime
);

impl MemSize for String {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.capacity());
    }
}

impl MemSize for std::path::PathBuf {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.capacity());
    }
}

impl<T: MemSize> MemSize for Vec<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.capacity() * size_of::<T>());
        acc.add_items(self);
    }
}

impl<T: MemSize> MemSize for VecDeque<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.capacity() * size_of::<T>());
        acc.add_iter(self.len(), self.iter(), |k, acc| k.add_heap(acc));
    }
}

impl<T: MemSize> MemSize for Box<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(size_of::<T>());
        (**self).add_heap(acc);
    }
}

impl<T: MemSize> MemSize for Box<[T]> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(std::mem::size_of_val::<[T]>(self));
        acc.add_items(self);
    }
}

impl MemSize for Box<str> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.len());
    }
}

/// Shared values are counted in full by every holder: the runtime cannot know the other owners.
impl<T: MemSize> MemSize for Arc<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(size_of::<T>() + 2 * size_of::<usize>());
        (**self).add_heap(acc);
    }
}

impl<T: MemSize> MemSize for Option<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        if let Some(v) = self {
            v.add_heap(acc);
        }
    }
}

impl<T: MemSize, E: MemSize> MemSize for Result<T, E> {
    fn add_heap(&self, acc: &mut Footprint) {
        match self {
            Ok(v) => v.add_heap(acc),
            Err(e) => e.add_heap(acc),
        }
    }
}

impl<T: MemSize, const N: usize> MemSize for [T; N] {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_items(self);
    }
}

/// Hash tables: one allocation for buckets + control bytes, estimated from the capacity.
impl<K: MemSize, V: MemSize, S> MemSize for HashMap<K, V, S> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(hash_table_bytes::<(K, V)>(self.capacity()));
        acc.add_iter(self.len(), self.iter(), |(k, v), acc| {
            k.add_heap(acc);
            v.add_heap(acc);
        });
    }
}

impl<K: MemSize, S> MemSize for HashSet<K, S> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(hash_table_bytes::<K>(self.capacity()));
        acc.add_iter(self.len(), self.iter(), |k, acc| k.add_heap(acc));
    }
}

fn hash_table_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    // hashbrown: buckets are a power of two ≥ capacity * 8 / 7, one control byte each + 16.
    let buckets = (capacity * 8 / 7).next_power_of_two().max(4);
    buckets * size_of::<T>() + buckets + 16
}

/// B-trees: nodes of up to 11 entries; estimated as one allocation per 8 entries.
impl<K: MemSize, V: MemSize> MemSize for BTreeMap<K, V> {
    fn add_heap(&self, acc: &mut Footprint) {
        btree_nodes::<(K, V)>(self.len(), acc);
        acc.add_iter(self.len(), self.iter(), |(k, v), acc| {
            k.add_heap(acc);
            v.add_heap(acc);
        });
    }
}

impl<K: MemSize> MemSize for BTreeSet<K> {
    fn add_heap(&self, acc: &mut Footprint) {
        btree_nodes::<K>(self.len(), acc);
        acc.add_iter(self.len(), self.iter(), |k, acc| k.add_heap(acc));
    }
}

fn btree_nodes<T>(len: usize, acc: &mut Footprint) {
    let node = 11 * size_of::<T>() + 2 * size_of::<usize>() + 12 * size_of::<usize>();
    for _ in 0..len.div_ceil(8) {
        acc.add_allocation(node);
    }
}

macro_rules! tuple_impls {
    ($($name:ident)+) => {
        impl<$($name: MemSize),+> MemSize for ($($name,)+) {
            #[allow(non_snake_case)]
            fn add_heap(&self, acc: &mut Footprint) {
                let ($($name,)+) = self;
                $($name.add_heap(acc);)+
            }
        }
    };
}

tuple_impls!(A);
tuple_impls!(A B);
tuple_impls!(A B C);
tuple_impls!(A B C D);
tuple_impls!(A B C D E);
tuple_impls!(A B C D E F);
tuple_impls!(A B C D E F G);
tuple_impls!(A B C D E F G H);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_and_vec() {
        let v = vec![String::from("abc"), String::new()];
        let f = v.footprint();
        assert_eq!(f.requested, 24 + 2 * 24 + 3);
        assert_eq!(f.allocations, 2);
        assert_eq!(f.resident, 24 + 64 + 32);
    }

    #[test]
    fn estimate_of_alike_rows_is_exact_and_marked_sampled() {
        let v: Vec<(u64, String)> = (0..100_000u64)
            .map(|i| (i, format!("t{}", i % 7)))
            .collect();
        let (exact, estimate) = (v.footprint(), v.estimated_footprint());
        assert!(!exact.is_sampled());
        assert!(estimate.is_sampled());
        assert_eq!(estimate.resident, exact.resident);
        assert_eq!(estimate.allocations, exact.allocations);
        let off = estimate.requested.abs_diff(exact.requested) as f64 / exact.requested as f64;
        assert!(off < 0.001, "requested off by {off}");
    }

    #[test]
    fn short_collections_are_walked_in_full_even_when_estimating() {
        let v: Vec<String> = (0..SAMPLE_ABOVE).map(|i| "x".repeat(i % 100)).collect();
        let estimate = v.estimated_footprint();
        assert!(!estimate.is_sampled());
        assert_eq!(estimate, v.footprint());
    }

    #[test]
    fn maps_and_nested_collections_sample_too() {
        let m: HashMap<u32, Vec<String>> = (0..20_000u32)
            .map(|k| (k, vec!["abc".to_string(); 3]))
            .collect();
        let (exact, estimate) = (m.footprint(), m.estimated_footprint());
        assert!(estimate.is_sampled());
        assert_eq!(estimate.resident, exact.resident);
        let d: VecDeque<String> = (0..10_000).map(|_| "abcd".to_string()).collect();
        assert_eq!(d.estimated_footprint().resident, d.footprint().resident);
    }

    #[test]
    fn a_sample_can_miss_an_outsized_element() {
        // What the executor guards against by trusting estimates only far from the budget.
        let mut v: Vec<String> = (0..10_000).map(|_| String::from("a")).collect();
        v[1] = "x".repeat(1 << 20);
        let (exact, estimate) = (v.footprint(), v.estimated_footprint());
        assert!(exact.resident > (1 << 20));
        assert!(estimate.resident < exact.resident / 2);
    }

    #[test]
    fn equality_ignores_how_a_footprint_was_walked() {
        let mut a = Footprint::estimating();
        a.add_allocation(10);
        let mut b = Footprint::default();
        b.add_allocation(10);
        assert_eq!(a, b);
        assert_eq!(Footprint::new(1, 2, 3), Footprint::new(1, 2, 3));
    }

    #[test]
    fn large_allocations_are_counted_as_mapped() {
        let mut f = Footprint::default();
        f.add_allocation(100);
        assert_eq!(f.mapped, 0);
        f.add_allocation(1 << 20);
        assert_eq!(f.mapped, allocation_cost(1 << 20));
        let rows: Vec<String> = (0..10).map(|_| "abc".to_string()).collect();
        let big: Vec<u64> = vec![0; 1 << 15];
        assert_eq!(rows.footprint().mapped, 0);
        assert_eq!(big.footprint().mapped, allocation_cost(8 << 15));
    }

    #[test]
    fn allocation_model() {
        assert_eq!(allocation_cost(0), 0);
        assert_eq!(allocation_cost(1), 32);
        assert_eq!(allocation_cost(24), 32);
        assert_eq!(allocation_cost(25), 48);
        assert_eq!(allocation_cost(1 << 20), (1 << 20) + 4096);
    }
}
