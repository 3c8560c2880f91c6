//! The staff's side: the operator API, behind `Authorization: Bearer`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::domain::message::{AddMessages, MessageFilter, Sender};
use crate::domain::scope::Visibility;
use crate::domain::thread::{StaffThreadFilter, StaffThreadView, UpdateThread};
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::ThreadQuery;

use super::auth::Staff;
use super::error::ApiError;
use super::messages::{add_messages, message_query};
use super::threads::{one_thread, staff_thread_page};
use super::{AppState, respond};

pub async fn threads_get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    Staff { request: filter }: Staff<StaffThreadFilter>,
) -> Result<Response, ApiError> {
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
        .await?;
    Ok(staff_thread_page(&headers, &threads))
}

pub async fn threads_update(
    State(app): State<AppState>,
    Staff { request: update }: Staff<UpdateThread>,
) -> Result<Response, ApiError> {
    let now = Timestamp::truncate(app.clock.now());
    let thread = app
        .store
        .set_resolved(
            update.thread_id,
            update.is_resolved,
            now,
            crate::domain::staff::Actor::operator(),
        )
        .await?;
    app.inbox.live.changed(&app.store, vec![thread.id]);
    Ok(one_thread(StaffThreadView::from(&thread)))
}

pub async fn messages_get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    Staff { request: filter }: Staff<MessageFilter>,
) -> Result<Response, ApiError> {
    let enterprises = filter.enterprise_ids.clone();
    let query = message_query(Visibility::staff(), &filter, enterprises);
    let page = app.store.written_messages(query).await?;
    Ok(respond::written(&headers, page))
}

pub async fn messages_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddMessages>,
) -> Result<Response, ApiError> {
    add_messages(&app, request, Visibility::staff(), Sender::Enterprise).await
}
