//! `faults/add`, `faults/getAll` and `faults/delete` (SPEC §16.5).

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use crate::domain::emulator::NoParameters;
use crate::domain::fault::{AddFault, DeleteFaults, Fault, MAX_FAULTS};
use crate::http::auth::Staff;
use crate::http::error::ApiError;
use crate::http::{AppState, respond};
use crate::store::{Missing, StoreError};

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
