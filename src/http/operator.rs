//! The staff's side (SPEC §10): the operator API behind `Authorization: Bearer`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Serialize;

use crate::domain::fields::Object;
use crate::domain::message::{MessageFilter, Sender};
use crate::domain::scope::Visibility;
use crate::domain::thread::{StaffThreadFilter, StaffThreadView, UpdateThread};
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::ThreadQuery;
use crate::tokens::TokenHash;

use super::body::JsonBody;
use super::error::ApiError;
use super::messages::{add_messages, list_messages};
use super::threads::{cursor_not_visible, thread_page};
use super::{AppState, respond};

pub const UNAUTHORIZED: &str =
    "The operator token is missing or invalid: send Authorization: Bearer <operator token>.";

/// Proof that the request carries the operator token. Checked before the body
/// is read, so that nobody without the token learns anything about a request.
pub struct Staff;

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        match token {
            Some(token) if TokenHash::of(token).matches(&app.settings.operator_token.0) => {
                Ok(Staff)
            }
            _ => Err(ApiError::Unauthorized(UNAUTHORIZED)),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Updated<'a> {
    message_threads: [StaffThreadView<'a>; 1],
}

pub async fn threads_get_all(
    _: Staff,
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let filter = StaffThreadFilter::parse(&Object::root(&body)?)?;
    let threads = app
        .store
        .threads(ThreadQuery {
            visibility: Visibility::staff(),
            enterprises: filter.enterprise_ids,
            integrations: filter.integration_ids,
            is_resolved: filter.is_resolved,
            thread_ids: None,
            created: None,
            updated: filter.updated.as_ref().map(TimeInterval::stored_bounds),
            cursor: filter.limitation.cursor,
            count: filter.limitation.count,
        })
        .await?
        .map_err(|_| cursor_not_visible("message thread"))?;
    thread_page::<StaffThreadView>(&headers, &threads)
}

pub async fn threads_update(
    _: Staff,
    State(app): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let update = UpdateThread::parse(&Object::root(&body)?)?;
    let now = Timestamp::truncate(app.clock.now());
    let thread = app
        .store
        .set_resolved(update.thread_id, update.is_resolved, now)
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest("MessageThreadId is not the id of a message thread.".to_owned())
        })?;
    respond::json(&Updated {
        message_threads: [StaffThreadView::from(&thread)],
    })
}

pub async fn messages_get_all(
    _: Staff,
    State(app): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let filter = MessageFilter::parse(&Object::root(&body)?)?;
    let enterprises = filter.enterprise_ids.clone();
    list_messages(&app, &headers, Visibility::staff(), filter, enterprises).await
}

pub async fn messages_add(
    _: Staff,
    State(app): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    add_messages(
        &app,
        &Object::root(&body)?,
        Visibility::staff(),
        Sender::Enterprise,
    )
    .await
}
