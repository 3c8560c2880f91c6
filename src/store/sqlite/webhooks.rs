//! The webhook outbox of the SQLite backend.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use crate::store::outbox::{self, Batch, UnplannedEvent, take_room};
use crate::store::{
    Claim, Claimed, ClaimedDelivery, DeliveryInfo, DeliveryOutcome, StoreResult, WebhookBacklog,
};

/// Reserves what is due: first deliveries waiting for a retry, then new
/// deliveries of events that belong to none yet. New deliveries are formed only
/// for receivers with room, so events that arrive while a receiver is busy wait
/// and then go out together, up to `batch_size` per request.
pub fn claim(conn: &Connection, claim: &Claim) -> StoreResult<Claimed> {
    let mut busy: HashMap<Uuid, usize> = claim.in_flight.clone();
    let lease_until = claim.now_ms + claim.lease_ms;
    let mut claimed = Vec::new();

    let due: Vec<(Uuid, Uuid, Uuid, u32, Option<String>)> = conn
        .prepare_cached(
            "SELECT d.id, d.integration_id, d.enterprise_id, d.attempts, i.webhook_url \
             FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
             WHERE d.status = 'pending' AND d.next_attempt_ms <= ?1 \
               AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= ?1) \
             ORDER BY d.next_attempt_ms LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![claim.now_ms, (claim.max * 4) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect()
        })
        .map_err(internal)?;
    let mut lease = conn
        .prepare_cached("UPDATE webhook_deliveries SET leased_until_ms = ?2 WHERE id = ?1")
        .map_err(internal)?;
    let mut events_of = conn
        .prepare_cached(
            "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = ?1 ORDER BY seq",
        )
        .map_err(internal)?;
    for (id, integration_id, enterprise_id, attempts, url) in due {
        if claimed.len() >= claim.max || !take_room(&mut busy, integration_id, claim.per_receiver) {
            continue;
        }
        lease.execute(params![id, lease_until]).map_err(internal)?;
        let events = events_of
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(internal)?;
        claimed.push(ClaimedDelivery {
            id,
            integration_id,
            enterprise_id,
            url,
            attempts,
            events,
        });
    }

    let waiting: Vec<(Uuid, Option<String>)> = conn
        .prepare_cached(
            "SELECT DISTINCT e.integration_id, i.webhook_url \
             FROM webhook_events e JOIN integrations i ON i.id = e.integration_id \
             WHERE e.delivery_id IS NULL",
        )
        .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
        .map_err(internal)?;
    for (integration_id, url) in waiting {
        let room = claim
            .per_receiver
            .saturating_sub(busy.get(&integration_id).copied().unwrap_or(0))
            .min(claim.max.saturating_sub(claimed.len()));
        if room == 0 {
            continue;
        }
        for Batch {
            enterprise: enterprise_id,
            events,
        } in plan(conn, integration_id, room, claim.batch_size)?
        {
            let id = Uuid::new_v4();
            conn.prepare_cached(
                "INSERT INTO webhook_deliveries \
                     (id, integration_id, enterprise_id, status, next_attempt_ms, leased_until_ms, created_ms) \
                 VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?4)",
            )
            .and_then(|mut s| s.execute(params![id, integration_id, enterprise_id, claim.now_ms, lease_until]))
            .map_err(internal)?;
            let mut assign = conn
                .prepare_cached("UPDATE webhook_events SET delivery_id = ?1 WHERE seq = ?2")
                .map_err(internal)?;
            for event in &events {
                assign.execute(params![id, event.seq]).map_err(internal)?;
            }
            take_room(&mut busy, integration_id, claim.per_receiver);
            claimed.push(ClaimedDelivery {
                id,
                integration_id,
                enterprise_id,
                url: url.clone(),
                attempts: 0,
                events: events.iter().map(|e| (e.message, e.written_ms)).collect(),
            });
        }
    }

    let next_due_ms: Option<i64> = conn
        .prepare_cached(
            "SELECT min(next_attempt_ms) FROM webhook_deliveries \
             WHERE status = 'pending' AND (leased_until_ms IS NULL OR leased_until_ms <= ?1)",
        )
        .and_then(|mut s| s.query_row([claim.now_ms], |r| r.get(0)))
        .map_err(internal)?;
    Ok(Claimed {
        deliveries: claimed,
        next_due_ms,
    })
}

/// Up to `deliveries` batches of the oldest unplanned events of `integration`.
fn plan(
    conn: &Connection,
    integration: Uuid,
    deliveries: usize,
    batch_size: usize,
) -> StoreResult<Vec<Batch>> {
    let oldest: Vec<UnplannedEvent> = conn
        .prepare_cached(
            "SELECT seq, enterprise_id, message_id, created_ms FROM webhook_events \
             WHERE delivery_id IS NULL AND integration_id = ?1 ORDER BY seq LIMIT ?2",
        )
        .and_then(|mut s| {
            s.query_map(
                params![integration, (deliveries * batch_size) as i64],
                |r| {
                    Ok(UnplannedEvent {
                        seq: r.get(0)?,
                        enterprise: r.get(1)?,
                        message: r.get(2)?,
                        written_ms: r.get(3)?,
                    })
                },
            )?
            .collect()
        })
        .map_err(internal)?;
    Ok(outbox::batches(oldest, deliveries, batch_size))
}

pub fn finish(
    conn: &Connection,
    id: Uuid,
    outcome: &DeliveryOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    let (status, next_attempt, error, finished) = match outcome {
        DeliveryOutcome::Delivered => ("delivered", None, None, Some(now_ms)),
        DeliveryOutcome::Retry {
            next_attempt_ms,
            error,
        } => (
            "pending",
            Some(*next_attempt_ms),
            Some(error.as_str()),
            None,
        ),
        DeliveryOutcome::Failed { error } => ("failed", None, Some(error.as_str()), Some(now_ms)),
    };
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET status = ?2, attempts = attempts + 1, \
                next_attempt_ms = coalesce(?3, next_attempt_ms), leased_until_ms = NULL, \
                last_error = ?4, finished_ms = ?5 \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, status, next_attempt, error, finished]))
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

pub fn retry(conn: &Connection, id: Option<Uuid>, now_ms: i64) -> StoreResult<u64> {
    let changed = conn
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = ?2, \
                    leased_until_ms = NULL, finished_ms = NULL \
             WHERE status = 'failed' AND (?1 IS NULL OR id = ?1)",
            params![id, now_ms],
        )
        .map_err(internal)?;
    Ok(changed as u64)
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

pub fn set_url(conn: &Connection, integration: Uuid, url: Option<&str>) -> StoreResult<bool> {
    let changed = conn
        .execute(
            "UPDATE integrations SET webhook_url = ?2 WHERE id = ?1",
            params![integration, url],
        )
        .map_err(internal)?;
    Ok(changed > 0)
}

pub fn prune(conn: &Connection, before_ms: i64) -> StoreResult<u64> {
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
