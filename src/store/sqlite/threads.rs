//! Thread queries of the SQLite backend.

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};

use super::{Args, id_array, internal, push_page};
use crate::domain::paging::{CursorNotVisible, Position};
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

pub fn page(
    conn: &Connection,
    q: &ThreadQuery,
) -> StoreResult<Result<Vec<Thread>, CursorNotVisible>> {
    let after = match q.cursor {
        None => None,
        Some(cursor) => {
            let position = conn
                .prepare_cached(
                    "SELECT created_utc, seq FROM threads \
                     WHERE id = ?1 AND integration_id = ?2 AND enterprise_id IN rarray(?3)",
                )
                .and_then(|mut find| {
                    find.query_row(params![cursor, q.integration_id, id_array(&q.scope)], |r| {
                        Ok(Position {
                            created: r.get(0)?,
                            seq: r.get(1)?,
                        })
                    })
                    .optional()
                })
                .map_err(internal)?;
            match position {
                Some(position) => Some(position),
                None => return Ok(Err(CursorNotVisible)),
            }
        }
    };

    // With ids given, the unary `+` keeps SQLite from walking the page index of
    // the whole integration: the at most 1000 ids are looked up one by one.
    let integration = if q.thread_ids.is_some() {
        "+integration_id"
    } else {
        "integration_id"
    };
    let mut sql = format!(
        "SELECT {COLUMNS} FROM threads \
         WHERE {integration} = :integration AND enterprise_id IN rarray(:enterprises)"
    );
    let mut args: Args = vec![
        (":integration", Box::new(q.integration_id)),
        (":enterprises", Box::new(id_array(&q.enterprises))),
    ];
    if let Some(ids) = &q.thread_ids {
        sql.push_str(" AND id IN rarray(:ids)");
        args.push((":ids", Box::new(id_array(ids))));
    }
    if let Some((first, last)) = q.created {
        sql.push_str(" AND created_utc BETWEEN :created_first AND :created_last");
        args.push((":created_first", Box::new(first)));
        args.push((":created_last", Box::new(last)));
    }
    if let Some((first, last)) = q.updated {
        sql.push_str(" AND updated_utc BETWEEN :updated_first AND :updated_last");
        args.push((":updated_first", Box::new(first)));
        args.push((":updated_last", Box::new(last)));
    }
    push_page(&mut sql, &mut args, after, q.count);

    let named: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let mut select = conn.prepare_cached(&sql).map_err(internal)?;
    let rows = select
        .query_map(named.as_slice(), from_row)
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(internal)?;
    Ok(Ok(rows))
}
