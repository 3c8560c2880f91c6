//! The manual clock, reset and the request logs' emptying in PostgreSQL. A
//! move of the clock is announced on `switchboard_clock` with its version and
//! value, so every node sees it at once, in order.

use deadpool_postgres::GenericClient;

use super::query::Query;
use super::{faults, internal};
use crate::store::emulator::{NEWEST_STORED, plan_advance, plan_set};
use crate::store::{ClockMove, ClockState, ResetCounts, ResetScope, StoreResult};
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Emulator;

pub const CLOCK_CHANNEL: &str = "switchboard_clock";

fn state(row: &tokio_postgres::Row) -> ClockState {
    ClockState {
        version: row.get(0),
        now_ms: row.get(1),
    }
}

/// The manual clock, on or off; `lock` takes its row for a move.
async fn clock_row(
    client: &impl GenericClient,
    lock: bool,
) -> StoreResult<Option<(ClockState, bool)>> {
    let sql = if lock {
        "SELECT version, now_ms, manual FROM clock WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT version, now_ms, manual FROM clock WHERE id = 1"
    };
    let row = client.query_opt(sql, &[]).await.map_err(internal)?;
    Ok(row.map(|r| (state(&r), r.get(2))))
}

/// Stores a move and announces it (`version:now_ms`), in the caller's
/// transaction.
async fn write_clock(client: &impl GenericClient, to_ms: i64) -> StoreResult<ClockState> {
    let row = client
        .query_one(
            "UPDATE clock SET now_ms = $1, manual = TRUE, version = version + 1 WHERE id = 1 \
             RETURNING version, now_ms",
            &[&to_ms],
        )
        .await
        .map_err(internal)?;
    let moved = state(&row);
    client
        .execute(
            "SELECT pg_notify($1, $2)",
            &[
                &CLOCK_CHANNEL,
                &format!("{}:{}", moved.version, moved.now_ms),
            ],
        )
        .await
        .map_err(internal)?;
    Ok(moved)
}

/// A clock move announced as `version:now_ms`.
pub fn announced(payload: &str) -> Option<ClockState> {
    let (version, now_ms) = payload.split_once(':')?;
    Some(ClockState {
        version: version.parse().ok()?,
        now_ms: now_ms.parse().ok()?,
    })
}

pub async fn start_clock(
    client: &mut deadpool_postgres::Object,
    start_ms: i64,
) -> StoreResult<ClockState> {
    let tx = client.transaction().await.map_err(internal)?;
    // Nodes that start together: one inserts, the others wait for its row.
    tx.execute("LOCK TABLE clock IN SHARE ROW EXCLUSIVE MODE", &[])
        .await
        .map_err(internal)?;
    let clock = match clock_row(&tx, true).await? {
        Some((clock, true)) => clock,
        // Off since: it starts again at `start_ms`.
        Some((_, false)) => write_clock(&tx, start_ms).await?,
        None => insert_clock(&tx, start_ms).await?,
    };
    tx.commit().await.map_err(internal)?;
    Ok(clock)
}

/// A new manual clock at `now_ms` (a database's first, or an import's).
pub async fn insert_clock(client: &impl GenericClient, now_ms: i64) -> StoreResult<ClockState> {
    client
        .execute(
            "INSERT INTO clock (id, now_ms, manual, version) VALUES (1, $1, TRUE, 0)",
            &[&now_ms],
        )
        .await
        .map_err(internal)?;
    Ok(ClockState { version: 0, now_ms })
}

pub async fn stop_clock(client: &impl GenericClient) -> StoreResult<bool> {
    let changed = client
        .execute(
            "UPDATE clock SET manual = FALSE WHERE id = 1 AND manual",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(changed == 1)
}

pub async fn stored_clock(client: &impl GenericClient) -> StoreResult<Option<ClockState>> {
    Ok(clock_row(client, false)
        .await?
        .and_then(|(clock, manual)| manual.then_some(clock)))
}

/// A move of the clock that `plan` makes of the current one (and of the
/// newest stored time), in one transaction.
async fn move_clock(
    client: &mut deadpool_postgres::Object,
    plan: impl FnOnce(Option<ClockState>, Option<i64>) -> Result<i64, ClockMove>,
) -> StoreResult<ClockMove> {
    let tx = client.transaction().await.map_err(internal)?;
    let current = clock_row(&tx, true)
        .await?
        .and_then(|(clock, manual)| manual.then_some(clock));
    let newest: Option<i64> = tx
        .query_one(NEWEST_STORED, &[])
        .await
        .map_err(internal)?
        .get(0);
    let outcome = match plan(current, newest) {
        Ok(to) => ClockMove::Moved(write_clock(&tx, to).await?),
        Err(refused) => refused,
    };
    tx.commit().await.map_err(internal)?;
    Ok(outcome)
}

pub async fn empty_request_logs(client: &impl GenericClient, at_ms: i64) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO request_logs_emptied (id, at_ms) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET at_ms = greatest(request_logs_emptied.at_ms, $1)",
            &[&at_ms],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn request_logs_emptied(client: &impl GenericClient) -> StoreResult<Option<i64>> {
    let row = client
        .query_opt("SELECT at_ms FROM request_logs_emptied WHERE id = 1", &[])
        .await
        .map_err(internal)?;
    Ok(row.map(|r| r.get(0)))
}

/// The scope's conditions on a row with `integration_id` and `enterprise_id`.
fn within(q: &mut Query, scope: &ResetScope) {
    if let Some(ids) = &scope.integrations {
        let p = q.arg(ids.clone());
        q.push(&format!(" AND integration_id = ANY({p})"));
    }
    if let Some(ids) = &scope.enterprises {
        let p = q.arg(ids.clone());
        q.push(&format!(" AND enterprise_id = ANY({p})"));
    }
}

pub async fn reset(
    client: &mut deadpool_postgres::Object,
    scope: &ResetScope,
) -> StoreResult<ResetCounts> {
    let tx = client.transaction().await.map_err(internal)?;
    // `head`, the scope's conditions, `tail`; how many rows it touched.
    let scoped = async |head: &str, tail: &str| -> StoreResult<u64> {
        let mut q = Query::new(head);
        within(&mut q, scope);
        q.push(tail);
        tx.execute(&q.text, &q.params()).await.map_err(internal)
    };
    // The worker may record an attempt of a delivery in scope meanwhile: lock
    // them first, so that it waits (and then finds its delivery gone).
    scoped(
        "SELECT 1 FROM webhook_deliveries WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE TRUE",
        ") FOR UPDATE",
    )
    .await?;
    scoped("DELETE FROM webhook_events WHERE TRUE", "").await?;
    scoped(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE TRUE",
        ")",
    )
    .await?;
    let deliveries = scoped("DELETE FROM webhook_deliveries WHERE TRUE", "").await?;
    scoped(
        "DELETE FROM message_authors WHERE message_id IN (SELECT m.id FROM messages m \
             WHERE m.thread_id IN (SELECT id FROM threads WHERE TRUE",
        "))",
    )
    .await?;
    scoped(
        "DELETE FROM thread_activity WHERE thread_id IN (SELECT id FROM threads WHERE TRUE",
        ")",
    )
    .await?;
    scoped(
        "DELETE FROM thread_reads WHERE thread_id IN (SELECT id FROM threads WHERE TRUE",
        ")",
    )
    .await?;
    let messages = scoped(
        "DELETE FROM messages WHERE thread_id IN (SELECT id FROM threads WHERE TRUE",
        ")",
    )
    .await?;
    let threads = scoped("DELETE FROM threads WHERE TRUE", "").await?;
    if scope.faults {
        tx.execute("DELETE FROM faults", &[])
            .await
            .map_err(internal)?;
        tx.execute("SELECT pg_notify($1, '')", &[&faults::CHANNEL])
            .await
            .map_err(internal)?;
    }
    let mut tokens = Query::new(
        "DELETE FROM rate_limits WHERE token_id IN (SELECT t.id FROM access_tokens t WHERE TRUE",
    );
    if let Some(ids) = &scope.integrations {
        let p = tokens.arg(ids.clone());
        tokens.push(&format!(" AND t.integration_id = ANY({p})"));
    }
    if let Some(ids) = &scope.enterprises {
        let p = tokens.arg(ids.clone());
        tokens.push(&format!(
            " AND EXISTS (SELECT 1 FROM access_token_enterprises e \
                          WHERE e.token_id = t.id AND e.enterprise_id = ANY({p}))"
        ));
    }
    tokens.push(")");
    tx.execute(&tokens.text, &tokens.params())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    Ok(ResetCounts {
        threads,
        messages,
        deliveries,
    })
}

#[async_trait]
impl Emulator for PostgresStore {
    async fn start_clock(&self, start_ms: i64) -> StoreResult<ClockState> {
        start_clock(&mut self.client().await?, start_ms).await
    }

    async fn stop_clock(&self) -> StoreResult<bool> {
        stop_clock(&self.client().await?).await
    }

    async fn stored_clock(&self) -> StoreResult<Option<ClockState>> {
        stored_clock(&self.client().await?).await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        let plan = |current, newest| plan_set(current, to_ms, newest);
        move_clock(&mut self.client().await?, plan).await
    }

    async fn advance_clock(&self, by_ms: i64, max_ms: i64) -> StoreResult<ClockMove> {
        let plan = |current, _| plan_advance(current, by_ms, max_ms);
        move_clock(&mut self.client().await?, plan).await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        reset(&mut self.client().await?, &scope).await
    }

    async fn empty_request_logs(&self, at_ms: i64) -> StoreResult<()> {
        empty_request_logs(&self.client().await?, at_ms).await
    }

    async fn request_logs_emptied(&self) -> StoreResult<Option<i64>> {
        request_logs_emptied(&self.client().await?).await
    }
}
