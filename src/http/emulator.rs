//! The emulator tools of the operator API: the manual clock, reset, faults and
//! the webhook delivery log.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::ManualClock;
use crate::domain::emulator::{
    AdvanceClock, DeliveryFilter, NoParameters, RequestFilter, ResendDeliveries, Reset, SetClock,
};
use crate::domain::time::Timestamp;
use crate::domain::webhook::DeliveryState;
use uuid::Uuid;

use crate::domain::fault::{AddFault, DeleteFaults, Fault, MAX_FAULTS};
use crate::request_log::{self, Logged};
use crate::store::{ClockMove, DeliveryQuery, DeliveryView, Missing, ResetScope, StoreError};

use super::auth::Staff;
use super::error::ApiError;
use super::{AppState, respond};

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

/// Shows a move of the stored clock on this node's clock.
fn shown(app: &AppState, clock: &ManualClock, moved: ClockMove) -> Result<Response, ApiError> {
    match moved {
        ClockMove::Moved { now_ms } => {
            clock.jump_to(now_ms);
            respond::json(&clock_view(app))
        }
        ClockMove::Backward { now_ms } => {
            clock.jump_to(now_ms);
            let now = DateTime::<Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
            Err(ApiError::BadRequest(format!(
                "NowUtc must not be earlier than the clock, which shows {}: it only goes forward.",
                Timestamp::truncate(now)
            )))
        }
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
    let moved = app.store.advance_clock(request.seconds * 1000).await?;
    shown(&app, clock, moved)
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Removed {
    message_threads: u64,
    messages: u64,
    webhook_deliveries: u64,
}

pub async fn reset(
    State(app): State<AppState>,
    Staff { request }: Staff<Reset>,
) -> Result<Response, ApiError> {
    let counts = app
        .store
        .reset(ResetScope {
            integrations: request.integration_ids,
            enterprises: request.enterprise_ids,
        })
        .await?;
    respond::json(&Removed {
        message_threads: counts.threads,
        messages: counts.messages,
        webhook_deliveries: counts.deliveries,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FaultList {
    faults: Vec<Fault>,
}

pub async fn faults_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddFault>,
) -> Result<Response, ApiError> {
    if let Some(integration) = request.integration_id
        && !app
            .store
            .integrations()
            .await?
            .iter()
            .any(|i| i.id == integration)
    {
        return Err(StoreError::from(Missing::Integration(integration)).into());
    }
    if app.store.faults().await?.len() >= MAX_FAULTS {
        return Err(ApiError::BadRequest(format!(
            "There are {MAX_FAULTS} faults already, the most kept at once: delete some first."
        )));
    }
    let fault = request.into_fault(Uuid::new_v4(), app.clock.now_ms());
    app.store.add_fault(fault.clone()).await?;
    app.faults.changed();
    // In force on this node before the answer.
    app.faults.reload().await?;
    respond::json(&FaultList {
        faults: vec![fault],
    })
}

/// Every fault, as the database keeps them; this node applies them from now.
pub async fn faults_get_all(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    let faults = app.faults.reload().await?;
    respond::json(&FaultList {
        faults: faults.as_ref().clone(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Deleted {
    deleted: u64,
}

/// Deletes the faults named (all without `FaultIds`); ids of no fault are
/// skipped, so deleting twice is harmless.
pub async fn faults_delete(
    State(app): State<AppState>,
    Staff { request }: Staff<DeleteFaults>,
) -> Result<Response, ApiError> {
    let deleted = app.store.delete_faults(request.ids).await?;
    app.faults.changed();
    app.faults.reload().await?;
    respond::json(&Deleted { deleted })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttemptView {
    started_utc: String,
    duration_ms: i64,
    status: Option<u16>,
    error: Option<String>,
    response: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeliveryLogView {
    id: Uuid,
    integration_id: Uuid,
    enterprise_id: Uuid,
    state: &'static str,
    message_ids: Vec<Uuid>,
    created_utc: String,
    next_attempt_utc: Option<String>,
    attempts: Vec<AttemptView>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeliveryLogPage {
    webhook_deliveries: Vec<DeliveryLogView>,
    cursor: Option<Uuid>,
}

/// Milliseconds since the epoch as the delivery log shows them: UTC, to the
/// millisecond (attempts a few milliseconds apart stay apart).
fn millis_utc(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl From<DeliveryView> for DeliveryLogView {
    fn from(d: DeliveryView) -> Self {
        let state = d.state;
        Self {
            id: d.id,
            integration_id: d.integration_id,
            enterprise_id: d.enterprise_id,
            state: state.name(),
            message_ids: d.message_ids,
            created_utc: millis_utc(d.created_ms),
            next_attempt_utc: (state == DeliveryState::Pending)
                .then(|| millis_utc(d.next_attempt_ms)),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    started_utc: millis_utc(a.started_ms),
                    duration_ms: a.duration_ms,
                    status: a.status,
                    error: a.error,
                    response: a.response,
                })
                .collect(),
        }
    }
}

/// The webhook delivery log: deliveries newest first, each with its events
/// and every attempt.
pub async fn webhooks_get_all(
    State(app): State<AppState>,
    Staff { request }: Staff<DeliveryFilter>,
) -> Result<Response, ApiError> {
    let deliveries = app
        .store
        .delivery_page(DeliveryQuery {
            integrations: request.integration_ids,
            states: request.states,
            count: request.limitation.count,
            after: request.limitation.cursor,
        })
        .await?;
    let cursor = deliveries.last().map(|d| d.id);
    respond::json(&DeliveryLogPage {
        webhook_deliveries: deliveries.into_iter().map(Into::into).collect(),
        cursor,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Resent {
    webhook_delivery_ids: Vec<Uuid>,
}

/// Sends these deliveries again now, whatever their state, with a full set of
/// attempts; answers the ids of those there were.
pub async fn webhooks_retry(
    State(app): State<AppState>,
    Staff { request }: Staff<ResendDeliveries>,
) -> Result<Response, ApiError> {
    let ids = app.store.resend_deliveries(request.ids).await?;
    app.webhooks.now();
    respond::json(&Resent {
        webhook_delivery_ids: ids,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RequestPage {
    requests: Vec<Logged>,
    cursor: Option<Uuid>,
}

/// This node's request log, newest first.
pub async fn requests_get_all(
    State(app): State<AppState>,
    Staff { request }: Staff<RequestFilter>,
) -> Result<Response, ApiError> {
    let page = app
        .requests
        .page(&request_log::Filter {
            integrations: request.integration_ids,
            operations: request.operations,
            statuses: request.statuses,
            count: request.limitation.count.usize(),
            after: request.limitation.cursor,
        })
        .map_err(|_| {
            ApiError::BadRequest(
                "Limitation.Cursor is not the id of a request in this node's log (the log keeps \
                 the last --request-log requests; older ones are gone)."
                    .to_owned(),
            )
        })?;
    let cursor = page.last().map(|l| l.request_id);
    respond::json(&RequestPage {
        requests: page,
        cursor,
    })
}
