//! Who is calling, for both APIs, and the extractors that hand a handler its
//! caller and its parsed, checked request.
//!
//! - [`Call<R>`]: an integration, by the `ClientToken`, `AccessToken` and
//!   `Client` of the body. The request counts against the token's rate limit.
//!   A request flows one way: the extractor parses and (usually) admits it,
//!   the handler sends its operation to the store with [`Call::send`], and
//!   answers with [`Sent::answer`].
//! - [`Staff<R>`]: the hotel's staff, by `Authorization: Bearer <operator token>`,
//!   checked before the body is read, so that nobody without the token learns
//!   anything about a request.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::domain::Request as Parse;
use crate::domain::fault::{Aimed, Stage};
use crate::domain::fields::{self, InputError, Object};
use crate::domain::scope::AccessGrant;
use crate::operations::Operation;
use crate::ratelimit::Decision;
use crate::request_log;
use crate::store::{Admission, Admitted, Pipelined};
use crate::tokens::TokenHash;

use super::AppState;
use super::body::JsonBody;
use super::context::RequestContext;
use super::error::{ApiError, Credentials};
use super::fault;

/// A Connector API request type, and the store operation it asks for once
/// its access token's grant is known.
pub trait Connector: Parse + Send + Sync + 'static {
    type Operation: Pipelined;

    /// The operation this request asks of the store, for a token with
    /// `grant`; or the request's own error (an enterprise out of scope).
    fn operation(&self, grant: &AccessGrant, app: &AppState) -> Result<Self::Operation, ApiError>;

    /// The threads the request names, which a fault may be aimed at.
    fn threads(&self) -> Vec<Uuid> {
        Vec::new()
    }
}

/// The properties every Connector API request may carry beside its
/// operation's own.
pub const CREDENTIALS: &[&str] = &[
    "ClientToken",
    "AccessToken",
    "Client",
    "LanguageCode",
    "CultureCode",
];

/// A Connector API request, parsed; admitted, or to be admitted together with
/// its operation (see [`crate::store::admission`]). Errors come in one order
/// either way: the body, the three credentials' presence, authentication,
/// the rate limit, faults, the rest of the request, the operation's own.
pub struct Call<R> {
    context: Arc<RequestContext>,
    operation: Operation,
    admission: Admission,
    /// The request, or what is wrong with it: said only after admission.
    request: Result<R, InputError>,
    /// The grant it was admitted with, or (when `expected`) the one its token
    /// was last admitted with on this node.
    grant: Option<AccessGrant>,
    expected: bool,
    /// The threads the request names (only looked for while there are faults).
    threads: Vec<Uuid>,
}

impl<R: Connector> FromRequest<AppState> for Call<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        let context = request
            .extensions()
            .get::<Arc<RequestContext>>()
            .cloned()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no request context")))?;
        let operation = context
            .operation
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no operation at this path")))?;
        let JsonBody(value) = JsonBody::from_request(request, app).await?;
        if app.requests.is_on() {
            context.set_logged_body(request_log::request_json(&value));
        }
        let body = Object::root(&value)?;
        let client_token = TokenHash::of(non_empty(&body, "ClientToken")?);
        let access_token = TokenHash::of(non_empty(&body, "AccessToken")?);
        non_empty(&body, "Client")?;
        let mut call = Self {
            context,
            operation,
            admission: Admission {
                client_token,
                access_token,
                limit: app.settings.rate_limit,
                now_ms: app.real_clock.now_ms(),
            },
            request: R::parse(&body),
            grant: None,
            expected: false,
            threads: Vec::new(),
        };
        if let Ok(request) = &call.request
            && app.faults.any().await?
        {
            call.threads = request.threads();
        }
        // A token this node has admitted before may travel with its
        // operation, unless a fault waits for the request.
        if let Some(expected) =
            app.grants
                .expected(client_token, access_token, call.admission.now_ms)
            && call.request.is_ok()
            && !app
                .faults
                .could_apply(&call.aimed(expected.integration_id), Stage::Before)
                .await?
        {
            call.grant = Some(expected);
            call.expected = true;
            return Ok(call);
        }
        let admitted = app.store.admit(call.admission).await?;
        app.metrics.count_admission("alone");
        let grant = call.admitted(app, admitted)?;
        call.before(app, &grant).await?;
        call.grant = Some(grant);
        Ok(call)
    }
}

impl<R: Connector> Call<R> {
    /// Runs the request's operation: with its admission when the extractor
    /// left that to travel with it, else by itself. The operation's output,
    /// with what answers it ([`Sent::answer`]).
    pub async fn send(
        mut self,
        app: &AppState,
    ) -> Result<Sent<R, <R::Operation as Pipelined>::Output>, ApiError> {
        let grant = self
            .grant
            .take()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a call without a grant")))?;
        let (grant, output) = match self.expected {
            true => match self.beside(app, &grant).await? {
                Ok(output) => (grant, output),
                Err(admitted) => {
                    let output = self.run(app, &admitted).await?;
                    (admitted, output)
                }
            },
            false => {
                let output = self.run(app, &grant).await?;
                (grant, output)
            }
        };
        Ok(Sent {
            request: self.request?,
            output,
            after: After {
                context: self.context,
                operation: self.operation,
                integration: grant.integration_id,
                threads: self.threads,
            },
        })
    }

    /// Runs the operation by itself, for an admitted `grant`.
    async fn run(
        &self,
        app: &AppState,
        grant: &AccessGrant,
    ) -> Result<<R::Operation as Pipelined>::Output, ApiError> {
        let request = self.request.as_ref().map_err(Clone::clone)?;
        let operation = request.operation(grant, app)?;
        Ok(operation.run(app.store.as_ref()).await?)
    }

    /// Sends the operation built for the `expected` grant with its
    /// admission. When admission allowed another grant than expected (or the
    /// operation could not be built for it), the operation did not run: the
    /// grant to run it with, after its `Before` faults.
    async fn beside(
        &self,
        app: &AppState,
        expected: &AccessGrant,
    ) -> Result<Result<<R::Operation as Pipelined>::Output, AccessGrant>, ApiError> {
        let request = self.request.as_ref().map_err(Clone::clone)?;
        let (admitted, outcome) = match request.operation(expected, app) {
            Ok(operation) => {
                let (admitted, outcome) = operation
                    .beside(app.store.as_ref(), self.admission, expected)
                    .await?;
                let counted = if outcome.is_some() {
                    "together"
                } else {
                    "dropped"
                };
                app.metrics.count_admission(counted);
                (admitted, outcome)
            }
            // Its own error comes after admission's.
            Err(_) => {
                app.metrics.count_admission("alone");
                (app.store.admit(self.admission).await?, None)
            }
        };
        let grant = self.admitted(app, admitted)?;
        if let Some(outcome) = outcome {
            return Ok(Ok(outcome?));
        }
        self.before(app, &grant).await?;
        Ok(Err(grant))
    }
}

impl<R> Call<R> {
    /// The request as a fault looks at it, for `integration`.
    fn aimed(&self, integration: Uuid) -> Aimed<'_> {
        Aimed {
            operation: self.operation,
            integration,
            threads: &self.threads,
        }
    }

    /// Notes what admission found, and answers for a request it did not allow.
    fn admitted(&self, app: &AppState, admitted: Admitted) -> Result<AccessGrant, ApiError> {
        let admission = self.admission;
        app.grants.note(
            admission.client_token,
            admission.access_token,
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
    async fn before(&self, app: &AppState, grant: &AccessGrant) -> Result<(), ApiError> {
        fault::step(
            app,
            &self.context,
            &self.aimed(grant.integration_id),
            Stage::Before,
        )
        .await?;
        match &self.request {
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone().into()),
        }
    }
}

/// What a Connector API request sent, and what its operation gave.
pub struct Sent<R, T> {
    pub request: R,
    pub output: T,
    /// What answers it.
    pub after: After,
}

/// The last step of a Connector API request, once its operation ran.
pub struct After {
    context: Arc<RequestContext>,
    operation: Operation,
    integration: Uuid,
    threads: Vec<Uuid>,
}

impl After {
    /// The answer, after the `After` faults: the operation has run and
    /// committed; a fault may hold its answer back, or replace it.
    pub async fn answer(self, app: &AppState, response: Response) -> Response {
        let request = Aimed {
            operation: self.operation,
            integration: self.integration,
            threads: &self.threads,
        };
        match fault::step(app, &self.context, &request, Stage::After).await {
            Ok(()) => response,
            Err(error) => error.into_response(),
        }
    }
}

/// An operator API request, from someone who holds the operator token.
pub struct Staff<R> {
    pub request: R,
}

impl<R: Parse> FromRequest<AppState> for Staff<R> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        if !holds_operator_token(request.headers(), &app.settings.operator_token) {
            return Err(ApiError::Unauthorized(Credentials::Staff));
        }
        let JsonBody(body) = JsonBody::from_request(request, app).await?;
        let unknown = fields::unknown(&body, &R::SHAPE, &[]);
        if !unknown.is_empty() {
            let named: Vec<String> = unknown.iter().map(ToString::to_string).collect();
            return Err(ApiError::BadRequest(format!(
                "The operator API takes no property {}: check the names (they are \
                 case-sensitive) against /openapi.json.",
                named.join(", ")
            )));
        }
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
