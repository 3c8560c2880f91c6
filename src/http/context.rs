//! Per-request bookkeeping: the request id, the error body, the log line and the
//! request metrics. Runs around every route, the 404 fallback included.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorReport;

pub const REQUEST_ID: &str = "request-id";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// What a handler may tell the middleware about its request.
#[derive(Debug)]
pub struct RequestContext {
    pub id: Uuid,
    integration: OnceLock<Uuid>,
}

impl RequestContext {
    /// Records the authenticated integration, for the log line.
    pub fn set_integration(&self, id: Uuid) {
        let _ = self.integration.set(id);
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    message: &'a str,
    request_id: Uuid,
}

pub async fn track(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let context = Arc::new(RequestContext {
        id: Uuid::new_v4(),
        integration: OnceLock::new(),
    });
    request.extensions_mut().insert(context.clone());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();

    let mut response = next.run(request).await;

    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        if let Some(cause) = &report.cause {
            tracing::error!(request_id = %context.id, cause = %cause, "request failed");
        }
        let body = ErrorBody {
            message: &report.message,
            request_id: context.id,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
        response.headers_mut().remove(header::CONTENT_LENGTH);
        *response.body_mut() = Body::from(bytes);
    }
    if let Ok(id) = HeaderValue::from_str(&context.id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, id);
    }

    let latency = started.elapsed();
    let status = response.status().as_u16();
    let integration = context.integration.get();
    tracing::info!(
        target: "switchboard::request",
        method = %method,
        path = %path,
        status,
        latency_us = latency.as_micros() as u64,
        request_id = %context.id,
        integration_id = integration.map(tracing::field::display),
        "request"
    );
    app.metrics.observe_request(&route, status, latency);
    response
}
