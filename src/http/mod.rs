//! The HTTP layer: routing, the request body extractor, authentication, error
//! mapping and the handlers of each operation.

pub(crate) mod admin;
pub(crate) mod auth;
mod body;
pub mod context;
pub(crate) mod emulator;
pub mod error;
mod fault;
pub mod inbox;
pub(crate) mod messages;
pub mod openapi;
pub(crate) mod operator;
mod ops;
pub mod postman;
mod respond;
pub mod serve;
pub(crate) mod threads;
mod unparsed;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::clock::{Clock, RealClock};
use crate::faults::FaultBook;
use crate::grants::GrantBook;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::request_log::RequestLog;
use crate::store::Store;
use crate::tokens::TokenHash;
use crate::webhooks::Wake;
use error::ApiError;

pub use crate::operations::check_request;
pub use auth::CREDENTIALS;
pub(crate) use body::parse_json;

/// Settings of the API that the command line controls.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
    /// Digest of the operator token of the staff API.
    pub operator_token: TokenHash,
    /// Live inbox pages this node serves at once.
    pub max_live_streams: usize,
}

/// The default of `--max-live-streams`: a quarter of the default connection
/// cap, so that live pages leave most connections to the APIs.
pub const DEFAULT_LIVE_STREAMS: usize = 256;

impl Default for Settings {
    /// The documented defaults, with an operator token nobody knows.
    fn default() -> Self {
        Self {
            rate_limit: RateLimit::default(),
            max_body_bytes: 1024 * 1024,
            operator_token: TokenHash::of(&uuid::Uuid::new_v4().to_string()),
            max_live_streams: DEFAULT_LIVE_STREAMS,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The clock of the data (system or manual).
    pub clock: Arc<dyn Clock>,
    /// Real time: rate windows, sessions, latencies.
    pub real_clock: Arc<dyn RealClock>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Wakes the webhook worker after a commit that added events.
    pub webhooks: Arc<Wake>,
    /// Sends webhook requests (`webhooks/test`; the worker has its own copy).
    pub webhook_sender: crate::webhooks::Sender,
    /// The faults this node applies.
    pub faults: Arc<FaultBook>,
    /// The grants this node saw its access tokens admitted with.
    pub grants: Arc<GrantBook>,
    /// This node's last Connector API requests.
    pub requests: Arc<RequestLog>,
    /// The staff web inbox's sessions and login throttle.
    pub inbox: Arc<inbox::Inbox>,
    /// Where users reach this server (`--public-url`), when it is set.
    pub public_url: Option<String>,
}

/// The whole HTTP application.
pub fn router(app: AppState) -> Router {
    crate::operations::routes()
        .merge(inbox::routes())
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .route("/postman.json", get(ops::postman))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            context::track,
        ))
        .with_state(app)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}
