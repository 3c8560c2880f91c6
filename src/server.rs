//! `switchboard serve`: open the store, create the demo tenant, serve HTTP until
//! SIGINT or SIGTERM, then finish the requests in flight.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use chrono::{DateTime, Utc};

use crate::clock::{self, Clock, ManualClock};
use crate::domain::time::Timestamp;
use crate::domain::webhook::WebhookUrl;
use crate::faults::FaultBook;
use crate::http::inbox::Inbox;
use crate::http::serve::{self, Limits};
use crate::http::{AppState, Settings, router};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::requests::RequestLog;
use crate::tokens::{self, TokenHash};
use crate::webhooks::{self, Wake, WebhookSettings};
use crate::{demo, store};

pub struct ServeOptions {
    pub listen: String,
    pub database: String,
    pub demo: bool,
    pub operator_token: Option<String>,
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
    pub webhooks: WebhookSettings,
    pub limits: Limits,
    pub clock: ClockSetting,
    /// How many Connector API requests the node's request log keeps.
    pub request_log: usize,
    /// Where users reach this server, when behind a proxy (its scheme decides
    /// whether the inbox's cookie is `Secure`).
    pub public_url: Option<String>,
}

/// Which clock the server reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSetting {
    System,
    /// The manual clock kept in the database, started at `start` (now when
    /// `None`) unless the database already has one.
    Manual {
        start: Option<DateTime<Utc>>,
    },
}

pub async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let store = store::open(&options.database).await?;
    let clock: Arc<dyn Clock> = match options.clock {
        ClockSetting::System => clock::system(),
        ClockSetting::Manual { start } => {
            let start = start.unwrap_or_else(|| clock::system().now());
            let stored = store.start_clock(start.timestamp_millis()).await?;
            let now = DateTime::from_timestamp_millis(stored).unwrap_or(start);
            tracing::info!(now = %now, "the clock is manual: it moves by clock/set and clock/advance");
            Arc::new(ManualClock::new(now))
        }
    };
    let listener = TcpListener::bind(&options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");

    if options.demo && store.is_empty().await? {
        demo::seed(store.as_ref(), Timestamp::truncate(clock.now())).await?;
        println!("{}", demo::banner(&base));
    }
    let operator_token = match options.operator_token {
        Some(token) if !token.trim().is_empty() => token,
        Some(_) => anyhow::bail!("--operator-token must not be empty"),
        None => {
            let token = tokens::generate()?;
            println!(
                "Operator token (generated now, shown once; set --operator-token to choose one): {token}"
            );
            token
        }
    };
    let settings = Settings {
        rate_limit: options.rate_limit,
        max_body_bytes: options.max_body_bytes,
        operator_token: TokenHash::of(&operator_token),
    };
    let shutdown = shutdown_signal()?;
    tracing::info!(
        database = %WebhookUrl::redacted(&options.database),
        rate_limit = %settings.rate_limit,
        "store ready"
    );
    println!("switchboard listening on {base}");

    let metrics = Arc::new(Metrics::default());
    let wake = Arc::new(Wake::default());
    let faults = Arc::new(FaultBook::new(store.clone()));
    let book = faults.clone();
    let inbox = Arc::new(Inbox::new(
        &settings.operator_token,
        options
            .public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://")),
    ));
    let pages = inbox.clone();
    let worker = webhooks::spawn(
        store.clone(),
        clock.clone(),
        options.webhooks,
        metrics.clone(),
        wake.clone(),
        Arc::new(move || book.changed()),
        Arc::new(move |thread| pages.live.heard(thread)),
    )
    .await?;
    let app = AppState {
        store,
        clock,
        metrics: metrics.clone(),
        settings,
        webhooks: wake,
        faults,
        grants: Arc::default(),
        requests: Arc::new(RequestLog::new(options.request_log)),
        inbox: inbox.clone(),
    };
    // Open inbox pages are told to go, so that they do not hold up the drain.
    let shutdown = async move {
        shutdown.await;
        inbox.live.close();
    };
    serve::serve(listener, router(app), metrics, options.limits, shutdown).await;
    // Stops the webhook worker and what the store ran beside it.
    drop(worker);
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed before
/// this returns, so a signal sent as soon as the server says it listens is not
/// lost to the default action.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}
