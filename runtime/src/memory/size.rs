//! The size trait: how many bytes a value holds, and what it costs in resident memory.
//!
//! [`MemSize`] walks a value once and records every heap allocation it owns into a
//! [`Footprint`]: the bytes *requested* from the allocator (what a counting allocator sees) and
//! the *resident* estimate (what the process's RSS pays, per the allocator model: glibc rounds
//! each small allocation up to a 16-byte multiple with an 8-byte header and a 32-byte minimum;
//! large ones are whole pages). The budget is charged the resident estimate, because a quota is
//! about RSS. Not responsible for: deciding what to evict ([`super::accountant`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::mem::size_of;
use std::sync::Arc;

/// Bytes a value holds: requested from the allocator, and the resident-memory estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Footprint {
    /// Bytes as a counting allocator sees them: inline size plus every heap allocation's size.
    pub requested: u64,
    /// Resident estimate: inline size plus each allocation rounded per the allocator model.
    pub resident: u64,
    /// Number of live heap allocations.
    pub allocations: u64,
}

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
    /// A footprint of `bytes` inline bytes (no heap).
    pub fn inline(bytes: usize) -> Self {
        Footprint {
            requested: bytes as u64,
            resident: bytes as u64,
            allocations: 0,
        }
    }
    /// Record one heap allocation of `bytes` (zero-sized allocations are ignored).
    pub fn add_allocation(&mut self, bytes: usize) {
        if bytes > 0 {
            self.requested += bytes as u64;
            self.resident += allocation_cost(bytes as u64);
            self.allocations += 1;
        }
    }
    /// Sum of two footprints.
    pub fn plus(self, other: Footprint) -> Footprint {
        Footprint {
            requested: self.requested + other.requested,
            resident: self.resident + other.resident,
            allocations: self.allocations + other.allocations,
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

    /// The whole footprint: inline size plus owned heap.
    fn footprint(&self) -> Footprint
    where
        Self: Sized,
    {
        let mut acc = Footprint::inline(size_of::<Self>());
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
        for item in self {
            item.add_heap(acc);
        }
    }
}

impl<T: MemSize> MemSize for VecDeque<T> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(self.capacity() * size_of::<T>());
        for item in self {
            item.add_heap(acc);
        }
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
        for item in self.iter() {
            item.add_heap(acc);
        }
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
        for item in self {
            item.add_heap(acc);
        }
    }
}

/// Hash tables: one allocation for buckets + control bytes, estimated from the capacity.
impl<K: MemSize, V: MemSize, S> MemSize for HashMap<K, V, S> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(hash_table_bytes::<(K, V)>(self.capacity()));
        for (k, v) in self {
            k.add_heap(acc);
            v.add_heap(acc);
        }
    }
}

impl<K: MemSize, S> MemSize for HashSet<K, S> {
    fn add_heap(&self, acc: &mut Footprint) {
        acc.add_allocation(hash_table_bytes::<K>(self.capacity()));
        for k in self {
            k.add_heap(acc);
        }
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
        for (k, v) in self {
            k.add_heap(acc);
            v.add_heap(acc);
        }
    }
}

impl<K: MemSize> MemSize for BTreeSet<K> {
    fn add_heap(&self, acc: &mut Footprint) {
        btree_nodes::<K>(self.len(), acc);
        for k in self {
            k.add_heap(acc);
        }
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
    fn allocation_model() {
        assert_eq!(allocation_cost(0), 0);
        assert_eq!(allocation_cost(1), 32);
        assert_eq!(allocation_cost(24), 32);
        assert_eq!(allocation_cost(25), 48);
        assert_eq!(allocation_cost(1 << 20), (1 << 20) + 4096);
    }
}
