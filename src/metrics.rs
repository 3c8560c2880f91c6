//! Prometheus metrics of the server, rendered by `GET /metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::{DeliveryOutcome, WebhookBacklog, WriteStats};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    commits: Counter,
    writes: Counter,
    webhook_attempts: Family<OutcomeLabel, Counter>,
    webhook_retries: Counter,
    webhook_queue: Gauge,
    webhook_latency: Histogram,
    admissions: Family<OutcomeLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by matched route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.5, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by matched route",
            latency.clone(),
        );
        let commits = Counter::default();
        registry.register(
            "store_commits",
            "Write transactions committed (each one fsync)",
            commits.clone(),
        );
        let writes = Counter::default();
        registry.register(
            "store_writes",
            "Writes committed; writes / commits is the mean group-commit size",
            writes.clone(),
        );
        let webhook_attempts = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, retry (failed, will be tried again), failed (given up)",
            webhook_attempts.clone(),
        );
        let webhook_retries = Counter::default();
        registry.register(
            "webhook_retries",
            "Webhook attempts that repeated an earlier failed attempt",
            webhook_retries.clone(),
        );
        let webhook_queue = Gauge::default();
        registry.register(
            "webhook_queue_depth",
            "MessageAdded events waiting to be delivered",
            webhook_queue.clone(),
        );
        let webhook_latency = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "webhook_delivery_latency_seconds",
            "From the commit of a message to the delivery of its event",
            webhook_latency.clone(),
        );
        let admissions = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "admissions",
            "Connector API requests admitted: together (the operation went with its admission and its outcome was used), dropped (it went along but the admission refused or limited the request, or found another grant), alone (admitted before the operation was built)",
            admissions.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            commits,
            writes,
            webhook_attempts,
            webhook_retries,
            webhook_queue,
            webhook_latency,
            admissions,
        }
    }
}

impl Metrics {
    pub fn observe_request(&self, route: &str, status: u16, latency: Duration) {
        let route = route.to_owned();
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabel { route })
            .observe(latency.as_secs_f64());
    }

    /// Counts a Connector API request's admission: `together`, `dropped` or `alone`.
    pub fn count_admission(&self, outcome: &'static str) {
        self.admissions
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
    }

    pub fn observe_webhook_latency(&self, seconds: f64) {
        self.webhook_latency.observe(seconds);
    }

    pub fn count_webhook_attempt(&self, outcome: &DeliveryOutcome, is_retry: bool) {
        let outcome = match outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Retry { .. } => "retry",
            DeliveryOutcome::Failed { .. } => "failed",
        };
        self.webhook_attempts
            .get_or_create(&OutcomeLabel { outcome })
            .inc();
        if is_retry {
            self.webhook_retries.inc();
        }
    }

    /// The text exposition of every metric.
    pub fn render(
        &self,
        writes: WriteStats,
        backlog: WebhookBacklog,
    ) -> Result<String, std::fmt::Error> {
        self.webhook_queue
            .set(i64::try_from(backlog.pending_events).unwrap_or(i64::MAX));
        self.commits
            .inner()
            .store(writes.commits, std::sync::atomic::Ordering::Relaxed);
        self.writes
            .inner()
            .store(writes.writes, std::sync::atomic::Ordering::Relaxed);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}
