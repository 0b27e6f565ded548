use stepstone::MemSize;

#[derive(MemSize)]
struct Row {
    id: u64,
    #[mem_size(ignore)]
    tag: String,
}

fn main() {
    let _ = Row { id: 1, tag: String::new() };
}
