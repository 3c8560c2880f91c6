//! Request decoding and validation: the first byte picks an operation, the
//! rest is its body. Whatever the bytes, `check_request` must answer, never
//! panic. Run with `cargo +nightly fuzz run request` in this folder's parent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::http::{check_request, paths::OPERATIONS};

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, body)) = data.split_first() {
        let path = OPERATIONS[usize::from(pick) % OPERATIONS.len()];
        let _ = check_request(path, body);
    }
});
