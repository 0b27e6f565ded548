//! Fuzz target: arbitrary bytes into the object decoder (`stepstone::store::decode_object`,
//! the same checks `Store::read` applies), then, when an object is valid, its payload into
//! postcard as the shapes the tests use. Any panic, abort, hang or huge allocation is a bug:
//! every input must give `Ok` or a typed `StoreError`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, payload)) = stepstone::store::decode_object(data.to_vec(), None) {
        let _ = postcard::from_bytes::<Vec<u64>>(&payload);
        let _ = postcard::from_bytes::<(Vec<u64>, String)>(&payload);
    }
});
