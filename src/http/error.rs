//! The one error type of the HTTP layer and its mapping to status codes.
//!
//! `IntoResponse` only sets the status and headers and attaches an [`ErrorReport`];
//! the request middleware turns that into the JSON body `{"Message", "RequestId"}`
//! (it knows the request id) and logs the cause of a 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::fault::ConnectionFault;
use crate::domain::fault::{Connection, Fault};
use crate::domain::fields::InputError;
use crate::store::{Missing, StoreError};

/// Whose credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    /// An integration's body tokens. One message for every failure: it must not
    /// tell which token was wrong.
    Integration,
    /// The operator token of the staff API.
    Staff,
}

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    Unauthorized(Credentials),
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge(usize),
    UnsupportedMediaType(&'static str),
    TooManyRequests {
        retry_after_secs: u64,
        message: String,
    },
    /// The database cannot be reached right now: a 503 with
    /// [`OUTAGE_RETRY_AFTER_SECS`]; the cause goes to the log.
    Unavailable(String),
    /// The answer of a fault the operator added.
    Fault {
        status: StatusCode,
        message: String,
        retry_after_secs: Option<u32>,
    },
    /// A connection fault: no answer at all.
    Dropped(Connection),
    Internal(anyhow::Error),
}

/// What the middleware needs to finish an error response.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub message: String,
    /// The internal cause of a 500 or a 503, for the log only.
    pub cause: Option<String>,
    /// Whether the cause is the database out of reach (a warning in the
    /// log, not an error: nothing is wrong with the server).
    pub outage: bool,
}

/// The `Retry-After` of a 503 while the database cannot be reached: about
/// what a PostgreSQL restart or a fail-over takes.
pub const OUTAGE_RETRY_AFTER_SECS: u32 = 5;

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self::BadRequest(e.0)
    }
}

/// The one place where what the store did not find becomes an answer: always
/// a 400 that names the property, and the same whether the thing does not exist
/// or is not the caller's.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let missing = match e {
            StoreError::Internal(e) => return Self::Internal(e),
            StoreError::Unavailable(cause) => return Self::Unavailable(cause),
            StoreError::Conflict(message) => return Self::BadRequest(message),
            StoreError::Missing(missing) => missing,
        };
        Self::BadRequest(match missing {
            Missing::ThreadCursor => {
                "Limitation.Cursor is not the id of a message thread visible to the caller."
                    .to_owned()
            }
            Missing::MessageCursor => {
                "Limitation.Cursor is not the id of a message visible to the caller.".to_owned()
            }
            Missing::BatchThread(index) => format!(
                "Messages[{index}].MessageThreadId is not the id of a message thread visible to the caller."
            ),
            Missing::Thread(_) => "MessageThreadId is not the id of a message thread.".to_owned(),
            Missing::Integration(_) => "IntegrationId is not the id of an integration.".to_owned(),
            Missing::Enterprise(id) => {
                format!("EnterpriseIds: {id} is not the id of an enterprise.")
            }
            Missing::AccessToken => "AccessToken is not an active access token.".to_owned(),
            Missing::DeliveryCursor => {
                "Limitation.Cursor is not the id of a webhook delivery.".to_owned()
            }
            Missing::StaffMember => "Login is not the login of a staff member.".to_owned(),
        })
    }
}

impl ApiError {
    /// The answer of `fault`, when it has a status to answer with or a
    /// connection to drop.
    pub fn fault(fault: &Fault) -> Option<Self> {
        if let Some(connection) = fault.connection {
            return Some(Self::Dropped(connection));
        }
        let status = StatusCode::from_u16(fault.status?).ok()?;
        Some(Self::Fault {
            status,
            message: fault.answer_message(),
            retry_after_secs: fault.retry_after_seconds,
        })
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Fault { status, .. } => *status,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) | Self::Dropped(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn report(self) -> ErrorReport {
        let message = match self {
            Self::BadRequest(m) => m,
            Self::Unavailable(cause) => {
                return ErrorReport {
                    message: format!(
                        "The database cannot be reached right now. Nothing was changed by this \
                         request; retry after {OUTAGE_RETRY_AFTER_SECS} seconds."
                    ),
                    cause: Some(cause),
                    outage: true,
                };
            }
            Self::Fault { message, .. } => message,
            Self::TooManyRequests { message, .. } => message,
            Self::Unauthorized(Credentials::Integration) => {
                "The ClientToken or AccessToken is invalid, or the AccessToken does not belong \
                 to the client."
                    .to_owned()
            }
            Self::Unauthorized(Credentials::Staff) => {
                "The operator token is missing or invalid: send Authorization: Bearer \
                 <operator token>."
                    .to_owned()
            }
            Self::NotFound => {
                "There is no operation at this address. Addresses are case-sensitive \
                               and have no trailing slash."
                    .to_owned()
            }
            Self::MethodNotAllowed => "This operation accepts only POST.".to_owned(),
            Self::PayloadTooLarge(limit) => {
                format!("The request body is larger than the limit of {limit} bytes.")
            }
            Self::UnsupportedMediaType(m) => m.to_owned(),
            Self::Dropped(connection) => format!("Dropped by a fault: {}.", connection.as_str()),
            Self::Internal(cause) => {
                return ErrorReport {
                    message: "An unexpected error occurred. Quote the RequestId when reporting it."
                        .to_owned(),
                    cause: Some(format!("{cause:#}")),
                    outage: false,
                };
            }
        };
        ErrorReport {
            message,
            cause: None,
            outage: false,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = status.into_response();
        if let Self::Dropped(connection) = self {
            response
                .extensions_mut()
                .insert(ConnectionFault(connection));
            return response;
        }
        match &self {
            Self::MethodNotAllowed => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::Fault {
                retry_after_secs: Some(seconds),
                ..
            } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            Self::Unavailable(_) => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(OUTAGE_RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response.extensions_mut().insert(self.report());
        response
    }
}
