//! The manual clock and reset in SQLite.

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use super::internal;
use super::query::{Args, execute, id_array, query};
use crate::store::emulator::{NEWEST_STORED, plan_advance, plan_set};
use crate::store::row::Row;
use crate::store::{ClockMove, ClockState, ResetCounts, ResetScope, StoreResult};
use async_trait::async_trait;

use super::SqliteStore;
use crate::store::Emulator;

/// The manual clock, on or off.
fn clock_row(conn: &Connection) -> StoreResult<Option<(ClockState, bool)>> {
    conn.query_row(
        "SELECT version, now_ms, manual FROM clock WHERE id = 1",
        [],
        |r| {
            Ok((
                ClockState {
                    version: r.get(0)?,
                    now_ms: r.get(1)?,
                },
                r.get(2)?,
            ))
        },
    )
    .optional()
    .map_err(internal)
}

pub fn start_clock(conn: &Connection, start_ms: i64) -> StoreResult<ClockState> {
    match clock_row(conn)? {
        Some((clock, true)) => Ok(clock),
        // Off since: it starts again at `start_ms`.
        Some((_, false)) => write_clock(conn, start_ms),
        None => insert_clock(conn, start_ms),
    }
}

/// A new manual clock at `now_ms` (a database's first, or an import's).
pub fn insert_clock(conn: &Connection, now_ms: i64) -> StoreResult<ClockState> {
    conn.execute(
        "INSERT INTO clock (id, now_ms, manual, version) VALUES (1, ?1, 1, 0)",
        [now_ms],
    )
    .map_err(internal)?;
    Ok(ClockState { version: 0, now_ms })
}

pub fn stop_clock(conn: &Connection) -> StoreResult<bool> {
    let changed = conn
        .execute("UPDATE clock SET manual = 0 WHERE id = 1 AND manual", [])
        .map_err(internal)?;
    Ok(changed == 1)
}

pub fn stored_clock(conn: &Connection) -> StoreResult<Option<ClockState>> {
    Ok(clock_row(conn)?.and_then(|(clock, manual)| manual.then_some(clock)))
}

/// Stores a move: the clock shows `to_ms`, one version on.
fn write_clock(conn: &Connection, to_ms: i64) -> StoreResult<ClockState> {
    conn.query_row(
        "UPDATE clock SET now_ms = ?1, manual = 1, version = version + 1 WHERE id = 1 \
         RETURNING version, now_ms",
        [to_ms],
        |r| {
            Ok(ClockState {
                version: r.get(0)?,
                now_ms: r.get(1)?,
            })
        },
    )
    .map_err(internal)
}

pub fn set_clock(conn: &Connection, to_ms: i64) -> StoreResult<ClockMove> {
    let newest: Option<i64> = conn
        .query_row(NEWEST_STORED, [], |r| r.get(0))
        .map_err(internal)?;
    match plan_set(stored_clock(conn)?, to_ms, newest) {
        Ok(to) => write_clock(conn, to).map(ClockMove::Moved),
        Err(refused) => Ok(refused),
    }
}

pub fn advance_clock(conn: &Connection, by_ms: i64, max_ms: i64) -> StoreResult<ClockMove> {
    match plan_advance(stored_clock(conn)?, by_ms, max_ms) {
        Ok(to) => write_clock(conn, to).map(ClockMove::Moved),
        Err(refused) => Ok(refused),
    }
}

pub fn empty_request_logs(conn: &Connection, at_ms: i64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO request_logs_emptied (id, at_ms) VALUES (1, ?1) \
         ON CONFLICT (id) DO UPDATE SET at_ms = max(at_ms, excluded.at_ms)",
        [at_ms],
    )
    .map_err(internal)?;
    Ok(())
}

pub fn request_logs_emptied(conn: &Connection) -> StoreResult<Option<i64>> {
    conn.query_row(
        "SELECT at_ms FROM request_logs_emptied WHERE id = 1",
        [],
        |r| r.get(0),
    )
    .optional()
    .map_err(internal)
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
    run(format!(
        "DELETE FROM message_authors WHERE message_id IN (SELECT m.id FROM messages m \
             WHERE m.thread_id IN (SELECT id FROM threads WHERE {within}))"
    ))?;
    run(format!(
        "DELETE FROM thread_activity WHERE thread_id IN (SELECT id FROM threads WHERE {within})"
    ))?;
    run(format!(
        "DELETE FROM thread_reads WHERE thread_id IN (SELECT id FROM threads WHERE {within})"
    ))?;
    let messages = run(format!(
        "DELETE FROM messages WHERE thread_id IN (SELECT id FROM threads WHERE {within})"
    ))?;
    let threads = run(format!("DELETE FROM threads WHERE {within}"))?;
    if scope.faults {
        execute(conn, "DELETE FROM faults", &Args::new())?;
    }

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
    async fn start_clock(&self, start_ms: i64) -> StoreResult<ClockState> {
        self.writer
            .write(move |conn| start_clock(conn, start_ms))
            .await
    }

    async fn stop_clock(&self) -> StoreResult<bool> {
        self.writer.write(stop_clock).await
    }

    async fn stored_clock(&self) -> StoreResult<Option<ClockState>> {
        self.readers.read(stored_clock).await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        self.writer.write(move |conn| set_clock(conn, to_ms)).await
    }

    async fn advance_clock(&self, by_ms: i64, max_ms: i64) -> StoreResult<ClockMove> {
        self.writer
            .write(move |conn| advance_clock(conn, by_ms, max_ms))
            .await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        let (counts, tokens) = self.writer.write(move |conn| reset(conn, &scope)).await?;
        // The windows live in this process; they go once the reset is durable.
        self.limiter.forget(&tokens);
        Ok(counts)
    }

    async fn empty_request_logs(&self, at_ms: i64) -> StoreResult<()> {
        self.writer
            .write(move |conn| empty_request_logs(conn, at_ms))
            .await
    }

    async fn request_logs_emptied(&self) -> StoreResult<Option<i64>> {
        self.readers.read(request_logs_emptied).await
    }
}
