//! The webhook worker: delivers `MessageAdded` events from the outbox.
//!
//! Events are written in the transaction of their message. The worker wakes when
//! a commit adds events (and at least every poll interval, for retries and for
//! deliveries re-queued by the CLI), groups pending events into deliveries of one
//! enterprise and integration, reserves the due ones and sends each as one POST.
//! A 2xx answer is delivery; 307 and 308 are followed; anything else, or no
//! answer within the timeout, is retried with exponential backoff and jitter
//! until the last attempt, after which the delivery is kept as failed. Each
//! integration has at most `per_receiver` deliveries in flight, so a slow or dead
//! receiver holds up only its own events.

mod send;
pub mod signing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::{self, Clock, RealClock};
use crate::domain::fault::WebhookFault;
use crate::domain::webhook::{Event, Payload, RetryPolicy};
use crate::faults::FaultBook;
use crate::metrics::Metrics;
use crate::store::{Attempt, Claim, ClaimedDelivery, DeliveryOutcome, Store, StoreError};
pub use send::{Outgoing, Sender, Sent, USER_AGENT};

/// How the worker delivers.
#[derive(Debug, Clone, Copy)]
pub struct WebhookSettings {
    /// Most events in one request.
    pub batch_size: usize,
    pub retry: RetryPolicy,
    /// Most deliveries in flight to one integration's receiver.
    pub per_receiver: usize,
    /// Longest sleep between looks at the outbox when nothing wakes the worker.
    pub poll: Duration,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// Whether receivers may be on loopback, private, link-local and other
    /// non-public addresses (a receiver on the developer's own machine).
    pub allow_private: bool,
    /// Where a `307`/`308` may lead.
    pub redirects: Redirects,
}

/// Which redirects of a receiver are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Redirects {
    /// Only to the same scheme, host and port as the URL it came from.
    SameOrigin,
    /// To any http or https URL (still only to public addresses, unless
    /// private ones are allowed).
    Any,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            batch_size: 100,
            retry: RetryPolicy::default(),
            per_receiver: 4,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(5),
            allow_private: false,
            redirects: Redirects::SameOrigin,
        }
    }
}

/// Most deliveries in flight in all.
const MAX_IN_FLIGHT: usize = 64;

/// How often the worker looks again while the database is out of reach.
const OUTAGE_POLL: Duration = Duration::from_secs(1);
/// How long delivered deliveries stay listed; failed ones stay until re-sent.
pub const KEEP_DELIVERED_MS: i64 = 7 * 24 * 3600 * 1000;
/// How often (on the switchboard clock) the worker removes older delivered
/// deliveries.
const PRUNE_EVERY_MS: i64 = 600 * 1000;

/// The handle the rest of the server uses to wake the worker after a commit.
#[derive(Default)]
pub struct Wake(Notify);

impl Wake {
    pub fn now(&self) {
        self.0.notify_one();
    }
}

/// A number in `[0, 1)` to spread retries.
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0),
        Err(_) => 0.5,
    }
}

/// The running worker; it stops when this is dropped.
pub struct Running(tokio::task::JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The pieces the worker runs with.
pub struct WorkerParts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub real_clock: Arc<dyn RealClock>,
    pub settings: WebhookSettings,
    pub metrics: Arc<Metrics>,
    pub wake: Arc<Wake>,
    pub faults: Arc<FaultBook>,
    pub sender: Sender,
}

/// Starts the worker on the current runtime.
pub fn spawn(parts: WorkerParts) -> Running {
    let WorkerParts {
        store,
        clock,
        real_clock,
        settings,
        metrics,
        wake,
        faults,
        sender,
    } = parts;
    let worker = Worker {
        store,
        clock,
        real_clock,
        settings,
        metrics,
        wake,
        faults,
        sender,
        in_flight: Arc::new(Mutex::new(HashMap::new())),
        reordering: Arc::new(Mutex::new(HashMap::new())),
    };
    Running(tokio::spawn(worker.run()))
}

#[derive(Clone)]
struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    real_clock: Arc<dyn RealClock>,
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
    wake: Arc<Wake>,
    faults: Arc<FaultBook>,
    sender: Sender,
    /// Deliveries in flight per integration.
    in_flight: Arc<Mutex<HashMap<Uuid, usize>>>,
    /// A delivery a `Reorder` fault holds, per integration, until the next
    /// one of its integration has gone out.
    reordering: Arc<Mutex<HashMap<Uuid, ClaimedDelivery>>>,
}

/// How long a `Reorder` fault holds a delivery for the next one, in real
/// time; then it goes out alone. Within the delivery's lease, with the
/// receiver's timeout after it.
const REORDER_WAIT: Duration = Duration::from_secs(4);

impl Worker {
    async fn run(self) {
        let mut moves = self.clock.moves();
        let mut pruned_at = None::<i64>;
        loop {
            let now = self.clock.now_ms();
            if pruned_at.is_none_or(|at| now - at >= PRUNE_EVERY_MS) {
                pruned_at = Some(now);
                match self.store.prune_deliveries(now - KEEP_DELIVERED_MS).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, "pruned delivered webhook deliveries"),
                    Err(e) => tracing::error!(error = %e, "cannot prune webhook deliveries"),
                }
            }
            let wait = match self.round().await {
                Ok(wait) => wait,
                // Nothing was claimed, so no attempt is spent: the deliveries
                // wait for the database, and go out once it answers again.
                Err(StoreError::Unavailable(cause)) => {
                    tracing::warn!(cause = %cause, "database out of reach: webhook deliveries wait");
                    self.settings.poll.min(OUTAGE_POLL)
                }
                Err(e) => {
                    tracing::error!(error = %e, "webhook worker round failed");
                    self.settings.poll
                }
            };
            // A clock moved by hand may have made a retry due.
            tokio::select! {
                () = self.wake.0.notified() => {},
                () = tokio::time::sleep(wait) => {},
                () = clock::moved(&mut moves) => {},
            }
        }
    }

    /// Claims and starts what is due; returns how long to sleep at most.
    async fn round(&self) -> Result<Duration, StoreError> {
        let in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let total: usize = in_flight.values().sum();
        let now = self.clock.now_ms();
        let claimed = self
            .store
            .claim_deliveries(Claim {
                now_ms: now,
                lease_now_ms: self.real_clock.now_ms(),
                // An attempt ends within the timeout (redirects included); the margin
                // covers recording its outcome.
                lease_ms: self.settings.timeout.as_millis() as i64 + 5_000,
                batch_size: self.settings.batch_size,
                max: MAX_IN_FLIGHT.saturating_sub(total),
                in_flight,
                per_receiver: self.settings.per_receiver,
            })
            .await?;
        for delivery in claimed.deliveries {
            self.take(delivery.integration_id);
            tokio::spawn(self.clone().deliver(delivery));
        }
        let until_due = claimed.next_due_ms.map_or(self.settings.poll, |due| {
            Duration::from_millis((due - now).max(0) as u64)
        });
        Ok(until_due.min(self.settings.poll))
    }

    /// Sends a claimed delivery, as the webhook faults of its integration
    /// say: held for a while (`Delay`), held for the next one (`Reorder`),
    /// or sent twice (`Duplicate`).
    async fn deliver(self, delivery: ClaimedDelivery) {
        let integration = delivery.integration_id;
        let waiting = self
            .reordering
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&integration);
        if let Some(older) = waiting {
            // The newer first, then the one the fault held.
            self.clone().finish(delivery, false).await;
            self.take(integration);
            self.finish(older, false).await;
            return;
        }
        let fault = match self.faults.pick_webhook(integration, delivery.held).await {
            Ok(fault) => fault,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the webhook faults");
                None
            }
        };
        match fault.and_then(|f| f.webhook.map(|kind| (kind, f.delay_seconds))) {
            Some((WebhookFault::Delay, seconds)) => {
                let until = self.clock.now_ms() + i64::from(seconds.unwrap_or(0)) * 1000;
                if let Err(e) = self.store.hold_delivery(delivery.id, until).await {
                    tracing::error!(delivery = %delivery.id, error = %e, "cannot hold a webhook delivery");
                }
                self.free(integration);
            }
            Some((WebhookFault::Reorder, _)) => {
                self.reordering
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(integration, delivery.clone());
                self.free(integration);
                tokio::spawn(async move {
                    tokio::time::sleep(REORDER_WAIT).await;
                    let alone = self
                        .reordering
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&integration);
                    if let Some(alone) = alone {
                        self.take(integration);
                        self.finish(alone, false).await;
                    }
                });
            }
            Some((WebhookFault::Duplicate, _)) => self.finish(delivery, true).await,
            None => self.finish(delivery, false).await,
        }
    }

    /// A delivery in flight to `integration` more.
    fn take(&self, integration: Uuid) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(integration)
            .or_default() += 1;
    }

    /// A delivery in flight to `integration` less: the receiver has room.
    fn free(&self, integration: Uuid) {
        if let Some(count) = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&integration)
        {
            *count = count.saturating_sub(1);
        }
        self.wake.now();
    }

    /// One attempt (sent twice when `twice`), and its outcome recorded.
    async fn finish(self, delivery: ClaimedDelivery, twice: bool) {
        let (outcome, attempt) = self.attempt(&delivery, twice).await;
        let finished = attempt.ended_ms();
        match &outcome {
            DeliveryOutcome::Delivered => {
                for &(_, written_ms) in &delivery.events {
                    self.metrics
                        .observe_webhook_latency((finished - written_ms).max(0) as f64 / 1000.0);
                }
            }
            DeliveryOutcome::Retry { error, .. } | DeliveryOutcome::Failed { error } => {
                tracing::warn!(
                    delivery = %delivery.id,
                    integration_id = %delivery.integration_id,
                    attempt = delivery.attempts + 1,
                    error = %error,
                    "webhook delivery failed"
                );
            }
        }
        self.metrics
            .count_webhook_attempt(&outcome, delivery.attempts > 0);
        // The receiver has room again at once; the delivery stays leased until
        // its outcome is recorded, so nobody claims it meanwhile.
        self.free(delivery.integration_id);
        if let Err(e) = self
            .store
            .finish_delivery(delivery.id, outcome, attempt)
            .await
        {
            // The lease runs out and the delivery is tried again: at least once.
            tracing::error!(delivery = %delivery.id, error = %e, "cannot record a webhook delivery");
        }
        self.wake.now();
    }

    /// One attempt: how the delivery ends (or when it is tried again), and
    /// what the delivery log keeps of it. With `twice`, the same request
    /// goes out again right after (a `Duplicate` fault); the first answer
    /// counts.
    async fn attempt(&self, delivery: &ClaimedDelivery, twice: bool) -> (DeliveryOutcome, Attempt) {
        let started_ms = self.clock.now_ms();
        let started = self.real_clock.instant();
        let body = payload(delivery);
        // The secrets that sign now, as it goes out.
        let secrets = delivery.signing.at(started_ms);
        let sent = match &delivery.url {
            Some(url) => {
                let outgoing = Outgoing {
                    url,
                    id: delivery.id.to_string(),
                    body: body.clone(),
                    secrets: &secrets,
                };
                let sent = self.sender.send(&outgoing).await;
                if twice {
                    self.sender.send(&outgoing).await;
                }
                sent
            }
            None => Sent::failed(
                "NoUrl",
                "the integration has no webhook URL any more".to_owned(),
            ),
        };
        let attempt = Attempt {
            started_ms,
            duration_ms: i64::try_from(
                self.real_clock
                    .instant()
                    .saturating_duration_since(started)
                    .as_millis(),
            )
            .unwrap_or(i64::MAX),
            status: sent.status,
            error: sent.failure.as_ref().map(|(kind, _)| (*kind).to_owned()),
            response: sent.response,
            body: Some(String::from_utf8_lossy(&body).into_owned()),
        };
        let error = match (sent.failure, sent.status) {
            (Some((_, error)), _) => error,
            (None, Some(status)) if (200..300).contains(&status) => {
                return (DeliveryOutcome::Delivered, attempt);
            }
            (None, status) => format!(
                "the receiver answered {}",
                status
                    .and_then(|s| reqwest::StatusCode::from_u16(s).ok())
                    .map_or_else(|| "nothing".to_owned(), |s| s.to_string())
            ),
        };
        if delivery.url.is_none() {
            return (DeliveryOutcome::Failed { error }, attempt);
        }
        let outcome = match self
            .settings
            .retry
            .delay_after(delivery.attempts + 1, jitter())
        {
            Some(delay) => DeliveryOutcome::Retry {
                next_attempt_ms: self.clock.now_ms() + delay.as_millis() as i64,
                error,
            },
            None => DeliveryOutcome::Failed { error },
        };
        (outcome, attempt)
    }
}

/// The body of a delivery's request: `{"EnterpriseId", "IntegrationId",
/// "Events"}`.
fn payload(delivery: &ClaimedDelivery) -> Vec<u8> {
    let payload = Payload {
        enterprise_id: delivery.enterprise_id,
        integration_id: delivery.integration_id,
        events: delivery
            .events
            .iter()
            .map(|&(message, _)| Event::message_added(message))
            .collect(),
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}
