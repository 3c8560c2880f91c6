//! Who is calling, for both APIs, and the extractors that hand a handler its
//! caller and its parsed, checked request.
//!
//! - [`Connector<R>`]: an integration, by the `ClientToken`, `AccessToken` and
//!   `Client` of the body; the request counts against the token's rate limit.
//! - [`Staff<R>`]: the hotel's staff, by `Authorization: Bearer <operator token>`,
//!   checked before the body is read, so that nobody without the token learns
//!   anything about a request.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};

use crate::domain::Request as Operation;
use crate::domain::fields::{InputError, Object};
use crate::domain::scope::AccessGrant;
use crate::ratelimit::Decision;
use crate::tokens::TokenHash;

use super::AppState;
use super::body::JsonBody;
use super::context::{CONNECTOR_PREFIX, RequestContext};
use super::error::{ApiError, Credentials};
use crate::domain::fault::Stage;
use crate::requests;

/// A Connector API request: the caller's grant and the operation's request.
pub struct Connector<R> {
    pub grant: AccessGrant,
    pub request: R,
}

impl<R: Operation> FromRequest<AppState> for Connector<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        let context = request
            .extensions()
            .get::<Arc<RequestContext>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no request context")))?;
        let operation = request
            .uri()
            .path()
            .strip_prefix(CONNECTOR_PREFIX)
            .unwrap_or_default()
            .to_owned();
        let JsonBody(body) = JsonBody::from_request(request, app).await?;
        if app.requests.is_on() {
            context.set_logged_body(requests::request_text(&body));
        }
        let body = Object::root(&body)?;
        let grant = authenticate(app, &context, &body).await?;
        before_fault(app, &context, &operation, grant.integration_id).await?;
        Ok(Self {
            grant,
            request: R::parse(&body)?,
        })
    }
}

/// The `Before` faults of an authenticated request: a fault may hold it back,
/// or answer it instead of the operation, which then does not run.
async fn before_fault(
    app: &AppState,
    context: &RequestContext,
    operation: &str,
    integration: uuid::Uuid,
) -> Result<(), ApiError> {
    let Some(fault) = app
        .faults
        .pick(operation, integration, Stage::Before)
        .await?
    else {
        return Ok(());
    };
    context.set_fault(fault.id);
    if fault.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms.into())).await;
    }
    match ApiError::fault(&fault) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// An operator API request, from someone who holds the operator token.
pub struct Staff<R> {
    pub request: R,
}

impl<R: Operation> FromRequest<AppState> for Staff<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        if !holds_operator_token(request.headers(), &app.settings.operator_token) {
            return Err(ApiError::Unauthorized(Credentials::Staff));
        }
        let JsonBody(body) = JsonBody::from_request(request, app).await?;
        Ok(Self {
            request: R::parse(&Object::root(&body)?)?,
        })
    }
}

/// Whether `Authorization` is `Bearer <the operator token>` (compared as
/// digests, in constant time).
fn holds_operator_token(headers: &HeaderMap, operator_token: &TokenHash) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .is_some_and(|(_, token)| TokenHash::of(token.trim()).matches(&operator_token.0))
}

/// Checks `ClientToken`, `AccessToken` and `Client`, then counts the request
/// against the token's limit. Requests that fail authentication are not counted.
async fn authenticate(
    app: &AppState,
    context: &RequestContext,
    body: &Object<'_>,
) -> Result<AccessGrant, ApiError> {
    let client_token = non_empty(body, "ClientToken")?;
    let access_token = non_empty(body, "AccessToken")?;
    non_empty(body, "Client")?;
    let limit = app.settings.rate_limit;
    let (grant, decision) = app
        .store
        .admit(
            TokenHash::of(client_token),
            TokenHash::of(access_token),
            limit,
            app.clock.now_ms(),
        )
        .await?
        .ok_or(ApiError::Unauthorized(Credentials::Integration))?;
    context.set_integration(grant.integration_id);
    match decision {
        Decision::Allowed => Ok(grant),
        Decision::Limited { retry_after_secs } => Err(ApiError::TooManyRequests {
            retry_after_secs,
            message: format!(
                "Too many requests: an AccessToken may make at most {} requests in {} seconds. \
                 Retry after {retry_after_secs} seconds.",
                limit.requests, limit.window_secs
            ),
        }),
    }
}

fn non_empty<'a>(body: &Object<'a>, name: &str) -> Result<&'a str, InputError> {
    let value = body.required_str(name)?;
    if value.is_empty() {
        return Err(InputError(format!("{name} must not be empty.")));
    }
    Ok(value)
}
