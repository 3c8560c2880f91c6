//! Endpoints for operators of the server itself: health, readiness, metrics and
//! the OpenAPI document.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use super::{AppState, respond};
use crate::domain::paging::Count;
use crate::domain::scope::Visibility;
use crate::store::ThreadQuery;

pub async fn healthz() -> Result<Response, ApiError> {
    respond::json(&json!({ "Status": "ok" }))
}

pub async fn readyz(State(app): State<AppState>) -> Result<Response, ApiError> {
    match app.store.ping().await {
        Ok(()) => respond::json(&json!({ "Status": "ready" })),
        Err(e) => Err(ApiError::Unavailable(format!("readiness check: {e}"))),
    }
}

pub async fn metrics(State(app): State<AppState>) -> Result<Response, ApiError> {
    let backlog = app.store.webhook_backlog().await?;
    let text = app
        .metrics
        .render(app.store.write_stats().unwrap_or_default(), backlog)
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    Ok(response)
}

/// The Postman collection of every operation (made from the OpenAPI document).
pub async fn postman(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    respond::json(&super::postman::collection(&base_url(&app, &headers)))
}

/// Where users reach this server: `--public-url`, else the address the
/// request was sent to.
fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &app.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '"']))
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

/// The OpenAPI document. Its examples that name a thread name the newest
/// thread of the demo's Sample Client when there is one, so that they work as
/// they are; before the first thread they name a placeholder.
pub async fn openapi(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let newest = app
        .store
        .threads(ThreadQuery {
            visibility: Visibility {
                integration: Some(crate::demo::SAMPLE_CLIENT),
                enterprises: None,
            },
            enterprises: None,
            integrations: None,
            is_resolved: None,
            thread_ids: None,
            created: None,
            updated: None,
            cursor: None,
            count: Count::new(1),
        })
        .await?;
    let mut document = super::openapi::document(newest.first().map(|thread| thread.id));
    document["servers"] = json!([{ "url": base_url(&app, &headers) }]);
    respond::json(&document)
}
