use stepstone::prelude::*;

struct Loader;

impl Loader {
    #[step]
    fn load(&self, rows: u64) -> Vec<u64> {
        (0..rows).collect()
    }
}

fn main() {
    let _ = Loader.load(3);
}
