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

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use uuid::Uuid;

use crate::clock::{self, Clock, RealClock};
use crate::domain::text::utf8_prefix;
use crate::domain::webhook::{Event, Payload, RetryPolicy, host_ip, is_public};
use crate::metrics::Metrics;
use crate::store::outbox::RESPONSE_KEPT;
use crate::store::{Attempt, Claim, ClaimedDelivery, DeliveryOutcome, Store, StoreError};

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

/// Starts the worker on the current runtime.
pub fn spawn(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    real_clock: Arc<dyn RealClock>,
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
    wake: Arc<Wake>,
) -> anyhow::Result<Running> {
    // TLS in pure Rust (ring), so that https receivers need no system library.
    // Installing twice (tests start many workers) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = http_client(&settings)?;
    let worker = Worker {
        store,
        clock,
        real_clock,
        settings,
        metrics,
        wake,
        client,
        in_flight: Arc::new(Mutex::new(HashMap::new())),
    };
    Ok(Running(tokio::spawn(worker.run())))
}

#[derive(Clone)]
struct Worker {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    real_clock: Arc<dyn RealClock>,
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
    wake: Arc<Wake>,
    client: reqwest::Client,
    /// Deliveries in flight per integration.
    in_flight: Arc<Mutex<HashMap<Uuid, usize>>>,
}

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
            *self
                .in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(delivery.integration_id)
                .or_default() += 1;
            tokio::spawn(self.clone().deliver(delivery));
        }
        let until_due = claimed.next_due_ms.map_or(self.settings.poll, |due| {
            Duration::from_millis((due - now).max(0) as u64)
        });
        Ok(until_due.min(self.settings.poll))
    }

    async fn deliver(self, delivery: ClaimedDelivery) {
        let (outcome, attempt) = self.attempt(&delivery).await;
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
        if let Some(count) = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&delivery.integration_id)
        {
            *count = count.saturating_sub(1);
        }
        self.wake.now();
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
    /// what the delivery log keeps of it.
    async fn attempt(&self, delivery: &ClaimedDelivery) -> (DeliveryOutcome, Attempt) {
        let started_ms = self.clock.now_ms();
        let started = self.real_clock.instant();
        let sent = match &delivery.url {
            Some(url) => self.send(url, delivery).await,
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

    /// One request to the receiver.
    async fn send(&self, url: &str, delivery: &ClaimedDelivery) -> Sent {
        // A name is checked by the resolver; an address written in the URL here.
        if let Ok(parsed) = reqwest::Url::parse(url)
            && let Some(refused) = refused_address(&parsed, self.settings.allow_private)
        {
            return Sent::failed("AddressRefused", refused.to_string());
        }
        let payload = Payload {
            enterprise_id: delivery.enterprise_id,
            integration_id: delivery.integration_id,
            events: delivery
                .events
                .iter()
                .map(|&(message, _)| Event::message_added(message))
                .collect(),
        };
        let body = match serde_json::to_vec(&payload) {
            Ok(body) => body,
            Err(e) => return Sent::failed("Encode", format!("cannot encode the payload: {e}")),
        };
        let mut response = match self
            .client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return Sent::failed(error_kind(&e), describe(&e)),
        };
        // The start of the answer, for the delivery log; the rest is not read.
        let mut kept = Vec::new();
        while kept.len() < RESPONSE_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        kept.truncate(RESPONSE_KEPT);
        Sent {
            status: Some(response.status().as_u16()),
            response: Some(utf8_prefix(&kept)),
            failure: None,
        }
    }
}

/// What a request to a receiver gave back.
struct Sent {
    status: Option<u16>,
    /// The first [`RESPONSE_KEPT`] bytes of the answer.
    response: Option<String>,
    /// When there was no answer: the kind of error and what happened, in words.
    failure: Option<(&'static str, String)>,
}

impl Sent {
    fn failed(kind: &'static str, error: String) -> Self {
        Self {
            status: None,
            response: None,
            failure: Some((kind, error)),
        }
    }
}

/// The kind of a request that got no answer, as the delivery log names it.
fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "Timeout"
    } else if error.is_connect() {
        "Connect"
    } else if error.is_redirect() {
        "Redirect"
    } else {
        "Request"
    }
}

/// The client that speaks to receivers: the timeout, no `Referer` (it would
/// carry the URL's secret to the next hop), only the redirects that keep the
/// method and body and that `settings` allow, and, unless private addresses are
/// allowed, a resolver that gives only public addresses, so every connection,
/// redirects included, goes to the public internet.
fn http_client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    let (allow_private, redirects) = (settings.allow_private, settings.redirects);
    let builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .referer(false)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            let from = attempt.previous().last();
            let same_origin = from.is_some_and(|from| from.origin() == attempt.url().origin());
            let refused = refused_address(attempt.url(), allow_private);
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if !matches!(attempt.status().as_u16(), 307 | 308) {
                attempt.stop()
            } else if redirects == Redirects::SameOrigin && !same_origin {
                attempt.error(NOT_FOLLOWED)
            } else if let Some(refused) = refused {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        }));
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    Ok(builder.build()?)
}

const NOT_FOLLOWED: &str = "the receiver redirected to another scheme, host or port, which is \
                            not followed (serve --webhook-redirects any allows it)";

/// The address a URL names directly, if it is not public and private ones are
/// not allowed. Names are left to the resolver ([`PublicOnly`]).
fn refused_address(url: &reqwest::Url, allow_private: bool) -> Option<PrivateAddress> {
    host_ip(url)
        .filter(|ip| !allow_private && !is_public(*ip))
        .map(PrivateAddress)
}

/// A receiver address outside the public internet, refused.
#[derive(Debug)]
struct PrivateAddress(IpAddr);

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the receiver's address {} is not public (serve --allow-private-webhooks allows it)",
            self.0
        )
    }
}

impl std::error::Error for PrivateAddress {}

/// Resolves receiver names to their public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            match (public.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
                (true, Some(address)) => Err(PrivateAddress(address.ip()).into()),
                (true, None) => Err(format!("{} has no address", name.as_str()).into()),
            }
        })
    }
}

/// A transport error in words, without the URL (its query may hold a secret).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the timeout".to_owned();
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_redirect() {
        "redirect failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.contains("://") {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
