//! Endpoints for operators of the server itself: health, readiness, metrics and
//! the OpenAPI document.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use super::{AppState, respond};

pub async fn healthz() -> Result<Response, ApiError> {
    respond::json(&json!({ "Status": "ok" }))
}

pub async fn readyz(State(app): State<AppState>) -> Result<Response, ApiError> {
    match app.store.ping().await {
        Ok(()) => respond::json(&json!({ "Status": "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable(
                "The database is not reachable.".to_owned(),
            ))
        }
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

pub async fn openapi() -> Result<Response, ApiError> {
    respond::json(&super::openapi::document())
}
