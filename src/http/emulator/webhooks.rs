//! The webhook delivery log (SPEC §16.6): `webhooks/getAll` and
//! `webhooks/retry`; and `webhooks/test`, `webhooks/pause` and
//! `webhooks/resume` (SPEC §11).

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use serde_json::value::RawValue;

use crate::domain::admin::IntegrationRef;
use crate::domain::emulator::{DeliveryFilter, ResendDeliveries};
use crate::domain::webhook::{DeliveryState, Payload};
use crate::http::admin::{OneIntegration, integration_view};
use crate::http::auth::Staff;
use crate::http::error::ApiError;
use crate::http::{AppState, respond};
use crate::store::{Attempt, DeliveryQuery, DeliveryView};
use crate::webhooks::{Outgoing, Sent};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttemptView {
    started_utc: String,
    duration_ms: i64,
    status: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    /// The body the attempt sent, as JSON, exactly (null for attempts made
    /// before bodies were kept).
    request: Option<Box<RawValue>>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            started_utc: millis_utc(a.started_ms),
            duration_ms: a.duration_ms,
            status: a.status,
            error: a.error,
            response: a.response,
            request: a.body.and_then(|body| RawValue::from_string(body).ok()),
        }
    }
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
            attempts: d.attempts.into_iter().map(Into::into).collect(),
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
struct Tested {
    webhook_id: Uuid,
    attempt: AttemptView,
}

/// Sends the integration's receiver one request of the usual shape, with
/// no events, signed as its deliveries are, and answers how it went at once
/// (without a webhook URL: an attempt that failed with `NoUrl`, as a
/// delivery's would). Nothing is stored: it is no delivery.
pub async fn webhooks_test(
    State(app): State<AppState>,
    Staff { request }: Staff<IntegrationRef>,
) -> Result<Response, ApiError> {
    let integration = request.integration_id;
    let target = app.store.webhook_target(integration).await?;
    // The home enterprise of its first active token, as a real delivery
    // would name one of its enterprises.
    let enterprise_id = crate::admin::access_tokens(app.store.as_ref(), Some(&[integration]))
        .await?
        .into_iter()
        .find(|t| t.revoked.is_none())
        .and_then(|t| t.enterprises.first().copied())
        .unwrap_or_default();
    let body = serde_json::to_vec(&Payload {
        enterprise_id,
        integration_id: integration,
        events: Vec::new(),
    })
    .map_err(|e| ApiError::Internal(e.into()))?;
    let webhook_id = Uuid::new_v4();
    let now_ms = app.clock.now_ms();
    let started = app.real_clock.instant();
    let secrets = target.signing.at(now_ms);
    let sent = match &target.url {
        Some(url) => {
            app.webhook_sender
                .send(&Outgoing {
                    url,
                    id: webhook_id.to_string(),
                    body: body.clone(),
                    secrets: &secrets,
                })
                .await
        }
        None => Sent::failed("NoUrl", String::new()),
    };
    let duration = app.real_clock.instant().saturating_duration_since(started);
    let attempt = Attempt {
        started_ms: now_ms,
        duration_ms: i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
        status: sent.status,
        error: sent.failure.map(|(kind, _)| kind.to_owned()),
        response: sent.response,
        body: Some(String::from_utf8_lossy(&body).into_owned()),
    };
    respond::json(&Tested {
        webhook_id,
        attempt: attempt.into(),
    })
}

/// Holds the integration's deliveries (its events are still stored).
pub async fn webhooks_pause(
    State(app): State<AppState>,
    Staff { request }: Staff<IntegrationRef>,
) -> Result<Response, ApiError> {
    paused(app, request.integration_id, true).await
}

/// Lets the integration's held deliveries go, oldest first.
pub async fn webhooks_resume(
    State(app): State<AppState>,
    Staff { request }: Staff<IntegrationRef>,
) -> Result<Response, ApiError> {
    paused(app, request.integration_id, false).await
}

async fn paused(app: AppState, integration: Uuid, paused: bool) -> Result<Response, ApiError> {
    app.store.set_webhooks_paused(integration, paused).await?;
    app.webhooks.now();
    let integration = app
        .store
        .integrations()
        .await?
        .into_iter()
        .find(|i| i.id == integration)
        .ok_or(crate::store::StoreError::from(
            crate::store::Missing::Integration(integration),
        ))?;
    respond::json(&OneIntegration {
        integration: integration_view(&app, integration).await?,
        webhook_secret: None,
    })
}
