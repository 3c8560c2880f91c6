//! Who is calling, for both APIs, and the extractors that hand a handler its
//! caller and its parsed, checked request.
//!
//! - [`Call<R>`]: an integration, by the `ClientToken`, `AccessToken` and
//!   `Client` of the body; the request counts against the token's rate limit,
//!   and its operation may travel with its admission
//!   ([`crate::store::admission`]).
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
use crate::store::{Admission, Admitted, Guardable, Outcome};
use crate::tokens::TokenHash;

use super::AppState;
use super::body::JsonBody;
use super::context::{CONNECTOR_PREFIX, RequestContext};
use super::error::{ApiError, Credentials};
use crate::domain::fault::Stage;
use crate::requests;

/// A Connector API request, whose handler hands its operation to
/// [`Call::run`]: the request is admitted (authenticated and counted), its
/// `Before` faults applied, and the operation run, or sent along with the
/// admission (see [`crate::store::admission`]). Errors come in one order
/// either way: the body, the three credentials' presence, authentication,
/// the rate limit, faults, the rest of the request, the operation's own.
pub struct Call<R> {
    context: Arc<RequestContext>,
    operation: String,
    client_token: TokenHash,
    access_token: TokenHash,
    /// The request, or what is wrong with it: said only after admission.
    request: Result<R, InputError>,
}

impl<R: Operation + Send> FromRequest<AppState> for Call<R> {
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
        let client_token = TokenHash::of(non_empty(&body, "ClientToken")?);
        let access_token = TokenHash::of(non_empty(&body, "AccessToken")?);
        non_empty(&body, "Client")?;
        Ok(Self {
            context,
            operation,
            client_token,
            access_token,
            request: R::parse(&body),
        })
    }
}

impl<R> Call<R> {
    fn admission(&self, app: &AppState) -> Admission {
        Admission {
            client_token: self.client_token,
            access_token: self.access_token,
            limit: app.settings.rate_limit,
            now_ms: app.clock.now_ms(),
        }
    }

    /// Admits the request by itself, then applies its `Before` faults: the
    /// grant and the request.
    async fn admit(self, app: &AppState) -> Result<(AccessGrant, R), ApiError> {
        let admission = self.admission(app);
        let admitted = app.store.admit(admission).await?;
        app.metrics.count_admission("alone");
        let grant = self.admitted(app, admission, admitted)?;
        self.after_admission(app, &grant).await.map(|r| (grant, r))
    }

    /// Notes what admission found, and answers for a request it did not allow.
    fn admitted(
        &self,
        app: &AppState,
        admission: Admission,
        admitted: Admitted,
    ) -> Result<AccessGrant, ApiError> {
        app.grants.note(
            self.client_token,
            self.access_token,
            &admitted,
            admission.now_ms,
        );
        let (grant, decision) = admitted.ok_or(ApiError::Unauthorized(Credentials::Integration))?;
        self.context.set_integration(grant.integration_id);
        match decision {
            Decision::Allowed => Ok(grant),
            Decision::Limited { retry_after_secs } => {
                let limit = admission.limit;
                Err(ApiError::TooManyRequests {
                    retry_after_secs,
                    message: format!(
                        "Too many requests: an AccessToken may make at most {} requests in {} \
                         seconds. Retry after {retry_after_secs} seconds.",
                        limit.requests, limit.window_secs
                    ),
                })
            }
        }
    }

    /// What follows an admission that allowed the request: its `Before`
    /// faults, then the request's own errors.
    async fn after_admission(self, app: &AppState, grant: &AccessGrant) -> Result<R, ApiError> {
        before_fault(app, &self.context, &self.operation, grant.integration_id).await?;
        Ok(self.request?)
    }

    /// Admits the request and runs the operation that `build` makes of its
    /// grant and request: the request and the operation's output.
    ///
    /// When this node has admitted the token before, no fault waits for the
    /// request, and `build` accepts the request with the grant seen then, the
    /// operation goes to the store with the admission ([`Store::admit_then`]).
    /// Otherwise, or when that admission finds another grant, it runs after
    /// admission the plain way.
    ///
    /// [`Store::admit_then`]: crate::store::Store::admit_then
    pub async fn run<O: Guardable>(
        self,
        app: &AppState,
        build: impl Fn(&AccessGrant, &R) -> Result<O, ApiError>,
    ) -> Result<(R, O::Output), ApiError> {
        let admission = self.admission(app);
        let expected = app
            .grants
            .expected(self.client_token, self.access_token, admission.now_ms);
        let (grant, request) = if let Some(expected) = expected
            && let Ok(request) = &self.request
            && !app
                .faults
                .could_apply(&self.operation, expected.integration_id, Stage::Before)
                .await?
            && let Ok(operation) = build(&expected, request)
        {
            let (admitted, outcome) = app
                .store
                .admit_then(admission, &expected, operation.into())
                .await?;
            app.metrics.count_admission(match outcome {
                Some(_) => "together",
                None => "dropped",
            });
            let grant = self.admitted(app, admission, admitted)?;
            if let Some(outcome) = outcome {
                let output = output::<O>(outcome?)?;
                return Ok((self.request?, output));
            }
            let request = self.after_admission(app, &grant).await?;
            (grant, request)
        } else {
            self.admit(app).await?
        };
        let output = output::<O>(build(&grant, &request)?.into().run(&*app.store).await?)?;
        Ok((request, output))
    }
}

fn output<O: Guardable>(outcome: Outcome) -> Result<O::Output, ApiError> {
    O::output(outcome).ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "the store answered an operation with another operation's outcome"
        ))
    })
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

fn non_empty<'a>(body: &Object<'a>, name: &str) -> Result<&'a str, InputError> {
    let value = body.required_str(name)?;
    if value.is_empty() {
        return Err(InputError(format!("{name} must not be empty.")));
    }
    Ok(value)
}
