//! Feed one object file to the decoders the runtime uses, for the hostile-input tests (row 10 of
//! the reliability matrix): `hostile FILE` runs `stepstone::store::decode_object` on the bytes
//! and, if the object itself is valid, decodes its payload with postcard as a `Block` and as a
//! `Vec<u64>`. The tests run it under `ulimit -v`, so a decoder that trusted a length prefix and
//! allocated it would abort the process instead of printing.
//!
//! Exit status: 0 when every decoder returned a typed error (printed as `rejected: …`), 1 when
//! something decoded (printed as `decoded: …`), 2 on a usage or read error.

use std::process::ExitCode;

use stepstone_tests::Block;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: hostile FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: reading {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let payload = match stepstone::store::decode_object(bytes, None) {
        Ok((_, payload)) => payload,
        Err(e) => {
            println!("rejected: object: {e}");
            return ExitCode::SUCCESS;
        }
    };
    let block = postcard::from_bytes::<Block>(&payload);
    let numbers = postcard::from_bytes::<Vec<u64>>(&payload);
    match (block, numbers) {
        (Err(b), Err(v)) => {
            println!("rejected: payload: as Block: {b}; as Vec<u64>: {v}");
            ExitCode::SUCCESS
        }
        (Ok(b), _) => {
            println!("decoded: a Block of {} numbers", b.data.len());
            ExitCode::from(1)
        }
        (_, Ok(v)) => {
            println!("decoded: a Vec<u64> of {} numbers", v.len());
            ExitCode::from(1)
        }
    }
}
