//! The webhook outbox: the [`Outbox`] seam, and the claim algorithm every
//! backend runs over its own primitive queries ([`OutboxTx`]).
//!
//! A claim first reserves deliveries waiting for a retry, then forms new
//! deliveries from events that belong to none yet. New deliveries are formed
//! only for receivers with room, so events that arrive while a receiver is busy
//! wait and then go out together, up to `batch_size` per request.

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::row::{Row, unknown};
use crate::domain::paging::Count;
use crate::domain::webhook::DeliveryState;

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Sets or clears an integration's webhook URL ([`super::Missing::Integration`]
    /// if there is no such integration).
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<()>;
    /// Groups new events into deliveries, then reserves the due ones.
    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed>;
    /// Records an attempt and how it ended.
    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        attempt: Attempt,
    ) -> StoreResult<()>;
    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>>;
    /// Makes failed deliveries (one, or all) due at once, whatever the clock of
    /// the process that asks (the CLI) or sends (a server) says; returns how many.
    async fn retry_deliveries(&self, id: Option<Uuid>) -> StoreResult<u64>;
    /// Makes these deliveries, whatever their state, due at once with a full
    /// set of attempts; the ids of those there were.
    async fn resend_deliveries(&self, ids: Vec<Uuid>) -> StoreResult<Vec<Uuid>>;
    /// A page of deliveries with their events and attempts, newest first
    /// ([`super::Missing::DeliveryCursor`] for a cursor of no delivery).
    async fn delivery_page(&self, query: DeliveryQuery) -> StoreResult<Vec<DeliveryView>>;
    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog>;
    /// Holds a delivery (a `Delay` webhook fault) until `until_ms`, without
    /// counting an attempt; it is not held a second time.
    async fn hold_delivery(&self, id: Uuid, until_ms: i64) -> StoreResult<()>;
    /// Holds the deliveries of an integration (events are still stored), or
    /// lets them go again ([`super::Missing::Integration`] if there is none).
    async fn set_webhooks_paused(&self, integration: Uuid, paused: bool) -> StoreResult<()>;
    /// Turns signing off, or makes `secret` the signing secret: the one it
    /// replaces signs beside it until `previous_until_ms`.
    async fn set_signing(
        &self,
        integration: Uuid,
        secret: Option<Vec<u8>>,
        previous_until_ms: i64,
    ) -> StoreResult<()>;
    /// Where an integration's webhooks go and how they are signed.
    async fn webhook_target(&self, integration: Uuid) -> StoreResult<WebhookTarget>;
    /// Removes deliveries delivered before `before_ms`, with their events;
    /// returns how many. Failed and pending ones stay.
    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64>;
}

/// What the webhook worker asks for: due deliveries, within its limits.
#[derive(Debug, Clone)]
pub struct Claim {
    /// On the clock of the data: what is due.
    pub now_ms: i64,
    /// Real time: whose lease ran out. A lease guards against a worker that
    /// died, which real time tells; a manual clock moved by hours must not
    /// free a delivery that is on its way.
    pub lease_now_ms: i64,
    /// How long a claimed delivery stays reserved for this worker (real time).
    pub lease_ms: i64,
    /// Most events in one delivery.
    pub batch_size: usize,
    /// Most deliveries to claim now.
    pub max: usize,
    /// Deliveries in flight per integration, and the most allowed at once.
    pub in_flight: HashMap<Uuid, usize>,
    pub per_receiver: usize,
}

/// A delivery reserved for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    /// `None` if the integration's URL was cleared since.
    pub url: Option<String>,
    /// Attempts made before this one.
    pub attempts: u32,
    /// `(message id, milliseconds when it was written)`, oldest first.
    pub events: Vec<(Uuid, i64)>,
    /// The secrets that sign its requests (see [`Signing::at`]).
    pub signing: Signing,
    /// Whether a `Delay` fault held it already.
    pub held: bool,
}

/// An integration's webhook settings, as its deliveries are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookTarget {
    pub url: Option<String>,
    pub paused: bool,
    pub signing: Signing,
}

/// An integration's signing secrets, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signing {
    pub secret: Option<Vec<u8>>,
    /// The secret before the last rotation, and until when it signs too.
    pub previous: Option<(Vec<u8>, i64)>,
}

impl Signing {
    /// The secrets that sign at `now_ms`, the newest first.
    pub fn at(&self, now_ms: i64) -> Vec<Vec<u8>> {
        let mut secrets = Vec::new();
        if let Some(secret) = &self.secret {
            secrets.push(secret.clone());
            if let Some((previous, until_ms)) = &self.previous
                && now_ms < *until_ms
            {
                secrets.push(previous.clone());
            }
        }
        secrets
    }

    /// The signing columns of a row, from `column` on: `signing_secret`,
    /// `previous_secret`, `previous_until_ms` ([`SIGNING_COLUMNS`]).
    pub fn from_row(row: &impl Row, column: usize) -> StoreResult<Self> {
        Ok(Self {
            secret: row.bytes_or_null(column)?.map(<[u8]>::to_vec),
            previous: match (row.bytes_or_null(column + 1)?, row.int_or_null(column + 2)?) {
                (Some(secret), Some(until)) => Some((secret.to_vec(), until)),
                _ => None,
            },
        })
    }
}

/// The signing columns of an integration (`i`), as [`Signing::from_row`]
/// reads them.
pub const SIGNING_COLUMNS: &str = "i.signing_secret, i.previous_secret, i.previous_until_ms";

/// What a claim reserved, and when the next delivery not reserved is due.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    pub deliveries: Vec<ClaimedDelivery>,
    pub next_due_ms: Option<i64>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { next_attempt_ms: i64, error: String },
    Failed { error: String },
}

/// The columns a delivery's outcome sets, for every backend's `UPDATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished<'a> {
    pub status: DeliveryState,
    /// `None` keeps the current value.
    pub next_attempt_ms: Option<i64>,
    pub last_error: Option<&'a str>,
    pub finished_ms: Option<i64>,
}

impl DeliveryOutcome {
    pub fn columns(&self, now_ms: i64) -> Finished<'_> {
        match self {
            Self::Delivered => Finished {
                status: DeliveryState::Delivered,
                next_attempt_ms: None,
                last_error: None,
                finished_ms: Some(now_ms),
            },
            Self::Retry {
                next_attempt_ms,
                error,
            } => Finished {
                status: DeliveryState::Pending,
                next_attempt_ms: Some(*next_attempt_ms),
                last_error: Some(error),
                finished_ms: None,
            },
            Self::Failed { error } => Finished {
                status: DeliveryState::Failed,
                next_attempt_ms: None,
                last_error: Some(error),
                finished_ms: Some(now_ms),
            },
        }
    }
}

/// One request to a receiver: when it started, how long it took, and what
/// came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub started_ms: i64,
    pub duration_ms: i64,
    /// The receiver's status; `None` when it gave none.
    pub status: Option<u16>,
    /// The kind of error when there was no status (`Timeout`, `Connect`, ...).
    pub error: Option<String>,
    /// The first [`RESPONSE_KEPT`] bytes of the receiver's answer.
    pub response: Option<String>,
    /// The body the attempt sent, exactly (`None` for attempts before it was
    /// kept).
    pub body: Option<String>,
}

/// How much of a receiver's answer is kept with its attempt.
pub const RESPONSE_KEPT: usize = 1024;

impl Attempt {
    /// When the attempt ended, which is when its outcome is recorded.
    pub fn ended_ms(&self) -> i64 {
        self.started_ms + self.duration_ms
    }
}

/// Which deliveries a page holds: newest first, after `after`.
#[derive(Debug, Clone)]
pub struct DeliveryQuery {
    pub integrations: Option<Vec<Uuid>>,
    pub states: Option<Vec<DeliveryState>>,
    pub count: Count,
    pub after: Option<Uuid>,
}

/// A delivery with everything the delivery log shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryView {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub state: DeliveryState,
    pub message_ids: Vec<Uuid>,
    pub created_ms: i64,
    pub next_attempt_ms: i64,
    pub attempts: Vec<Attempt>,
}

/// A delivery as `webhooks list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub events: u64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

/// What is waiting to be delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// Events not yet delivered nor given up.
    pub pending_events: u64,
    /// When the next pending delivery is due.
    pub next_due_ms: Option<i64>,
}

/// A delivery's state as the database keeps it.
pub fn state(row: &impl Row, column: usize) -> StoreResult<DeliveryState> {
    let stored = row.text(column)?;
    DeliveryState::from_column(stored).ok_or_else(|| unknown("delivery state", stored))
}

/// The columns of a delivery as `webhooks list` shows it (`d` the delivery),
/// in the order [`delivery_info`] reads them.
pub const INFO_COLUMNS: &str = "d.id, d.integration_id, d.enterprise_id, d.status, d.attempts, \
     (SELECT count(*) FROM webhook_events e WHERE e.delivery_id = d.id), \
     d.next_attempt_ms, d.last_error";

pub fn delivery_info(row: &impl Row) -> StoreResult<DeliveryInfo> {
    Ok(DeliveryInfo {
        id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        enterprise_id: row.uuid(2)?,
        state: state(row, 3)?,
        attempts: row.number(4)?,
        events: row.number(5)?,
        next_attempt_ms: row.int(6)?,
        last_error: row.string_or_null(7)?,
    })
}

/// The columns of a delivery in the delivery log (`d` the delivery), in the
/// order [`delivery_view`] reads them.
pub const VIEW_COLUMNS: &str =
    "d.id, d.integration_id, d.enterprise_id, d.status, d.created_ms, d.next_attempt_ms";

/// A delivery of the log, without its events and attempts yet.
pub fn delivery_view(row: &impl Row) -> StoreResult<DeliveryView> {
    Ok(DeliveryView {
        id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        enterprise_id: row.uuid(2)?,
        state: state(row, 3)?,
        message_ids: Vec::new(),
        created_ms: row.int(4)?,
        next_attempt_ms: row.int(5)?,
        attempts: Vec::new(),
    })
}

/// Every column of a delivery, in the order export files hold them.
pub const DELIVERY_COLUMNS: &str = "id, integration_id, enterprise_id, status, attempts, \
     next_attempt_ms, leased_until_ms, last_error, created_ms, finished_ms, held";

/// Every column of an event, in the order export files hold them.
pub const EVENT_COLUMNS: &str =
    "message_id, integration_id, enterprise_id, created_ms, delivery_id";

/// The columns of an attempt, in the order [`attempt`] reads them.
pub const ATTEMPT_COLUMNS: &str = "started_ms, duration_ms, status, error, response, body";

pub fn attempt(row: &impl Row) -> StoreResult<Attempt> {
    Ok(Attempt {
        started_ms: row.int(0)?,
        duration_ms: row.int(1)?,
        status: row.number_or_null(2)?,
        error: row.string_or_null(3)?,
        response: row.string_or_null(4)?,
        body: row.string_or_null(5)?,
    })
}

/// The columns of a due delivery (`d` the delivery, `i` its integration), in
/// the order [`due`] reads them.
pub const DUE_COLUMNS: &str = "d.id, d.integration_id, d.enterprise_id, d.attempts, i.webhook_url, \
     d.held, i.signing_secret, i.previous_secret, i.previous_until_ms";

pub fn due(row: &impl Row) -> StoreResult<DueDelivery> {
    Ok(DueDelivery {
        id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        enterprise_id: row.uuid(2)?,
        attempts: row.number(3)?,
        url: row.string_or_null(4)?,
        held: row.boolean(5)?,
        signing: Signing::from_row(row, 6)?,
    })
}

/// The columns of an integration with events waiting (`e` an event, `i` its
/// integration), in the order [`waiting`] reads them.
pub const WAITING_COLUMNS: &str =
    "i.id, i.webhook_url, i.signing_secret, i.previous_secret, i.previous_until_ms";

pub fn waiting(row: &impl Row) -> StoreResult<Waiting> {
    Ok(Waiting {
        integration_id: row.uuid(0)?,
        url: row.string_or_null(1)?,
        signing: Signing::from_row(row, 2)?,
    })
}

/// An integration with events in no delivery yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub integration_id: Uuid,
    pub url: Option<String>,
    pub signing: Signing,
}

/// The columns of an event of no delivery yet, in the order [`unplanned`]
/// reads them.
pub const UNPLANNED_COLUMNS: &str = "seq, enterprise_id, message_id, created_ms";

pub fn unplanned(row: &impl Row) -> StoreResult<UnplannedEvent> {
    Ok(UnplannedEvent {
        seq: row.int(0)?,
        enterprise: row.uuid(1)?,
        message: row.uuid(2)?,
        written_ms: row.int(3)?,
    })
}

/// A pending delivery whose next attempt is due and that nobody holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDelivery {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub attempts: u32,
    pub url: Option<String>,
    pub held: bool,
    pub signing: Signing,
}

/// A delivery formed now, reserved from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub now_ms: i64,
    pub leased_until_ms: i64,
    /// The `seq` of each of its events.
    pub events: Vec<i64>,
}

/// The primitive queries of one backend's outbox, inside the transaction of one
/// claim. [`claim`] is the algorithm over them.
#[allow(async_fn_in_trait)]
pub trait OutboxTx {
    /// Pending deliveries due at `now_ms`, with no lease running at
    /// `lease_now_ms` and not paused, the longest due first.
    async fn due(
        &mut self,
        now_ms: i64,
        lease_now_ms: i64,
        limit: usize,
    ) -> StoreResult<Vec<DueDelivery>>;
    async fn lease(&mut self, delivery: Uuid, until_ms: i64) -> StoreResult<()>;
    /// The events of a delivery: `(message id, written ms)`, oldest first.
    async fn events_of(&mut self, delivery: Uuid) -> StoreResult<Vec<(Uuid, i64)>>;
    /// Integrations not paused that have events in no delivery, with their
    /// webhook URLs and signing secrets.
    async fn waiting(&mut self) -> StoreResult<Vec<Waiting>>;
    /// The oldest events of `integration` that belong to no delivery; on a
    /// database shared by nodes, only events no other claim holds.
    async fn unplanned(
        &mut self,
        integration: Uuid,
        limit: usize,
    ) -> StoreResult<Vec<UnplannedEvent>>;
    /// Inserts a delivery and gives it its events.
    async fn create(&mut self, delivery: &NewDelivery) -> StoreResult<()>;
    /// When the next pending delivery that nobody holds (at `lease_now_ms`)
    /// is due.
    async fn next_due(&mut self, lease_now_ms: i64) -> StoreResult<Option<i64>>;
}

/// Reserves what is due: deliveries waiting for a retry, then new deliveries of
/// unplanned events, within the worker's limits.
pub async fn claim(tx: &mut impl OutboxTx, claim: &Claim) -> StoreResult<Claimed> {
    let mut busy = claim.in_flight.clone();
    let lease_until = claim.lease_now_ms + claim.lease_ms;
    let mut claimed = Vec::new();

    for due in tx
        .due(claim.now_ms, claim.lease_now_ms, claim.max * 4)
        .await?
    {
        if claimed.len() >= claim.max
            || !take_room(&mut busy, due.integration_id, claim.per_receiver)
        {
            continue;
        }
        tx.lease(due.id, lease_until).await?;
        claimed.push(ClaimedDelivery {
            events: tx.events_of(due.id).await?,
            id: due.id,
            integration_id: due.integration_id,
            enterprise_id: due.enterprise_id,
            url: due.url,
            attempts: due.attempts,
            signing: due.signing,
            held: due.held,
        });
    }

    for Waiting {
        integration_id,
        url,
        signing,
    } in tx.waiting().await?
    {
        let room = claim
            .per_receiver
            .saturating_sub(busy.get(&integration_id).copied().unwrap_or(0))
            .min(claim.max.saturating_sub(claimed.len()));
        if room == 0 {
            continue;
        }
        let oldest = tx
            .unplanned(integration_id, room * claim.batch_size)
            .await?;
        for Batch { enterprise, events } in batches(oldest, room, claim.batch_size) {
            let delivery = NewDelivery {
                id: Uuid::new_v4(),
                integration_id,
                enterprise_id: enterprise,
                now_ms: claim.now_ms,
                leased_until_ms: lease_until,
                events: events.iter().map(|e| e.seq).collect(),
            };
            tx.create(&delivery).await?;
            take_room(&mut busy, integration_id, claim.per_receiver);
            claimed.push(ClaimedDelivery {
                id: delivery.id,
                integration_id,
                enterprise_id: enterprise,
                url: url.clone(),
                attempts: 0,
                events: events.iter().map(|e| (e.message, e.written_ms)).collect(),
                signing: signing.clone(),
                held: false,
            });
        }
    }

    Ok(Claimed {
        deliveries: claimed,
        next_due_ms: tx.next_due(claim.lease_now_ms).await?,
    })
}

/// An event that belongs to no delivery yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnplannedEvent {
    pub seq: i64,
    pub enterprise: Uuid,
    pub message: Uuid,
    pub written_ms: i64,
}

/// The events of one new delivery: one enterprise, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub enterprise: Uuid,
    pub events: Vec<UnplannedEvent>,
}

/// Groups events (oldest first) into at most `deliveries` batches of at most
/// `batch_size` events of one enterprise; the enterprise with the oldest event
/// comes first, so no enterprise waits behind a busy one for long. Events that
/// do not fit stay for later.
pub fn batches(oldest: Vec<UnplannedEvent>, deliveries: usize, batch_size: usize) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for event in oldest {
        let open = batches
            .iter()
            .position(|b| b.enterprise == event.enterprise && b.events.len() < batch_size);
        match open {
            Some(i) => batches[i].events.push(event),
            None if batches.len() < deliveries => batches.push(Batch {
                enterprise: event.enterprise,
                events: vec![event],
            }),
            None => {}
        }
    }
    batches
}

/// Counts one more delivery in flight to `integration`, if it has room.
pub fn take_room(busy: &mut HashMap<Uuid, usize>, integration: Uuid, per_receiver: usize) -> bool {
    let sending = busy.entry(integration).or_default();
    if *sending >= per_receiver {
        return false;
    }
    *sending += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, enterprise: u128) -> UnplannedEvent {
        UnplannedEvent {
            seq,
            enterprise: Uuid::from_u128(enterprise),
            message: Uuid::from_u128(seq as u128),
            written_ms: 0,
        }
    }

    #[test]
    fn batches_hold_one_enterprise_and_at_most_the_batch_size() {
        let events = vec![
            event(1, 1),
            event(2, 2),
            event(3, 1),
            event(4, 1),
            event(5, 2),
        ];
        let planned = batches(events, 10, 2);
        let shape: Vec<(u128, Vec<i64>)> = planned
            .iter()
            .map(|b| {
                (
                    b.enterprise.as_u128(),
                    b.events.iter().map(|e| e.seq).collect(),
                )
            })
            .collect();
        assert_eq!(shape, vec![(1, vec![1, 3]), (2, vec![2, 5]), (1, vec![4])]);
    }

    #[test]
    fn at_most_the_requested_number_of_deliveries() {
        let events = (0..10).map(|i| event(i, 1)).collect();
        let planned = batches(events, 2, 3);
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[1].events.last().map(|e| e.seq), Some(5));
    }

    #[test]
    fn a_receiver_has_room_up_to_its_limit() {
        let mut busy = HashMap::new();
        let id = Uuid::new_v4();
        assert!(take_room(&mut busy, id, 2));
        assert!(take_room(&mut busy, id, 2));
        assert!(!take_room(&mut busy, id, 2));
    }
}
