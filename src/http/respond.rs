//! Success responses: JSON with `charset=utf-8`, and the `204` of an empty page.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::body::prefers_minimal;
use super::context::JSON_UTF8;
use super::error::ApiError;
use crate::domain::json::{self, WriteJson};

pub fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(json_bytes(bytes))
}

/// A 200 with `bytes`, which are JSON.
pub fn json_bytes(bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

/// About what one item of a page takes in JSON (a thread is 200 to 300 bytes;
/// a longer message makes the buffer grow once or twice), so that a page's
/// buffer is sized once: a page of 100 threads (20 KiB) grew from 128 bytes
/// in eight reallocations, 3% of its CPU.
const ITEM_BYTES: usize = 320;

/// An answer that lists what a write stored: `{"<name>": [items]}`.
pub fn items<V: WriteJson>(name: &'static str, items: &[V]) -> Response {
    let mut bytes = Vec::with_capacity(128 + items.len() * ITEM_BYTES);
    json::Object::begin(&mut bytes)
        .value(name, |out| json::write_array(out, items))
        .end();
    json_bytes(bytes)
}

/// A `getAll` page, `{"<name>": [items], "Cursor": <the last item's id>}`,
/// or `204 No Content` when it is empty and the client sent
/// `Prefer: return=minimal`.
pub fn page<V: WriteJson>(
    headers: &HeaderMap,
    name: &'static str,
    items: &[V],
    cursor: Option<Uuid>,
) -> Response {
    if items.is_empty() && prefers_minimal(headers) {
        return StatusCode::NO_CONTENT.into_response();
    }
    let mut bytes = Vec::with_capacity(128 + items.len() * ITEM_BYTES);
    json::Object::begin(&mut bytes)
        .value(name, |out| json::write_array(out, items))
        .value("Cursor", |out| match cursor {
            Some(id) => json::write_id(out, id),
            None => out.extend_from_slice(b"null"),
        })
        .end();
    json_bytes(bytes)
}
