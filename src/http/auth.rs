//! Who is calling: the body tokens of the Connector API, then the rate limit.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use serde_json::Value;

use crate::domain::fields::{InputError, Object};
use crate::domain::scope::AccessGrant;
use crate::ratelimit::Decision;
use crate::tokens::TokenHash;

use super::AppState;
use super::body::JsonBody;
use super::context::RequestContext;
use super::error::{ApiError, UNAUTHORIZED};

/// A Connector API request: its JSON body, whose credentials have been checked
/// and counted against the token's rate limit.
pub struct ConnectorRequest {
    pub grant: AccessGrant,
    pub body: Value,
}

impl FromRequest<AppState> for ConnectorRequest {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        let context = request
            .extensions()
            .get::<Arc<RequestContext>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no request context")))?;
        let JsonBody(body) = JsonBody::from_request(request, app).await?;
        let grant = authenticate(app, &context, &Object::root(&body)?).await?;
        Ok(Self { grant, body })
    }
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
    let grant = app
        .store
        .find_access(TokenHash::of(client_token), TokenHash::of(access_token))
        .await?
        .ok_or(ApiError::Unauthorized(UNAUTHORIZED))?;
    context.set_integration(grant.integration_id);

    let limit = app.settings.rate_limit;
    let now_ms = app.clock.now().timestamp_millis();
    match app.store.check_rate(grant.token_id, limit, now_ms).await? {
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
