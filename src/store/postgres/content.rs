//! Threads and messages in the PostgreSQL backend.

use deadpool_postgres::GenericClient;
use futures_util::future::join;
use tokio_postgres::Row;
use uuid::Uuid;

use super::admission::{Guard, guarded};
use super::internal;
use super::query::{
    Query, prepared, push_page, push_page_after, push_visibility, visibility_conditions,
};
use crate::domain::json::{PageWriter, WrittenPage};
use crate::domain::message::{MESSAGES, Message, Sender};
use crate::domain::paging::{Count, Position};
use crate::domain::scope::Visibility;
use crate::domain::staff::Actor;
use crate::domain::thread::{THREADS, Thread};
use crate::domain::time::Timestamp;
use crate::store::content::{
    Item, MESSAGE_COLUMNS, PageBounds, THREAD_COLUMNS, VIEW_COLUMNS, after_cursor, message,
    message_view, thread, thread_view,
};
use crate::store::{MessageBatch, MessageQuery, Missing, StoreResult, ThreadQuery};
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Content;

/// Inserts threads with one statement per call, however many; how many.
///
/// With a `guard`, only if the admission just before on this connection
/// allowed the guard's token (see [`tenants::Guard`]); otherwise none.
pub async fn insert_threads(
    client: &impl GenericClient,
    threads: &[Thread],
    guard: Option<&Guard>,
) -> StoreResult<u64> {
    let column = |f: fn(&Thread) -> i64| threads.iter().map(f).collect::<Vec<_>>();
    client
        .execute(
            &prepared(
                client,
                &format!(
                    "INSERT INTO threads ({THREAD_COLUMNS}) \
                     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], \
                                          $5::text[], $6::bigint[], $7::bigint[], $8::bool[]) \
                     WHERE $9::text IS NULL OR {}",
                    guarded("$9")
                ),
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
                &guard.map(|g| g.key.as_str()),
            ],
        )
        .await
        .map_err(internal)
}

pub async fn set_resolved(
    client: &impl GenericClient,
    id: Uuid,
    is_resolved: bool,
    at: Timestamp,
    actor: &Actor,
) -> StoreResult<Thread> {
    // The change and its activity line in one statement.
    client
        .execute(
            &prepared(
                client,
                "WITH changed AS ( \
                     UPDATE threads SET is_resolved = $2, updated_utc = $3 \
                     WHERE id = $1 AND is_resolved <> $2 RETURNING id) \
                 INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                              after_message_id) \
                 SELECT id, $3, $4, $5, CASE WHEN $2 THEN 'Resolved' ELSE 'Reopened' END, \
                        (SELECT m.id FROM messages m WHERE m.thread_id = $1 \
                         ORDER BY m.seq DESC LIMIT 1) \
                 FROM changed",
            )
            .await?,
            &[&id, &is_resolved, &at.unix(), &actor.member, &actor.name],
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
    row.as_ref()
        .map(thread)
        .transpose()?
        .ok_or_else(|| Missing::Thread(id).into())
}

/// SQL that finds the position (`created_utc`, `seq`) of the cursor's item
/// `id` among what `visibility` sees, its parameters added to `q`.
fn cursor_position(q: &mut Query, item: Item, id: Uuid, visibility: &Visibility) -> String {
    let p = q.arg(id);
    let (from, alias) = match item {
        Item::Thread => ("threads c", "c."),
        Item::Message => ("messages c JOIN threads ct ON ct.id = c.thread_id", "ct."),
    };
    let conditions = visibility_conditions(q, visibility, alias);
    format!("SELECT c.created_utc, c.seq FROM {from} WHERE c.id = {p}{conditions}")
}

/// The rows of `page` (its SELECT and conditions so far) between the
/// `created` bounds, at most `count`, newest first, after `cursor` if there
/// is one. The page finds the cursor's position itself; the lookup that says
/// whether the caller sees the cursor's item goes out with it, so a page is
/// one round trip either way.
async fn page_rows(
    client: &impl GenericClient,
    mut page: Query,
    item: Item,
    cursor: Option<Uuid>,
    visibility: &Visibility,
    created: Option<(i64, i64)>,
    count: Count,
) -> StoreResult<Vec<Row>> {
    let Some(id) = cursor else {
        push_page(&mut page, PageBounds::new(created, None, count));
        return page.rows(client).await;
    };
    let mut lookup = Query::default();
    let sql = cursor_position(&mut lookup, item, id, visibility);
    lookup.push(&sql);
    let position = cursor_position(&mut page, item, id, visibility);
    push_page_after(&mut page, created, &position, count);
    let (found, rows) = join(lookup.row(client), page.rows(client)).await;
    after_cursor(
        item,
        found?.map(|r| Position {
            created: r.get(0),
            seq: r.get(1),
        }),
    )?;
    rows
}

pub async fn thread_page(client: &impl GenericClient, q: &ThreadQuery) -> StoreResult<Vec<Thread>> {
    let rows = thread_page_rows(client, q, THREAD_COLUMNS).await?;
    rows.iter().map(thread).collect()
}

/// The page of [`thread_page`], written from its rows as the Connector API
/// shows it: the text is read in place, and the two owner columns (which the
/// view does not show) are not read at all.
pub async fn written_threads(
    client: &impl GenericClient,
    q: &ThreadQuery,
) -> StoreResult<WrittenPage> {
    let rows = thread_page_rows(client, q, VIEW_COLUMNS).await?;
    let mut page = PageWriter::new(THREADS, q.count.usize());
    for row in &rows {
        page.push(&thread_view(row)?);
    }
    Ok(page.finish())
}

/// The rows of a page of threads, selecting `columns`.
async fn thread_page_rows(
    client: &impl GenericClient,
    q: &ThreadQuery,
    columns: &str,
) -> StoreResult<Vec<Row>> {
    let mut page = Query::new(&format!("SELECT {columns} FROM threads WHERE TRUE"));
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
    page_rows(
        client,
        page,
        Item::Thread,
        q.cursor,
        &q.visibility,
        q.created,
        q.count,
    )
    .await
}

pub async fn message_page(
    client: &impl GenericClient,
    q: &MessageQuery,
) -> StoreResult<Vec<Message>> {
    let rows = message_page_rows(client, q).await?;
    rows.iter().map(message).collect()
}

/// The page of [`message_page`], written from its rows as the API shows it.
pub async fn written_messages(
    client: &impl GenericClient,
    q: &MessageQuery,
) -> StoreResult<WrittenPage> {
    let rows = message_page_rows(client, q).await?;
    let mut page = PageWriter::new(MESSAGES, q.count.usize());
    for row in &rows {
        page.push(&message_view(row)?);
    }
    Ok(page.finish())
}

async fn message_page_rows(client: &impl GenericClient, q: &MessageQuery) -> StoreResult<Vec<Row>> {
    let mut page = Query::new(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages \
         WHERE thread_id IN (SELECT t.id FROM threads t WHERE t.id = ANY("
    ));
    let p = page.arg(q.thread_ids.clone());
    page.push(&format!("{p})"));
    let visibility = q.visibility.narrowed_to(q.enterprises.as_deref());
    push_visibility(&mut page, &visibility, "t.");
    page.push(")");
    page_rows(
        client,
        page,
        Item::Message,
        q.cursor,
        &q.visibility,
        q.created,
        q.count,
    )
    .await
}

/// Adds a batch of messages in one statement, so one round trip: it finds the
/// threads `batch.visibility` sees among those named, and only if it sees
/// them all writes the messages, their threads' times (an application's
/// message reopens its thread), and the webhook events of integrations with
/// a webhook, which every node's worker hears of at the commit.
///
/// With a `guard`, all that is done only if the admission just before on
/// this connection allowed the guard's token; `Ok(None)` when it did not.
pub async fn add_messages(
    client: &impl GenericClient,
    batch: MessageBatch,
    guard: Option<&Guard>,
) -> StoreResult<Option<Vec<Message>>> {
    let messages = &batch.messages;
    let mut q = Query::default();
    let threads = q.arg(messages.iter().map(|m| m.thread_id).collect::<Vec<_>>());
    let input = format!(
        "unnest({}::uuid[], {threads}::uuid[], {}::text[], {}::text[], {}::bigint[])",
        q.arg(messages.iter().map(|m| m.id).collect::<Vec<_>>()),
        q.arg(messages.iter().map(|m| m.text.clone()).collect::<Vec<_>>()),
        q.arg(
            messages
                .iter()
                .map(|m| m.sender.as_str())
                .collect::<Vec<_>>()
        ),
        q.arg(
            messages
                .iter()
                .map(|m| m.created.unix())
                .collect::<Vec<_>>()
        ),
    );
    let application = q.arg(Sender::Application.as_str());
    let at_ms = q.arg(batch.at_ms);
    let author_member = q.arg(batch.author.as_ref().and_then(|a| a.member));
    let author_name = q.arg(batch.author.as_ref().map(|a| a.name.clone()));
    let admitted = match guard {
        Some(guard) => guarded(&q.arg(guard.key.clone())),
        None => "TRUE".to_owned(),
    };
    q.push(&format!(
        "WITH input AS ( \
             SELECT * FROM {input} WITH ORDINALITY AS m(id, thread_id, text, sender, created_utc, n)), \
         owners AS ( \
             SELECT t.id, t.integration_id, t.enterprise_id, i.webhook_url IS NOT NULL AS hooked \
             FROM threads t JOIN integrations i ON i.id = t.integration_id \
             WHERE t.id = ANY({threads}::uuid[])"
    ));
    push_visibility(&mut q, &batch.visibility, "t.");
    q.push(&format!(
        "), \
         gate AS ( \
             SELECT {admitted} AS admitted, \
                    (SELECT min(m.n) FROM input m LEFT JOIN owners o ON o.id = m.thread_id \
                     WHERE o.id IS NULL) AS refused), \
         go AS (SELECT FROM gate WHERE admitted AND refused IS NULL), \
         added AS ( \
             INSERT INTO messages (id, thread_id, text, sender, created_utc) \
             SELECT m.id, m.thread_id, m.text, m.sender, m.created_utc FROM input m \
             WHERE EXISTS (SELECT FROM go) ORDER BY m.n), \
         touched AS ( \
             UPDATE threads t SET updated_utc = u.created_utc, last_sender = u.sender, \
                                  is_resolved = t.is_resolved AND NOT u.reopens \
             FROM (SELECT thread_id, max(created_utc) AS created_utc, \
                          bool_or(sender = {application}) AS reopens, \
                          (array_agg(sender ORDER BY n DESC))[1] AS sender \
                   FROM input GROUP BY thread_id) u \
             WHERE t.id = u.thread_id AND EXISTS (SELECT FROM go)), \
         authors AS ( \
             INSERT INTO message_authors (message_id, member_id, name) \
             SELECT m.id, {author_member}::uuid, {author_name}::text FROM input m \
             WHERE {author_name}::text IS NOT NULL AND EXISTS (SELECT FROM go)), \
         events AS ( \
             INSERT INTO webhook_events (message_id, integration_id, enterprise_id, created_ms) \
             SELECT m.id, o.integration_id, o.enterprise_id, {at_ms} \
             FROM input m JOIN owners o ON o.id = m.thread_id \
             WHERE o.hooked AND EXISTS (SELECT FROM go) ORDER BY m.n \
             RETURNING 1) \
         SELECT g.admitted, g.refused, \
                CASE WHEN EXISTS (SELECT FROM events) \
                     THEN (SELECT 1 FROM pg_notify('switchboard_webhooks', '')) END \
         FROM gate g"
    ));
    let row = q
        .row(client)
        .await?
        .ok_or_else(|| internal("adding messages gave no answer"))?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    if let Some(n) = row.get::<_, Option<i64>>(1) {
        // `n` counts from 1, in request order.
        let index = usize::try_from(n.saturating_sub(1)).unwrap_or_default();
        return Err(Missing::BatchThread(index).into());
    }
    Ok(Some(batch.messages))
}

#[async_trait]
impl Content for PostgresStore {
    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread> {
        insert_threads(&self.client().await?, std::slice::from_ref(&thread), None).await?;
        Ok(thread)
    }

    async fn threads(&self, query: ThreadQuery) -> StoreResult<Vec<Thread>> {
        thread_page(&self.client().await?, &query).await
    }

    async fn written_threads(&self, query: ThreadQuery) -> StoreResult<WrittenPage> {
        written_threads(&self.client().await?, &query).await
    }

    async fn add_messages(&self, batch: MessageBatch) -> StoreResult<Vec<Message>> {
        add_messages(&self.client().await?, batch, None)
            .await?
            .ok_or_else(|| internal("an unguarded batch was not added"))
    }

    async fn messages(&self, query: MessageQuery) -> StoreResult<Vec<Message>> {
        message_page(&self.client().await?, &query).await
    }

    async fn written_messages(&self, query: MessageQuery) -> StoreResult<WrittenPage> {
        written_messages(&self.client().await?, &query).await
    }

    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<Thread> {
        set_resolved(&self.client().await?, thread_id, is_resolved, at, &actor).await
    }
}

impl PostgresStore {
    /// Writes many threads, 10,000 a statement (the benchmark's data generator).
    pub async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()> {
        let client = self.client().await?;
        for chunk in threads.chunks(10_000) {
            insert_threads(&client, chunk, None).await?;
        }
        // A bulk load outruns autovacuum: without fresh statistics the planner
        // may sort a whole integration's threads for one page.
        client
            .batch_execute("ANALYZE threads")
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Writes many messages, 10,000 a statement, their threads left as they
    /// are until [`Self::derive_last_senders`] (the benchmark's generator).
    pub async fn import_messages(&self, messages: Vec<Message>) -> StoreResult<()> {
        let client = self.client().await?;
        let insert = client
            .prepare(&format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[])"
            ))
            .await
            .map_err(internal)?;
        for chunk in messages.chunks(10_000) {
            client
                .execute(
                    &insert,
                    &[
                        &chunk.iter().map(|m| m.id).collect::<Vec<_>>(),
                        &chunk.iter().map(|m| m.thread_id).collect::<Vec<_>>(),
                        &chunk.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(),
                        &chunk.iter().map(|m| m.sender.as_str()).collect::<Vec<_>>(),
                        &chunk.iter().map(|m| m.created.unix()).collect::<Vec<_>>(),
                    ],
                )
                .await
                .map_err(internal)?;
        }
        Ok(())
    }

    /// Sets every thread's last sender from its messages, as an import
    /// does, and refreshes the planner's statistics.
    pub async fn derive_last_senders(&self) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .batch_execute(crate::store::content::DERIVE_LAST_SENDER)
            .await
            .map_err(internal)?;
        client.batch_execute("ANALYZE").await.map_err(internal)
    }
}
