//! Threads and messages: the [`Content`] seam, and the page rules both backends
//! follow, so that a page means the same on each.
//!
//! Items are ordered newest first by `(created, seq)`: the creation second, then
//! the store's insertion sequence, so that ties within one second keep insertion
//! order. A cursor is the id of an item the caller can see; the backend looks up
//! its [`Position`] and the next page starts strictly after it, by an index range
//! scan from there, so a page deep in the history costs the same as the first.

use async_trait::async_trait;
use uuid::Uuid;

use super::row::{Row, unknown};
use super::{Missing, StoreResult};
use crate::domain::json::WrittenPage;
use crate::domain::message::{Message, MessageView, Sender};
use crate::domain::paging::{Count, Position};
use crate::domain::scope::Visibility;
use crate::domain::staff::Actor;
use crate::domain::thread::{Thread, ThreadView};
use crate::domain::time::Timestamp;

#[async_trait]
pub trait Content: Send + Sync {
    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread>;
    /// A page of threads; [`Missing::ThreadCursor`] if the cursor is not visible.
    async fn threads(&self, query: ThreadQuery) -> StoreResult<Vec<Thread>>;
    /// The same page, written as `messageThreads/getAll` answers it as its
    /// rows are read: the Connector API's hot path builds no thread, copies
    /// no text and reads no column it does not show.
    async fn written_threads(&self, query: ThreadQuery) -> StoreResult<WrittenPage>;
    /// Adds the messages, moves their threads' `UpdatedUtc`, reopens the threads
    /// of messages from the application, and writes their webhook events; all or
    /// nothing ([`Missing::BatchThread`] names the first thread not visible).
    async fn add_messages(&self, batch: MessageBatch) -> StoreResult<Vec<Message>>;
    /// A page of messages; [`Missing::MessageCursor`] if the cursor is not visible.
    async fn messages(&self, query: MessageQuery) -> StoreResult<Vec<Message>>;
    /// The same page, written as `messages/getAll` answers it as its rows are
    /// read, the text read in place.
    async fn written_messages(&self, query: MessageQuery) -> StoreResult<WrittenPage>;
    /// Sets `IsResolved`; `UpdatedUtc` moves, and the thread's activity
    /// records `actor`, only if it changes.
    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<Thread>;
}

/// Sets every thread's `last_sender` (what the inbox's "awaiting a reply"
/// reads) from its messages: after an import, which writes messages as they
/// were, not as they are added.
pub const DERIVE_LAST_SENDER: &str = "UPDATE threads SET last_sender = (\
     SELECT m.sender FROM messages m WHERE m.thread_id = threads.id \
     ORDER BY m.created_utc DESC, m.seq DESC LIMIT 1)";

/// The columns of a thread, in the order [`thread`] reads them.
pub const THREAD_COLUMNS: &str = "id, integration_id, enterprise_id, original_sender, subject, \
                                  created_utc, updated_utc, is_resolved";
/// What the Connector API's view of a thread shows, as [`thread_view`] reads it.
pub const VIEW_COLUMNS: &str =
    "id, original_sender, subject, created_utc, updated_utc, is_resolved";
/// The columns of a message, in the order [`message_view`] reads them.
pub const MESSAGE_COLUMNS: &str = "id, thread_id, text, sender, created_utc";

/// A row of [`THREAD_COLUMNS`].
pub fn thread(row: &impl Row) -> StoreResult<Thread> {
    Ok(Thread {
        id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        enterprise_id: row.uuid(2)?,
        original_sender: row.string(3)?,
        subject: row.string(4)?,
        created: Timestamp::from_unix(row.int(5)?),
        updated: Timestamp::from_unix(row.int(6)?),
        is_resolved: row.boolean(7)?,
    })
}

/// A row of [`VIEW_COLUMNS`], its text read in place: the Connector API's
/// hot path builds no thread and copies no text.
#[inline]
pub fn thread_view<R: Row>(row: &R) -> StoreResult<ThreadView<'_>> {
    Ok(ThreadView {
        id: row.uuid(0)?,
        original_sender: row.text(1)?,
        subject: row.text(2)?,
        created_utc: Timestamp::from_unix(row.int(3)?),
        updated_utc: Timestamp::from_unix(row.int(4)?),
        is_resolved: row.boolean(5)?,
    })
}

/// A row of [`MESSAGE_COLUMNS`], its text read in place.
#[inline]
pub fn message_view<R: Row>(row: &R) -> StoreResult<MessageView<'_>> {
    let sender = row.text(3)?;
    Ok(MessageView {
        id: row.uuid(0)?,
        message_thread_id: row.uuid(1)?,
        text: row.text(2)?,
        sender: Sender::parse(sender).ok_or_else(|| unknown("sender", sender))?,
        created_utc: Timestamp::from_unix(row.int(4)?),
    })
}

/// A row of [`MESSAGE_COLUMNS`].
pub fn message(row: &impl Row) -> StoreResult<Message> {
    message_view(row).map(|view| view.to_message())
}

/// One page of threads.
#[derive(Debug, Clone)]
pub struct ThreadQuery {
    /// Who asks; a cursor must name a thread visible to them.
    pub visibility: Visibility,
    /// Filters, combined with AND; `None` does not filter.
    pub enterprises: Option<Vec<Uuid>>,
    pub integrations: Option<Vec<Uuid>>,
    pub is_resolved: Option<bool>,
    pub thread_ids: Option<Vec<Uuid>>,
    /// Inclusive bounds on stored seconds.
    pub created: Option<(i64, i64)>,
    pub updated: Option<(i64, i64)>,
    pub cursor: Option<Uuid>,
    pub count: Count,
}

/// One page of messages of some threads.
#[derive(Debug, Clone)]
pub struct MessageQuery {
    pub visibility: Visibility,
    pub thread_ids: Vec<Uuid>,
    pub enterprises: Option<Vec<Uuid>>,
    pub created: Option<(i64, i64)>,
    pub cursor: Option<Uuid>,
    pub count: Count,
}

/// Messages to add together, all or nothing.
#[derive(Debug, Clone)]
pub struct MessageBatch {
    /// Who adds them; every thread must be visible to them.
    pub visibility: Visibility,
    /// In request order, with ids and times already set.
    pub messages: Vec<Message>,
    /// When the batch is written, in milliseconds, for webhook latency.
    pub at_ms: i64,
    /// Who in the inbox wrote them (staff replies only), recorded with them.
    pub author: Option<Actor>,
}

/// What a page cursor names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Thread,
    Message,
}

impl Item {
    /// The answer to a cursor that names nothing the caller can see.
    pub fn missing_cursor(self) -> Missing {
        match self {
            Self::Thread => Missing::ThreadCursor,
            Self::Message => Missing::MessageCursor,
        }
    }
}

/// Where a page starts, given `found`: the backend's lookup of the cursor's
/// item among what the caller sees. An item the caller cannot see, or that
/// does not exist, is the same refusal.
pub fn after_cursor(item: Item, found: Option<Position>) -> StoreResult<Position> {
    found.ok_or_else(|| item.missing_cursor().into())
}

/// The bounds of a page on `(created, seq)`, as every backend's page query
/// applies them: `first <= created <= last`, strictly after `after`, newest
/// first, at most `count` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageBounds {
    pub first: Option<i64>,
    /// The creation interval's end and the cursor merged into one upper bound:
    /// a database seeks an index range by one upper bound, and with two it may
    /// start at the newest row and scan down to the cursor, a cost that grows
    /// with depth.
    pub last: Option<i64>,
    pub after: Option<Position>,
    pub count: Count,
}

impl PageBounds {
    pub fn new(created: Option<(i64, i64)>, after: Option<Position>, count: Count) -> Self {
        let last = match (created.map(|c| c.1), after.map(|a| a.created)) {
            (Some(end), Some(cursor)) => Some(end.min(cursor)),
            (end, cursor) => end.or(cursor),
        };
        Self {
            first: created.map(|c| c.0),
            last,
            after,
            count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_end_and_the_cursor_make_one_upper_bound() {
        let at = |created| Position { created, seq: 7 };
        let page = PageBounds::new(Some((10, 50)), Some(at(30)), Count::new(5));
        assert_eq!((page.first, page.last), (Some(10), Some(30)));
        let page = PageBounds::new(Some((10, 20)), Some(at(30)), Count::new(5));
        assert_eq!((page.first, page.last), (Some(10), Some(20)));
        let page = PageBounds::new(None, Some(at(30)), Count::new(5));
        assert_eq!((page.first, page.last), (None, Some(30)));
        let page = PageBounds::new(None, None, Count::new(5));
        assert_eq!((page.first, page.last), (None, None));
    }

    #[test]
    fn a_cursor_must_be_found_among_what_the_caller_sees() {
        let position = Position { created: 1, seq: 2 };
        assert_eq!(
            after_cursor(Item::Thread, Some(position)).unwrap(),
            position
        );
        assert!(matches!(
            after_cursor(Item::Message, None),
            Err(super::super::StoreError::Missing(Missing::MessageCursor))
        ));
    }
}
