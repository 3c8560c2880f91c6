//! The emulator tools of the operator API (SPEC §16): the manual clock and
//! reset here; faults, the request log and the webhook delivery log in their
//! own modules.

mod faults;
mod requests;
mod webhooks;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::{LATEST_MS, ManualClock};
use crate::domain::emulator::{AdvanceClock, NoParameters, Reset, SetClock};
use crate::domain::time::Timestamp;
use crate::store::{ClockMove, ResetScope};

use super::auth::Staff;
use super::error::ApiError;
use super::{AppState, respond};
pub use faults::{faults_add, faults_delete, faults_get_all};
pub use requests::{empty_request_logs, requests_delete, requests_get_all};
pub use webhooks::{
    webhooks_get_all, webhooks_pause, webhooks_resume, webhooks_retry, webhooks_test,
};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ClockView {
    now_utc: Timestamp,
    mode: &'static str,
}

fn clock_view(app: &AppState) -> ClockView {
    ClockView {
        now_utc: Timestamp::truncate(app.clock.now()),
        mode: if app.clock.manual().is_some() {
            "Manual"
        } else {
            "System"
        },
    }
}

pub async fn clock_get(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    respond::json(&clock_view(&app))
}

/// The manual clock, or the 400 of a server on the system clock.
fn manual(app: &AppState) -> Result<&ManualClock, ApiError> {
    app.clock.manual().ok_or_else(|| {
        ApiError::BadRequest(
            "The clock is the system's: start the server with --clock manual to set or advance it."
                .to_owned(),
        )
    })
}

fn utc(ms: i64) -> Timestamp {
    Timestamp::truncate(DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default())
}

/// Shows a move of the stored clock on this node's clock, or why there was none.
fn shown(app: &AppState, clock: &ManualClock, moved: ClockMove) -> Result<Response, ApiError> {
    match moved {
        ClockMove::Moved(state) => {
            clock.moved(state.version, state.now_ms);
            respond::json(&clock_view(app))
        }
        ClockMove::Newer { newest_ms } => Err(ApiError::BadRequest(format!(
            "NowUtc is earlier than what is stored, which goes up to {}: the clock goes back \
             only when nothing stored is newer (reset first, then set it).",
            utc(newest_ms)
        ))),
        ClockMove::Beyond { now_ms } => Err(ApiError::BadRequest(format!(
            "Seconds would move the clock past {}, the latest time it shows; it shows {}.",
            utc(LATEST_MS),
            utc(now_ms)
        ))),
        ClockMove::NoClock => Err(ApiError::Internal(anyhow::anyhow!(
            "the server runs a manual clock but the database has none"
        ))),
    }
}

pub async fn clock_set(
    State(app): State<AppState>,
    Staff { request }: Staff<SetClock>,
) -> Result<Response, ApiError> {
    let clock = manual(&app)?;
    let moved = app.store.set_clock(request.now.timestamp_millis()).await?;
    shown(&app, clock, moved)
}

pub async fn clock_advance(
    State(app): State<AppState>,
    Staff { request }: Staff<AdvanceClock>,
) -> Result<Response, ApiError> {
    let clock = manual(&app)?;
    let moved = app
        .store
        .advance_clock(request.seconds * 1000, LATEST_MS)
        .await?;
    shown(&app, clock, moved)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Removed {
    message_threads: u64,
    messages: u64,
    webhook_deliveries: u64,
}

/// Removes content in a scope; with `Faults` every fault, with `RequestLog`
/// every node's request log: both together make the server as it was when
/// it started, between two tests.
pub async fn reset(
    State(app): State<AppState>,
    Staff { request }: Staff<Reset>,
) -> Result<Response, ApiError> {
    let counts = app
        .store
        .reset(ResetScope {
            integrations: request.integration_ids,
            enterprises: request.enterprise_ids,
            faults: request.faults,
        })
        .await?;
    if request.faults {
        app.faults.changed();
        app.faults.reload().await?;
    }
    if request.request_log {
        empty_request_logs(&app).await?;
    }
    respond::json(&Removed {
        message_threads: counts.threads,
        messages: counts.messages,
        webhook_deliveries: counts.deliveries,
    })
}
