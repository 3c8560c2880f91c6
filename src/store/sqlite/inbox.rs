//! The staff web inbox's reads in SQLite.

use rusqlite::{Connection, OptionalExtension, Row};

use super::internal;
use super::query::{Args, query};
use crate::domain::message::Sender;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::store::inbox::{COLUMNS, FROM, InboxQuery, InboxRow, LastMessage};
use crate::store::{Missing, StoreResult};

fn row(r: &Row<'_>) -> rusqlite::Result<InboxRow> {
    let sender: Option<String> = r.get(11)?;
    let text: Option<String> = r.get(10)?;
    let created: Option<i64> = r.get(12)?;
    Ok(InboxRow {
        thread: Thread {
            id: r.get(0)?,
            integration_id: r.get(1)?,
            enterprise_id: r.get(2)?,
            original_sender: r.get(3)?,
            subject: r.get(4)?,
            created: Timestamp::from_unix(r.get(5)?),
            updated: Timestamp::from_unix(r.get(6)?),
            is_resolved: r.get(7)?,
        },
        enterprise_name: r.get(8)?,
        integration_name: r.get(9)?,
        last: match (text, sender.as_deref().and_then(Sender::parse), created) {
            (Some(text), Some(sender), Some(created)) => Some(LastMessage {
                text,
                sender,
                created: Timestamp::from_unix(created),
            }),
            _ => None,
        },
    })
}

pub fn page(conn: &Connection, q: &InboxQuery) -> StoreResult<Vec<InboxRow>> {
    let mut args = Args::new();
    let mut sql = format!("SELECT {COLUMNS} {FROM} WHERE 1 = 1");
    if let Some(resolved) = q.resolved {
        sql.push_str(" AND t.is_resolved = +:resolved");
        args.push((":resolved", Box::new(resolved)));
    }
    if q.awaiting {
        sql.push_str(" AND l.sender = 'Application'");
    }
    if let Some(enterprise) = q.enterprise {
        sql.push_str(" AND t.enterprise_id = +:enterprise");
        args.push((":enterprise", Box::new(enterprise)));
    }
    if let Some(integration) = q.integration {
        sql.push_str(" AND t.integration_id = +:integration");
        args.push((":integration", Box::new(integration)));
    }
    if let Some(pattern) = q.pattern() {
        // SQLite's lower() changes A-Z only, like the pattern.
        sql.push_str(
            " AND (lower(t.original_sender) LIKE :pattern ESCAPE '\\' \
                   OR lower(t.subject) LIKE :pattern ESCAPE '\\')",
        );
        args.push((":pattern", Box::new(pattern)));
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
    args.push((":count", Box::new(q.count as i64)));
    query(conn, &sql, &args, row)
}

pub fn awaiting_count(conn: &Connection) -> StoreResult<u64> {
    conn.query_row(
        &format!("SELECT count(*) {FROM} WHERE t.is_resolved = 0 AND l.sender = 'Application'"),
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(internal)
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
