//! The emulator tools of the operator API: the manual clock, reset and faults.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::ManualClock;
use crate::domain::emulator::{AdvanceClock, NoParameters, Reset, SetClock};
use crate::domain::time::Timestamp;
use uuid::Uuid;

use crate::domain::fault::{AddFault, DeleteFaults, Fault, MAX_FAULTS};
use crate::store::{ClockMove, Missing, ResetScope, StoreError};

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
    respond::json(&Deleted { deleted })
}
