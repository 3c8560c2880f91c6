//! Success responses: JSON with `charset=utf-8`, and the `204` of an empty page.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::body::prefers_minimal;
use super::context::JSON_UTF8;
use super::error::ApiError;
use crate::domain::json::{self, PageItem, PageWriter, WriteJson, WrittenPage};

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

/// An answer that lists what a write stored: `{"<name>": [items]}`.
pub fn items<V: WriteJson>(name: &'static str, items: &[V]) -> Response {
    let mut bytes = Vec::with_capacity(128 + items.len() * json::ITEM_BYTES);
    json::Object::begin(&mut bytes)
        .value(name, |out| json::write_array(out, items))
        .end();
    json_bytes(bytes)
}

/// A `getAll` page, `{"<name>": [items], "Cursor": <the last item's id>}`,
/// or `204 No Content` when it is empty and the client sent
/// `Prefer: return=minimal`.
pub fn page<V: PageItem>(headers: &HeaderMap, name: &'static str, items: &[V]) -> Response {
    let mut page = PageWriter::new(name, items.len());
    items.iter().for_each(|item| page.push(item));
    written(headers, page.finish())
}

/// A `getAll` page a store wrote as it read its rows; see [`page`].
pub fn written(headers: &HeaderMap, page: WrittenPage) -> Response {
    if page.len == 0 && prefers_minimal(headers) {
        return StatusCode::NO_CONTENT.into_response();
    }
    json_bytes(page.json)
}
