use stepstone::{InputFile, step};

#[step(per_file = "path")]
fn load(file: InputFile) -> u64 {
    file.as_os_str().len() as u64
}

fn main() {}
