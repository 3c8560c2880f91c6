//! The staff web inbox's reads in PostgreSQL.

use deadpool_postgres::GenericClient;

use super::internal;
use super::query::Query;
use crate::store::inbox::{
    Assigned, COLUMNS, InboxPage, InboxQuery, InboxRow, JOINS, SEARCH_WINDOW, page_rows, row,
    search_window,
};
use crate::store::{Inbox, Missing, StoreResult};
use async_trait::async_trait;
use uuid::Uuid;

use super::PostgresStore;

pub async fn page(client: &impl GenericClient, q: &InboxQuery) -> StoreResult<InboxPage> {
    let mut page = Query::new("SELECT t.* FROM threads t WHERE TRUE");
    if let Some(resolved) = q.resolved {
        // Written in, for the generic plan to pick the index of its state.
        page.push(&format!(" AND t.is_resolved = {resolved}"));
    }
    if q.awaiting {
        page.push(" AND t.last_sender = 'Application'");
    }
    if let Some(enterprise) = q.enterprise {
        let p = page.arg(enterprise);
        page.push(&format!(" AND t.enterprise_id = {p}"));
    }
    if let Some(integration) = q.integration {
        let p = page.arg(integration);
        page.push(&format!(" AND t.integration_id = {p}"));
    }
    match q.assigned {
        Some(Assigned::To(member)) => {
            let p = page.arg(member);
            page.push(&format!(" AND t.assignee_id = {p}"));
        }
        Some(Assigned::Nobody) => page.push(" AND t.assignee_id IS NULL"),
        None => {}
    }
    if let Some(scope) = &q.scope {
        let p = page.arg(scope.clone());
        page.push(&format!(" AND t.enterprise_id = ANY({p})"));
    }
    let mut narrowed = false;
    if let Some(like) = q.like() {
        let (among, full) = search(client, &like).await?;
        narrowed = full;
        let p = page.arg(among);
        page.push(&format!(" AND t.id = ANY({p})"));
    }
    if let Some(after) = q.after {
        let position = client
            .query_opt(
                "SELECT updated_utc, seq FROM threads WHERE id = $1",
                &[&after],
            )
            .await
            .map_err(internal)?
            .ok_or(Missing::ThreadCursor)?;
        let (updated, seq): (i64, i64) = (position.get(0), position.get(1));
        let (u, s) = (page.arg(updated), page.arg(seq));
        page.push(&format!(" AND (t.updated_utc, t.seq) < ({u}, {s})"));
    }
    // The count written in, for the generic plan must know a page is small.
    page.push(&format!(
        " ORDER BY t.updated_utc DESC, t.seq DESC LIMIT {}",
        q.count.i64()
    ));
    let rows = client
        .query(&page_rows(&page.text), &page.params())
        .await
        .map_err(internal)?;
    Ok(InboxPage {
        rows: rows.iter().map(row).collect::<StoreResult<_>>()?,
        narrowed,
    })
}

/// The threads of a search's window ([`search_window`]), from the trigram
/// indexes (pg_trgm) of message texts and of senders and subjects, folded
/// (lower case, no accents) and kept folded.
///
/// The search is written into the statement as a literal, not passed as a
/// parameter: this store's statements run on generic plans, and only with
/// the text in hand can PostgreSQL choose between reading the newest rows
/// until the window is full (a word in many messages) and the trigram index
/// (a rare one).
async fn search(client: &impl GenericClient, like: &str) -> StoreResult<(Vec<Uuid>, bool)> {
    let pattern = literal(like);
    let window = |sql: String| async move {
        let rows = client.query(&sql, &[]).await.map_err(internal)?;
        StoreResult::Ok(rows.iter().map(|r| r.get::<_, Uuid>(0)).collect::<Vec<_>>())
    };
    let messages = window(format!(
        "SELECT m.thread_id FROM messages m \
         WHERE m.folded LIKE '%' || switchboard_fold({pattern}) || '%' ESCAPE '\\' \
         ORDER BY m.seq DESC LIMIT {SEARCH_WINDOW}"
    ))
    .await?;
    let threads = window(format!(
        "SELECT s.id FROM threads s \
         WHERE s.folded LIKE '%' || switchboard_fold({pattern}) || '%' ESCAPE '\\' \
         ORDER BY s.seq DESC LIMIT {SEARCH_WINDOW}"
    ))
    .await?;
    Ok(search_window(messages, threads))
}

/// `text` as an SQL string literal: in single quotes, each one doubled
/// (backslashes are themselves: the connection keeps
/// `standard_conforming_strings`, PostgreSQL's default, which
/// [`super::PostgresStore::open`] sets), without NUL, which no text holds.
fn literal(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('\'');
    for c in text.chars().filter(|c| *c != '\0') {
        if c == '\'' {
            quoted.push('\'');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

pub const CHANNEL: &str = "switchboard_inbox";

/// Announces changed threads (ids, comma-separated; a payload stays far below
/// PostgreSQL's 8,000-byte limit by sending at most 200 ids at once).
pub async fn announce(client: &impl GenericClient, threads: &[uuid::Uuid]) -> StoreResult<()> {
    for chunk in threads.chunks(200) {
        let payload: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload.join(",")])
            .await
            .map_err(internal)?;
    }
    Ok(())
}

pub async fn one(client: &impl GenericClient, id: Uuid) -> StoreResult<InboxRow> {
    let mut q = Query::new(&format!(
        "SELECT {COLUMNS} FROM threads t {JOINS} WHERE t.id = "
    ));
    let p = q.arg(id);
    q.push(&p);
    match q.row(client).await? {
        Some(found) => row(&found),
        None => Err(Missing::Thread(id).into()),
    }
}

pub async fn awaiting_count(
    client: &impl GenericClient,
    scope: Option<&[Uuid]>,
) -> StoreResult<u64> {
    let row = client
        .query_one(
            "SELECT count(*) FROM threads t \
             WHERE NOT t.is_resolved AND t.last_sender = 'Application' \
               AND ($1::uuid[] IS NULL OR t.enterprise_id = ANY($1))",
            &[&scope],
        )
        .await
        .map_err(internal)?;
    Ok(row.get::<_, i64>(0) as u64)
}

pub async fn end_session(
    client: &impl GenericClient,
    id: &str,
    expires_utc: i64,
    now_utc: i64,
) -> StoreResult<()> {
    client
        .execute(
            "WITH old AS (DELETE FROM ended_sessions WHERE expires_utc <= $3) \
             INSERT INTO ended_sessions (id, expires_utc) VALUES ($1, $2) \
             ON CONFLICT (id) DO NOTHING",
            &[&id, &expires_utc, &now_utc],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn session_ended(client: &impl GenericClient, id: &str) -> StoreResult<bool> {
    let row = client
        .query_opt("SELECT 1 FROM ended_sessions WHERE id = $1", &[&id])
        .await
        .map_err(internal)?;
    Ok(row.is_some())
}

#[async_trait]
impl Inbox for PostgresStore {
    async fn inbox_page(&self, query: InboxQuery) -> StoreResult<InboxPage> {
        page(&self.client().await?, &query).await
    }

    async fn inbox_thread(&self, id: Uuid) -> StoreResult<InboxRow> {
        one(&self.client().await?, id).await
    }

    async fn awaiting_count(&self, scope: Option<Vec<Uuid>>) -> StoreResult<u64> {
        awaiting_count(&self.client().await?, scope.as_deref()).await
    }

    fn announces_inbox(&self) -> bool {
        true
    }

    async fn end_session(&self, id: String, expires_utc: i64, now_utc: i64) -> StoreResult<()> {
        end_session(&self.client().await?, &id, expires_utc, now_utc).await
    }

    async fn session_ended(&self, id: String) -> StoreResult<bool> {
        session_ended(&self.client().await?, &id).await
    }

    async fn announce_inbox(&self, threads: &[Uuid]) -> StoreResult<()> {
        announce(&self.client().await?, threads).await
    }
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn a_literal_doubles_its_quotes_and_keeps_the_rest() {
        assert_eq!(literal("plain"), "'plain'");
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert_eq!(literal("'; DROP TABLE x; --"), "'''; DROP TABLE x; --'");
        assert_eq!(literal("a\\b"), "'a\\b'");
        assert_eq!(literal("nul\0byte"), "'nulbyte'");
        assert_eq!(literal("Ελένη"), "'Ελένη'");
    }
}
