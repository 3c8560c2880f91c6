//! The manual clock and reset in SQLite.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::internal;
use super::query::{Args, execute, id_array, query};
use crate::store::row::Row;
use crate::store::{ClockMove, ResetCounts, ResetScope, StoreResult};
use async_trait::async_trait;

use super::SqliteStore;
use crate::store::Emulator;

pub fn start_clock(conn: &Connection, start_ms: i64) -> StoreResult<i64> {
    conn.execute(
        "INSERT INTO clock (id, now_ms) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
        [start_ms],
    )
    .map_err(internal)?;
    conn.query_row("SELECT now_ms FROM clock WHERE id = 1", [], |r| r.get(0))
        .map_err(internal)
}

pub fn stored_clock(conn: &Connection) -> StoreResult<Option<i64>> {
    conn.query_row("SELECT now_ms FROM clock WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(internal)
}

/// Moves the clock by `to_ms` (`relative`), or to `to_ms` unless that is earlier.
pub fn move_clock(conn: &Connection, to_ms: i64, relative: bool) -> StoreResult<ClockMove> {
    let sql = if relative {
        "UPDATE clock SET now_ms = now_ms + ?1 WHERE id = 1 RETURNING now_ms"
    } else {
        "UPDATE clock SET now_ms = ?1 WHERE id = 1 AND now_ms <= ?1 RETURNING now_ms"
    };
    let moved: Option<i64> = conn
        .query_row(sql, [to_ms], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    if let Some(now_ms) = moved {
        return Ok(ClockMove::Moved { now_ms });
    }
    let current: Option<i64> = conn
        .query_row("SELECT now_ms FROM clock WHERE id = 1", [], |r| r.get(0))
        .optional()
        .map_err(internal)?;
    Ok(current.map_or(ClockMove::NoClock, |now_ms| ClockMove::Backward { now_ms }))
}

/// The scope's conditions on a row with `integration_id` and `enterprise_id`.
fn scope_condition(scope: &ResetScope, args: &mut Args) -> String {
    let mut sql = "1 = 1".to_owned();
    if let Some(ids) = &scope.integrations {
        sql.push_str(" AND integration_id IN rarray(:integrations)");
        args.push((":integrations", Box::new(id_array(ids))));
    }
    if let Some(ids) = &scope.enterprises {
        sql.push_str(" AND enterprise_id IN rarray(:enterprises)");
        args.push((":enterprises", Box::new(id_array(ids))));
    }
    sql
}

/// Deletes what a reset removes; returns the counts and the access tokens whose
/// rate-limit windows go too.
pub fn reset(conn: &Connection, scope: &ResetScope) -> StoreResult<(ResetCounts, Vec<Uuid>)> {
    let mut args = Args::new();
    let within = scope_condition(scope, &mut args);
    let run = |sql: String| execute(conn, &sql, &args);
    run(format!("DELETE FROM webhook_events WHERE {within}"))?;
    run(format!(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE {within})"
    ))?;
    let deliveries = run(format!("DELETE FROM webhook_deliveries WHERE {within}"))?;
    let messages = run(format!(
        "DELETE FROM messages WHERE thread_id IN (SELECT id FROM threads WHERE {within})"
    ))?;
    let threads = run(format!("DELETE FROM threads WHERE {within}"))?;

    let mut sql = "SELECT t.id FROM access_tokens t WHERE 1 = 1".to_owned();
    let mut token_args = Args::new();
    if let Some(ids) = &scope.integrations {
        sql.push_str(" AND t.integration_id IN rarray(:integrations)");
        token_args.push((":integrations", Box::new(id_array(ids))));
    }
    if let Some(ids) = &scope.enterprises {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM access_token_enterprises e \
                          WHERE e.token_id = t.id AND e.enterprise_id IN rarray(:enterprises))",
        );
        token_args.push((":enterprises", Box::new(id_array(ids))));
    }
    let tokens = query(conn, &sql, &token_args, |row| row.uuid(0))?;
    let counts = ResetCounts {
        threads,
        messages,
        deliveries,
    };
    Ok((counts, tokens))
}

#[async_trait]
impl Emulator for SqliteStore {
    async fn start_clock(&self, start_ms: i64) -> StoreResult<i64> {
        self.writer
            .write(move |conn| start_clock(conn, start_ms))
            .await
    }

    async fn stored_clock(&self) -> StoreResult<Option<i64>> {
        self.readers.read(stored_clock).await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        self.writer
            .write(move |conn| move_clock(conn, to_ms, false))
            .await
    }

    async fn advance_clock(&self, by_ms: i64) -> StoreResult<ClockMove> {
        self.writer
            .write(move |conn| move_clock(conn, by_ms, true))
            .await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        let (counts, tokens) = self.writer.write(move |conn| reset(conn, &scope)).await?;
        // The windows live in this process; they go once the reset is durable.
        self.limiter.forget(&tokens);
        Ok(counts)
    }
}
