//! The domain: validated request types and the rules of SPEC.md.
//!
//! Handlers never see unchecked input: each request is parsed here into a type
//! that can only hold valid values, and every rule lives in exactly one place.

pub mod fields;
pub mod message;
pub mod paging;
pub mod scope;
pub mod text;
pub mod thread;
pub mod time;
pub mod webhook;
