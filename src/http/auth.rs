//! Who is calling: the body tokens of the Connector API, then the rate limit.

use crate::domain::fields::{InputError, Object};
use crate::domain::scope::AccessGrant;
use crate::ratelimit::Decision;
use crate::tokens::TokenHash;

use super::AppState;
use super::context::RequestContext;
use super::error::{ApiError, UNAUTHORIZED};

/// Checks `ClientToken`, `AccessToken` and `Client`, then counts the request
/// against the token's limit. Requests that fail authentication are not counted.
pub async fn authenticate(
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
