//! `#[derive(MemSize)]` on every shape: named, tuple and unit structs, enums, generics, skip.
#![deny(warnings)]

use stepstone::{Footprint, MemSize};

#[derive(MemSize)]
struct Named {
    id: u64,
    tag: String,
    #[mem_size(skip)]
    shared: &'static str,
}

#[derive(MemSize)]
struct Tuple(u32, String, #[mem_size(skip)] String);

#[derive(MemSize)]
struct Unit;

#[derive(MemSize)]
struct Wrapper<T>(Vec<T>);

#[derive(MemSize)]
enum Shape {
    Empty,
    Text(String),
    Pair { left: String, #[mem_size(skip)] right: String },
    Nested(Wrapper<String>),
}

#[derive(MemSize)]
enum Never {}

fn heap(value: &impl MemSize) -> u64 {
    let mut acc = Footprint::default();
    value.add_heap(&mut acc);
    acc.requested
}

fn main() {
    let _ = Named { id: 1, tag: String::new(), shared: "" }.id;
    assert_eq!(heap(&Named { id: 1, tag: "abcd".to_string(), shared: "ignored" }), 4);
    assert_eq!(heap(&Tuple(1, "abc".to_string(), "skipped".to_string())), 3);
    assert_eq!(heap(&Unit), 0);
    assert_eq!(heap(&Wrapper(vec![1u64, 2])), 16);
    assert_eq!(heap(&Shape::Empty), 0);
    assert_eq!(heap(&Shape::Text("xy".into())), 2);
    assert_eq!(heap(&Shape::Pair { left: "a".into(), right: "skipped".into() }), 1);
    assert_eq!(heap(&Shape::Nested(Wrapper(vec!["ab".into()]))), 24 + 2);
    let _ = |n: &Never| heap(n);
    assert!(Named { id: 0, tag: String::new(), shared: "" }.footprint().requested >= 40);
}
