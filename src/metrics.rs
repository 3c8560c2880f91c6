//! Prometheus metrics of the server, rendered by `GET /metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::store::WriteStats;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Histogram>,
    commits: Counter,
    writes: Counter,
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
        Self {
            registry,
            requests,
            latency,
            commits,
            writes,
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

    /// The text exposition of every metric.
    pub fn render(&self, writes: WriteStats) -> Result<String, std::fmt::Error> {
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
