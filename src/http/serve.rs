//! Accepting connections: a cap on how many are open, a deadline for each
//! request's headers, and a drain deadline at shutdown, so that slow or idle
//! clients can neither starve the server nor hold up its exit.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use axum::response::Response;

use super::fault::ConnectionFault;
use super::unparsed::Answering;
use crate::domain::fault::{Connection, HANG_MS};
use crate::metrics::Metrics;

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; further clients wait in the listen backlog
    /// until one closes.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, counted from
    /// when it opens or from its previous answer, so it also closes a
    /// keep-alive connection that stays idle that long.
    pub header_timeout: Duration,
    /// How long requests in flight may take to finish after a shutdown signal.
    pub drain: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            drain: Duration::from_secs(10),
        }
    }
}

/// A connection a fault dropped: the service's error, on which hyper closes
/// the connection without an answer.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a connection fault dropped the connection")
    }
}

impl std::error::Error for Dropped {}

/// The response, unless a connection fault stands in its place: `Reset`
/// closes the connection at once, `Hang` holds it without an answer until
/// the client gives up (or [`HANG_MS`] pass), then closes it.
async fn dropped_by_fault(response: Response) -> Result<Response, Dropped> {
    match response.extensions().get::<ConnectionFault>() {
        None => Ok(response),
        Some(ConnectionFault(Connection::Reset)) => Err(Dropped),
        Some(ConnectionFault(Connection::Hang)) => {
            tokio::time::sleep(Duration::from_millis(HANG_MS)).await;
            Err(Dropped)
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish for at most `limits.drain`. Requests that cannot
/// be read as HTTP are counted in `metrics`; the router counts the others.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    metrics: Arc<Metrics>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        // Each request knows the address it came from (the inbox's login
        // throttle counts by it).
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move {
                let Ok(response) = tower_service::Service::call(&mut router, request).await;
                dropped_by_fault(response).await
            }
        });
        // hyper's own answers to requests it cannot read get an id and a body.
        let stream = Answering::new(stream, metrics.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are the client's (a reset, a header timeout).
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_seconds = limits.drain.as_secs_f64(),
            "requests still open after the drain deadline are cut off"
        );
    }
}
