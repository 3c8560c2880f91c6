//! The request log of the operator API (SPEC §16.4): `requests/getAll` and
//! `requests/delete`.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::emulator::{NoParameters, RequestFilter};
use crate::http::auth::Staff;
use crate::http::error::ApiError;
use crate::http::{AppState, respond};
use crate::request_log::{self, Logged};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RequestPage {
    requests: Vec<Logged>,
    cursor: Option<Uuid>,
}

/// This node's request log, newest first (what every node's log held when
/// the logs were last emptied, forgotten first).
pub async fn requests_get_all(
    State(app): State<AppState>,
    Staff { request }: Staff<RequestFilter>,
) -> Result<Response, ApiError> {
    if let Some(at_ms) = app.store.request_logs_emptied().await? {
        app.requests.forget_until(at_ms);
    }
    let page = app
        .requests
        .page(&request_log::Filter {
            integrations: request.integration_ids,
            operations: request.operations,
            statuses: request.statuses,
            after_sequence: request.after_sequence,
            count: request.limitation.count.usize(),
            after: request.limitation.cursor,
        })
        .map_err(|_| {
            ApiError::BadRequest(
                "Limitation.Cursor is not the id of a request in this node's log (the log keeps \
                 the last --request-log requests; older ones are gone)."
                    .to_owned(),
            )
        })?;
    let cursor = page.last().map(|l| l.request_id);
    respond::json(&RequestPage {
        requests: page,
        cursor,
    })
}

/// Empties the request log of every node: the database keeps when, and each
/// other node forgets what it logged before that the next time its log is
/// read; this node forgets everything it logged at once.
pub async fn empty_request_logs(app: &AppState) -> Result<(), ApiError> {
    app.requests.clear();
    app.store
        .empty_request_logs(app.real_clock.now_ms())
        .await?;
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Emptied {}

/// `requests/delete`: every node's request log emptied.
pub async fn requests_delete(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    empty_request_logs(&app).await?;
    respond::json(&Emptied {})
}
