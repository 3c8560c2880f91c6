//! `messages/add` and `messages/getAll`: the integration's handlers, and the
//! parts the operator API shares with them.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use uuid::Uuid;

use crate::domain::json::{self, WriteJson};
use crate::domain::message::{
    AddMessages, Message, MessageFilter, MessageView, NewMessage, Sender,
};
use crate::domain::scope::{AccessGrant, Visibility};
use crate::domain::staff::Actor;
use crate::domain::time::{TimeInterval, Timestamp};
use crate::store::{MessageBatch, MessageQuery, StoreResult};

use super::auth::{Call, Connector, Sent};
use super::error::ApiError;
use super::{AppState, respond};

/// One item of the answer of `messages/add`: the message and the
/// `Identifier` its request gave it.
struct AddedMessage<'a> {
    identifier: Option<&'a str>,
    message: MessageView<'a>,
}

impl WriteJson for AddedMessage<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut object = json::Object::begin(out);
        match self.identifier {
            Some(identifier) => object.text("Identifier", identifier),
            None => object.null("Identifier"),
        };
        object.item("Message", &self.message).end();
    }
}

impl Connector for AddMessages {
    type Operation = MessageBatch;

    fn operation(&self, grant: &AccessGrant, app: &AppState) -> Result<MessageBatch, ApiError> {
        Ok(message_batch(
            app,
            &self.0,
            grant.visibility(),
            Sender::Application,
        ))
    }

    fn threads(&self) -> Vec<Uuid> {
        self.0.iter().map(|item| item.thread_id).collect()
    }
}

pub async fn add(
    State(app): State<AppState>,
    call: Call<AddMessages>,
) -> Result<Response, ApiError> {
    let Sent {
        request: AddMessages(items),
        output: stored,
        after,
    } = call.send(&app).await?;
    messages_added(&app, &stored);
    Ok(after.answer(&app, added_answer(&items, &stored)).await)
}

impl Connector for MessageFilter {
    type Operation = MessageQuery;

    fn operation(&self, grant: &AccessGrant, _: &AppState) -> Result<MessageQuery, ApiError> {
        let enterprises = match &self.enterprise_ids {
            Some(ids) => Some(grant.enterprises_to_search(Some(ids))?),
            None => None,
        };
        Ok(message_query(grant.visibility(), self, enterprises))
    }

    fn threads(&self) -> Vec<Uuid> {
        self.thread_ids.clone()
    }
}

pub async fn get_all(
    State(app): State<AppState>,
    headers: HeaderMap,
    call: Call<MessageFilter>,
) -> Result<Response, ApiError> {
    let Sent { output, after, .. } = call.send(&app).await?;
    Ok(after.answer(&app, respond::written(&headers, output)).await)
}

/// Adds a batch of messages from `sender`, all or nothing.
pub async fn add_messages(
    app: &AppState,
    AddMessages(items): AddMessages,
    visibility: Visibility,
    sender: Sender,
) -> Result<Response, ApiError> {
    let stored = store_messages(app, &items, visibility, sender, None).await?;
    Ok(added_answer(&items, &stored))
}

/// `{"Messages": [{"Identifier", "Message"}]}`, in request order.
fn added_answer(items: &[NewMessage], stored: &[Message]) -> Response {
    let added: Vec<AddedMessage> = stored
        .iter()
        .zip(items)
        .map(|(message, item)| AddedMessage {
            identifier: item.identifier.as_deref(),
            message: MessageView::from(message),
        })
        .collect();
    respond::items("Messages", &added)
}

/// Adds messages with every effect of `messages/add` (the threads' times and
/// reopening, webhook events, and a wake of the webhook worker): the API's and
/// the inbox's one way to add them.
pub async fn store_messages(
    app: &AppState,
    items: &[NewMessage],
    visibility: Visibility,
    sender: Sender,
    author: Option<Actor>,
) -> StoreResult<Vec<Message>> {
    let batch = MessageBatch {
        author,
        ..message_batch(app, items, visibility, sender)
    };
    let stored = app.store.add_messages(batch).await?;
    messages_added(app, &stored);
    Ok(stored)
}

/// The batch of `items` from `sender`, each with a new id, all at this time.
fn message_batch(
    app: &AppState,
    items: &[NewMessage],
    visibility: Visibility,
    sender: Sender,
) -> MessageBatch {
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
    MessageBatch {
        visibility,
        messages,
        at_ms: app.clock.now_ms(),
        author: None,
    }
}

/// What follows stored messages: the webhook worker and the inbox's open
/// pages hear of them.
fn messages_added(app: &AppState, stored: &[Message]) {
    app.webhooks.now();
    let mut threads: Vec<Uuid> = stored.iter().map(|m| m.thread_id).collect();
    threads.sort_unstable();
    threads.dedup();
    app.inbox.live.changed(&app.store, threads);
}

/// The page of messages of the threads `visibility` sees that `filter` asks for.
pub fn message_query(
    visibility: Visibility,
    filter: &MessageFilter,
    enterprises: Option<Vec<Uuid>>,
) -> MessageQuery {
    MessageQuery {
        visibility,
        thread_ids: filter.thread_ids.clone(),
        enterprises,
        created: filter.created.as_ref().map(TimeInterval::stored_bounds),
        cursor: filter.limitation.cursor,
        count: filter.limitation.count,
    }
}
