//! `crate = "…"`: the runtime reached under another name (here an `extern crate` alias, which
//! joins the extern prelude like a renamed dependency does).
#![deny(warnings)]

extern crate stepstone as ss;

use serde::{Deserialize, Serialize};
use ss::{Handle, Pipeline};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ss::MemSize)]
#[mem_size(crate = "ss")]
struct Item {
    name: String,
}

#[ss::step(crate = "ss")]
fn items(n: u32) -> Vec<Item> {
    (0..n).map(|i| Item { name: format!("item{i}") }).collect()
}

#[ss::step(checkpoint, crate = "::ss")]
fn names(items: &Vec<Item>) -> Vec<String> {
    items.iter().map(|i| i.name.clone()).collect()
}

#[ss::pipeline(crate = "ss", budget = "1 GiB")]
fn listing(p: &mut Pipeline, n: u32) -> ss::Result<Handle<Vec<String>>> {
    let all = items(p, n);
    Ok(names(p, &all))
}

fn main() {
    assert_eq!(names::body(&items::body(2)), vec!["item0".to_string(), "item1".to_string()]);
    assert_eq!(listing::defaults().budget, Some("1 GiB"));
    let _ = listing::run;
}
