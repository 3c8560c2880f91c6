//! The administration of the operator API (SPEC §17): enterprises,
//! integrations, access tokens and staff members over HTTP, through the same code as the
//! command line ([`crate::admin`]).

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use uuid::Uuid;

use crate::admin;
use crate::domain::admin::{
    AddAccessToken, AddEnterprise, AddIntegration, RevokeAccessTokens, TokenFilter,
    UpdateIntegration,
};
use crate::domain::emulator::NoParameters;
use crate::domain::staff::{AddStaff, StaffMember, UpdateStaff};
use crate::domain::time::Timestamp;
use crate::domain::webhook::WebhookUrl;
use crate::store::outbox::WebhookTarget;
use crate::store::{AccessTokenInfo, Enterprise, Integration, StoreError, TokenRef};

use super::auth::Staff;
use super::error::ApiError;
use super::{AppState, respond};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EnterpriseView {
    id: Uuid,
    name: String,
    created_utc: Timestamp,
}

impl From<Enterprise> for EnterpriseView {
    fn from(e: Enterprise) -> Self {
        Self {
            id: e.id,
            name: e.name,
            created_utc: e.created,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IntegrationView {
    id: Uuid,
    name: String,
    created_utc: Timestamp,
    /// Without its query string, user and password (its secrets).
    webhook_url: Option<String>,
    /// `On` when its webhooks are signed (the secret is never shown again).
    webhook_signing: &'static str,
    /// Whether `webhooks/pause` holds its deliveries.
    webhooks_paused: bool,
}

impl IntegrationView {
    fn of(i: Integration, target: &WebhookTarget) -> Self {
        Self {
            id: i.id,
            name: i.name,
            created_utc: i.created,
            webhook_url: i.webhook_url.as_deref().map(WebhookUrl::redacted),
            webhook_signing: if target.signing.secret.is_some() {
                "On"
            } else {
                "Off"
            },
            webhooks_paused: target.paused,
        }
    }
}

/// An integration as the administration shows it, with its webhook settings.
pub async fn integration_view(
    app: &AppState,
    integration: Integration,
) -> Result<IntegrationView, ApiError> {
    let target = app.store.webhook_target(integration.id).await?;
    Ok(IntegrationView::of(integration, &target))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TokenView {
    id: Uuid,
    integration_id: Uuid,
    /// The home enterprise first.
    enterprise_ids: Vec<Uuid>,
    created_utc: Timestamp,
    revoked_utc: Option<Timestamp>,
}

impl From<AccessTokenInfo> for TokenView {
    fn from(t: AccessTokenInfo) -> Self {
        Self {
            id: t.id,
            integration_id: t.integration_id,
            enterprise_ids: t.enterprises,
            created_utc: t.created,
            revoked_utc: t.revoked,
        }
    }
}

fn now(app: &AppState) -> Timestamp {
    Timestamp::truncate(app.clock.now())
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OneEnterprise {
    enterprise: EnterpriseView,
}

pub async fn enterprises_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddEnterprise>,
) -> Result<Response, ApiError> {
    let added = admin::add_enterprise(app.store.as_ref(), request.id, request.name, now(&app))
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => {
                ApiError::BadRequest("Id is already the id of an enterprise.".to_owned())
            }
            other => other.into(),
        })?;
    respond::json(&OneEnterprise {
        enterprise: added.into(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Enterprises {
    enterprises: Vec<EnterpriseView>,
}

pub async fn enterprises_get_all(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    let all = app.store.enterprises().await?;
    respond::json(&Enterprises {
        enterprises: all.into_iter().map(Into::into).collect(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddedIntegration {
    integration: IntegrationView,
    /// Shown this once.
    client_token: String,
}

pub async fn integrations_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddIntegration>,
) -> Result<Response, ApiError> {
    let (integration, client_token) = admin::add_integration(
        app.store.as_ref(),
        request.name,
        request.webhook_url,
        now(&app),
    )
    .await?;
    respond::json(&AddedIntegration {
        integration: IntegrationView::of(integration, &WebhookTarget::default()),
        client_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OneIntegration {
    pub integration: IntegrationView,
    /// A new signing secret, shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// Changes the name, the webhook URL or the signing; the signing last, so
/// that a refused name or URL changes nothing.
pub async fn integrations_update(
    State(app): State<AppState>,
    Staff { request }: Staff<UpdateIntegration>,
) -> Result<Response, ApiError> {
    let store = app.store.as_ref();
    let integration = admin::update_integration(
        store,
        request.integration_id,
        request.name,
        request.webhook_url,
    )
    .await?;
    let webhook_secret = match request.signing {
        Some(change) => {
            admin::set_signing(store, integration.id, change, app.clock.now_ms()).await?
        }
        None => None,
    };
    respond::json(&OneIntegration {
        integration: integration_view(&app, integration).await?,
        webhook_secret,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Integrations {
    integrations: Vec<IntegrationView>,
}

pub async fn integrations_get_all(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    let mut integrations = Vec::new();
    for integration in app.store.integrations().await? {
        integrations.push(integration_view(&app, integration).await?);
    }
    respond::json(&Integrations { integrations })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddedToken {
    token: TokenView,
    /// Shown this once.
    access_token: String,
}

pub async fn access_tokens_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddAccessToken>,
) -> Result<Response, ApiError> {
    let (token, access_token) = admin::add_access_token(
        app.store.as_ref(),
        request.integration_id,
        request.enterprises,
        now(&app),
    )
    .await?;
    respond::json(&AddedToken {
        token: token.into(),
        access_token,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tokens {
    access_tokens: Vec<TokenView>,
}

pub async fn access_tokens_get_all(
    State(app): State<AppState>,
    Staff { request }: Staff<TokenFilter>,
) -> Result<Response, ApiError> {
    let tokens =
        admin::access_tokens(app.store.as_ref(), request.integration_ids.as_deref()).await?;
    respond::json(&Tokens {
        access_tokens: tokens.into_iter().map(Into::into).collect(),
    })
}

/// Revokes every token named, once each is known to be active; an unknown or
/// revoked one is a 400, and then none is revoked.
pub async fn access_tokens_revoke(
    State(app): State<AppState>,
    Staff { request }: Staff<RevokeAccessTokens>,
) -> Result<Response, ApiError> {
    let tokens = admin::access_tokens(app.store.as_ref(), None).await?;
    let mut named = Vec::new();
    for (i, id) in request.ids.iter().enumerate() {
        match tokens.iter().find(|t| t.id == *id) {
            Some(token) if token.revoked.is_none() => {
                if !named.iter().any(|t: &AccessTokenInfo| t.id == *id) {
                    named.push(token.clone());
                }
            }
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "AccessTokenIds[{i}] is not the id of an active access token."
                )));
            }
        }
    }
    let at = now(&app);
    for token in &mut named {
        admin::revoke(app.store.as_ref(), TokenRef::Id(token.id), at).await?;
        token.revoked = Some(at);
    }
    respond::json(&Tokens {
        access_tokens: named.into_iter().map(Into::into).collect(),
    })
}

/// A staff member as the administration shows it (never a password or its
/// hash).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MemberView {
    id: Uuid,
    name: String,
    login: String,
    role: &'static str,
    /// Empty: every enterprise.
    enterprise_ids: Vec<Uuid>,
    disabled: bool,
    /// Whether the member still has to choose a password (a one-time one
    /// was given).
    must_change_password: bool,
    created_utc: String,
}

impl From<StaffMember> for MemberView {
    fn from(m: StaffMember) -> Self {
        Self {
            id: m.id,
            name: m.name,
            login: m.login,
            role: m.role.as_str(),
            enterprise_ids: m.scope.ids().to_vec(),
            disabled: m.disabled,
            must_change_password: m.must_change_password,
            created_utc: chrono::DateTime::<chrono::Utc>::from_timestamp_millis(m.created_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AddedMember {
    member: MemberView,
    /// The one-time password, shown this once.
    password: String,
}

pub async fn staff_add(
    State(app): State<AppState>,
    Staff { request }: Staff<AddStaff>,
) -> Result<Response, ApiError> {
    let (member, password) =
        admin::add_staff(app.store.as_ref(), request, app.real_clock.now_ms()).await?;
    respond::json(&AddedMember {
        member: member.into(),
        password,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Members {
    members: Vec<MemberView>,
}

pub async fn staff_get_all(
    State(app): State<AppState>,
    Staff {
        request: NoParameters,
    }: Staff<NoParameters>,
) -> Result<Response, ApiError> {
    let members = app.store.staff().await?;
    respond::json(&Members {
        members: members.into_iter().map(Into::into).collect(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OneMember {
    member: MemberView,
}

pub async fn staff_update(
    State(app): State<AppState>,
    Staff { request }: Staff<UpdateStaff>,
) -> Result<Response, ApiError> {
    let member = admin::update_staff(
        app.store.as_ref(),
        request.login,
        request.change,
        app.real_clock.now_ms(),
    )
    .await?;
    respond::json(&OneMember {
        member: member.into(),
    })
}
