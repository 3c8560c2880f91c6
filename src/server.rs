//! `switchboard serve`: open the store, create the demo tenant, serve HTTP until
//! SIGINT or SIGTERM, then finish the requests in flight.
//!
//! [`compose`] is where a node is put together, for `serve` and for the
//! tests alike: its shared state, the store's notices of what other nodes
//! did, and the webhook worker.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use chrono::{DateTime, Utc};

use crate::clock::{self, Clock, ManualClock, RealClock};
use crate::demo;
use crate::domain::time::Timestamp;
use crate::domain::webhook::WebhookUrl;
use crate::faults::FaultBook;
use crate::http::inbox::Inbox;
use crate::http::serve::{self, Limits};
use crate::http::{AppState, Settings, router};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::request_log::RequestLog;
use crate::store::{Background, ClockState, Notices, Store};
use crate::tokens::{self, TokenHash};
use crate::webhooks::{self, Running, Wake, WebhookSettings};

pub struct ServeOptions {
    pub listen: String,
    pub database: String,
    pub demo: bool,
    pub operator_token: Option<String>,
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
    pub max_live_streams: usize,
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
    /// The database's manual clock if it keeps one that is on, else the
    /// system's.
    AsStored,
    /// The system's: a manual clock the database keeps is turned off.
    System,
    /// The manual clock kept in the database, started at `start` (now when
    /// `None`) unless the database already has one.
    Manual { start: Option<DateTime<Utc>> },
}

/// What a node is made of.
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub real_clock: Arc<dyn RealClock>,
    pub settings: Settings,
    pub webhooks: WebhookSettings,
    /// How many Connector API requests its request log keeps.
    pub request_log: usize,
    pub public_url: Option<String>,
}

/// A node, put together: its HTTP application's state, and what runs beside
/// it (the webhook worker, and what the store runs for a server), which stop
/// when this is dropped.
pub struct Node {
    pub app: AppState,
    _worker: Running,
    _background: Background,
}

/// Puts a node together: its shared state, the store's notices wired to what
/// hears them (the webhook worker, this node's clock, its faults, its inbox
/// pages), and the webhook worker.
pub async fn compose(parts: Parts) -> anyhow::Result<Node> {
    let Parts {
        store,
        clock,
        real_clock,
        settings,
        webhooks,
        request_log,
        public_url,
    } = parts;
    let metrics = Arc::new(Metrics::default());
    let wake = Arc::new(Wake::default());
    let faults = Arc::new(FaultBook::new(store.clone()));
    let inbox = Arc::new(Inbox::new(
        &settings.operator_token,
        public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://")),
        settings.max_live_streams,
    ));
    let public_url = public_url.map(|url| url.trim_end_matches('/').to_owned());
    let background = store.serve(notices(&clock, &wake, &faults, &inbox)).await?;
    let sender = webhooks::Sender::new(&webhooks, real_clock.clone())?;
    let worker = webhooks::spawn(webhooks::WorkerParts {
        store: store.clone(),
        clock: clock.clone(),
        real_clock: real_clock.clone(),
        settings: webhooks,
        metrics: metrics.clone(),
        wake: wake.clone(),
        faults: faults.clone(),
        sender: sender.clone(),
    });
    let app = AppState {
        store,
        clock,
        real_clock,
        metrics,
        settings,
        webhooks: wake,
        webhook_sender: sender,
        faults,
        grants: Arc::default(),
        requests: Arc::new(RequestLog::new(request_log)),
        inbox,
        public_url,
    };
    Ok(Node {
        app,
        _worker: worker,
        _background: background,
    })
}

/// What this node does when the store tells of another node's change.
fn notices(
    clock: &Arc<dyn Clock>,
    wake: &Arc<Wake>,
    faults: &Arc<FaultBook>,
    inbox: &Arc<Inbox>,
) -> Notices {
    let (wake, clock, faults, inbox) = (wake.clone(), clock.clone(), faults.clone(), inbox.clone());
    Notices {
        webhooks: Arc::new(move || wake.now()),
        clock: Arc::new(move |moved: ClockState| {
            if let Some(manual) = clock.manual() {
                manual.moved(moved.version, moved.now_ms);
            }
        }),
        faults: Arc::new(move || faults.changed()),
        inbox: Arc::new(move |thread| inbox.live.heard(thread)),
    }
}

/// Serves until SIGINT or SIGTERM. Everything that can be wrong is checked
/// before anything is made: the flags, then the address (bound), then the
/// database (opened, and a SQLite file claimed for this server alone); only
/// then is the demo tenant seeded and the operator token printed.
pub async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let operator_token = match options.operator_token {
        Some(token) if token.trim().is_empty() => anyhow::bail!(
            "--operator-token (or SWITCHBOARD_OPERATOR_TOKEN) is empty: give a token, or \
             leave it out and one is made and printed"
        ),
        given => given,
    };
    let listener = TcpListener::bind(&options.listen).await.with_context(|| {
        format!(
            "cannot listen on {}: is another server using that port? Choose another with \
             --listen (port 0 takes a free one)",
            options.listen
        )
    })?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    // Held until the process ends: a second server on the same SQLite file
    // would hand out the same webhook deliveries.
    let _owner = match options.database.strip_prefix("sqlite://") {
        Some(path) => Some(crate::store::sqlite::claim(std::path::Path::new(path))?),
        None => None,
    };
    let store = crate::store::open(&options.database).await?;
    let clock = open_clock(store.as_ref(), options.clock).await?;

    if options.demo && store.is_empty().await? {
        demo::seed(store.as_ref(), Timestamp::truncate(clock.now())).await?;
        println!("{}", demo::banner(&base));
    }
    let operator_token = match operator_token {
        Some(token) => token,
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
        max_live_streams: options.max_live_streams,
        operator_token: TokenHash::of(&operator_token),
    };
    let shutdown = shutdown_signal()?;
    tracing::info!(
        database = %WebhookUrl::redacted(&options.database),
        rate_limit = %settings.rate_limit,
        "store ready"
    );
    println!("switchboard listening on {base}");

    let node = compose(Parts {
        store,
        clock,
        real_clock: clock::real(),
        settings,
        webhooks: options.webhooks,
        request_log: options.request_log,
        public_url: options.public_url,
    })
    .await?;
    let inbox = node.app.inbox.clone();
    // Open inbox pages are told to go, so that they do not hold up the drain.
    let shutdown = async move {
        shutdown.await;
        inbox.live.close();
    };
    let metrics = node.app.metrics.clone();
    serve::serve(
        listener,
        router(node.app.clone()),
        metrics,
        options.limits,
        shutdown,
    )
    .await;
    // Stops the webhook worker and what the store ran beside it.
    drop(node);
    tracing::info!("stopped");
    Ok(())
}

/// The clock `setting` asks for, with the mode the database keeps.
async fn open_clock(store: &dyn Store, setting: ClockSetting) -> anyhow::Result<Arc<dyn Clock>> {
    let stored = match setting {
        ClockSetting::AsStored => store.stored_clock().await?,
        ClockSetting::System => {
            if store.stop_clock().await? {
                tracing::warn!(
                    "the database kept a manual clock: --clock system turned it off, and new \
                     rows are stamped with the system's time beside the manual clock's"
                );
            }
            None
        }
        ClockSetting::Manual { start } => {
            let start = start.unwrap_or_else(|| clock::system().now());
            Some(store.start_clock(start.timestamp_millis()).await?)
        }
    };
    Ok(match stored {
        None => clock::system(),
        Some(state) => {
            let clock = ManualClock::at(state.version, state.now_ms);
            tracing::info!(now = %clock.now(), "the clock is manual: it moves by clock/set and clock/advance");
            Arc::new(clock)
        }
    })
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
