//! switchboard: guest messaging between a hotel and the apps its guests use,
//! speaking the customer-messaging part of the Mews Connector API.
//!
//! # Layout
//!
//! - [`cli`]: the command line (`serve`, `enterprise`, `integration`, `token`,
//!   `webhooks`).
//! - [`server`]: `serve`: opens the store, seeds the demo tenant, runs HTTP until
//!   SIGINT/SIGTERM.
//! - [`http`]: routing, the JSON body extractor, authentication and rate limit,
//!   the error type and its JSON body, one module per group of operations.
//! - [`domain`]: validated request types and the rules of SPEC.md: texts,
//!   datetimes and intervals, pagination, scope, threads.
//! - [`store`]: the [`store::Store`] trait and one module per backend
//!   (`store::sqlite`, `store::postgres`), each with its own migrations under
//!   `migrations/`; `store::outbox` holds what both share of webhook planning.
//! - [`webhooks`]: the worker that delivers `MessageAdded` events.
//! - [`ratelimit`], [`tokens`], [`clock`], [`metrics`], [`openapi`], [`demo`]:
//!   the request limit, secret tokens, time, Prometheus metrics, the OpenAPI
//!   document and the demo tenant.

pub mod cli;
pub mod clock;
pub mod demo;
pub mod domain;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod server;
pub mod store;
pub mod tokens;
pub mod webhooks;
