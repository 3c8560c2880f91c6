//! The HTTP layer: routing, the request body extractor, authentication, error
//! mapping and the handlers of each operation.

mod auth;
mod body;
pub mod context;
mod emulator;
pub mod error;
pub mod inbox;
mod messages;
pub mod openapi;
mod operator;
mod ops;
pub mod postman;
mod respond;
pub mod serve;
mod threads;
mod unparsed;

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};

use crate::clock::Clock;
use crate::faults::FaultBook;
use crate::grants::GrantBook;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::requests::RequestLog;
use crate::store::Store;
use crate::tokens::TokenHash;
use crate::webhooks::Wake;
use error::ApiError;

pub use body::check_request;

/// The operations this server implements, by path.
pub mod paths {
    pub const THREADS_GET_ALL: &str = "/api/connector/v1/messageThreads/getAll";
    pub const THREADS_ADD: &str = "/api/connector/v1/messageThreads/add";
    pub const MESSAGES_GET_ALL: &str = "/api/connector/v1/messages/getAll";
    pub const MESSAGES_ADD: &str = "/api/connector/v1/messages/add";
    pub const STAFF_THREADS_GET_ALL: &str = "/api/operator/v1/messageThreads/getAll";
    pub const STAFF_THREADS_UPDATE: &str = "/api/operator/v1/messageThreads/update";
    pub const STAFF_MESSAGES_GET_ALL: &str = "/api/operator/v1/messages/getAll";
    pub const STAFF_MESSAGES_ADD: &str = "/api/operator/v1/messages/add";
    pub const CLOCK_GET: &str = "/api/operator/v1/clock/get";
    pub const CLOCK_SET: &str = "/api/operator/v1/clock/set";
    pub const CLOCK_ADVANCE: &str = "/api/operator/v1/clock/advance";
    pub const RESET: &str = "/api/operator/v1/reset";
    pub const FAULTS_ADD: &str = "/api/operator/v1/faults/add";
    pub const FAULTS_GET_ALL: &str = "/api/operator/v1/faults/getAll";
    pub const FAULTS_DELETE: &str = "/api/operator/v1/faults/delete";
    pub const WEBHOOKS_GET_ALL: &str = "/api/operator/v1/webhooks/getAll";
    pub const WEBHOOKS_RETRY: &str = "/api/operator/v1/webhooks/retry";
    pub const REQUESTS_GET_ALL: &str = "/api/operator/v1/requests/getAll";

    /// Every API operation (all `POST`).
    pub const OPERATIONS: &[&str] = &[
        THREADS_GET_ALL,
        THREADS_ADD,
        MESSAGES_GET_ALL,
        MESSAGES_ADD,
        STAFF_THREADS_GET_ALL,
        STAFF_THREADS_UPDATE,
        STAFF_MESSAGES_GET_ALL,
        STAFF_MESSAGES_ADD,
        CLOCK_GET,
        CLOCK_SET,
        CLOCK_ADVANCE,
        RESET,
        FAULTS_ADD,
        FAULTS_GET_ALL,
        FAULTS_DELETE,
        WEBHOOKS_GET_ALL,
        WEBHOOKS_RETRY,
        REQUESTS_GET_ALL,
    ];

    /// The operations of the staff, authenticated by `Authorization: Bearer`.
    pub fn is_staff(path: &str) -> bool {
        path.starts_with("/api/operator/")
    }
}

/// Settings of the API that the command line controls.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
    /// Digest of the operator token of the staff API.
    pub operator_token: TokenHash,
}

impl Default for Settings {
    /// The documented defaults, with an operator token nobody knows.
    fn default() -> Self {
        Self {
            rate_limit: RateLimit::default(),
            max_body_bytes: 1024 * 1024,
            operator_token: TokenHash::of(&uuid::Uuid::new_v4().to_string()),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub settings: Settings,
    /// Wakes the webhook worker after a commit that added events.
    pub webhooks: Arc<Wake>,
    /// The faults this node applies.
    pub faults: Arc<FaultBook>,
    /// The grants this node saw its access tokens admitted with.
    pub grants: Arc<GrantBook>,
    /// This node's last Connector API requests.
    pub requests: Arc<RequestLog>,
    /// The staff web inbox's sessions and login throttle.
    pub inbox: Arc<inbox::Inbox>,
}

/// The whole HTTP application.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route(paths::THREADS_GET_ALL, operation(threads::get_all))
        .route(paths::THREADS_ADD, operation(threads::add))
        .route(paths::MESSAGES_GET_ALL, operation(messages::get_all))
        .route(paths::MESSAGES_ADD, operation(messages::add))
        .route(
            paths::STAFF_THREADS_GET_ALL,
            operation(operator::threads_get_all),
        )
        .route(
            paths::STAFF_THREADS_UPDATE,
            operation(operator::threads_update),
        )
        .route(
            paths::STAFF_MESSAGES_GET_ALL,
            operation(operator::messages_get_all),
        )
        .route(paths::STAFF_MESSAGES_ADD, operation(operator::messages_add))
        .route(paths::CLOCK_GET, operation(emulator::clock_get))
        .route(paths::CLOCK_SET, operation(emulator::clock_set))
        .route(paths::CLOCK_ADVANCE, operation(emulator::clock_advance))
        .route(paths::RESET, operation(emulator::reset))
        .route(paths::FAULTS_ADD, operation(emulator::faults_add))
        .route(paths::FAULTS_GET_ALL, operation(emulator::faults_get_all))
        .route(paths::FAULTS_DELETE, operation(emulator::faults_delete))
        .route(
            paths::WEBHOOKS_GET_ALL,
            operation(emulator::webhooks_get_all),
        )
        .route(paths::WEBHOOKS_RETRY, operation(emulator::webhooks_retry))
        .route(
            paths::REQUESTS_GET_ALL,
            operation(emulator::requests_get_all),
        )
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

/// An API operation: `POST` only; any other method gets 405 with `Allow: POST`.
fn operation<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler).fallback(method_not_allowed)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
