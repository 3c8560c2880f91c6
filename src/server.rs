//! `switchboard serve`: open the store, create the demo tenant, serve HTTP until
//! SIGINT or SIGTERM, then finish the requests in flight.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::domain::time::Timestamp;
use crate::http::{AppState, Settings, router};
use crate::metrics::Metrics;
use crate::{demo, store};

pub struct ServeOptions {
    pub listen: String,
    pub database: String,
    pub demo: bool,
    pub settings: Settings,
}

pub async fn run(options: ServeOptions) -> anyhow::Result<()> {
    let store = store::open(&options.database).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = TcpListener::bind(&options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");

    if options.demo && store.is_empty().await? {
        demo::seed(store.as_ref(), Timestamp::truncate(clock.now())).await?;
        println!("{}", demo::banner(&base));
    }
    tracing::info!(database = %options.database, rate_limit = %options.settings.rate_limit, "store ready");
    println!("switchboard listening on {base}");

    let app = AppState {
        store,
        clock,
        metrics: Arc::new(Metrics::default()),
        settings: options.settings,
    };
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
