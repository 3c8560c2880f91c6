//! `messages/add` and `messages/getAll`: the integration's handlers, and the
//! parts the operator API shares with them.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::fields::Object;
use crate::domain::message::{AddMessages, Message, MessageFilter, MessageView, Sender};
use crate::domain::scope::Visibility;
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::{MessageBatch, MessageQuery, ThreadNotVisible};

use super::auth::ConnectorRequest;
use super::error::ApiError;
use super::threads::cursor_not_visible;
use super::{AppState, respond};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddedMessage<'a> {
    identifier: Option<&'a str>,
    message: MessageView<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Added<'a> {
    messages: Vec<AddedMessage<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessagePage<'a> {
    messages: Vec<MessageView<'a>>,
    cursor: Option<Uuid>,
}

pub async fn add(
    State(app): State<AppState>,
    ConnectorRequest { grant, body }: ConnectorRequest,
) -> Result<Response, ApiError> {
    let body = Object::root(&body)?;
    add_messages(&app, &body, grant.visibility(), Sender::Application).await
}

pub async fn get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    ConnectorRequest { grant, body }: ConnectorRequest,
) -> Result<Response, ApiError> {
    let body = Object::root(&body)?;
    let filter = MessageFilter::parse(&body)?;
    let enterprises = match &filter.enterprise_ids {
        Some(ids) => Some(grant.enterprises_to_search(Some(ids))?),
        None => None,
    };
    list_messages(&app, &headers, grant.visibility(), filter, enterprises).await
}

/// Adds a batch of messages from `sender`, all or nothing.
pub async fn add_messages(
    app: &AppState,
    body: &Object<'_>,
    visibility: Visibility,
    sender: Sender,
) -> Result<Response, ApiError> {
    let AddMessages(items) = AddMessages::parse(body)?;
    let now = Timestamp::truncate(app.clock.now());
    let messages = items
        .iter()
        .map(|item| Message {
            id: Uuid::new_v4(),
            thread_id: item.thread_id,
            text: item.text.as_str().to_owned(),
            sender,
            created: now,
        })
        .collect();
    let stored = app
        .store
        .add_messages(MessageBatch {
            visibility,
            messages,
            at_ms: chrono::Utc::now().timestamp_millis(),
        })
        .await?
        .map_err(|ThreadNotVisible(index)| {
            ApiError::BadRequest(format!(
                "Messages[{index}].MessageThreadId is not the id of a message thread visible to the caller."
            ))
        })?;
    app.webhooks.now();
    respond::json(&Added {
        messages: stored
            .iter()
            .zip(&items)
            .map(|(message, item)| AddedMessage {
                identifier: item.identifier.as_deref(),
                message: MessageView::from(message),
            })
            .collect(),
    })
}

/// A page of messages of the threads `visibility` sees.
pub async fn list_messages(
    app: &AppState,
    headers: &HeaderMap,
    visibility: Visibility,
    filter: MessageFilter,
    enterprises: Option<Vec<Uuid>>,
) -> Result<Response, ApiError> {
    let messages = app
        .store
        .messages(MessageQuery {
            visibility,
            thread_ids: filter.thread_ids,
            enterprises,
            created: filter.created.as_ref().map(TimeInterval::stored_bounds),
            cursor: filter.limitation.cursor,
            count: filter.limitation.count,
        })
        .await?
        .map_err(|_| cursor_not_visible("message"))?;
    respond::page(
        headers,
        messages.is_empty(),
        &MessagePage {
            cursor: messages.last().map(|m| m.id),
            messages: messages.iter().map(MessageView::from).collect(),
        },
    )
}
