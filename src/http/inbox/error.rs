//! The one error type of the inbox's pages, and the headers every inbox
//! answer carries.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::Markup;

use super::pages;
use crate::store::StoreError;

/// What an inbox request could not do, each answered with a page.
#[derive(Debug)]
pub enum InboxError {
    /// The request has no session (or one that ended). A page asks to log in;
    /// a change is refused.
    NotLoggedIn,
    /// A change whose form carries another session's CSRF token, or none.
    Csrf,
    /// The address names no thread.
    NoThread,
    BadRequest {
        title: &'static str,
        message: String,
    },
    /// A member with a one-time password must choose their own first.
    ChoosePassword,
    /// An agent asked for a page of admins.
    AdminsOnly,
    /// The database cannot be reached right now; the log says why.
    Unavailable(String),
    /// Something the inbox cannot tell the user about; the log says what.
    Internal(String),
}

impl From<StoreError> for InboxError {
    /// What the store did not find is a thread that is not there (the
    /// inbox asks it for nothing else).
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Missing(_) => Self::NoThread,
            StoreError::Conflict(message) => Self::BadRequest {
                title: "Not done",
                message,
            },
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            StoreError::Internal(e) => Self::Internal(format!("{e:#}")),
        }
    }
}

impl IntoResponse for InboxError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::NotLoggedIn => (
                StatusCode::FORBIDDEN,
                "Not logged in",
                "Your session has ended: log in again. Nothing was changed.".to_owned(),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "This form's security token is not the one of your session: reload the page and \
                 try again. Nothing was changed."
                    .to_owned(),
            ),
            Self::NoThread => (
                StatusCode::NOT_FOUND,
                "No such thread",
                "There is no message thread at this address.".to_owned(),
            ),
            Self::BadRequest { title, message } => (StatusCode::BAD_REQUEST, title, message),
            Self::ChoosePassword => {
                return (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, "/inbox/password")],
                )
                    .into_response();
            }
            Self::AdminsOnly => (
                StatusCode::FORBIDDEN,
                "Admins only",
                "Only an admin of the team may do that.".to_owned(),
            ),
            Self::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "inbox: database out of reach");
                let mut response = page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    pages::notice(
                        "The inbox cannot reach its database",
                        "The database is not answering right now (it may be restarting). \
                         Nothing was changed: try again in a few seconds. Messages that guests \
                         send meanwhile are answered by the API the same way, and none that was \
                         accepted is lost.",
                    ),
                );
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::http::error::OUTAGE_RETRY_AFTER_SECS),
                );
                return response;
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "inbox request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The inbox could not do that. Try again.".to_owned(),
                )
            }
        };
        page(status, pages::notice(title, &message))
    }
}

/// An HTML page.
pub fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// The headers of every inbox answer: only our own resources, in no frame, no
/// sniffing, no referrer; and pages are not cached (they hold guests' words).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
