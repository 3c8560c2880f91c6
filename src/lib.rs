//! switchboard: guest messaging between a hotel and the apps its guests use,
//! speaking the customer-messaging part of the Mews Connector API.
//!
//! # Layout
//!
//! - [`cli`]: the command line (`serve`, `enterprise`, `integration`, `token`,
//!   `webhooks`, `export`, `import`).
//! - [`server`]: `serve`: opens the store, seeds the demo tenant, runs HTTP and
//!   the webhook worker until SIGINT/SIGTERM.
//! - [`http`]: routing; `http::auth`, the one authentication module, whose
//!   extractors (`Call<R>`, `Staff<R>`) hand each handler its caller and its
//!   parsed request (a Connector API operation may travel with its request's
//!   admission: `store::admission`); the error type, which also turns what the store did not
//!   find into an answer; one module per group of operations; the OpenAPI
//!   document; `http::inbox`, the staff web inbox (pages, sessions, live
//!   updates).
//! - [`domain`]: validated request types and the rules of the API: texts,
//!   datetimes and intervals, `Limitation`, scope, threads, messages.
//! - [`store`]: small traits along the product's seams (`Content`, `Outbox`,
//!   `Tenants`, `RateLimits`, `Emulator`, `Faults`, `Inbox`, and `Store` for all of them), the algorithms both
//!   backends share (`store::content`: page bounds and cursors;
//!   `store::outbox`: the claim loop), and one folder per backend
//!   (`store::sqlite`, `store::postgres`), mirrored file for file and holding
//!   only SQL, each with its own migrations under `migrations/`.
//! - [`webhooks`]: the worker that delivers `MessageAdded` events.
//! - [`clock`]: the one clock every part reads (tests move a manual one).
//! - [`faults`]: the faults this node applies, for testers (SPEC §16.5);
//!   [`grants`]: the grants this node saw its tokens admitted with;
//!   [`requests`]: the node's request log (SPEC §16.4).
//! - [`ratelimit`], [`tokens`], [`metrics`], [`demo`]: the request limit,
//!   secret tokens, Prometheus metrics and the demo tenant.

pub mod cli;
pub mod clock;
pub mod demo;
pub mod domain;
pub mod faults;
pub mod grants;
pub mod http;
pub mod metrics;
pub mod operations;
pub mod ratelimit;
pub mod request_log;
pub mod server;
pub mod store;
pub mod tokens;
pub mod webhooks;
