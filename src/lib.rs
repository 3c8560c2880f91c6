//! switchboard: guest messaging between a hotel and the apps its guests use,
//! speaking the customer-messaging part of the Mews Connector API.
//!
//! # Layout
//!
//! - [`operations`]: the one table of the API's operations, from which the
//!   router, the body checks, the names faults and the request log take, the
//!   Postman collection and the OpenAPI document are derived.
//! - [`cli`]: the command line, one module per group of verbs (`serve`,
//!   `enterprise`, `integration`, `token`, `webhooks`, `export`, `import`).
//! - [`server`]: `serve`, and [`server::compose`], where a node is put
//!   together (for `serve` and the tests alike): its shared state, the store's
//!   notices wired to what hears them, and the webhook worker.
//! - [`http`]: the HTTP layer. `http::auth` is the one authentication
//!   module: its extractors hand each handler its caller and its parsed
//!   request (`Call<R>` for the Connector API, which a handler sends to the
//!   store with `Call::send`; `Staff<R>` for the operator API);
//!   `http::fault` applies faults at either stage; `http::error` maps every
//!   error to the JSON error body in one place; one module per group of
//!   operations; the OpenAPI document and the Postman collection;
//!   `http::inbox`, the staff web inbox (its own extractors and error type,
//!   pages, sessions, live updates).
//! - [`domain`]: validated request types (each implements
//!   [`domain::Request`]) and the rules of the API: texts, datetimes and
//!   intervals, `Limitation` and `Count`, scope, threads, messages, faults,
//!   webhooks.
//! - [`store`]: small traits along the product's seams (see its own
//!   documentation), the algorithms and row mappings both backends share,
//!   and one folder per backend (`store::sqlite`, `store::postgres`),
//!   mirrored file for file, each trait's impl beside its SQL.
//! - [`webhooks`]: the worker that delivers `MessageAdded` events.
//! - [`clock`]: every time read: the data clock (system or manual) and real
//!   time (rate windows, sessions, durations), both injectable.
//! - [`faults`]: the faults this node applies, for testers (SPEC §16.5);
//!   [`grants`]: the grants this node saw its tokens admitted with;
//!   [`request_log`]: the node's request log (SPEC §16.4).
//! - [`ratelimit`], [`tokens`], [`metrics`], [`demo`]: the request limit,
//!   secret tokens, Prometheus metrics and the demo tenant.

pub mod admin;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod domain;
pub mod faults;
pub mod fidelity;
pub mod grants;
pub mod http;
pub mod metrics;
pub mod operations;
pub mod passwords;
pub mod ratelimit;
pub mod request_log;
pub mod server;
pub mod store;
pub mod tokens;
pub mod webhooks;
