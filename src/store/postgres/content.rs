//! Threads and messages in the PostgreSQL backend.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::internal;
use super::query::{Query, prepared, push_page, push_visibility};
use super::tenants::{self, Guard};
use crate::domain::message::{Message, Sender};
use crate::domain::paging::Position;
use crate::domain::scope::Visibility;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::store::content::{Item, PageBounds, after_cursor};
use crate::store::{MessageBatch, MessageQuery, Missing, StoreResult, ThreadQuery};

const THREAD_COLUMNS: &str = "id, integration_id, enterprise_id, original_sender, subject, \
                              created_utc, updated_utc, is_resolved";

fn thread(row: &Row) -> Thread {
    Thread {
        id: row.get(0),
        integration_id: row.get(1),
        enterprise_id: row.get(2),
        original_sender: row.get(3),
        subject: row.get(4),
        created: Timestamp::from_unix(row.get(5)),
        updated: Timestamp::from_unix(row.get(6)),
        is_resolved: row.get(7),
    }
}

fn message(row: &Row) -> StoreResult<Message> {
    let sender: String = row.get(3);
    Ok(Message {
        id: row.get(0),
        thread_id: row.get(1),
        text: row.get(2),
        sender: Sender::parse(&sender)
            .ok_or_else(|| internal(format!("unknown sender {sender}")))?,
        created: Timestamp::from_unix(row.get(4)),
    })
}

/// Inserts threads with one statement per call, however many.
pub async fn insert_threads(client: &impl GenericClient, threads: &[Thread]) -> StoreResult<()> {
    let column = |f: fn(&Thread) -> i64| threads.iter().map(f).collect::<Vec<_>>();
    client
        .execute(
            &prepared(
                client,
                "INSERT INTO threads (id, integration_id, enterprise_id, original_sender, subject, \
                                  created_utc, updated_utc, is_resolved) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], \
                                  $6::bigint[], $7::bigint[], $8::bool[])",
            )
            .await?,
            &[
                &threads.iter().map(|t| t.id).collect::<Vec<_>>(),
                &threads.iter().map(|t| t.integration_id).collect::<Vec<_>>(),
                &threads.iter().map(|t| t.enterprise_id).collect::<Vec<_>>(),
                &threads
                    .iter()
                    .map(|t| t.original_sender.as_str())
                    .collect::<Vec<_>>(),
                &threads
                    .iter()
                    .map(|t| t.subject.as_str())
                    .collect::<Vec<_>>(),
                &column(|t| t.created.unix()),
                &column(|t| t.updated.unix()),
                &threads.iter().map(|t| t.is_resolved).collect::<Vec<_>>(),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Inserts one thread if the admission just before on this connection
/// allowed `guard`'s token (see [`tenants::Guard`]); whether it did.
pub async fn insert_thread_guarded(
    client: &impl GenericClient,
    t: &Thread,
    guard: &Guard,
) -> StoreResult<bool> {
    let inserted = client
        .execute(
            &prepared(
                client,
                &format!(
                    "INSERT INTO threads (id, integration_id, enterprise_id, original_sender, \
                                          subject, created_utc, updated_utc, is_resolved) \
                     SELECT $1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, $6::bigint, \
                            $7::bigint, $8::bool WHERE {}",
                    tenants::guarded(9)
                ),
            )
            .await?,
            &[
                &t.id,
                &t.integration_id,
                &t.enterprise_id,
                &t.original_sender,
                &t.subject,
                &t.created.unix(),
                &t.updated.unix(),
                &t.is_resolved,
                &guard.key,
            ],
        )
        .await
        .map_err(internal)?;
    Ok(inserted == 1)
}

pub async fn set_resolved(
    client: &impl GenericClient,
    id: Uuid,
    is_resolved: bool,
    at: Timestamp,
) -> StoreResult<Thread> {
    client
        .execute(
            &prepared(client, "UPDATE threads SET is_resolved = $2, updated_utc = $3 WHERE id = $1 AND is_resolved <> $2").await?,
            &[&id, &is_resolved, &at.unix()],
        )
        .await
        .map_err(internal)?;
    let row = client
        .query_opt(
            &prepared(
                client,
                &format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = $1"),
            )
            .await?,
            &[&id],
        )
        .await
        .map_err(internal)?;
    row.as_ref().map(thread).ok_or(Missing::Thread(id).into())
}

/// Where a page starts: after the cursor's item, if there is a cursor.
async fn start(
    client: &impl GenericClient,
    item: Item,
    cursor: Option<Uuid>,
    visibility: &Visibility,
) -> StoreResult<Option<Position>> {
    match cursor {
        Some(id) => Ok(Some(after_cursor(
            item,
            position(client, item, id, visibility).await?,
        )?)),
        None => Ok(None),
    }
}

/// The position of an item, if `visibility` sees it.
async fn position(
    client: &impl GenericClient,
    item: Item,
    id: Uuid,
    visibility: &Visibility,
) -> StoreResult<Option<Position>> {
    let (sql, alias) = match item {
        Item::Thread => ("SELECT created_utc, seq FROM threads WHERE id = ", ""),
        Item::Message => (
            "SELECT m.created_utc, m.seq FROM messages m JOIN threads t ON t.id = m.thread_id \
             WHERE m.id = ",
            "t.",
        ),
    };
    let mut find = Query::new(sql);
    let p = find.arg(id);
    find.push(&p);
    push_visibility(&mut find, visibility, alias);
    let row = find.row(client).await?;
    Ok(row.map(|r| Position {
        created: r.get(0),
        seq: r.get(1),
    }))
}

pub async fn thread_page(client: &impl GenericClient, q: &ThreadQuery) -> StoreResult<Vec<Thread>> {
    let after = start(client, Item::Thread, q.cursor, &q.visibility).await?;
    let mut page = Query::new(&format!("SELECT {THREAD_COLUMNS} FROM threads WHERE TRUE"));
    let visibility = q.visibility.narrowed_to(q.enterprises.as_deref());
    push_visibility(&mut page, &visibility, "");
    let any = |page: &mut Query, column: &str, ids: &Option<Vec<Uuid>>| {
        if let Some(ids) = ids {
            let p = page.arg(ids.clone());
            page.push(&format!(" AND {column} = ANY({p})"));
        }
    };
    any(&mut page, "id", &q.thread_ids);
    any(&mut page, "integration_id", &q.integrations);
    if let Some(is_resolved) = q.is_resolved {
        let p = page.arg(is_resolved);
        page.push(&format!(" AND is_resolved = {p}"));
    }
    if let Some((first, last)) = q.updated {
        let (a, b) = (page.arg(first), page.arg(last));
        page.push(&format!(" AND updated_utc BETWEEN {a} AND {b}"));
    }
    push_page(&mut page, PageBounds::new(q.created, after, q.count));
    let rows = page.rows(client).await?;
    Ok(rows.iter().map(thread).collect())
}

pub async fn message_page(
    client: &impl GenericClient,
    q: &MessageQuery,
) -> StoreResult<Vec<Message>> {
    let after = start(client, Item::Message, q.cursor, &q.visibility).await?;
    let mut page = Query::new(
        "SELECT id, thread_id, text, sender, created_utc FROM messages \
         WHERE thread_id IN (SELECT t.id FROM threads t WHERE t.id = ANY(",
    );
    let p = page.arg(q.thread_ids.clone());
    page.push(&format!("{p})"));
    let visibility = q.visibility.narrowed_to(q.enterprises.as_deref());
    push_visibility(&mut page, &visibility, "t.");
    page.push(")");
    push_page(&mut page, PageBounds::new(q.created, after, q.count));
    let rows = page.rows(client).await?;
    rows.iter().map(message).collect()
}

/// Checks every thread, then writes the messages, their threads' times and
/// their webhook events in one transaction, and wakes every node's worker.
pub async fn add_messages(
    client: &mut deadpool_postgres::Object,
    batch: MessageBatch,
) -> StoreResult<Vec<Message>> {
    let tx = client.transaction().await.map_err(internal)?;
    {
        let ids: Vec<Uuid> = batch.messages.iter().map(|m| m.thread_id).collect();
        let owners: HashMap<Uuid, (Uuid, Uuid, bool)> = tx
            .query(
                &prepared(
                    &tx,
                    "SELECT t.id, t.integration_id, t.enterprise_id, i.webhook_url IS NOT NULL \
                     FROM threads t JOIN integrations i ON i.id = t.integration_id \
                     WHERE t.id = ANY($1)",
                )
                .await?,
                &[&ids],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        for (index, m) in batch.messages.iter().enumerate() {
            match owners.get(&m.thread_id) {
                Some(&(integration, enterprise, _))
                    if batch.visibility.sees(integration, enterprise) => {}
                _ => return Err(Missing::BatchThread(index).into()),
            }
        }
        let messages = &batch.messages;
        tx.execute(
                &prepared(&tx, "INSERT INTO messages (id, thread_id, text, sender, created_utc) \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[])").await?,
                &[
                    &messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                    &ids,
                    &messages.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
                    &messages.iter().map(|m| m.sender.as_str()).collect::<Vec<_>>(),
                    &messages.iter().map(|m| m.created.unix()).collect::<Vec<_>>(),
                ],
            )
            .await
            .map_err(internal)?;
        let mut touched = HashSet::new();
        for m in messages {
            if touched.insert(m.thread_id) {
                tx.execute(
                    &prepared(
                        &tx,
                        "UPDATE threads SET updated_utc = $2, \
                                is_resolved = CASE WHEN $3 THEN FALSE ELSE is_resolved END \
                         WHERE id = $1",
                    )
                    .await?,
                    &[
                        &m.thread_id,
                        &m.created.unix(),
                        &(m.sender == Sender::Application),
                    ],
                )
                .await
                .map_err(internal)?;
            }
        }
        let events: Vec<(Uuid, Uuid, Uuid)> = messages
            .iter()
            .filter_map(|m| match owners.get(&m.thread_id) {
                Some(&(integration, enterprise, true)) => Some((m.id, integration, enterprise)),
                _ => None,
            })
            .collect();
        if !events.is_empty() {
            tx.execute(
                    &prepared(&tx, "INSERT INTO webhook_events (message_id, integration_id, enterprise_id, created_ms) \
                     SELECT m, i, e, $4 FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS x(m, i, e)").await?,
                    &[
                        &events.iter().map(|e| e.0).collect::<Vec<_>>(),
                        &events.iter().map(|e| e.1).collect::<Vec<_>>(),
                        &events.iter().map(|e| e.2).collect::<Vec<_>>(),
                        &batch.at_ms,
                    ],
                )
                .await
                .map_err(internal)?;
            tx.execute(
                &prepared(&tx, "SELECT pg_notify('switchboard_webhooks', '')").await?,
                &[],
            )
            .await
            .map_err(internal)?;
        }
    }
    tx.commit().await.map_err(internal)?;
    Ok(batch.messages)
}
