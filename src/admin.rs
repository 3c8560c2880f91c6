//! Administration of tenants: enterprises, integrations and their access
//! tokens. The one implementation that the command line (`enterprise`,
//! `integration`, `token`) and the operator API's administration (SPEC §17)
//! share: the same checks, the same secrets made and shown once.

use uuid::Uuid;

use crate::domain::admin::{SigningChange, TokenScope};
use crate::domain::staff::{AddStaff, Scope, StaffChange, StaffMember};
use crate::domain::text::ShortText;
use crate::domain::time::Timestamp;
use crate::domain::webhook::WebhookUrl;
use crate::passwords;
use crate::store::{
    AccessTokenInfo, Enterprise, Integration, IntegrationChange, NewAccessToken, NewIntegration,
    Store, StoreError, StoreResult, TokenRef,
};
use crate::tokens::{self, TokenHash};
use crate::webhooks::signing;

/// A secret made now: shown this once, stored only as its digest.
pub type Secret = String;

/// A name as kept: without the spaces around it (both the CLI and the API
/// have checked that it is not only whitespace).
fn kept(name: ShortText) -> String {
    let name = name.into_string();
    match name.trim() {
        trimmed if trimmed.len() == name.len() => name,
        trimmed => trimmed.to_owned(),
    }
}

fn new_secret() -> StoreResult<Secret> {
    tokens::generate().map_err(StoreError::Internal)
}

pub async fn add_enterprise(
    store: &dyn Store,
    id: Option<Uuid>,
    name: ShortText,
    now: Timestamp,
) -> StoreResult<Enterprise> {
    let enterprise = Enterprise {
        id: id.unwrap_or_else(Uuid::new_v4),
        name: kept(name),
        created: now,
    };
    store.add_enterprise(enterprise.clone()).await?;
    Ok(enterprise)
}

/// A new integration and its ClientToken.
pub async fn add_integration(
    store: &dyn Store,
    name: ShortText,
    webhook_url: Option<WebhookUrl>,
    now: Timestamp,
) -> StoreResult<(Integration, Secret)> {
    let token = new_secret()?;
    let integration = Integration {
        id: Uuid::new_v4(),
        name: kept(name),
        created: now,
        webhook_url: webhook_url.map(|u| u.as_str().to_owned()),
    };
    store
        .add_integration(NewIntegration {
            integration: integration.clone(),
            client_token: TokenHash::of(&token),
        })
        .await?;
    Ok((integration, token))
}

/// Changes an integration's name or webhook URL (`Some(None)` clears it).
pub async fn update_integration(
    store: &dyn Store,
    id: Uuid,
    name: Option<ShortText>,
    webhook_url: Option<Option<WebhookUrl>>,
) -> StoreResult<Integration> {
    let change = IntegrationChange {
        name: name.map(kept),
        webhook_url: webhook_url.map(|url| url.map(|u| u.as_str().to_owned())),
    };
    store.update_integration(id, change).await
}

/// A new access token of `integration` for `enterprises`, and the token.
pub async fn add_access_token(
    store: &dyn Store,
    integration: Uuid,
    enterprises: TokenScope,
    now: Timestamp,
) -> StoreResult<(AccessTokenInfo, Secret)> {
    let token = new_secret()?;
    let info = AccessTokenInfo {
        id: Uuid::new_v4(),
        integration_id: integration,
        enterprises: enterprises.into_ids(),
        created: now,
        revoked: None,
    };
    store
        .add_access_token(NewAccessToken {
            info: info.clone(),
            token: TokenHash::of(&token),
        })
        .await?;
    Ok((info, token))
}

/// The access tokens of these integrations (all when `None`), oldest first.
pub async fn access_tokens(
    store: &dyn Store,
    integrations: Option<&[Uuid]>,
) -> StoreResult<Vec<AccessTokenInfo>> {
    let mut tokens = store.access_tokens().await?;
    if let Some(ids) = integrations {
        tokens.retain(|t| ids.contains(&t.integration_id));
    }
    Ok(tokens)
}

pub async fn revoke(store: &dyn Store, token: TokenRef, now: Timestamp) -> StoreResult<()> {
    store.revoke_access_token(token, now).await
}

/// Turns an integration's webhook signing off, or gives it a new secret
/// (the one it replaces signs beside it for a day of the server's clock);
/// the new secret as it is shown, this once.
pub async fn set_signing(
    store: &dyn Store,
    integration: Uuid,
    change: SigningChange,
    now_ms: i64,
) -> StoreResult<Option<Secret>> {
    match change {
        SigningChange::Off => {
            store.set_signing(integration, None, now_ms).await?;
            Ok(None)
        }
        SigningChange::NewSecret => {
            let secret = signing::new_secret().map_err(StoreError::Internal)?;
            let shown = signing::shown(&secret);
            store
                .set_signing(integration, Some(secret), now_ms + signing::ROTATION_MS)
                .await?;
            Ok(Some(shown))
        }
    }
}

/// A new staff member with a one-time password (shown this once; the member
/// sets their own at first login). Every enterprise of its scope must exist.
pub async fn add_staff(
    store: &dyn Store,
    request: AddStaff,
    now_ms: i64,
) -> StoreResult<(StaffMember, Secret)> {
    check_scope(store, &request.scope).await?;
    let password = passwords::one_time().map_err(StoreError::Internal)?;
    let hash = passwords::hash(password.clone())
        .await
        .map_err(StoreError::Internal)?;
    let member = StaffMember {
        id: Uuid::new_v4(),
        name: kept(request.name),
        login: request.login,
        role: request.role,
        scope: request.scope,
        disabled: false,
        must_change_password: true,
        created_ms: now_ms,
        sessions_from_ms: 0,
    };
    store.add_staff(member.clone(), hash).await?;
    Ok((member, password))
}

/// Changes a member; disabling one ends its sessions at once, everywhere
/// (every session issued until `now_ms`, that millisecond included).
pub async fn update_staff(
    store: &dyn Store,
    login: String,
    change: StaffChange,
    now_ms: i64,
) -> StoreResult<StaffMember> {
    if let Some(scope) = &change.scope {
        check_scope(store, scope).await?;
    }
    store.update_staff(login, change, now_ms + 1).await
}

/// Gives a member a new password (their own, or a one-time one an admin
/// made): every session issued before `sessions_from_ms` ends.
pub async fn set_password(
    store: &dyn Store,
    member: Uuid,
    password: String,
    one_time: bool,
    now_ms: i64,
) -> StoreResult<()> {
    let hash = passwords::hash(password)
        .await
        .map_err(StoreError::Internal)?;
    store.set_password(member, hash, one_time, now_ms).await
}

async fn check_scope(store: &dyn Store, scope: &Scope) -> StoreResult<()> {
    let known: Vec<Uuid> = store
        .enterprises()
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    match scope.ids().iter().find(|id| !known.contains(id)) {
        Some(id) => Err(crate::store::Missing::Enterprise(*id).into()),
        None => Ok(()),
    }
}
