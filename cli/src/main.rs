//! The `stepstone` command.

fn main() {
    println!("stepstone {}", env!("CARGO_PKG_VERSION"));
}
