//! The inbox's extractors: the session of a page's request, and the session
//! and form of a change, its CSRF token checked before anything is read
//! from the form.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::InboxError;
use super::session::{COOKIE, Session};
use crate::http::AppState;

/// The session of a logged-in request: signed by this installation's key,
/// not expired in real time, and not ended by logging out (on any node).
pub struct LoggedIn(pub Session);

impl FromRequestParts<AppState> for LoggedIn {
    type Rejection = InboxError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, InboxError> {
        let value = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .ok_or(InboxError::NotLoggedIn)?;
        let session = app
            .inbox
            .sessions
            .check(value, app.real_clock.now_unix())
            .ok_or(InboxError::NotLoggedIn)?;
        if app.store.session_ended(session.id.clone()).await? {
            return Err(InboxError::NotLoggedIn);
        }
        Ok(Self(session))
    }
}

/// A form the inbox posts, and what a form that cannot be read is answered
/// with.
pub trait InboxForm: DeserializeOwned {
    fn unreadable() -> InboxError {
        InboxError::BadRequest {
            title: "Not a form",
            message: "The form could not be read.".to_owned(),
        }
    }
}

impl InboxForm for super::NoFields {}
impl InboxForm for super::ReplyForm {}

impl InboxForm for super::ResolveForm {
    fn unreadable() -> InboxError {
        InboxError::BadRequest {
            title: "Not a change",
            message: "The form did not say whether to resolve or reopen.".to_owned(),
        }
    }
}

/// A change of a logged-in session: its session, once the form's CSRF token
/// is the session's, and the form. Without a session or the right token:
/// 403, and nothing changes.
pub struct Posted<T>(pub Session, pub T);

#[derive(Deserialize)]
struct Csrf {
    #[serde(default)]
    csrf: String,
}

impl<T: InboxForm> FromRequest<AppState> for Posted<T> {
    type Rejection = InboxError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, InboxError> {
        let (mut parts, body) = request.into_parts();
        let session = LoggedIn::from_request_parts(&mut parts, app).await;
        let body = Bytes::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|_| T::unreadable())?;
        let csrf = serde_urlencoded::from_bytes::<Csrf>(&body)
            .map(|c| c.csrf)
            .unwrap_or_default();
        let LoggedIn(session) = session?;
        if !app.inbox.sessions.csrf_matches(&session, &csrf) {
            return Err(InboxError::Csrf);
        }
        let form = serde_urlencoded::from_bytes(&body).map_err(|_| T::unreadable())?;
        Ok(Self(session, form))
    }
}
