//! The webhook delivery log (SPEC §16.6): `webhooks/getAll` and
//! `webhooks/retry`.

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::emulator::{DeliveryFilter, ResendDeliveries};
use crate::domain::webhook::DeliveryState;
use crate::http::auth::Staff;
use crate::http::error::ApiError;
use crate::http::{AppState, respond};
use crate::store::{DeliveryQuery, DeliveryView};

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
