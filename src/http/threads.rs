//! `messageThreads/add` and `messageThreads/getAll` of the Connector API.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::domain::json::WriteJson;
use crate::domain::thread::{
    AddThread, StaffThreadView, THREADS, Thread, ThreadFilter, ThreadView,
};
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::{NewThread, ThreadQuery};

use super::auth::Call;
use super::error::ApiError;
use super::{AppState, respond};

/// `{"MessageThreads": [thread]}`, the answer of a thread's change.
pub fn one_thread(thread: impl WriteJson) -> Response {
    respond::items(THREADS, &[thread])
}

pub async fn add(State(app): State<AppState>, call: Call<AddThread>) -> Result<Response, ApiError> {
    let (_, thread) = call
        .run(&app, |grant, request| {
            let enterprise_id = grant.enterprise_for_new_thread(request.enterprise_id)?;
            let now = Timestamp::truncate(app.clock.now());
            Ok(NewThread(Thread {
                id: Uuid::new_v4(),
                integration_id: grant.integration_id,
                enterprise_id,
                original_sender: request.original_sender.as_str().to_owned(),
                subject: request.subject.as_str().to_owned(),
                created: now,
                updated: now,
                is_resolved: false,
            }))
        })
        .await?;
    app.inbox.live.changed(&app.store, vec![thread.id]);
    Ok(one_thread(ThreadView::from(&thread)))
}

pub async fn get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    call: Call<ThreadFilter>,
) -> Result<Response, ApiError> {
    let (_, page) = call
        .run(&app, |grant, filter| {
            let enterprises = grant.enterprises_to_search(filter.enterprise_ids.as_deref())?;
            Ok(ThreadQuery {
                visibility: grant.visibility(),
                enterprises: Some(enterprises),
                integrations: None,
                is_resolved: None,
                thread_ids: filter.thread_ids.clone(),
                created: filter.created.as_ref().map(TimeInterval::stored_bounds),
                updated: filter.updated.as_ref().map(TimeInterval::stored_bounds),
                cursor: filter.limitation.cursor,
                count: filter.limitation.count,
            })
        })
        .await?;
    Ok(respond::written(&headers, page))
}

/// A page of threads in the operator's view:
/// `{"MessageThreads": [...], "Cursor": ...}`.
pub fn staff_thread_page(headers: &HeaderMap, threads: &[Thread]) -> Response {
    let views: Vec<StaffThreadView> = threads.iter().map(StaffThreadView::from).collect();
    respond::page(headers, THREADS, &views)
}
