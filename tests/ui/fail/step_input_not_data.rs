use stepstone::prelude::*;
use std::rc::Rc;

#[step]
fn total(values: &Rc<Vec<u64>>) -> u64 {
    values.iter().sum()
}

fn main() {
    let _ = total::body(&Rc::new(vec![1]));
}
