//! The HTTP layer: routing, the request body extractor, authentication, error
//! mapping and the handlers of each operation.

mod auth;
mod body;
pub mod context;
pub mod error;
mod ops;
mod respond;
mod threads;

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, get, post};

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimit;
use crate::store::Store;
use error::ApiError;

/// The operations of SPEC §1 that this server implements, by path.
pub mod paths {
    pub const THREADS_GET_ALL: &str = "/api/connector/v1/messageThreads/getAll";
    pub const THREADS_ADD: &str = "/api/connector/v1/messageThreads/add";

    /// Every API operation (all `POST`).
    pub const OPERATIONS: &[&str] = &[THREADS_GET_ALL, THREADS_ADD];
}

/// Settings of the API that the command line controls.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rate_limit: RateLimit::default(),
            max_body_bytes: 1024 * 1024,
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
}

/// The whole HTTP application.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route(paths::THREADS_GET_ALL, operation(threads::get_all))
        .route(paths::THREADS_ADD, operation(threads::add))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
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
