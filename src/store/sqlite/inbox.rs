//! The staff web inbox's reads in SQLite.

use rusqlite::{Connection, OptionalExtension};

use super::internal;
use super::query::{Args, id_array, query};
use crate::store::inbox::{
    Assigned, COLUMNS, InboxPage, InboxQuery, InboxRow, JOINS, SEARCH_WINDOW, page_rows, row,
    search_window,
};
use crate::store::row::Row;
use crate::store::{Inbox, Missing, StoreResult};
use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;

pub fn page(conn: &Connection, q: &InboxQuery) -> StoreResult<InboxPage> {
    let mut args = Args::new();
    let mut sql = "SELECT t.* FROM threads t WHERE 1 = 1".to_owned();
    if let Some(resolved) = q.resolved {
        sql.push_str(" AND t.is_resolved = +:resolved");
        args.push((":resolved", Box::new(resolved)));
    }
    if q.awaiting {
        sql.push_str(" AND t.last_sender = 'Application'");
    }
    if let Some(enterprise) = q.enterprise {
        sql.push_str(" AND t.enterprise_id = +:enterprise");
        args.push((":enterprise", Box::new(enterprise)));
    }
    if let Some(integration) = q.integration {
        sql.push_str(" AND t.integration_id = +:integration");
        args.push((":integration", Box::new(integration)));
    }
    match q.assigned {
        Some(Assigned::To(member)) => {
            sql.push_str(" AND t.assignee_id = :assignee");
            args.push((":assignee", Box::new(member)));
        }
        Some(Assigned::Nobody) => sql.push_str(" AND t.assignee_id IS NULL"),
        None => {}
    }
    if let Some(scope) = &q.scope {
        sql.push_str(" AND t.enterprise_id IN rarray(:scope)");
        args.push((":scope", Box::new(id_array(scope))));
    }
    let mut narrowed = false;
    if let Some(phrase) = q.phrase() {
        let (among, full) = search(conn, &phrase)?;
        narrowed = full;
        sql.push_str(" AND t.id IN rarray(:among)");
        args.push((":among", Box::new(id_array(&among))));
    }
    if let Some(after) = q.after {
        let (updated, seq): (i64, i64) = conn
            .query_row(
                "SELECT updated_utc, seq FROM threads WHERE id = ?1",
                [after],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(internal)?
            .ok_or(Missing::ThreadCursor)?;
        sql.push_str(
            " AND (t.updated_utc < +:updated OR (t.updated_utc = +:updated AND t.seq < +:seq))",
        );
        args.push((":updated", Box::new(updated)));
        args.push((":seq", Box::new(seq)));
    }
    sql.push_str(" ORDER BY t.updated_utc DESC, t.seq DESC LIMIT +:count");
    args.push((":count", Box::new(q.count.i64())));
    let rows = query(conn, &page_rows(&sql), &args, |r| row(r))?;
    Ok(InboxPage { rows, narrowed })
}

/// The threads of a search's window ([`search_window`]), from the
/// full-text index (trigrams, case and diacritics folded) of message texts
/// (positive rowids: the message's seq, so the newest first when
/// descending) and of senders and subjects (negative: minus the thread's
/// seq, so the newest first when ascending). FTS5 reads its index in rowid
/// order and stops at the limit.
fn search(conn: &Connection, phrase: &str) -> StoreResult<(Vec<Uuid>, bool)> {
    let window = |sql: &str| -> StoreResult<Vec<Uuid>> {
        let mut statement = conn.prepare_cached(sql).map_err(internal)?;
        let ids = statement
            .query_map(rusqlite::params![phrase, SEARCH_WINDOW], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(internal)?;
        Ok(ids)
    };
    let messages = window(
        "SELECT thread_id FROM inbox_search WHERE inbox_search MATCH ?1 AND rowid > 0 \
         ORDER BY rowid DESC LIMIT ?2",
    )?;
    let threads = window(
        "SELECT thread_id FROM inbox_search WHERE inbox_search MATCH ?1 AND rowid < 0 \
         ORDER BY rowid LIMIT ?2",
    )?;
    Ok(search_window(messages, threads))
}

pub fn one(conn: &Connection, id: Uuid) -> StoreResult<InboxRow> {
    let sql = format!("SELECT {COLUMNS} FROM threads t {JOINS} WHERE t.id = :id");
    let args: Args = vec![(":id", Box::new(id))];
    let found = query(conn, &sql, &args, |r| row(r))?;
    found
        .into_iter()
        .next()
        .ok_or_else(|| Missing::Thread(id).into())
}

pub fn awaiting_count(conn: &Connection, scope: Option<&[Uuid]>) -> StoreResult<u64> {
    // The partial indexes of awaiting threads hold only those: the count
    // reads them alone. Named, for without statistics the planner would
    // rather take every open thread from `inbox_state` and read its row.
    let index = match scope {
        Some(_) => "inbox_awaiting_enterprise",
        None => "inbox_awaiting",
    };
    let mut sql = format!(
        "SELECT count(*) FROM threads t INDEXED BY {index} \
         WHERE t.is_resolved = 0 AND t.last_sender = 'Application'"
    );
    let mut args = Args::new();
    if let Some(scope) = scope {
        sql.push_str(" AND t.enterprise_id IN rarray(:scope)");
        args.push((":scope", Box::new(id_array(scope))));
    }
    let counted = query(conn, &sql, &args, |r| r.int(0))?;
    Ok(counted.first().copied().unwrap_or(0) as u64)
}

pub fn end_session(conn: &Connection, id: &str, expires_utc: i64, now_utc: i64) -> StoreResult<()> {
    conn.execute(
        "DELETE FROM ended_sessions WHERE expires_utc <= ?1",
        [now_utc],
    )
    .map_err(internal)?;
    conn.execute(
        "INSERT INTO ended_sessions (id, expires_utc) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        rusqlite::params![id, expires_utc],
    )
    .map_err(internal)?;
    Ok(())
}

pub fn session_ended(conn: &Connection, id: &str) -> StoreResult<bool> {
    conn.prepare_cached("SELECT 1 FROM ended_sessions WHERE id = ?1")
        .and_then(|mut s| s.exists([id]))
        .map_err(internal)
}

#[async_trait]
impl Inbox for SqliteStore {
    async fn inbox_page(&self, query: InboxQuery) -> StoreResult<InboxPage> {
        self.readers
            .read_short(move |conn| page(conn, &query))
            .await
    }

    async fn inbox_thread(&self, id: Uuid) -> StoreResult<InboxRow> {
        self.readers.read(move |conn| one(conn, id)).await
    }

    async fn awaiting_count(&self, scope: Option<Vec<Uuid>>) -> StoreResult<u64> {
        self.readers
            .read(move |conn| awaiting_count(conn, scope.as_deref()))
            .await
    }

    async fn end_session(&self, id: String, expires_utc: i64, now_utc: i64) -> StoreResult<()> {
        self.writer
            .write(move |conn| end_session(conn, &id, expires_utc, now_utc))
            .await
    }

    async fn session_ended(&self, id: String) -> StoreResult<bool> {
        self.readers
            .read(move |conn| session_ended(conn, &id))
            .await
    }
}
