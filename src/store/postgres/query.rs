//! Building PostgreSQL queries piece by piece with numbered parameters, the
//! scope conditions, and the page bounds every page query ends with.
use deadpool_postgres::GenericClient;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement};
use uuid::Uuid;

use super::internal;
use crate::domain::paging::Count;
use crate::domain::scope::Visibility;
use crate::store::StoreResult;
use crate::store::content::PageBounds;

/// SQL text and its parameters, `$1`, `$2`, ... in order.
#[derive(Default)]
pub struct Query {
    pub text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Query {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter; returns its placeholder.
    pub fn arg<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    /// Runs the query as a statement of the connection's cache.
    pub async fn rows(&self, client: &impl GenericClient) -> StoreResult<Vec<Row>> {
        let statement = prepared(client, &self.text).await?;
        client
            .query(&statement, &self.params())
            .await
            .map_err(internal)
    }

    /// Runs the query as a statement of the connection's cache; at most one row.
    pub async fn row(&self, client: &impl GenericClient) -> StoreResult<Option<Row>> {
        let statement = prepared(client, &self.text).await?;
        client
            .query_opt(&statement, &self.params())
            .await
            .map_err(internal)
    }
}

/// The connection's prepared statement of `sql`, prepared on first use.
///
/// A query sent as text costs two round trips (parse and describe, then bind
/// and execute); a prepared one costs one. Statements live as long as their
/// connection, and the pool keeps connections, so the request paths prepare
/// each of their statements once per connection.
pub async fn prepared(client: &impl GenericClient, sql: &str) -> StoreResult<Statement> {
    client.prepare_cached(sql).await.map_err(internal)
}

/// The scope conditions on a `threads` row (`alias` such as `"t."`).
pub fn push_visibility(q: &mut Query, visibility: &Visibility, alias: &str) {
    let conditions = visibility_conditions(q, visibility, alias);
    q.push(&conditions);
}

/// The scope conditions on a `threads` row, each ` AND ...`, with their
/// parameters added to `q`.
pub fn visibility_conditions(q: &mut Query, visibility: &Visibility, alias: &str) -> String {
    let mut conditions = String::new();
    if let Some(integration) = visibility.integration {
        let p = q.arg(integration);
        conditions.push_str(&format!(" AND {alias}integration_id = {p}"));
    }
    if let Some(scope) = &visibility.enterprises {
        let p = q.arg(scope.clone());
        conditions.push_str(&format!(" AND {alias}enterprise_id = ANY({p})"));
    }
    conditions
}

/// Appends the page bounds, newest first.
pub fn push_page(q: &mut Query, page: PageBounds) {
    if let Some(first) = page.first {
        let p = q.arg(first);
        q.push(&format!(" AND created_utc >= {p}"));
    }
    if let Some(last) = page.last {
        let p = q.arg(last);
        q.push(&format!(" AND created_utc <= {p}"));
    }
    if let Some(after) = page.after {
        let (c, s) = (q.arg(after.created), q.arg(after.seq));
        q.push(&format!(" AND (created_utc < {c} OR seq < {s})"));
    }
    push_newest_first(q, page.count);
}

/// Appends a page's order, newest first with ties by insertion (the order
/// of the `threads_page` and `messages_page` indexes), and its size.
fn push_newest_first(q: &mut Query, count: Count) {
    let p = q.arg(count.i64());
    q.push(&format!(" ORDER BY created_utc DESC, seq DESC LIMIT {p}"));
}

/// Appends the bounds of a page after a cursor, newest first, where
/// `position` is SQL that finds the cursor's `created_utc` and `seq` (see
/// `content::cursor_position`). The page reads them through subqueries, so
/// that it needs no earlier round trip for them: the index scan starts at
/// the cursor (PostgreSQL keeps the tighter of two upper bounds), and a
/// cursor the caller cannot see gives NULL bounds and an empty scan.
pub fn push_page_after(q: &mut Query, created: Option<(i64, i64)>, position: &str, count: Count) {
    if let Some((first, last)) = created {
        let (a, b) = (q.arg(first), q.arg(last));
        q.push(&format!(" AND created_utc >= {a} AND created_utc <= {b}"));
    }
    let cursor = |column: &str| format!("(SELECT p.{column} FROM ({position}) p)");
    q.push(&format!(
        " AND created_utc <= {created} AND (created_utc < {created} OR seq < {seq})",
        created = cursor("created_utc"),
        seq = cursor("seq"),
    ));
    push_newest_first(q, count);
}

impl crate::store::row::Row for Row {
    fn uuid(&self, column: usize) -> StoreResult<Uuid> {
        self.try_get(column).map_err(internal)
    }

    fn uuid_or_null(&self, column: usize) -> StoreResult<Option<Uuid>> {
        self.try_get(column).map_err(internal)
    }

    fn text(&self, column: usize) -> StoreResult<&str> {
        self.try_get(column).map_err(internal)
    }

    fn text_or_null(&self, column: usize) -> StoreResult<Option<&str>> {
        self.try_get(column).map_err(internal)
    }

    /// `INTEGER` and `BIGINT` columns alike.
    fn int(&self, column: usize) -> StoreResult<i64> {
        self.int_or_null(column)?
            .ok_or_else(|| internal(format!("column {column} is NULL")))
    }

    fn int_or_null(&self, column: usize) -> StoreResult<Option<i64>> {
        let narrow = self
            .columns()
            .get(column)
            .is_some_and(|c| *c.type_() == Type::INT4);
        if narrow {
            let n: Option<i32> = self.try_get(column).map_err(internal)?;
            return Ok(n.map(i64::from));
        }
        self.try_get(column).map_err(internal)
    }

    fn boolean(&self, column: usize) -> StoreResult<bool> {
        self.try_get(column).map_err(internal)
    }

    fn real(&self, column: usize) -> StoreResult<f64> {
        self.try_get(column).map_err(internal)
    }

    fn bytes(&self, column: usize) -> StoreResult<&[u8]> {
        self.try_get(column).map_err(internal)
    }

    fn bytes_or_null(&self, column: usize) -> StoreResult<Option<&[u8]>> {
        self.try_get(column).map_err(internal)
    }

    fn uuid_list(&self, column: usize) -> StoreResult<Vec<Uuid>> {
        self.try_get(column).map_err(internal)
    }
}
