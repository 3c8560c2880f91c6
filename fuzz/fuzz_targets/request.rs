//! Request decoding and validation: the first byte picks an operation, the
//! rest is its body. Whatever the bytes, `check_request` must answer, never
//! panic. Run with `cargo +nightly fuzz run request` in this folder's parent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::http::check_request;
use switchboard::operations::Operation;

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, body)) = data.split_first() {
        let path = Operation::ALL[usize::from(pick) % Operation::ALL.len()].path();
        let _ = check_request(path, body);
    }
});
