//! The webhook outbox in PostgreSQL. Nodes share the work: a claim takes rows
//! with `FOR UPDATE SKIP LOCKED` and leases them, so no two nodes send the same
//! delivery, and new events are announced with `NOTIFY switchboard_webhooks`.

use deadpool_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use super::internal;
use super::query::Query;
use crate::store::outbox::{
    self, DUE_COLUMNS, DueDelivery, INFO_COLUMNS, NewDelivery, OutboxTx, SIGNING_COLUMNS, Signing,
    UNPLANNED_COLUMNS, UnplannedEvent, VIEW_COLUMNS, WAITING_COLUMNS, Waiting, WebhookTarget,
};
use crate::store::row::Row;
use crate::store::{
    Attempt, Claim, Claimed, DeliveryInfo, DeliveryOutcome, DeliveryQuery, DeliveryView, Missing,
    StoreResult, WebhookBacklog,
};
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Outbox;

pub const CHANNEL: &str = "switchboard_webhooks";

/// The outbox inside the transaction of one claim. Rows are locked with
/// `FOR UPDATE SKIP LOCKED`, so claims of other nodes pass them by.
struct Tx<'t, 'c>(&'t Transaction<'c>);

impl OutboxTx for Tx<'_, '_> {
    async fn due(
        &mut self,
        now_ms: i64,
        lease_now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        let rows = self
            .0
            .query(
                &format!(
                    "SELECT {DUE_COLUMNS} \
                     FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
                     WHERE d.status = 'pending' AND d.next_attempt_ms <= $1 \
                       AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= $3) \
                       AND NOT i.webhooks_paused \
                     ORDER BY d.next_attempt_ms LIMIT $2 FOR UPDATE OF d SKIP LOCKED"
                ),
                &[&now_ms, &(limit as i64), &lease_now_ms],
            )
            .await
            .map_err(internal)?;
        rows.iter().map(outbox::due).collect()
    }

    async fn lease(&mut self, delivery: Uuid, until_ms: i64) -> StoreResult<()> {
        self.0
            .execute(
                "UPDATE webhook_deliveries SET leased_until_ms = $2 WHERE id = $1",
                &[&delivery, &until_ms],
            )
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn events_of(&mut self, delivery: Uuid) -> StoreResult<Vec<(Uuid, i64)>> {
        let rows = self
            .0
            .query(
                "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = $1 ORDER BY seq",
                &[&delivery],
            )
            .await
            .map_err(internal)?;
        rows.iter()
            .map(|row| Ok((row.uuid(0)?, row.int(1)?)))
            .collect()
    }

    async fn waiting(&mut self) -> StoreResult<Vec<Waiting>> {
        let rows = self
            .0
            .query(
                &format!(
                    "SELECT {WAITING_COLUMNS} FROM integrations i \
                     WHERE NOT i.webhooks_paused AND EXISTS \
                         (SELECT 1 FROM webhook_events e \
                          WHERE e.delivery_id IS NULL AND e.integration_id = i.id)"
                ),
                &[],
            )
            .await
            .map_err(internal)?;
        rows.iter().map(outbox::waiting).collect()
    }

    async fn unplanned(
        &mut self,
        integration: Uuid,
        limit: usize,
    ) -> StoreResult<Vec<UnplannedEvent>> {
        let rows = self
            .0
            .query(
                &format!(
                    "SELECT {UNPLANNED_COLUMNS} FROM webhook_events \
                     WHERE delivery_id IS NULL AND integration_id = $1 ORDER BY seq LIMIT $2 \
                     FOR UPDATE SKIP LOCKED"
                ),
                &[&integration, &(limit as i64)],
            )
            .await
            .map_err(internal)?;
        rows.iter().map(outbox::unplanned).collect()
    }

    async fn create(&mut self, d: &NewDelivery) -> StoreResult<()> {
        self.0
            .execute(
                "INSERT INTO webhook_deliveries \
                     (id, integration_id, enterprise_id, status, next_attempt_ms, leased_until_ms, created_ms) \
                 VALUES ($1, $2, $3, 'pending', $4, $5, $4)",
                &[
                    &d.id,
                    &d.integration_id,
                    &d.enterprise_id,
                    &d.now_ms,
                    &d.leased_until_ms,
                ],
            )
            .await
            .map_err(internal)?;
        self.0
            .execute(
                "UPDATE webhook_events SET delivery_id = $1 WHERE seq = ANY($2)",
                &[&d.id, &d.events],
            )
            .await
            .map_err(internal)?;
        Ok(())
    }

    async fn next_due(&mut self, lease_now_ms: i64) -> StoreResult<Option<i64>> {
        let row = self
            .0
            .query_one(
                "SELECT min(d.next_attempt_ms) \
                 FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
                 WHERE d.status = 'pending' AND NOT i.webhooks_paused \
                   AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= $1)",
                &[&lease_now_ms],
            )
            .await
            .map_err(internal)?;
        Ok(row.get(0))
    }
}

pub async fn claim_due(
    client: &mut deadpool_postgres::Object,
    claim: &Claim,
) -> StoreResult<Claimed> {
    let tx = client.transaction().await.map_err(internal)?;
    let claimed = outbox::claim(&mut Tx(&tx), claim).await?;
    tx.commit().await.map_err(internal)?;
    Ok(claimed)
}

pub async fn finish(
    client: &impl GenericClient,
    id: Uuid,
    outcome: &DeliveryOutcome,
    attempt: &Attempt,
) -> StoreResult<()> {
    let c = outcome.columns(attempt.ended_ms());
    // One statement: the attempt and the outcome are recorded together.
    client
        .execute(
            "WITH attempt AS ( \
                 INSERT INTO webhook_attempts \
                     (delivery_id, started_ms, duration_ms, status, error, response, body) \
                 VALUES ($1, $6, $7, $8, $9, $10, $11)) \
             UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
                    next_attempt_ms = coalesce($3, next_attempt_ms), leased_until_ms = NULL, \
                    last_error = $4, finished_ms = $5 \
             WHERE id = $1",
            &[
                &id,
                &c.status.column(),
                &c.next_attempt_ms,
                &c.last_error,
                &c.finished_ms,
                &attempt.started_ms,
                &attempt.duration_ms,
                &attempt.status.map(i32::from),
                &attempt.error,
                &attempt.response,
                &attempt.body,
            ],
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
            &format!(
                "SELECT {INFO_COLUMNS} FROM webhook_deliveries d \
                 WHERE NOT $1 OR d.status = 'failed' \
                 ORDER BY d.created_ms, d.id"
            ),
            &[&failed_only],
        )
        .await
        .map_err(internal)?;
    rows.iter().map(outbox::delivery_info).collect()
}

/// Due since it was created: due at once on any clock that has not gone back.
pub async fn retry(client: &impl GenericClient, id: Option<Uuid>) -> StoreResult<u64> {
    let changed = client
        .execute(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_ms = created_ms, \
                    leased_until_ms = NULL, finished_ms = NULL \
             WHERE status = 'failed' AND ($1::uuid IS NULL OR id = $1)",
            &[&id],
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

pub async fn resend(client: &impl GenericClient, ids: &[Uuid]) -> StoreResult<Vec<Uuid>> {
    let rows = client
        .query(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, \
                    next_attempt_ms = created_ms, finished_ms = NULL, held = FALSE \
             WHERE id = ANY($1) RETURNING id",
            &[&ids],
        )
        .await
        .map_err(internal)?;
    if !rows.is_empty() {
        client
            .execute(&format!("NOTIFY {CHANNEL}"), &[])
            .await
            .map_err(internal)?;
    }
    rows.iter().map(|row| row.uuid(0)).collect()
}

pub async fn page(
    client: &impl GenericClient,
    q: &DeliveryQuery,
) -> StoreResult<Vec<DeliveryView>> {
    // A delivery's events and attempts come along in its row, aggregated.
    let mut query = Query::new(&format!(
        "SELECT {VIEW_COLUMNS}, \
                array(SELECT e.message_id FROM webhook_events e \
                      WHERE e.delivery_id = d.id ORDER BY e.seq), \
                coalesce((SELECT json_agg(json_build_array(a.started_ms, a.duration_ms, a.status, \
                                                           a.error, a.response, a.body) \
                                          ORDER BY a.seq) \
                          FROM webhook_attempts a WHERE a.delivery_id = d.id), '[]')::text \
         FROM webhook_deliveries d WHERE TRUE"
    ));
    if let Some(ids) = &q.integrations {
        let p = query.arg(ids.clone());
        query.push(&format!(" AND d.integration_id = ANY({p})"));
    }
    if let Some(states) = &q.states {
        let states: Vec<&str> = states.iter().map(|s| s.column()).collect();
        let p = query.arg(states);
        query.push(&format!(" AND d.status = ANY({p})"));
    }
    if let Some(after) = q.after {
        let created: i64 = client
            .query_opt(
                "SELECT created_ms FROM webhook_deliveries WHERE id = $1",
                &[&after],
            )
            .await
            .map_err(internal)?
            .ok_or(Missing::DeliveryCursor)?
            .get(0);
        let c = query.arg(created);
        let a = query.arg(after);
        query.push(&format!(" AND (d.created_ms, d.id) < ({c}, {a})"));
    }
    let n = query.arg(q.count.i64());
    query.push(&format!(" ORDER BY d.created_ms DESC, d.id DESC LIMIT {n}"));
    let rows = client
        .query(&query.text, &query.params())
        .await
        .map_err(internal)?;
    rows.iter()
        .map(|row| {
            Ok(DeliveryView {
                message_ids: row.uuid_list(6)?,
                attempts: parse_attempts(row.text(7)?)?,
                ..outbox::delivery_view(row)?
            })
        })
        .collect()
}

/// The attempts of a delivery, from `[[started_ms, duration_ms, status,
/// error, response, body], ...]`.
fn parse_attempts(json: &str) -> StoreResult<Vec<Attempt>> {
    type Row = (
        i64,
        i64,
        Option<u16>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = serde_json::from_str(json).map_err(|e| internal(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(
            |(started_ms, duration_ms, status, error, response, body)| Attempt {
                started_ms,
                duration_ms,
                status,
                error,
                response,
                body,
            },
        )
        .collect())
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
) -> StoreResult<()> {
    let changed = client
        .execute(
            "UPDATE integrations SET webhook_url = $2 WHERE id = $1",
            &[&integration, &url],
        )
        .await
        .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    Ok(())
}

/// An imported integration's pause and secrets.
pub async fn restore_webhook_state(
    client: &impl GenericClient,
    integration: Uuid,
    state: &WebhookTarget,
) -> StoreResult<()> {
    if !state.paused && state.signing == Signing::default() {
        return Ok(());
    }
    let (previous, until) = match &state.signing.previous {
        Some((secret, until)) => (Some(secret.as_slice()), Some(*until)),
        None => (None, None),
    };
    client
        .execute(
            "UPDATE integrations SET webhooks_paused = $2, signing_secret = $3, \
                    previous_secret = $4, previous_until_ms = $5 \
             WHERE id = $1",
            &[
                &integration,
                &state.paused,
                &state.signing.secret,
                &previous,
                &until,
            ],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn hold(client: &impl GenericClient, id: Uuid, until_ms: i64) -> StoreResult<()> {
    client
        .execute(
            "UPDATE webhook_deliveries SET next_attempt_ms = $2, leased_until_ms = NULL, \
                    held = TRUE \
             WHERE id = $1",
            &[&id, &until_ms],
        )
        .await
        .map_err(internal)?;
    Ok(())
}

/// Pauses or resumes; a resume wakes every node's worker.
pub async fn set_paused(
    client: &impl GenericClient,
    integration: Uuid,
    paused: bool,
) -> StoreResult<()> {
    let changed = client
        .execute(
            "UPDATE integrations SET webhooks_paused = $2 WHERE id = $1",
            &[&integration, &paused],
        )
        .await
        .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    if !paused {
        client
            .execute(&format!("NOTIFY {CHANNEL}"), &[])
            .await
            .map_err(internal)?;
    }
    Ok(())
}

/// A new secret moves the current one to `previous_secret`, which signs
/// until `until_ms`; none turns signing off.
pub async fn set_signing(
    client: &impl GenericClient,
    integration: Uuid,
    secret: Option<&[u8]>,
    until_ms: i64,
) -> StoreResult<()> {
    let changed = match secret {
        Some(secret) => {
            client
                .execute(
                    "UPDATE integrations SET previous_secret = signing_secret, \
                            previous_until_ms = CASE WHEN signing_secret IS NULL THEN NULL \
                                                     ELSE $3::bigint END, \
                            signing_secret = $2 \
                     WHERE id = $1",
                    &[&integration, &secret, &until_ms],
                )
                .await
        }
        None => {
            client
                .execute(
                    "UPDATE integrations SET signing_secret = NULL, previous_secret = NULL, \
                            previous_until_ms = NULL \
                     WHERE id = $1",
                    &[&integration],
                )
                .await
        }
    }
    .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    Ok(())
}

pub async fn target(client: &impl GenericClient, integration: Uuid) -> StoreResult<WebhookTarget> {
    let row = client
        .query_opt(
            &format!(
                "SELECT i.webhook_url, i.webhooks_paused, {SIGNING_COLUMNS} FROM integrations i \
                 WHERE i.id = $1"
            ),
            &[&integration],
        )
        .await
        .map_err(internal)?
        .ok_or(Missing::Integration(integration))?;
    Ok(WebhookTarget {
        url: row.string_or_null(0)?,
        paused: row.boolean(1)?,
        signing: Signing::from_row(&row, 2)?,
    })
}

pub async fn prune(client: &impl GenericClient, before_ms: i64) -> StoreResult<u64> {
    let row = client
        .query_one(
            "WITH gone AS ( \
                 DELETE FROM webhook_deliveries WHERE status = 'delivered' AND finished_ms < $1 \
                 RETURNING id), \
             events AS (DELETE FROM webhook_events WHERE delivery_id IN (SELECT id FROM gone)), \
             attempts AS (DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM gone)) \
             SELECT count(*) FROM gone",
            &[&before_ms],
        )
        .await
        .map_err(internal)?;
    Ok(row.get::<_, i64>(0) as u64)
}

#[async_trait]
impl Outbox for PostgresStore {
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<()> {
        set_url(&self.client().await?, integration, url.as_deref()).await
    }

    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed> {
        claim_due(&mut self.client().await?, &claim).await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        attempt: Attempt,
    ) -> StoreResult<()> {
        finish(&self.client().await?, id, &outcome, &attempt).await
    }

    async fn resend_deliveries(&self, ids: Vec<Uuid>) -> StoreResult<Vec<Uuid>> {
        resend(&self.client().await?, &ids).await
    }

    async fn delivery_page(&self, query: DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
        page(&self.client().await?, &query).await
    }

    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
        list(&self.client().await?, failed_only).await
    }

    async fn retry_deliveries(&self, id: Option<Uuid>) -> StoreResult<u64> {
        retry(&self.client().await?, id).await
    }

    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        prune(&self.client().await?, before_ms).await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        backlog(&self.client().await?).await
    }

    async fn hold_delivery(&self, id: Uuid, until_ms: i64) -> StoreResult<()> {
        hold(&self.client().await?, id, until_ms).await
    }

    async fn set_webhooks_paused(&self, integration: Uuid, paused: bool) -> StoreResult<()> {
        set_paused(&self.client().await?, integration, paused).await
    }

    async fn set_signing(
        &self,
        integration: Uuid,
        secret: Option<Vec<u8>>,
        previous_until_ms: i64,
    ) -> StoreResult<()> {
        set_signing(
            &self.client().await?,
            integration,
            secret.as_deref(),
            previous_until_ms,
        )
        .await
    }

    async fn webhook_target(&self, integration: Uuid) -> StoreResult<WebhookTarget> {
        target(&self.client().await?, integration).await
    }
}
