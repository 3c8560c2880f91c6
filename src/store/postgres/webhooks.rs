//! The webhook outbox in PostgreSQL. Nodes share the work: a claim takes rows
//! with `FOR UPDATE SKIP LOCKED` and leases them, so no two nodes send the same
//! delivery, and new events are announced with `NOTIFY switchboard_webhooks`.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::internal;
use crate::store::outbox::{self, Batch, UnplannedEvent, take_room};
use crate::store::{
    Claim, Claimed, ClaimedDelivery, DeliveryInfo, DeliveryOutcome, StoreResult, WebhookBacklog,
};

pub const CHANNEL: &str = "switchboard_webhooks";

pub async fn claim(client: &mut deadpool_postgres::Object, claim: &Claim) -> StoreResult<Claimed> {
    let tx = client.transaction().await.map_err(internal)?;
    let mut busy: HashMap<Uuid, usize> = claim.in_flight.clone();
    let lease_until = claim.now_ms + claim.lease_ms;
    let mut claimed = Vec::new();

    let due = tx
        .query(
            "SELECT d.id, d.integration_id, d.enterprise_id, d.attempts, i.webhook_url \
             FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
             WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
               AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= $1) \
             ORDER BY d.next_attempt_ms LIMIT $2 FOR UPDATE OF d SKIP LOCKED",
            &[&claim.now_ms, &((claim.max * 4) as i64)],
        )
        .await
        .map_err(internal)?;
    for row in due {
        let (id, integration_id): (Uuid, Uuid) = (row.get(0), row.get(1));
        if claimed.len() >= claim.max || !take_room(&mut busy, integration_id, claim.per_receiver) {
            continue;
        }
        tx.execute(
            "UPDATE webhook_deliveries SET leased_until_ms = $2 WHERE id = $1",
            &[&id, &lease_until],
        )
        .await
        .map_err(internal)?;
        let events = tx
            .query(
                "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = $1 ORDER BY seq",
                &[&id],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        claimed.push(ClaimedDelivery {
            id,
            integration_id,
            enterprise_id: row.get(2),
            url: row.get(4),
            attempts: row.get::<_, i32>(3) as u32,
            events,
        });
    }

    let waiting = tx
        .query(
            "SELECT DISTINCT e.integration_id, i.webhook_url \
             FROM webhook_events e JOIN integrations i ON i.id = e.integration_id \
             WHERE e.delivery_id IS NULL",
            &[],
        )
        .await
        .map_err(internal)?;
    for row in waiting {
        let integration_id: Uuid = row.get(0);
        let url: Option<String> = row.get(1);
        let room = claim
            .per_receiver
            .saturating_sub(busy.get(&integration_id).copied().unwrap_or(0))
            .min(claim.max.saturating_sub(claimed.len()));
        if room == 0 {
            continue;
        }
        let oldest: Vec<UnplannedEvent> = tx
            .query(
                "SELECT seq, enterprise_id, message_id, created_ms FROM webhook_events \
                 WHERE delivery_id IS NULL AND integration_id = $1 ORDER BY seq LIMIT $2 \
                 FOR UPDATE SKIP LOCKED",
                &[&integration_id, &((room * claim.batch_size) as i64)],
            )
            .await
            .map_err(internal)?
            .iter()
            .map(|r| UnplannedEvent {
                seq: r.get(0),
                enterprise: r.get(1),
                message: r.get(2),
                written_ms: r.get(3),
            })
            .collect();
        for Batch { enterprise, events } in outbox::batches(oldest, room, claim.batch_size) {
            let id = Uuid::new_v4();
            tx.execute(
                "INSERT INTO webhook_deliveries \
                     (id, integration_id, enterprise_id, status, next_attempt_ms, leased_until_ms, created_ms) \
                 VALUES ($1, $2, $3, 'pending', $4, $5, $4)",
                &[&id, &integration_id, &enterprise, &claim.now_ms, &lease_until],
            )
            .await
            .map_err(internal)?;
            let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
            tx.execute(
                "UPDATE webhook_events SET delivery_id = $1 WHERE seq = ANY($2)",
                &[&id, &seqs],
            )
            .await
            .map_err(internal)?;
            take_room(&mut busy, integration_id, claim.per_receiver);
            claimed.push(ClaimedDelivery {
                id,
                integration_id,
                enterprise_id: enterprise,
                url: url.clone(),
                attempts: 0,
                events: events.iter().map(|e| (e.message, e.written_ms)).collect(),
            });
        }
    }

    let next_due_ms: Option<i64> = tx
        .query_one(
            "SELECT min(next_attempt_ms) FROM webhook_deliveries \
             WHERE status = 'pending' AND (leased_until_ms IS NULL OR leased_until_ms <= $1)",
            &[&claim.now_ms],
        )
        .await
        .map_err(internal)?
        .get(0);
    tx.commit().await.map_err(internal)?;
    Ok(Claimed {
        deliveries: claimed,
        next_due_ms,
    })
}

pub async fn finish(
    client: &impl GenericClient,
    id: Uuid,
    outcome: &DeliveryOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    let (status, next_attempt, error, finished): (&str, Option<i64>, Option<&str>, Option<i64>) =
        match outcome {
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
            DeliveryOutcome::Failed { error } => {
                ("failed", None, Some(error.as_str()), Some(now_ms))
            }
        };
    client
        .execute(
            "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
                    next_attempt_ms = coalesce($3, next_attempt_ms), leased_until_ms = NULL, \
                    last_error = $4, finished_ms = $5 \
             WHERE id = $1",
            &[&id, &status, &next_attempt, &error, &finished],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn list(
    client: &impl GenericClient,
    failed_only: bool,
) -> StoreResult<Vec<DeliveryInfo>> {
    let rows = client
        .query(
            "SELECT d.id, d.integration_id, d.enterprise_id, d.status, d.attempts, \
                    (SELECT count(*) FROM webhook_events e WHERE e.delivery_id = d.id), \
                    d.next_attempt_ms, d.last_error \
             FROM webhook_deliveries d \
             WHERE NOT $1 OR d.status = 'failed' \
             ORDER BY d.created_ms, d.id",
            &[&failed_only],
        )
        .await
        .map_err(internal)?;
    Ok(rows
        .iter()
        .map(|r| DeliveryInfo {
            id: r.get(0),
            integration_id: r.get(1),
            enterprise_id: r.get(2),
            status: r.get(3),
            attempts: r.get::<_, i32>(4) as u32,
            events: r.get::<_, i64>(5) as u64,
            next_attempt_ms: r.get(6),
            last_error: r.get(7),
        })
        .collect())
}

pub async fn retry(client: &impl GenericClient, id: Option<Uuid>, now_ms: i64) -> StoreResult<u64> {
    let changed = client
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = $2, \
                    leased_until_ms = NULL, finished_ms = NULL \
             WHERE status = 'failed' AND ($1::uuid IS NULL OR id = $1)",
            &[&id, &now_ms],
        )
        .await
        .map_err(internal)?;
    if changed > 0 {
        client
            .execute(&format!("NOTIFY {CHANNEL}"), &[])
            .await
            .map_err(internal)?;
    }
    Ok(changed)
}

pub async fn backlog(client: &impl GenericClient) -> StoreResult<WebhookBacklog> {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM webhook_events WHERE delivery_id IS NULL) + \
                    (SELECT count(*) FROM webhook_events e JOIN webhook_deliveries d ON d.id = e.delivery_id \
                     WHERE d.status = 'pending'), \
                    (SELECT min(next_attempt_ms) FROM webhook_deliveries WHERE status = 'pending')",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(WebhookBacklog {
        pending_events: row.get::<_, i64>(0) as u64,
        next_due_ms: row.get(1),
    })
}

pub async fn set_url(
    client: &impl GenericClient,
    integration: Uuid,
    url: Option<&str>,
) -> StoreResult<bool> {
    let changed = client
        .execute(
            "UPDATE integrations SET webhook_url = $2 WHERE id = $1",
            &[&integration, &url],
        )
        .await
        .map_err(internal)?;
    Ok(changed > 0)
}

pub async fn prune(client: &impl GenericClient, before_ms: i64) -> StoreResult<u64> {
    let row = client
        .query_one(
            "WITH gone AS ( \
                 DELETE FROM webhook_deliveries WHERE status = 'delivered' AND finished_ms < $1 \
                 RETURNING id), \
             events AS (DELETE FROM webhook_events WHERE delivery_id IN (SELECT id FROM gone)) \
             SELECT count(*) FROM gone",
            &[&before_ms],
        )
        .await
        .map_err(internal)?;
    Ok(row.get::<_, i64>(0) as u64)
}
