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
    args.push((":count", Box::new(page.count)));
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
    mut each: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> StoreResult<()> {
    let named: Vec<(&str, &dyn ToSql)> = args.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    let mut select = conn.prepare_cached(sql).map_err(internal)?;
    let mut rows = select.query(named.as_slice()).map_err(internal)?;
    while let Some(row) = rows.next().map_err(internal)? {
        each(row).map_err(internal)?;
    }
    Ok(())
}

/// Runs a query built piece by piece.
pub fn query<T>(
    conn: &Connection,
    sql: &str,
    args: &Args,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    let mut found = Vec::new();
    for_each_row(conn, sql, args, |row| {
        found.push(map(row)?);
        Ok(())
    })?;
    Ok(found)
}
