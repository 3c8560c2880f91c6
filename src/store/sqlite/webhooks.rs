//! The webhook outbox of the SQLite backend.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use crate::store::{
    Claim, Claimed, ClaimedDelivery, DeliveryInfo, DeliveryOutcome, StoreResult, WebhookBacklog,
};

/// Puts events that belong to no delivery yet into new deliveries of at most
/// `batch_size` events of one enterprise and integration.
fn plan(conn: &Connection, batch_size: usize, now_ms: i64) -> StoreResult<()> {
    let unplanned: Vec<(i64, Uuid, Uuid)> = conn
        .prepare_cached(
            "SELECT seq, integration_id, enterprise_id FROM webhook_events \
             WHERE delivery_id IS NULL ORDER BY integration_id, enterprise_id, seq",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .map_err(internal)?;
    let mut groups: Vec<((Uuid, Uuid), Vec<i64>)> = Vec::new();
    for (seq, integration, enterprise) in unplanned {
        match groups.last_mut() {
            Some((key, seqs)) if *key == (integration, enterprise) && seqs.len() < batch_size => {
                seqs.push(seq)
            }
            _ => groups.push(((integration, enterprise), vec![seq])),
        }
    }
    let mut add = conn
        .prepare_cached(
            "INSERT INTO webhook_deliveries (id, integration_id, enterprise_id, status, next_attempt_ms, created_ms) \
             VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
        )
        .map_err(internal)?;
    let mut assign = conn
        .prepare_cached("UPDATE webhook_events SET delivery_id = ?1 WHERE seq = ?2")
        .map_err(internal)?;
    for ((integration, enterprise), seqs) in groups {
        let id = Uuid::new_v4();
        add.execute(params![id, integration, enterprise, now_ms])
            .map_err(internal)?;
        for seq in seqs {
            assign.execute(params![id, seq]).map_err(internal)?;
        }
    }
    Ok(())
}

pub fn claim(conn: &Connection, claim: &Claim) -> StoreResult<Claimed> {
    plan(conn, claim.batch_size, claim.now_ms)?;
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

    let mut busy: HashMap<Uuid, usize> = claim.in_flight.clone();
    let mut lease = conn
        .prepare_cached("UPDATE webhook_deliveries SET leased_until_ms = ?2 WHERE id = ?1")
        .map_err(internal)?;
    let mut events = conn
        .prepare_cached(
            "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = ?1 ORDER BY seq",
        )
        .map_err(internal)?;
    let mut claimed = Vec::new();
    for (id, integration_id, enterprise_id, attempts, url) in due {
        let sending = busy.entry(integration_id).or_default();
        if *sending >= claim.per_receiver {
            continue;
        }
        *sending += 1;
        lease
            .execute(params![id, claim.now_ms + claim.lease_ms])
            .map_err(internal)?;
        let events = events
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
        if claimed.len() >= claim.max {
            break;
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
