//! Integration tests: each starts the real server on port 0 with a fresh
//! database and talks HTTP to it. Modules follow the sections of SPEC.md.

mod helpers;

mod admin;
mod auth;
mod bench_smoke;
mod chaos;
mod conversation;
mod emulator;
mod export;
mod faults;
mod fidelity;
mod fuzz_corpus;
pub mod inbox;
mod intervals;
mod isolation;
mod limits;
mod messages;
mod nodes;
mod openapi;
mod operator;
mod ops;
pub mod outage;
mod pagination;
pub mod process;
mod rate_limit;
mod readme;
mod receiver;
mod request_log;
mod requests;
pub mod staff;
mod store;
mod team;
mod threads_add;
mod threads_get_all;
mod unreadable;
mod webhook_trust;
mod webhooks;
