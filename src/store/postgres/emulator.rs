//! The manual clock and reset in PostgreSQL. A move of the clock is announced
//! on `switchboard_clock` with the new value, so every node sees it at once.

use deadpool_postgres::GenericClient;

use super::internal;
use super::query::Query;
use crate::store::{ClockMove, ResetCounts, ResetScope, StoreResult};
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Emulator;

pub const CLOCK_CHANNEL: &str = "switchboard_clock";

pub async fn start_clock(client: &impl GenericClient, start_ms: i64) -> StoreResult<i64> {
    client
        .execute(
            "INSERT INTO clock (id, now_ms) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&start_ms],
        )
        .await
        .map_err(internal)?;
    let row = client
        .query_one("SELECT now_ms FROM clock WHERE id = 1", &[])
        .await
        .map_err(internal)?;
    Ok(row.get(0))
}

pub async fn stored_clock(client: &impl GenericClient) -> StoreResult<Option<i64>> {
    let row = client
        .query_opt("SELECT now_ms FROM clock WHERE id = 1", &[])
        .await
        .map_err(internal)?;
    Ok(row.map(|r| r.get(0)))
}

/// Moves the clock by `to_ms` (`relative`), or to `to_ms` unless that is
/// earlier; the move is announced in its own transaction.
pub async fn move_clock(
    client: &mut deadpool_postgres::Object,
    to_ms: i64,
    relative: bool,
) -> StoreResult<ClockMove> {
    let sql = if relative {
        "UPDATE clock SET now_ms = now_ms + $1 WHERE id = 1 RETURNING now_ms"
    } else {
        "UPDATE clock SET now_ms = $1 WHERE id = 1 AND now_ms <= $1 RETURNING now_ms"
    };
    let tx = client.transaction().await.map_err(internal)?;
    let moved = tx.query_opt(sql, &[&to_ms]).await.map_err(internal)?;
    let outcome = match moved {
        Some(row) => {
            let now_ms: i64 = row.get(0);
            tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CLOCK_CHANNEL, &now_ms.to_string()],
            )
            .await
            .map_err(internal)?;
            ClockMove::Moved { now_ms }
        }
        None => {
            let current = tx
                .query_opt("SELECT now_ms FROM clock WHERE id = 1", &[])
                .await
                .map_err(internal)?;
            current.map_or(ClockMove::NoClock, |row| ClockMove::Backward {
                now_ms: row.get(0),
            })
        }
    };
    tx.commit().await.map_err(internal)?;
    Ok(outcome)
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
    let messages = scoped(
        "DELETE FROM messages WHERE thread_id IN (SELECT id FROM threads WHERE TRUE",
        ")",
    )
    .await?;
    let threads = scoped("DELETE FROM threads WHERE TRUE", "").await?;
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
    async fn start_clock(&self, start_ms: i64) -> StoreResult<i64> {
        start_clock(&self.client().await?, start_ms).await
    }

    async fn stored_clock(&self) -> StoreResult<Option<i64>> {
        stored_clock(&self.client().await?).await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        move_clock(&mut self.client().await?, to_ms, false).await
    }

    async fn advance_clock(&self, by_ms: i64) -> StoreResult<ClockMove> {
        move_clock(&mut self.client().await?, by_ms, true).await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        reset(&mut self.client().await?, &scope).await
    }
}
