//! Every error type a fallible step may return: `Send + Sync` errors, `BoxError`, `String`,
//! `&'static str`, aliases with one type argument, and `Box<dyn Error>` (copied as a message
//! chain, since it cannot cross threads).
#![deny(warnings)]

use stepstone::prelude::*;

#[step]
fn io(text: &String) -> std::io::Result<u64> {
    Ok(text.len() as u64)
}

#[step]
fn boxed_sync(text: &String) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    Ok(text.trim().parse()?)
}

#[step]
fn boxed_local(text: &String) -> Result<u64, Box<dyn std::error::Error>> {
    Ok(text.trim().parse()?)
}

#[step]
fn message(text: &String) -> Result<u64, String> {
    text.trim().parse().map_err(|e| format!("not a number: {e}"))
}

#[step]
fn fixed(text: &String) -> Result<u64, &'static str> {
    text.trim().parse().map_err(|_| "not a number")
}

#[step]
fn run_result(text: &String) -> stepstone::Result<u64> {
    Ok(text.len() as u64)
}

fn wire(p: &mut Pipeline, text: &Handle<String>) -> Vec<Handle<u64>> {
    vec![
        io(p, text),
        boxed_sync(p, text),
        boxed_local(p, text),
        message(p, text),
        fixed(p, text),
        run_result(p, text),
    ]
}

fn main() {
    let _ = wire;
    assert!(boxed_local::body(&"x".to_string()).is_err());
    assert_eq!(message::body(&"7".to_string()), Ok(7));
}
