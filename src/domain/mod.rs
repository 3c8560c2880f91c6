//! The domain: validated request types and the rules of the API.
//!
//! Handlers never see unchecked input: each request is parsed here into a type
//! that can only hold valid values, and every rule lives in exactly one place.

pub mod admin;
pub mod emulator;
pub mod fault;
pub mod fields;
pub mod json;
pub mod message;
pub mod paging;
pub mod scope;
pub mod search;
pub mod staff;
pub mod text;
pub mod thread;
pub mod time;
pub mod webhook;

use fields::{Input, Object, Shape};

/// The properties of an operation's request body, parsed and checked: what the
/// HTTP layer's extractors hand a handler.
pub trait Request: Sized {
    /// Every property the request takes (the Connector API's credentials
    /// aside): the operator API refuses any other, and the request log names
    /// those the Connector API ignored.
    const SHAPE: Shape;

    fn parse(body: &Object<'_>) -> Input<Self>;
}
