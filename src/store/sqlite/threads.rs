//! Thread queries of the SQLite backend.

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use uuid::Uuid;

use super::{Args, id_array, internal, push_page, push_visibility};
use crate::domain::paging::{CursorNotVisible, Position};
use crate::domain::scope::Visibility;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::store::{StoreResult, ThreadQuery};

const COLUMNS: &str = "id, integration_id, enterprise_id, original_sender, subject, \
                       created_utc, updated_utc, is_resolved";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Thread> {
    Ok(Thread {
        id: row.get(0)?,
        integration_id: row.get(1)?,
        enterprise_id: row.get(2)?,
        original_sender: row.get(3)?,
        subject: row.get(4)?,
        created: Timestamp::from_unix(row.get(5)?),
        updated: Timestamp::from_unix(row.get(6)?),
        is_resolved: row.get(7)?,
    })
}

pub fn insert(conn: &Connection, t: &Thread) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO threads (id, integration_id, enterprise_id, original_sender, subject, \
                              created_utc, updated_utc, is_resolved) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
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

pub fn find(conn: &Connection, id: Uuid) -> StoreResult<Option<Thread>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM threads WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], from_row).optional())
        .map_err(internal)
}

/// The thread's place in the page order, if `visibility` sees it.
fn position(conn: &Connection, id: Uuid, visibility: &Visibility) -> StoreResult<Option<Position>> {
    let mut sql = "SELECT created_utc, seq FROM threads WHERE id = :id".to_owned();
    let mut args: Args = vec![(":id", Box::new(id))];
    push_visibility(&mut sql, &mut args, visibility, "");
    query(conn, &sql, &args, |r| {
        Ok(Position {
            created: r.get(0)?,
            seq: r.get(1)?,
        })
    })
    .map(|rows| rows.into_iter().next())
}

pub fn set_resolved(
    conn: &Connection,
    id: Uuid,
    is_resolved: bool,
    at: Timestamp,
) -> StoreResult<Option<Thread>> {
    conn.prepare_cached(
        "UPDATE threads SET is_resolved = ?2, updated_utc = ?3 WHERE id = ?1 AND is_resolved <> ?2",
    )
    .and_then(|mut s| s.execute(params![id, is_resolved, at.unix()]))
    .map_err(internal)?;
    find(conn, id)
}

pub fn page(
    conn: &Connection,
    q: &ThreadQuery,
) -> StoreResult<Result<Vec<Thread>, CursorNotVisible>> {
    let after = match q.cursor {
        None => None,
        Some(cursor) => match position(conn, cursor, &q.visibility)? {
            Some(position) => Some(position),
            None => return Ok(Err(CursorNotVisible)),
        },
    };
    // Steer SQLite to the right index: with ids, look the (at most 1000) ids up
    // one by one, and a unary `+` keeps the other terms from choosing a page
    // index; without ids, walk `threads_page` (one integration) or `threads_all`.
    let by_id = q.thread_ids.is_some();

    let mut sql = format!("SELECT {COLUMNS} FROM threads WHERE 1 = 1");
    let mut args: Args = Vec::new();
    push_visibility(
        &mut sql,
        &mut args,
        &q.visibility,
        if by_id { "+" } else { "" },
    );
    if let Some(ids) = &q.thread_ids {
        sql.push_str(" AND id IN rarray(:ids)");
        args.push((":ids", Box::new(id_array(ids))));
    }
    if let Some(enterprises) = &q.enterprises {
        sql.push_str(" AND enterprise_id IN rarray(:enterprises)");
        args.push((":enterprises", Box::new(id_array(enterprises))));
    }
    if let Some(integrations) = &q.integrations {
        // Never an index: the page index of a single integration would need a sort.
        sql.push_str(" AND +integration_id IN rarray(:integrations)");
        args.push((":integrations", Box::new(id_array(integrations))));
    }
    if let Some(is_resolved) = q.is_resolved {
        sql.push_str(" AND is_resolved = :is_resolved");
        args.push((":is_resolved", Box::new(is_resolved)));
    }
    if let Some((first, last)) = q.updated {
        sql.push_str(" AND updated_utc BETWEEN :updated_first AND :updated_last");
        args.push((":updated_first", Box::new(first)));
        args.push((":updated_last", Box::new(last)));
    }
    push_page(
        &mut sql,
        &mut args,
        q.created,
        after,
        q.count,
        if by_id { "+" } else { "" },
    );
    query(conn, &sql, &args, from_row).map(Ok)
}

/// Runs a query built piece by piece.
pub(super) fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &Args,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let named: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let mut select = conn.prepare_cached(sql).map_err(internal)?;
    select
        .query_map(named.as_slice(), map)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(internal)
}
