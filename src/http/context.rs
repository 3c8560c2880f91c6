//! Per-request bookkeeping: the request id, the error body, the log line and the
//! request metrics. Runs around every route, the 404 fallback included.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use super::AppState;
use super::error::ErrorReport;
use tracing::Instrument;

use super::fault::ConnectionFault;
use crate::operations::{Api, Operation};
use crate::request_log::{self, Logged};

pub const REQUEST_ID: &str = "request-id";
pub const JSON_UTF8: &str = "application/json; charset=utf-8";

/// What a handler may tell the middleware about its request.
#[derive(Debug)]
pub struct RequestContext {
    pub id: Uuid,
    /// The operation at the request's path, if there is one.
    pub operation: Option<Operation>,
    integration: OnceLock<Uuid>,
    fault: OnceLock<Uuid>,
    /// The request body as the request log keeps it (when the log is on).
    logged_body: OnceLock<request_log::Body>,
}

impl RequestContext {
    /// Records the authenticated integration, for the log line.
    pub fn set_integration(&self, id: Uuid) {
        let _ = self.integration.set(id);
    }

    /// Keeps the request body for the request log.
    pub fn set_logged_body(&self, body: request_log::Body) {
        let _ = self.logged_body.set(body);
    }

    /// Records the fault that answered the request.
    pub fn set_fault(&self, id: Uuid) {
        let _ = self.fault.set(id);
    }

    /// The fault that answered the request, if one did.
    pub fn fault(&self) -> Option<Uuid> {
        self.fault.get().copied()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    message: &'a str,
    request_id: Uuid,
}

pub async fn track(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = app.real_clock.instant();
    let operation = Operation::at(request.uri().path());
    let context = Arc::new(RequestContext {
        id: Uuid::new_v4(),
        operation,
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
    let logged = app.requests.is_on().then(|| {
        operation
            .filter(|op| op.api() == Api::Connector)
            .map(|op| (op, request_headers(request.headers())))
    });

    // Every line logged while the request runs names it.
    let span = tracing::info_span!("request", request_id = %context.id);
    let mut response = next.run(request).instrument(span).await;

    if let Some(report) = response.extensions_mut().remove::<ErrorReport>() {
        match &report.cause {
            Some(cause) if report.outage => {
                tracing::warn!(request_id = %context.id, cause = %cause, "database out of reach");
            }
            Some(cause) => {
                tracing::error!(request_id = %context.id, cause = %cause, "request failed");
            }
            None => {}
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

    let latency = app.real_clock.instant().saturating_duration_since(started);
    // A connection fault's answer never reaches the client.
    let dropped = response.extensions().get::<ConnectionFault>().is_some();
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
    if let Some(Some((operation, headers))) = logged {
        let status = (!dropped).then_some(status);
        let entry = Entry {
            operation,
            status,
            latency,
            headers,
        };
        response = log_request(&app, &context, entry, response).await;
    }
    response
}

/// The headers of a request that the request log keeps.
fn request_headers(headers: &HeaderMap) -> request_log::Headers {
    let get = |name: header::HeaderName| headers.get(name).cloned();
    request_log::Headers {
        content_type: get(header::CONTENT_TYPE),
        content_length: get(header::CONTENT_LENGTH),
        user_agent: get(header::USER_AGENT),
        prefer: get(header::HeaderName::from_static("prefer")),
        retry_after: None,
    }
}

/// What the request log notes of a request beside its bodies.
struct Entry {
    operation: Operation,
    status: Option<u16>,
    latency: Duration,
    headers: request_log::Headers,
}

/// Adds a Connector API request to the node's request log, with the start of
/// its answer (whose body is whole already: it is read and put back).
async fn log_request(
    app: &AppState,
    context: &RequestContext,
    entry: Entry,
    response: Response,
) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut headers = entry.headers;
    headers.retry_after = parts.headers.get(header::RETRY_AFTER).cloned();
    let answered = entry.status.is_some();
    app.requests.push(Logged {
        sequence: 0,
        request_id: context.id,
        time_utc: app
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        logged_ms: app.real_clock.now_ms(),
        operation: entry.operation,
        integration_id: context.integration.get().copied(),
        status: entry.status,
        duration_ms: entry.latency.as_micros() as f64 / 1000.0,
        request: context.logged_body.get().cloned().unwrap_or_default(),
        response: if answered {
            request_log::response(&bytes)
        } else {
            request_log::Body::None
        },
        headers,
        fault_id: context.fault.get().copied(),
    });
    Response::from_parts(parts, Body::from(bytes))
}
