//! Tests that run the `switchboard` binary itself.
