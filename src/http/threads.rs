//! `messageThreads/add` and `messageThreads/getAll` of the Connector API.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::domain::json::WriteJson;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::{
    AddThread, StaffThreadView, THREADS, Thread, ThreadFilter, ThreadView,
};
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::{NewThread, ThreadQuery};

use super::auth::{Call, Connector, Sent};
use super::error::ApiError;
use super::{AppState, respond};

/// `{"MessageThreads": [thread]}`, the answer of a thread's change.
pub fn one_thread(thread: impl WriteJson) -> Response {
    respond::items(THREADS, &[thread])
}

impl Connector for AddThread {
    type Operation = NewThread;

    fn operation(&self, grant: &AccessGrant, app: &AppState) -> Result<NewThread, ApiError> {
        let enterprise_id = grant.enterprise_for_new_thread(self.enterprise_id)?;
        let now = Timestamp::truncate(app.clock.now());
        Ok(NewThread(Thread {
            id: Uuid::new_v4(),
            integration_id: grant.integration_id,
            enterprise_id,
            original_sender: self.original_sender.as_str().to_owned(),
            subject: self.subject.as_str().to_owned(),
            created: now,
            updated: now,
            is_resolved: false,
        }))
    }
}

pub async fn add(State(app): State<AppState>, call: Call<AddThread>) -> Result<Response, ApiError> {
    let Sent {
        output: thread,
        after,
        ..
    } = call.send(&app).await?;
    app.inbox.live.changed(&app.store, vec![thread.id]);
    Ok(after
        .answer(&app, one_thread(ThreadView::from(&thread)))
        .await)
}

impl Connector for ThreadFilter {
    type Operation = ThreadQuery;

    fn operation(&self, grant: &AccessGrant, _: &AppState) -> Result<ThreadQuery, ApiError> {
        let enterprises = grant.enterprises_to_search(self.enterprise_ids.as_deref())?;
        Ok(ThreadQuery {
            visibility: grant.visibility(),
            enterprises: Some(enterprises),
            integrations: None,
            is_resolved: None,
            thread_ids: self.thread_ids.clone(),
            created: self.created.as_ref().map(TimeInterval::stored_bounds),
            updated: self.updated.as_ref().map(TimeInterval::stored_bounds),
            cursor: self.limitation.cursor,
            count: self.limitation.count,
        })
    }

    fn threads(&self) -> Vec<Uuid> {
        self.thread_ids.clone().unwrap_or_default()
    }
}

pub async fn get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    call: Call<ThreadFilter>,
) -> Result<Response, ApiError> {
    let Sent { output, after, .. } = call.send(&app).await?;
    Ok(after.answer(&app, respond::written(&headers, output)).await)
}

/// A page of threads in the operator's view:
/// `{"MessageThreads": [...], "Cursor": ...}`.
pub fn staff_thread_page(headers: &HeaderMap, threads: &[Thread]) -> Response {
    let views: Vec<StaffThreadView> = threads.iter().map(StaffThreadView::from).collect();
    respond::page(headers, THREADS, &views)
}
