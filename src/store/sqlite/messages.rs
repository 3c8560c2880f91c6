//! Message queries of the SQLite backend.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::threads::query;
use super::{Args, id_array, internal, push_page, push_visibility};
use crate::domain::message::{Message, Sender};
use crate::domain::paging::{CursorNotVisible, Position};
use crate::domain::time::Timestamp;
use crate::store::{MessageBatch, MessageQuery, StoreResult, ThreadNotVisible};

const COLUMNS: &str = "m.id, m.thread_id, m.text, m.sender, m.created_utc";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let sender: String = row.get(3)?;
    Ok(Message {
        id: row.get(0)?,
        thread_id: row.get(1)?,
        text: row.get(2)?,
        sender: Sender::parse(&sender).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown sender {sender}").into(),
            )
        })?,
        created: Timestamp::from_unix(row.get(4)?),
    })
}

/// Checks every thread first, so that a refused batch writes nothing.
pub fn insert(
    conn: &Connection,
    batch: MessageBatch,
) -> StoreResult<Result<Vec<Message>, ThreadNotVisible>> {
    let mut owner = conn
        .prepare_cached(
            "SELECT t.integration_id, t.enterprise_id, i.webhook_url IS NOT NULL \
             FROM threads t JOIN integrations i ON i.id = t.integration_id WHERE t.id = ?1",
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
            _ => return Ok(Err(ThreadNotVisible(index))),
        }
    }

    let mut add = conn
        .prepare_cached(
            "INSERT INTO messages (id, thread_id, text, sender, created_utc) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(internal)?;
    // An application message reopens its thread; a staff reply leaves it as it is.
    let mut touch = conn
        .prepare_cached(
            "UPDATE threads SET updated_utc = ?2, \
                    is_resolved = CASE WHEN ?3 THEN 0 ELSE is_resolved END \
             WHERE id = ?1",
        )
        .map_err(internal)?;
    // The MessageAdded event goes in the same transaction as its message.
    let mut event = conn
        .prepare_cached(
            "INSERT INTO webhook_events (message_id, integration_id, enterprise_id, created_ms) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(internal)?;
    let mut touched = HashSet::new();
    for m in &batch.messages {
        add.execute(params![
            m.id,
            m.thread_id,
            m.text,
            m.sender.as_str(),
            m.created.unix()
        ])
        .map_err(internal)?;
        if let Some(&(integration, enterprise, true)) = owners.get(&m.thread_id) {
            event
                .execute(params![m.id, integration, enterprise, batch.at_ms])
                .map_err(internal)?;
        }
        if touched.insert(m.thread_id) {
            touch
                .execute(params![
                    m.thread_id,
                    m.created.unix(),
                    m.sender == Sender::Application
                ])
                .map_err(internal)?;
        }
    }
    Ok(Ok(batch.messages))
}

pub fn page(
    conn: &Connection,
    q: &MessageQuery,
) -> StoreResult<Result<Vec<Message>, CursorNotVisible>> {
    let after = match q.cursor {
        None => None,
        Some(cursor) => {
            let mut sql = "SELECT m.created_utc, m.seq FROM messages m \
                           JOIN threads t ON t.id = m.thread_id WHERE m.id = :cursor"
                .to_owned();
            let mut args: Args = vec![(":cursor", Box::new(cursor))];
            push_visibility(&mut sql, &mut args, &q.visibility, "+t.");
            let found = query(conn, &sql, &args, |r| {
                Ok(Position {
                    created: r.get(0)?,
                    seq: r.get(1)?,
                })
            })?;
            match found.into_iter().next() {
                Some(position) => Some(position),
                None => return Ok(Err(CursorNotVisible)),
            }
        }
    };

    // The visible threads among those asked for, then their messages by the
    // per-thread page index.
    let mut threads = "SELECT t.id FROM threads t WHERE t.id IN rarray(:ids)".to_owned();
    let mut args: Args = vec![(":ids", Box::new(id_array(&q.thread_ids)))];
    push_visibility(&mut threads, &mut args, &q.visibility, "+t.");
    if let Some(enterprises) = &q.enterprises {
        threads.push_str(" AND t.enterprise_id IN rarray(:enterprises)");
        args.push((":enterprises", Box::new(id_array(enterprises))));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM messages m WHERE m.thread_id IN ({threads})");
    push_page(&mut sql, &mut args, q.created, after, q.count, "");
    query(conn, &sql, &args, from_row).map(Ok)
}
