//! Success responses: JSON with `charset=utf-8`, and the `204` of an empty page.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::body::prefers_minimal;
use super::context::JSON_UTF8;
use super::error::ApiError;

pub fn json<T: Serialize>(value: &T) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.into()))?;
    let mut response = Response::new(Body::from(bytes));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    Ok(response)
}

/// A `getAll` page: `204 No Content` when it is empty and the client sent
/// `Prefer: return=minimal`, else the JSON body.
pub fn page<T: Serialize>(
    headers: &HeaderMap,
    is_empty: bool,
    body: &T,
) -> Result<Response, ApiError> {
    if is_empty && prefers_minimal(headers) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    json(body)
}
