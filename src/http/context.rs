//! Per-request bookkeeping: the request id, the error body, the log line and the
//! request metrics. Runs around every route, the 404 fallback included.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::error::{ApiError, ErrorReport};
use crate::domain::fault::Stage;
use crate::requests::{self, Logged};

pub const REQUEST_ID: &str = "request-id";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// What a handler may tell the middleware about its request.
#[derive(Debug)]
pub struct RequestContext {
    pub id: Uuid,
    integration: OnceLock<Uuid>,
    fault: OnceLock<Uuid>,
    /// The request body as the request log keeps it (when the log is on and
    /// the body was JSON).
    logged_body: OnceLock<String>,
}

impl RequestContext {
    /// Records the authenticated integration, for the log line.
    pub fn set_integration(&self, id: Uuid) {
        let _ = self.integration.set(id);
    }

    /// Keeps the request body for the request log.
    pub fn set_logged_body(&self, text: String) {
        let _ = self.logged_body.set(text);
    }

    /// Records the fault that answered the request.
    pub fn set_fault(&self, id: Uuid) {
        let _ = self.fault.set(id);
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    message: &'a str,
    request_id: Uuid,
}

/// Where the Connector API's operations live; a fault names what follows.
pub const CONNECTOR_PREFIX: &str = "/api/connector/v1/";

/// The answer of an authenticated Connector API request, after the `After`
/// faults: the operation has run and committed; a fault may hold its answer
/// back, or replace it.
async fn after_fault(
    app: &AppState,
    context: &RequestContext,
    operation: &str,
    integration: Uuid,
    response: Response,
) -> Response {
    let fault = match app.faults.pick(operation, integration, Stage::After).await {
        Ok(Some(fault)) => fault,
        Ok(None) => return response,
        Err(e) => return ApiError::from(e).into_response(),
    };
    context.set_fault(fault.id);
    if fault.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fault.delay_ms.into())).await;
    }
    match ApiError::fault(&fault) {
        Some(error) => error.into_response(),
        None => response,
    }
}

pub async fn track(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let context = Arc::new(RequestContext {
        id: Uuid::new_v4(),
        integration: OnceLock::new(),
        fault: OnceLock::new(),
        logged_body: OnceLock::new(),
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
    // Only an answer of success is held back or replaced: the write happened.
    if let Some(operation) = path.strip_prefix(CONNECTOR_PREFIX)
        && let Some(&integration) = context.integration.get()
        && context.fault.get().is_none()
        && response.status().is_success()
    {
        response = after_fault(&app, &context, operation, integration, response).await;
    }

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
    if app.requests.is_on()
        && let Some(operation) = path.strip_prefix(CONNECTOR_PREFIX)
    {
        response = log_request(&app, &context, operation, status, latency, response).await;
    }
    response
}

/// Adds a Connector API request to the node's request log, with the start of
/// its answer (whose body is whole already: it is read and put back).
async fn log_request(
    app: &AppState,
    context: &RequestContext,
    operation: &str,
    status: u16,
    latency: Duration,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    app.requests.push(Logged {
        request_id: context.id,
        time_utc: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        operation: operation.to_owned(),
        integration_id: context.integration.get().copied(),
        status,
        duration_ms: latency.as_micros() as f64 / 1000.0,
        request: context.logged_body.get().cloned(),
        response: Some(requests::response_text(&bytes)),
        fault_id: context.fault.get().copied(),
    });
    Response::from_parts(parts, Body::from(bytes))
}
