//! The webhook outbox in SQLite: the primitive queries of the claim
//! algorithm ([`crate::store::outbox::claim`]) and the outbox's other statements.

use std::sync::LazyLock;

use futures_util::FutureExt;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::internal;
use super::query::{Args, id_array, query};
use crate::store::export::{DeliveryRecord, EventRecord};
use crate::store::outbox::{
    self, ATTEMPT_COLUMNS, DELIVERY_COLUMNS, DUE_COLUMNS, DueDelivery, EVENT_COLUMNS, INFO_COLUMNS,
    NewDelivery, OutboxTx, SIGNING_COLUMNS, Signing, UNPLANNED_COLUMNS, UnplannedEvent,
    VIEW_COLUMNS, WAITING_COLUMNS, Waiting, WebhookTarget,
};
use crate::store::row::Row;
use crate::store::{
    Attempt, Claim, Claimed, DeliveryInfo, DeliveryOutcome, DeliveryQuery, DeliveryView, Missing,
    StoreError, StoreResult, WebhookBacklog,
};
use async_trait::async_trait;

use super::SqliteStore;
use crate::store::Outbox;

/// The outbox inside the writer's transaction. Its methods never wait, so the
/// claim runs to completion in one poll on the writer thread.
struct Tx<'c>(&'c Connection);

impl OutboxTx for Tx<'_> {
    async fn due(
        &mut self,
        now_ms: i64,
        lease_now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>> {
        let sql = format!(
            "SELECT {DUE_COLUMNS} \
             FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
             WHERE d.status = 'pending' AND d.next_attempt_ms <= :now \
               AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= :lease_now) \
               AND NOT i.webhooks_paused \
             ORDER BY d.next_attempt_ms LIMIT +:limit"
        );
        let args: Args = vec![
            (":now", Box::new(now_ms)),
            (":lease_now", Box::new(lease_now_ms)),
            (":limit", Box::new(limit as i64)),
        ];
        query(self.0, &sql, &args, |row| outbox::due(row))
    }

    async fn lease(&mut self, delivery: Uuid, until_ms: i64) -> StoreResult<()> {
        self.0
            .prepare_cached("UPDATE webhook_deliveries SET leased_until_ms = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![delivery, until_ms]))
            .map_err(internal)?;
        Ok(())
    }

    async fn events_of(&mut self, delivery: Uuid) -> StoreResult<Vec<(Uuid, i64)>> {
        let args: Args = vec![(":delivery", Box::new(delivery))];
        query(
            self.0,
            "SELECT message_id, created_ms FROM webhook_events WHERE delivery_id = :delivery \
             ORDER BY seq",
            &args,
            |row| Ok((row.uuid(0)?, row.int(1)?)),
        )
    }

    async fn waiting(&mut self) -> StoreResult<Vec<Waiting>> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {WAITING_COLUMNS} FROM integrations i \
                 WHERE NOT i.webhooks_paused AND EXISTS \
                     (SELECT 1 FROM webhook_events e \
                      WHERE e.delivery_id IS NULL AND e.integration_id = i.id)"
            )
        });
        query(self.0, &SQL, &Args::new(), |row| outbox::waiting(row))
    }

    async fn unplanned(
        &mut self,
        integration: Uuid,
        limit: usize,
    ) -> StoreResult<Vec<UnplannedEvent>> {
        let sql = format!(
            "SELECT {UNPLANNED_COLUMNS} FROM webhook_events \
             WHERE delivery_id IS NULL AND integration_id = :integration ORDER BY seq LIMIT +:limit"
        );
        let args: Args = vec![
            (":integration", Box::new(integration)),
            (":limit", Box::new(limit as i64)),
        ];
        query(self.0, &sql, &args, |row| outbox::unplanned(row))
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

    async fn next_due(&mut self, lease_now_ms: i64) -> StoreResult<Option<i64>> {
        self.0
            .prepare_cached(
                "SELECT min(d.next_attempt_ms) \
                 FROM webhook_deliveries d JOIN integrations i ON i.id = d.integration_id \
                 WHERE d.status = 'pending' AND NOT i.webhooks_paused \
                   AND (d.leased_until_ms IS NULL OR d.leased_until_ms <= ?1)",
            )
            .and_then(|mut s| s.query_row([lease_now_ms], |r| r.get(0)))
            .map_err(internal)
    }
}

pub fn claim_due(conn: &Connection, claim: &Claim) -> StoreResult<Claimed> {
    outbox::claim(&mut Tx(conn), claim)
        .now_or_never()
        .unwrap_or_else(|| {
            Err(StoreError::Internal(anyhow::anyhow!(
                "a SQLite outbox query waited"
            )))
        })
}

/// An attempt of `delivery`, kept in the delivery log.
pub fn insert_attempt(conn: &Connection, delivery: Uuid, attempt: &Attempt) -> StoreResult<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}, delivery_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        )
    });
    conn.prepare_cached(&SQL)
        .and_then(|mut s| {
            s.execute(params![
                attempt.started_ms,
                attempt.duration_ms,
                attempt.status,
                attempt.error,
                attempt.response,
                attempt.body,
                delivery,
            ])
        })
        .map_err(internal)?;
    Ok(())
}

/// An event, in a delivery or in none yet.
pub fn insert_event(conn: &Connection, e: &EventRecord) -> StoreResult<()> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("INSERT INTO webhook_events ({EVENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)")
    });
    conn.prepare_cached(&SQL)
        .and_then(|mut s| {
            s.execute(params![
                e.message_id,
                e.integration_id,
                e.enterprise_id,
                e.created_ms,
                e.delivery_id
            ])
        })
        .map_err(internal)?;
    Ok(())
}

/// A delivery with every column (an import's).
pub fn insert_delivery(conn: &Connection, d: &DeliveryRecord) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut s| {
            s.execute(params![
                d.id,
                d.integration_id,
                d.enterprise_id,
                d.state.column(),
                d.attempts,
                d.next_attempt_ms,
                d.leased_until_ms,
                d.last_error,
                d.created_ms,
                d.finished_ms,
                d.held
            ])
        })
        .map_err(internal)?;
    Ok(())
}

pub fn finish(
    conn: &Connection,
    id: Uuid,
    outcome: &DeliveryOutcome,
    attempt: &Attempt,
) -> StoreResult<()> {
    insert_attempt(conn, id, attempt)?;
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
            c.status.column(),
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
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM webhook_deliveries d \
         WHERE NOT :failed_only OR d.status = 'failed' \
         ORDER BY d.created_ms, d.id"
    );
    let args: Args = vec![(":failed_only", Box::new(failed_only))];
    query(conn, &sql, &args, |row| outbox::delivery_info(row))
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
                next_attempt_ms = created_ms, finished_ms = NULL, held = 0 \
         WHERE id IN rarray(:ids) RETURNING id",
        &args,
        |row| row.uuid(0),
    )
}

pub fn page(conn: &Connection, q: &DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
    let mut args = Args::new();
    let mut sql = format!("SELECT {VIEW_COLUMNS} FROM webhook_deliveries d WHERE 1 = 1");
    if let Some(ids) = &q.integrations {
        sql.push_str(" AND integration_id IN rarray(:integrations)");
        args.push((":integrations", Box::new(id_array(ids))));
    }
    if let Some(states) = &q.states {
        let states: Vec<rusqlite::types::Value> = states
            .iter()
            .map(|s| rusqlite::types::Value::Text(s.column().to_owned()))
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
    args.push((":count", Box::new(q.count.i64())));
    let mut deliveries = query(conn, &sql, &args, |row| outbox::delivery_view(row))?;
    let attempts = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE delivery_id = :delivery ORDER BY seq"
    );
    for delivery in &mut deliveries {
        let args: Args = vec![(":delivery", Box::new(delivery.id))];
        delivery.message_ids = query(
            conn,
            "SELECT message_id FROM webhook_events WHERE delivery_id = :delivery ORDER BY seq",
            &args,
            |row| row.uuid(0),
        )?;
        delivery.attempts = query(conn, &attempts, &args, |row| outbox::attempt(row))?;
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

/// An imported integration's pause and secrets.
pub fn restore_webhook_state(
    conn: &Connection,
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
    conn.execute(
        "UPDATE integrations SET webhooks_paused = ?2, signing_secret = ?3, \
                previous_secret = ?4, previous_until_ms = ?5 \
         WHERE id = ?1",
        params![
            integration,
            state.paused,
            state.signing.secret,
            previous,
            until
        ],
    )
    .map_err(internal)?;
    Ok(())
}

pub fn hold(conn: &Connection, id: Uuid, until_ms: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET next_attempt_ms = ?2, leased_until_ms = NULL, held = 1 \
         WHERE id = ?1",
    )
    .and_then(|mut s| s.execute(params![id, until_ms]))
    .map_err(internal)?;
    Ok(())
}

pub fn set_paused(conn: &Connection, integration: Uuid, paused: bool) -> StoreResult<()> {
    let changed = conn
        .execute(
            "UPDATE integrations SET webhooks_paused = ?2 WHERE id = ?1",
            params![integration, paused],
        )
        .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    Ok(())
}

/// A new secret moves the current one to `previous_secret`, which signs
/// until `until_ms`; none turns signing off.
pub fn set_signing(
    conn: &Connection,
    integration: Uuid,
    secret: Option<&[u8]>,
    until_ms: i64,
) -> StoreResult<()> {
    let changed = match secret {
        Some(secret) => conn.execute(
            "UPDATE integrations SET previous_secret = signing_secret, \
                    previous_until_ms = CASE WHEN signing_secret IS NULL THEN NULL ELSE ?3 END, \
                    signing_secret = ?2 \
             WHERE id = ?1",
            params![integration, secret, until_ms],
        ),
        None => conn.execute(
            "UPDATE integrations SET signing_secret = NULL, previous_secret = NULL, \
                    previous_until_ms = NULL \
             WHERE id = ?1",
            params![integration],
        ),
    }
    .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::Integration(integration).into());
    }
    Ok(())
}

pub fn target(conn: &Connection, integration: Uuid) -> StoreResult<WebhookTarget> {
    let sql = format!(
        "SELECT i.webhook_url, i.webhooks_paused, {SIGNING_COLUMNS} FROM integrations i \
         WHERE i.id = :id"
    );
    let args: Args = vec![(":id", Box::new(integration))];
    query(conn, &sql, &args, |row| {
        Ok(WebhookTarget {
            url: row.string_or_null(0)?,
            paused: row.boolean(1)?,
            signing: Signing::from_row(row, 2)?,
        })
    })?
    .pop()
    .ok_or_else(|| Missing::Integration(integration).into())
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

#[async_trait]
impl Outbox for SqliteStore {
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<()> {
        self.writer
            .write(move |conn| set_url(conn, integration, url.as_deref()))
            .await
    }

    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed> {
        self.writer.write(move |conn| claim_due(conn, &claim)).await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        attempt: Attempt,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| finish(conn, id, &outcome, &attempt))
            .await
    }

    async fn resend_deliveries(&self, ids: Vec<Uuid>) -> StoreResult<Vec<Uuid>> {
        self.writer.write(move |conn| resend(conn, &ids)).await
    }

    async fn delivery_page(&self, query: DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
        self.readers.read(move |conn| page(conn, &query)).await
    }

    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
        self.readers.read(move |conn| list(conn, failed_only)).await
    }

    async fn retry_deliveries(&self, id: Option<Uuid>) -> StoreResult<u64> {
        self.writer.write(move |conn| retry(conn, id)).await
    }

    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        self.writer.write(move |conn| prune(conn, before_ms)).await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        self.readers.read(backlog).await
    }

    async fn hold_delivery(&self, id: Uuid, until_ms: i64) -> StoreResult<()> {
        self.writer
            .write(move |conn| hold(conn, id, until_ms))
            .await
    }

    async fn set_webhooks_paused(&self, integration: Uuid, paused: bool) -> StoreResult<()> {
        self.writer
            .write(move |conn| set_paused(conn, integration, paused))
            .await
    }

    async fn set_signing(
        &self,
        integration: Uuid,
        secret: Option<Vec<u8>>,
        previous_until_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| set_signing(conn, integration, secret.as_deref(), previous_until_ms))
            .await
    }

    async fn webhook_target(&self, integration: Uuid) -> StoreResult<WebhookTarget> {
        self.readers
            .read(move |conn| target(conn, integration))
            .await
    }
}
