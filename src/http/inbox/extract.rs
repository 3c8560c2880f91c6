//! The inbox's extractors: the session of a page's request, and the session
//! and form of a change, its CSRF token checked before anything is read
//! from the form.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use uuid::Uuid;

use super::InboxError;
use super::session::{COOKIE, Session, Who};
use crate::domain::scope::Visibility;
use crate::domain::staff::{Actor, Role, Scope};
use crate::http::AppState;

/// Who is logged in: their session, what they act as, may do and see.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Session,
    pub actor: Actor,
    pub role: Role,
    pub scope: Scope,
    /// A member's login (none for the operator).
    pub login: Option<String>,
    pub must_change_password: bool,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The viewer's id for what the inbox keeps per member (assignments,
    /// unread marks): the member's, or the Operator's.
    pub fn reader(&self) -> Uuid {
        self.actor
            .member
            .unwrap_or(crate::store::staff::OPERATOR_ID)
    }

    /// What the viewer's queries of messages may see.
    pub fn visibility(&self) -> Visibility {
        Visibility {
            integration: None,
            enterprises: self.scope.filter().map(<[Uuid]>::to_vec),
        }
    }

    /// The viewer's scope as a query filter.
    pub fn scope_filter(&self) -> Option<Vec<Uuid>> {
        self.scope.filter().map(<[Uuid]>::to_vec)
    }
}

/// The viewer of a logged-in request: a session signed by this
/// installation's key, not expired in real time, not ended by logging out
/// (on any node), whose member exists, is not disabled and has not changed
/// their password since (read from the database at every request, so that
/// a change on any node holds at once). A member who must choose a password
/// is sent to do that first.
pub struct LoggedIn(pub Viewer);

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
        let viewer = match session.who {
            Who::Operator => Viewer {
                session,
                actor: Actor::operator(),
                role: Role::Admin,
                scope: Scope::All,
                login: None,
                must_change_password: false,
            },
            Who::Member(id) => {
                let member = app
                    .store
                    .staff_member(id)
                    .await?
                    .filter(|m| !m.disabled && session.issued_ms >= m.sessions_from_ms)
                    .ok_or(InboxError::NotLoggedIn)?;
                Viewer {
                    session,
                    actor: Actor {
                        member: Some(member.id),
                        name: member.name,
                    },
                    role: member.role,
                    scope: member.scope,
                    login: Some(member.login),
                    must_change_password: member.must_change_password,
                }
            }
        };
        let path = parts.uri.path();
        if viewer.must_change_password && path != "/inbox/password" && path != "/inbox/logout" {
            return Err(InboxError::ChoosePassword);
        }
        Ok(Self(viewer))
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

    /// The form from its `application/x-www-form-urlencoded` body.
    fn read(body: &[u8]) -> Result<Self, InboxError> {
        serde_urlencoded::from_bytes(body).map_err(|_| Self::unreadable())
    }
}

impl InboxForm for super::NoFields {}
impl InboxForm for super::ReplyForm {}
impl InboxForm for super::AssignForm {}
impl InboxForm for super::NoteForm {}
impl InboxForm for super::CannedForm {}
impl InboxForm for super::PasswordForm {}

impl InboxForm for super::TeamForm {
    /// With its checked `enterprise` boxes, a field that repeats.
    fn read(body: &[u8]) -> Result<Self, InboxError> {
        let mut form: Self = serde_urlencoded::from_bytes(body).map_err(|_| Self::unreadable())?;
        form.enterprises = url::form_urlencoded::parse(body)
            .filter(|(name, _)| name == "enterprise")
            .map(|(_, value)| Uuid::try_parse(&value).map_err(|_| Self::unreadable()))
            .collect::<Result<_, _>>()?;
        Ok(form)
    }
}

impl InboxForm for super::ResolveForm {
    fn unreadable() -> InboxError {
        InboxError::BadRequest {
            title: "Not a change",
            message: "The form did not say whether to resolve or reopen.".to_owned(),
        }
    }
}

/// A change of a logged-in session: its viewer, once the form's CSRF token
/// is the session's, and the form. Without a session or the right token:
/// 403, and nothing changes.
pub struct Posted<T>(pub Viewer, pub T);

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
        let LoggedIn(viewer) = session?;
        if !app.inbox.sessions.csrf_matches(&viewer.session, &csrf) {
            return Err(InboxError::Csrf);
        }
        let form = T::read(&body)?;
        Ok(Self(viewer, form))
    }
}
