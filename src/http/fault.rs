//! The one step that applies the faults a tester added (SPEC §16.5), at
//! either stage of a Connector API request: `Before` its operation runs, and
//! `After` it committed, on its answer. A request is answered by one fault at
//! most.

use super::AppState;
use super::context::RequestContext;
use super::error::ApiError;
use crate::domain::fault::{Aimed, Connection, Stage};

/// What a connection fault does to its request's connection, marked on the
/// response it stands for: the connection's service acts on it
/// (`http::serve`), and the request log notes that no answer went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionFault(pub Connection);

/// Applies the fault that picks `request` at `stage`, if one does: waits its
/// delay, and answers with its status or drops its connection if it says so
/// (`Err`); the request goes on otherwise.
pub async fn step(
    app: &AppState,
    context: &RequestContext,
    request: &Aimed<'_>,
    stage: Stage,
) -> Result<(), ApiError> {
    if context.fault().is_some() {
        return Ok(());
    }
    let Some(fault) = app.faults.pick(request, stage).await? else {
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
