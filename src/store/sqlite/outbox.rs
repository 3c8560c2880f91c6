//! The webhook outbox in SQLite: the primitive queries of the claim
//! algorithm ([`crate::store::outbox::claim`]) and the outbox's other statements.

use futures_util::FutureExt;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use super::query::{Args, id_array, query};
use crate::store::outbox::{self, DueDelivery, NewDelivery, OutboxTx, UnplannedEvent};
use crate::store::{
    Attempt, Claim, Claimed, DeliveryInfo, DeliveryOutcome, DeliveryQuery, DeliveryView, Missing,
    StoreError, StoreResult, WebhookBacklog,
};

/// The outbox inside the writer's transaction. Its methods never wait, so the
/// claim runs to completion in one poll on the writer thread.
struct Tx<'c>(&'c Connection);

impl OutboxTx for Tx<'_> {
    async fn due(&mut self, now_ms: i64, limit: usize) -> StoreResult<Vec<DueDelivery>> {
        self.0
            .prepare_cached(
                "SELECT d.id, d.integration_id, d.enterprise_id, d.attempts, i.webhook_url \
                 FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
                 WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1 \
                   AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= ?1) \
                 ORDER BY d.next_attempt_ms LIMIT +?2",
            )
            .and_then(|mut s| {
                s.query_map(params![now_ms, limit as i64], |r| {
                    Ok(DueDelivery {
                        id: r.get(0)?,
                        integration_id: r.get(1)?,
                        enterprise_id: r.get(2)?,
                        attempts: r.get(3)?,
                        url: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(internal)
    }

    async fn lease(&mut self, delivery: Uuid, until_ms: i64) -> StoreResult<()> {
        self.0
            .prepare_cached("UPDATE webhook_deliveries SET leased_until_ms = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![delivery, until_ms]))
            .map_err(internal)?;
        Ok(())
    }

    async fn events_of(&mut self, delivery: Uuid) -> StoreResult<Vec<(Uuid, i64)>> {
        self.0
            .prepare_cached(
                "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = ?1 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([delivery], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(internal)
    }

    async fn waiting(&mut self) -> StoreResult<Vec<(Uuid, Option<String>)>> {
        self.0
            .prepare_cached(
                "SELECT DISTINCT e.integration_id, i.webhook_url \
                 FROM webhook_events e JOIN integrations i ON i.id = e.integration_id \
                 WHERE e.delivery_id IS NULL",
            )
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(internal)
    }

    async fn unplanned(
        &mut self,
        integration: Uuid,
        limit: usize,
    ) -> StoreResult<Vec<UnplannedEvent>> {
        self.0
            .prepare_cached(
                "SELECT seq, enterprise_id, message_id, created_ms FROM webhook_events \
                 WHERE delivery_id IS NULL AND integration_id = ?1 ORDER BY seq LIMIT +?2",
            )
            .and_then(|mut s| {
                s.query_map(params![integration, limit as i64], |r| {
                    Ok(UnplannedEvent {
                        seq: r.get(0)?,
                        enterprise: r.get(1)?,
                        message: r.get(2)?,
                        written_ms: r.get(3)?,
                    })
                })?
                .collect()
            })
            .map_err(internal)
    }

    async fn create(&mut self, d: &NewDelivery) -> StoreResult<()> {
        self.0
            .prepare_cached(
                "INSERT INTO webhook_deliveries \
                     (id, integration_id, enterprise_id, status, next_attempt_ms, leased_until_ms, created_ms) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    d.id,
                    d.integration_id,
                    d.enterprise_id,
                    d.now_ms,
                    d.leased_until_ms
                ])
            })
            .map_err(internal)?;
        let mut assign = self
            .0
            .prepare_cached("UPDATE webhook_events SET delivery_id = ?1 WHERE seq = ?2")
            .map_err(internal)?;
        for seq in &d.events {
            assign.execute(params![d.id, seq]).map_err(internal)?;
        }
        Ok(())
    }

    async fn next_due(&mut self, now_ms: i64) -> StoreResult<Option<i64>> {
        self.0
            .prepare_cached(
                "SELECT min(next_attempt_ms) FROM webhook_deliveries \
                 WHERE status = 'pending' AND (leased_until_ms IS NULL OR leased_until_ms <= ?1)",
            )
            .and_then(|mut s| s.query_row([now_ms], |r| r.get(0)))
            .map_err(internal)
    }
}

pub fn claim(conn: &Connection, claim: &Claim) -> StoreResult<Claimed> {
    outbox::claim(&mut Tx(conn), claim)
        .now_or_never()
        .unwrap_or_else(|| {
            Err(StoreError::Internal(anyhow::anyhow!(
                "a SQLite outbox query waited"
            )))
        })
}

pub fn finish(
    conn: &Connection,
    id: Uuid,
    outcome: &DeliveryOutcome,
    attempt: &Attempt,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO webhook_attempts (delivery_id, started_ms, duration_ms, status, error, response) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            attempt.started_ms,
            attempt.duration_ms,
            attempt.status,
            attempt.error,
            attempt.response
        ])
    })
    .map_err(internal)?;
    let c = outcome.columns(attempt.ended_ms());
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, \
                next_attempt_ms = coalesce(?3, next_attempt_ms), leased_until_ms = NULL, \
                last_error = ?4, finished_ms = ?5 \
         WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            c.status,
            c.next_attempt_ms,
            c.last_error,
            c.finished_ms
        ])
    })
    .map_err(internal)?;
    Ok(())
}

pub fn release_leases(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "UPDATE webhook_deliveries SET leased_until_ms = NULL WHERE leased_until_ms IS NOT NULL",
        [],
    )
    .map_err(internal)?;
    Ok(())
}

pub fn list(conn: &Connection, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
    conn.prepare(
        "SELECT d.id, d.integration_id, d.enterprise_id, d.status, d.attempts, \
                (SELECT count(*) FROM webhook_events e WHERE e.delivery_id = d.id), \
                d.next_attempt_ms, d.last_error \
         FROM webhook_deliveries d \
         WHERE ?1 = 0 OR d.status = 'failed' \
         ORDER BY d.created_ms, d.id",
    )
    .and_then(|mut s| {
        s.query_map([failed_only], |r| {
            Ok(DeliveryInfo {
                id: r.get(0)?,
                integration_id: r.get(1)?,
                enterprise_id: r.get(2)?,
                status: r.get(3)?,
                attempts: r.get(4)?,
                events: r.get::<_, i64>(5)? as u64,
                next_attempt_ms: r.get(6)?,
                last_error: r.get(7)?,
            })
        })?
        .collect()
    })
    .map_err(internal)
}

/// Due since it was created: due at once on any clock that has not gone back.
pub fn retry(conn: &Connection, id: Option<Uuid>) -> StoreResult<u64> {
    let changed = conn
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = created_ms, \
                    leased_until_ms = NULL, finished_ms = NULL \
             WHERE status = 'failed' AND (?1 IS NULL OR id = ?1)",
            [id],
        )
        .map_err(internal)?;
    Ok(changed as u64)
}

pub fn resend(conn: &Connection, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
    let args: Args = vec![(":ids", Box::new(id_array(ids)))];
    query(
        conn,
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                next_attempt_ms = created_ms, finished_ms = NULL \
         WHERE id IN rarray(:ids) RETURNING id",
        &args,
        |r| r.get(0),
    )
}

pub fn page(conn: &Connection, q: &DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
    let mut args = Args::new();
    let mut sql = "SELECT id, integration_id, enterprise_id, status, created_ms, next_attempt_ms \
                   FROM webhook_deliveries WHERE 1 = 1"
        .to_owned();
    if let Some(ids) = &q.integrations {
        sql.push_str(" AND integration_id IN rarray(:integrations)");
        args.push((":integrations", Box::new(id_array(ids))));
    }
    if let Some(states) = &q.states {
        let states: Vec<rusqlite::types::Value> = states
            .iter()
            .map(|s| rusqlite::types::Value::Text((*s).to_owned()))
            .collect();
        sql.push_str(" AND status IN rarray(:states)");
        args.push((":states", Box::new(std::rc::Rc::new(states))));
    }
    if let Some(after) = q.after {
        let created: i64 = conn
            .query_row(
                "SELECT created_ms FROM webhook_deliveries WHERE id = ?1",
                [after],
                |r| r.get(0),
            )
            .optional()
            .map_err(internal)?
            .ok_or(Missing::DeliveryCursor)?;
        sql.push_str(" AND (created_ms < :created OR (created_ms = :created AND id < :after))");
        args.push((":created", Box::new(created)));
        args.push((":after", Box::new(after)));
    }
    sql.push_str(" ORDER BY created_ms DESC, id DESC LIMIT +:count");
    args.push((":count", Box::new(q.count as i64)));
    let mut deliveries = query(conn, &sql, &args, |r| {
        Ok(DeliveryView {
            id: r.get(0)?,
            integration_id: r.get(1)?,
            enterprise_id: r.get(2)?,
            status: r.get(3)?,
            message_ids: Vec::new(),
            created_ms: r.get(4)?,
            next_attempt_ms: r.get(5)?,
            attempts: Vec::new(),
        })
    })?;
    for delivery in &mut deliveries {
        delivery.message_ids = conn
            .prepare_cached(
                "SELECT message_id FROM webhook_events WHERE delivery_id = ?1 ORDER BY seq",
            )
            .and_then(|mut s| s.query_map([delivery.id], |r| r.get(0))?.collect())
            .map_err(internal)?;
        delivery.attempts = conn
            .prepare_cached(
                "SELECT started_ms, duration_ms, status, error, response \
                 FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY seq",
            )
            .and_then(|mut s| {
                s.query_map([delivery.id], |r| {
                    Ok(Attempt {
                        started_ms: r.get(0)?,
                        duration_ms: r.get(1)?,
                        status: r.get(2)?,
                        error: r.get(3)?,
                        response: r.get(4)?,
                    })
                })?
                .collect()
            })
            .map_err(internal)?;
    }
    Ok(deliveries)
}

pub fn backlog(conn: &Connection) -> StoreResult<WebhookBacklog> {
    let pending_events: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM webhook_events WHERE delivery_id IS NULL) + \
                    (SELECT count(*) FROM webhook_events e JOIN webhook_deliveries d ON d.id = e.delivery_id \
                     WHERE d.status = 'pending')",
            [],
            |r| r.get(0),
        )
        .map_err(internal)?;
    let next_due_ms: Option<i64> = conn
        .query_row(
            "SELECT min(next_attempt_ms) FROM webhook_deliveries WHERE status = 'pending'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(internal)?
        .flatten();
    Ok(WebhookBacklog {
        pending_events: pending_events as u64,
        next_due_ms,
    })
}

pub fn set_url(conn: &Connection, integration: Uuid, url: Option<&str>) -> StoreResult<()> {
    let changed = conn
        .execute(
            "UPDATE integrations SET webhook_url = ?2 WHERE id = ?1",
            params![integration, url],
        )
        .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    Ok(())
}

pub fn prune(conn: &Connection, before_ms: i64) -> StoreResult<u64> {
    conn.execute(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE status = 'delivered' AND finished_ms < ?1)",
        [before_ms],
    )
    .map_err(internal)?;
    conn.execute(
        "DELETE FROM webhook_events WHERE delivery_id IN \
             (SELECT id FROM webhook_deliveries WHERE status = 'delivered' AND finished_ms < ?1)",
        [before_ms],
    )
    .map_err(internal)?;
    let removed = conn
        .execute(
            "DELETE FROM webhook_deliveries WHERE status = 'delivered' AND finished_ms < ?1",
            [before_ms],
        )
        .map_err(internal)?;
    Ok(removed as u64)
}
