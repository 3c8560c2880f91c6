//! Building SQLite queries piece by piece: named parameters, id lists, the
//! visibility conditions and the page bounds every page query ends with.
//!
//! Parameters are written `+:name` (or `+?1`) wherever the planner could look
//! at their value: in `LIMIT`, and in a condition that an `ORDER BY` or a join
//! reasons about. The unary `+` changes no value and no index choice, but a
//! bare parameter there makes SQLite plan the statement again each time it is
//! bound, and the statement cache rebinds at every use: that once cost a page
//! a third of its CPU. `tests::request_statements_are_planned_once` keeps the
//! request paths to one plan.

use std::rc::Rc;

use rusqlite::types::Value;
use rusqlite::{Connection, Row, ToSql};
use uuid::Uuid;

use super::internal;
use crate::domain::scope::Visibility;
use crate::store::StoreResult;
use crate::store::content::PageBounds;

/// Named parameters of a query built piece by piece.
pub type Args = Vec<(&'static str, Box<dyn ToSql>)>;

/// A list of ids as an `rarray()` parameter.
pub fn id_array(ids: &[Uuid]) -> Rc<Vec<Value>> {
    Rc::new(
        ids.iter()
            .map(|id| Value::Blob(id.as_bytes().to_vec()))
            .collect(),
    )
}

/// Appends the scope conditions on a `threads` row (with `alias`, such as
/// `"t."`): the caller's integration and the enterprises of its scope.
/// A leading `+` keeps the integration term from picking an index.
///
/// The scope is an `IN` subquery with an `ORDER BY`: on a plain
/// `IN rarray(...)` SQLite builds a Bloom filter of the list at every run,
/// 10,000 zeroed bytes and a hash a row (2% of a page of 100 threads, for a
/// list of a few ids that every row is in anyway); sorting the list leaves the
/// filter unbuilt (`tests::scope_lists_build_no_bloom_filter`).
pub fn push_visibility(
    sql: &mut String,
    args: &mut Args,
    visibility: &Visibility,
    alias_plus: &str,
) {
    let (plus, alias) = match alias_plus.strip_prefix('+') {
        Some(alias) => ("+", alias),
        None => ("", alias_plus),
    };
    if let Some(integration) = visibility.integration {
        sql.push_str(&format!(
            " AND {plus}{alias}integration_id = +:vis_integration"
        ));
        args.push((":vis_integration", Box::new(integration)));
    }
    if let Some(scope) = &visibility.enterprises {
        sql.push_str(&format!(
            " AND {alias}enterprise_id IN \
             (SELECT value FROM rarray(:vis_scope) ORDER BY value)"
        ));
        args.push((":vis_scope", Box::new(id_array(scope))));
    }
}

/// Appends the page bounds, newest first. Tables must have `created_utc` and
/// `seq` columns and an index ending in `(created_utc, seq)` after their
/// equality columns. `plus` is `"+"` when the range must not pick an index
/// (rows found by id).
pub fn push_page(sql: &mut String, args: &mut Args, page: PageBounds, plus: &str) {
    if let Some(first) = page.first {
        sql.push_str(&format!(" AND {plus}created_utc >= +:created_first"));
        args.push((":created_first", Box::new(first)));
    }
    if let Some(last) = page.last {
        sql.push_str(&format!(" AND {plus}created_utc <= +:created_last"));
        args.push((":created_last", Box::new(last)));
    }
    if let Some(after) = page.after {
        sql.push_str(" AND (created_utc < +:after_created OR seq < +:after_seq)");
        args.push((":after_created", Box::new(after.created)));
        args.push((":after_seq", Box::new(after.seq)));
    }
    sql.push_str(" ORDER BY created_utc DESC, seq DESC LIMIT +:count");
    args.push((":count", Box::new(page.count.get())));
}

/// Runs a statement built piece by piece; returns how many rows it changed.
pub fn execute(conn: &Connection, sql: &str, args: &Args) -> StoreResult<u64> {
    let named: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute(named.as_slice()))
        .map(|changed| changed as u64)
        .map_err(internal)
}

/// Runs a query built piece by piece, handing each row to `each` as it is
/// read (a row borrows from the statement: its text can be read in place).
pub fn for_each_row(
    conn: &Connection,
    sql: &str,
    args: &Args,
    mut each: impl FnMut(&Row<'_>) -> StoreResult<()>,
) -> StoreResult<()> {
    let named: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let mut select = conn.prepare_cached(sql).map_err(internal)?;
    let mut rows = select.query(named.as_slice()).map_err(internal)?;
    while let Some(row) = rows.next().map_err(internal)? {
        each(row)?;
    }
    Ok(())
}

/// Runs a query built piece by piece.
pub fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &Args,
    mut map: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut found = Vec::new();
    for_each_row(conn, sql, args, |row| {
        found.push(map(row)?);
        Ok(())
    })?;
    Ok(found)
}

impl crate::store::row::Row for Row<'_> {
    #[inline]
    fn uuid(&self, column: usize) -> StoreResult<Uuid> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn uuid_or_null(&self, column: usize) -> StoreResult<Option<Uuid>> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn text(&self, column: usize) -> StoreResult<&str> {
        self.get_ref(column)
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(internal)
    }

    #[inline]
    fn text_or_null(&self, column: usize) -> StoreResult<Option<&str>> {
        self.get_ref(column)
            .and_then(|v| v.as_str_or_null().map_err(Into::into))
            .map_err(internal)
    }

    #[inline]
    fn int(&self, column: usize) -> StoreResult<i64> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn int_or_null(&self, column: usize) -> StoreResult<Option<i64>> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn boolean(&self, column: usize) -> StoreResult<bool> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn real(&self, column: usize) -> StoreResult<f64> {
        self.get(column).map_err(internal)
    }

    #[inline]
    fn bytes(&self, column: usize) -> StoreResult<&[u8]> {
        self.get_ref(column)
            .and_then(|v| v.as_blob().map_err(Into::into))
            .map_err(internal)
    }

    fn bytes_or_null(&self, column: usize) -> StoreResult<Option<&[u8]>> {
        self.get_ref(column)
            .and_then(|v| v.as_blob_or_null().map_err(Into::into))
            .map_err(internal)
    }

    /// The ids one after another, 16 bytes each (`access_tokens.enterprise_ids`).
    #[inline]
    fn uuid_list(&self, column: usize) -> StoreResult<Vec<Uuid>> {
        let bytes = crate::store::row::Row::bytes(self, column)?;
        if !bytes.len().is_multiple_of(16) {
            return Err(crate::store::StoreError::Internal(anyhow::anyhow!(
                "{} bytes are not a list of ids",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(16)
            .map(|id| Uuid::from_slice(id).unwrap_or_default())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use uuid::Uuid;

    use super::super::{SqliteStore, connect, content, inbox, tenants};
    use crate::domain::paging::Count;
    use crate::domain::time::Timestamp;
    use crate::tokens::TokenHash;

    /// Every prepared statement of `conn` that SQLite planned again since it
    /// was prepared, with how often.
    fn replanned(conn: &Connection) -> Vec<(String, i32)> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the handle is live while `conn` is borrowed, and statements
        // are only read, on this thread.
        unsafe {
            let db = conn.handle();
            let mut statement = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !statement.is_null() {
                let n = ffi::sqlite3_stmt_status(statement, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                if n > 0 {
                    let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(statement));
                    found.push((sql.to_string_lossy().into_owned(), n));
                }
                statement = ffi::sqlite3_next_stmt(db, statement);
            }
        }
        found
    }

    /// SQLite plans a statement again, at every run, when a value bound to it
    /// steers its plan (a bound `LIMIT`, a bound key that a join propagates):
    /// that once cost a page of 100 threads a third of its CPU. The statements
    /// of the request paths run twice here with other values, and none may be
    /// planned again.
    #[tokio::test]
    async fn request_statements_are_planned_once() {
        use crate::demo;
        use crate::domain::message::{Message, Sender};
        use crate::domain::scope::Visibility;
        use crate::domain::thread::Thread;
        use crate::store::inbox::InboxQuery;
        use crate::store::{Content, MessageBatch, MessageQuery, ThreadQuery};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        demo::seed(&store, Timestamp::from_unix(1_700_000_000))
            .await
            .unwrap();
        let mut threads = Vec::new();
        for i in 0..4 {
            let at = Timestamp::from_unix(1_700_000_000 + i);
            let thread = Thread {
                id: Uuid::new_v4(),
                integration_id: demo::SAMPLE_CLIENT,
                enterprise_id: demo::GROSS,
                original_sender: format!("Guest {i}"),
                subject: "Plans".to_owned(),
                created: at,
                updated: at,
                is_resolved: false,
            };
            threads.push(store.add_thread(thread).await.unwrap().id);
        }
        let visibility = Visibility {
            integration: Some(demo::SAMPLE_CLIENT),
            enterprises: Some(vec![demo::GROSS, demo::NET]),
        };
        let batch = |thread: Uuid, text: &str| MessageBatch {
            visibility: visibility.clone(),
            messages: vec![Message {
                id: Uuid::new_v4(),
                thread_id: thread,
                text: text.to_owned(),
                sender: Sender::Application,
                created: Timestamp::from_unix(1_700_000_100),
            }],
            at_ms: 1_700_000_100_000,
            author: None,
        };
        let mut messages = Vec::new();
        for (i, &thread) in threads.iter().enumerate() {
            messages.push(
                store
                    .add_messages(batch(thread, &format!("{i}")))
                    .await
                    .unwrap()[0]
                    .id,
            );
        }

        let writer = connect(&path, false).unwrap();
        let reader = connect(&path, true).unwrap();
        for run in [0, 1, 0, 1_usize] {
            tenants::find_access(
                &reader,
                TokenHash::of(demo::CLIENT_TOKEN),
                TokenHash::of(if run == 0 {
                    demo::PORTFOLIO_ACCESS_TOKEN
                } else {
                    demo::NET_ACCESS_TOKEN
                }),
            )
            .unwrap()
            .expect("the demo tokens");
            let query = ThreadQuery {
                visibility: visibility.clone(),
                enterprises: Some(vec![demo::GROSS]),
                integrations: None,
                is_resolved: None,
                thread_ids: None,
                created: Some((1_600_000_000 + run as i64, 1_800_000_000 - run as i64)),
                updated: None,
                cursor: Some(threads[3 - run]),
                count: Count::new(2 + run as u32),
            };
            assert!(!content::thread_page(&reader, &query).unwrap().is_empty());
            assert!(content::written_threads(&reader, &query).unwrap().len > 0);
            content::message_page(
                &reader,
                &MessageQuery {
                    visibility: visibility.clone(),
                    thread_ids: threads.clone(),
                    enterprises: None,
                    created: None,
                    cursor: Some(messages[3 - run]),
                    count: Count::new(2 + run as u32),
                },
            )
            .unwrap();
            inbox::page(
                &reader,
                &InboxQuery {
                    resolved: Some(run == 0),
                    awaiting: run == 1,
                    enterprise: None,
                    integration: None,
                    assigned: None,
                    scope: None,
                    search: None,
                    after: Some(threads[run]),
                    count: Count::new(2 + run as u32),
                },
            )
            .unwrap();
            content::add_messages(&writer, batch(threads[run], "again")).unwrap();
        }
        assert_eq!(replanned(&reader), vec![], "reads planned again");
        assert_eq!(replanned(&writer), vec![], "writes planned again");
    }

    /// The opcodes of `sql`'s program.
    fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
        let mut explain = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let mut rows = explain.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            found.push(row.get::<_, String>(1).unwrap());
        }
        found
    }

    /// See [`query::push_visibility`]: a page of a portfolio token's threads
    /// runs without a Bloom filter of its enterprises.
    #[tokio::test]
    async fn scope_lists_build_no_bloom_filter() {
        use crate::domain::scope::Visibility;
        use crate::store::ThreadQuery;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bloom.db");
        SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let reader = connect(&path, true).unwrap();
        let query = ThreadQuery {
            visibility: Visibility {
                integration: Some(Uuid::new_v4()),
                enterprises: Some(vec![Uuid::new_v4(), Uuid::new_v4()]),
            },
            enterprises: None,
            integrations: None,
            is_resolved: None,
            thread_ids: None,
            created: Some((0, 1_800_000_000)),
            updated: None,
            cursor: None,
            count: Count::new(100),
        };
        let (sql, _) =
            content::thread_page_query(&reader, &query, crate::store::content::VIEW_COLUMNS)
                .unwrap();
        let ops = opcodes(&reader, &sql);
        assert!(ops.iter().any(|op| op == "Column"), "{ops:?}");
        assert!(!ops.iter().any(|op| op.starts_with("Filter")), "{ops:?}");
        // The same scope as a plain list would build one: the test can tell.
        let plain = sql.replace(
            "(SELECT value FROM rarray(:vis_scope) ORDER BY value)",
            "rarray(:vis_scope)",
        );
        assert_ne!(plain, sql);
        assert!(opcodes(&reader, &plain).iter().any(|op| op == "FilterAdd"));
    }
}
