//! The one step that applies the faults a tester added (SPEC §16.5), at
//! either stage of a Connector API request: `Before` its operation runs, and
//! `After` it committed, on its answer. A request is answered by one fault at
//! most.

use uuid::Uuid;

use super::AppState;
use super::context::RequestContext;
use super::error::ApiError;
use crate::domain::fault::Stage;
use crate::operations::Operation;

/// Applies the fault that picks this request of `integration` at `stage`,
/// if one does: waits its delay, and answers with its status if it has one
/// (`Err`); the request goes on otherwise.
pub async fn step(
    app: &AppState,
    context: &RequestContext,
    operation: Operation,
    integration: Uuid,
    stage: Stage,
) -> Result<(), ApiError> {
    if context.fault().is_some() {
        return Ok(());
    }
    let Some(fault) = app.faults.pick(operation, integration, stage).await? else {
        return Ok(());
    };
    context.set_fault(fault.id);
    if fault.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms.into())).await;
    }
    match ApiError::fault(&fault) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
