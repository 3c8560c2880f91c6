//! Threads and messages in SQLite.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use super::outbox::insert_event;
use super::query::{Args, for_each_row, id_array, push_page, push_visibility, query};
use crate::domain::json::{PageWriter, WrittenPage};
use crate::domain::message::{MESSAGES, Message, Sender};
use crate::domain::paging::Position;
use crate::domain::scope::Visibility;
use crate::domain::staff::Actor;
use crate::domain::thread::{THREADS, Thread};
use crate::domain::time::Timestamp;
use crate::store::content::{
    Item, MESSAGE_COLUMNS, PageBounds, THREAD_COLUMNS, VIEW_COLUMNS, after_cursor, message,
    message_view, thread, thread_view,
};
use crate::store::export::EventRecord;
use crate::store::row::Row as _;
use crate::store::staff::Action;
use crate::store::{MessageBatch, MessageQuery, Missing, StoreResult, ThreadQuery};
use async_trait::async_trait;

use super::SqliteStore;
use crate::store::Content;

pub fn insert_thread(conn: &Connection, t: &Thread) -> StoreResult<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("INSERT INTO threads ({THREAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
    });
    conn.prepare_cached(&SQL)
        .and_then(|mut insert| {
            insert.execute(params![
                t.id,
                t.integration_id,
                t.enterprise_id,
                t.original_sender,
                t.subject,
                t.created.unix(),
                t.updated.unix(),
                t.is_resolved,
            ])
        })
        .map_err(internal)?;
    Ok(())
}

/// A message's row alone (its thread and its event are the caller's).
pub fn insert_message(conn: &Connection, m: &Message) -> StoreResult<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)")
    });
    conn.prepare_cached(&SQL)
        .and_then(|mut add| {
            add.execute(params![
                m.id,
                m.thread_id,
                m.text,
                m.sender.as_str(),
                m.created.unix()
            ])
        })
        .map_err(internal)?;
    Ok(())
}

pub fn set_resolved(
    conn: &Connection,
    id: Uuid,
    is_resolved: bool,
    at: Timestamp,
    actor: &Actor,
) -> StoreResult<Thread> {
    let changed = conn
        .prepare_cached(
            "UPDATE threads SET is_resolved = ?2, updated_utc = ?3 WHERE id = ?1 AND is_resolved <> ?2",
        )
        .and_then(|mut s| s.execute(params![id, is_resolved, at.unix()]))
        .map_err(internal)?;
    if changed == 1 {
        let action = if is_resolved {
            Action::Resolved
        } else {
            Action::Reopened
        };
        super::staff::add_line(conn, id, at, actor, &action, None)?;
    }
    let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = :id");
    let args: Args = vec![(":id", Box::new(id))];
    let found = query(conn, &sql, &args, |row| thread(row))?;
    found
        .into_iter()
        .next()
        .ok_or_else(|| Missing::Thread(id).into())
}

/// Where a page starts: after the cursor's item, if there is a cursor.
fn start(
    conn: &Connection,
    item: Item,
    cursor: Option<Uuid>,
    visibility: &Visibility,
) -> StoreResult<Option<Position>> {
    cursor
        .map(|id| after_cursor(item, position(conn, item, id, visibility)?))
        .transpose()
}

/// The position of an item, if `visibility` sees it.
fn position(
    conn: &Connection,
    item: Item,
    id: Uuid,
    visibility: &Visibility,
) -> StoreResult<Option<Position>> {
    let (sql, alias) = match item {
        Item::Thread => ("SELECT created_utc, seq FROM threads WHERE id = :id", ""),
        Item::Message => (
            "SELECT m.created_utc, m.seq FROM messages m \
             JOIN threads t ON t.id = m.thread_id WHERE m.id = +:id",
            "+t.",
        ),
    };
    let mut sql = sql.to_owned();
    let mut args: Args = vec![(":id", Box::new(id))];
    push_visibility(&mut sql, &mut args, visibility, alias);
    let found = query(conn, &sql, &args, |row| {
        Ok(Position {
            created: row.int(0)?,
            seq: row.int(1)?,
        })
    })?;
    Ok(found.into_iter().next())
}

pub fn thread_page(conn: &Connection, q: &ThreadQuery) -> StoreResult<Vec<Thread>> {
    let (sql, args) = thread_page_query(conn, q, THREAD_COLUMNS)?;
    query(conn, &sql, &args, |row| thread(row))
}

/// The page of [`thread_page`], written from its rows as the Connector API
/// shows it: the text is read in place, and the two owner columns (which the
/// view does not show) are not read at all.
pub fn written_threads(conn: &Connection, q: &ThreadQuery) -> StoreResult<WrittenPage> {
    let (sql, args) = thread_page_query(conn, q, VIEW_COLUMNS)?;
    let mut page = PageWriter::new(THREADS, q.count.usize());
    for_each_row(conn, &sql, &args, |row| {
        page.push(&thread_view(row)?);
        Ok(())
    })?;
    Ok(page.finish())
}

/// A page of threads as SQL selecting `columns`, and its arguments.
pub(super) fn thread_page_query(
    conn: &Connection,
    q: &ThreadQuery,
    columns: &str,
) -> StoreResult<(String, Args)> {
    let after = start(conn, Item::Thread, q.cursor, &q.visibility)?;
    // Steer SQLite to the right index: with ids, look the (at most 1000) ids up
    // one by one, and a unary `+` keeps the other terms from choosing a page
    // index; without ids, walk `threads_page` (one integration) or `threads_all`.
    let plus = if q.thread_ids.is_some() { "+" } else { "" };

    let mut sql = format!("SELECT {columns} FROM threads WHERE 1 = 1");
    let mut args: Args = Vec::new();
    let visibility = q.visibility.narrowed_to(q.enterprises.as_deref());
    push_visibility(&mut sql, &mut args, &visibility, plus);
    if let Some(ids) = &q.thread_ids {
        sql.push_str(" AND id IN rarray(:ids)");
        args.push((":ids", Box::new(id_array(ids))));
    }
    if let Some(integrations) = &q.integrations {
        // Never an index: the page index of a single integration would need a sort.
        sql.push_str(" AND +integration_id IN rarray(:integrations)");
        args.push((":integrations", Box::new(id_array(integrations))));
    }
    if let Some(is_resolved) = q.is_resolved {
        sql.push_str(" AND is_resolved = +:is_resolved");
        args.push((":is_resolved", Box::new(is_resolved)));
    }
    if let Some((first, last)) = q.updated {
        sql.push_str(" AND updated_utc BETWEEN +:updated_first AND +:updated_last");
        args.push((":updated_first", Box::new(first)));
        args.push((":updated_last", Box::new(last)));
    }
    let page = PageBounds::new(q.created, after, q.count);
    push_page(&mut sql, &mut args, page, plus);
    Ok((sql, args))
}

pub fn message_page(conn: &Connection, q: &MessageQuery) -> StoreResult<Vec<Message>> {
    let (sql, args) = message_page_query(conn, q)?;
    query(conn, &sql, &args, |row| message(row))
}

/// The page of [`message_page`], written from its rows as the API shows it.
pub fn written_messages(conn: &Connection, q: &MessageQuery) -> StoreResult<WrittenPage> {
    let (sql, args) = message_page_query(conn, q)?;
    let mut page = PageWriter::new(MESSAGES, q.count.usize());
    for_each_row(conn, &sql, &args, |row| {
        page.push(&message_view(row)?);
        Ok(())
    })?;
    Ok(page.finish())
}

/// A page of messages as SQL, and its arguments.
fn message_page_query(conn: &Connection, q: &MessageQuery) -> StoreResult<(String, Args)> {
    let after = start(conn, Item::Message, q.cursor, &q.visibility)?;
    // The visible threads among those asked for, then their messages by the
    // per-thread page index.
    let mut threads = "SELECT t.id FROM threads t WHERE t.id IN rarray(:ids)".to_owned();
    let mut args: Args = vec![(":ids", Box::new(id_array(&q.thread_ids)))];
    let visibility = q.visibility.narrowed_to(q.enterprises.as_deref());
    push_visibility(&mut threads, &mut args, &visibility, "+t.");
    let mut sql =
        format!("SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.thread_id IN ({threads})");
    push_page(
        &mut sql,
        &mut args,
        PageBounds::new(q.created, after, q.count),
        "",
    );
    Ok((sql, args))
}

/// Checks every thread first, so that a refused batch writes nothing.
pub fn add_messages(conn: &Connection, batch: MessageBatch) -> StoreResult<Vec<Message>> {
    let mut owner = conn
        .prepare_cached(
            "SELECT t.integration_id, t.enterprise_id, i.webhook_url IS NOT NULL \
             FROM threads t JOIN integrations i ON i.id = t.integration_id WHERE t.id = +?1",
        )
        .map_err(internal)?;
    // Thread id -> (integration, enterprise, whether the integration has a webhook).
    let mut owners: HashMap<Uuid, (Uuid, Uuid, bool)> = HashMap::new();
    for (index, message) in batch.messages.iter().enumerate() {
        if owners.contains_key(&message.thread_id) {
            continue;
        }
        let found = owner
            .query_row([message.thread_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(internal)?;
        match found {
            Some(o @ (integration, enterprise, _))
                if batch.visibility.sees(integration, enterprise) =>
            {
                owners.insert(message.thread_id, o);
            }
            _ => return Err(Missing::BatchThread(index).into()),
        }
    }

    // An application message reopens its thread; a staff reply leaves it as it is.
    let mut touch = conn
        .prepare_cached(
            "UPDATE threads SET updated_utc = ?2, last_sender = ?4, \
                    is_resolved = CASE WHEN ?3 THEN 0 ELSE is_resolved END \
             WHERE id = ?1",
        )
        .map_err(internal)?;
    let mut touched = HashSet::new();
    let mut author = conn
        .prepare_cached(
            "INSERT INTO message_authors (message_id, member_id, name) VALUES (?1, ?2, ?3)",
        )
        .map_err(internal)?;
    for m in &batch.messages {
        insert_message(conn, m)?;
        if let Some(actor) = &batch.author {
            author
                .execute(params![m.id, actor.member, actor.name])
                .map_err(internal)?;
        }
        // The MessageAdded event goes in the same transaction as its message.
        if let Some(&(integration_id, enterprise_id, true)) = owners.get(&m.thread_id) {
            let event = EventRecord {
                message_id: m.id,
                integration_id,
                enterprise_id,
                created_ms: batch.at_ms,
                delivery_id: None,
            };
            insert_event(conn, &event)?;
        }
        if touched.insert(m.thread_id) {
            touch
                .execute(params![
                    m.thread_id,
                    m.created.unix(),
                    m.sender == Sender::Application,
                    m.sender.as_str()
                ])
                .map_err(internal)?;
        }
    }
    Ok(batch.messages)
}

#[async_trait]
impl Content for SqliteStore {
    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread> {
        self.writer
            .write(move |conn| insert_thread(conn, &thread).map(|()| thread))
            .await
    }

    async fn threads(&self, query: ThreadQuery) -> StoreResult<Vec<Thread>> {
        self.readers
            .read_short(move |conn| thread_page(conn, &query))
            .await
    }

    async fn written_threads(&self, query: ThreadQuery) -> StoreResult<WrittenPage> {
        self.readers
            .read_short(move |conn| written_threads(conn, &query))
            .await
    }

    async fn add_messages(&self, batch: MessageBatch) -> StoreResult<Vec<Message>> {
        self.writer
            .write(move |conn| add_messages(conn, batch))
            .await
    }

    async fn messages(&self, query: MessageQuery) -> StoreResult<Vec<Message>> {
        self.readers
            .read_short(move |conn| message_page(conn, &query))
            .await
    }

    async fn written_messages(&self, query: MessageQuery) -> StoreResult<WrittenPage> {
        self.readers
            .read_short(move |conn| written_messages(conn, &query))
            .await
    }

    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<Thread> {
        self.writer
            .write(move |conn| set_resolved(conn, thread_id, is_resolved, at, &actor))
            .await
    }
}

impl SqliteStore {
    /// Writes many threads in one transaction (the benchmark's data generator).
    pub async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()> {
        self.writer
            .write(move |conn| threads.iter().try_for_each(|t| insert_thread(conn, t)))
            .await
    }

    /// Writes many messages in one transaction, their threads left as they
    /// are until [`Self::derive_last_senders`] (the benchmark's generator).
    pub async fn import_messages(&self, messages: Vec<Message>) -> StoreResult<()> {
        self.writer
            .write(move |conn| messages.iter().try_for_each(|m| insert_message(conn, m)))
            .await
    }

    /// Sets every thread's last sender from its messages, as an import does.
    pub async fn derive_last_senders(&self) -> StoreResult<()> {
        self.writer
            .write(|conn| {
                conn.execute(crate::store::content::DERIVE_LAST_SENDER, [])
                    .map(drop)
                    .map_err(internal)
            })
            .await
    }
}
