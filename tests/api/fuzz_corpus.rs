//! The fuzz target's corpus (`fuzz/corpus/request`), run as an ordinary test:
//! request decoding and validation answers every input kept there, and never
//! panics. `cargo +nightly fuzz run request` (in `fuzz/`'s parent) grows it.

use switchboard::http::check_request;

#[test]
fn request_decoding_answers_every_input_of_the_fuzz_corpus() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/request");
    let operations = crate::helpers::paths::operations();
    let mut inputs = 0;
    let mut accepted = 0;
    for entry in std::fs::read_dir(folder).expect("the corpus folder") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&pick, body)) = data.split_first() else {
            continue;
        };
        let path = operations[usize::from(pick) % operations.len()];
        accepted += usize::from(check_request(path, body).is_ok());
        inputs += 1;
    }
    assert!(inputs >= 10, "the corpus has its seeds: {inputs}");
    assert!(accepted >= 1, "some inputs are valid requests");
    assert!(accepted < inputs, "some inputs are refused");
}

#[test]
fn every_operation_has_its_request_checked() {
    for path in crate::helpers::paths::operations() {
        if let Err(e) = check_request(path, b"{}") {
            assert!(!e.contains("is not an operation"), "{path}: {e}");
        }
    }
    assert!(check_request("/api/nothing", b"{}").is_err());
}
