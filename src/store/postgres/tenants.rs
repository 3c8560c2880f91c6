//! Enterprises, integrations and their tokens in PostgreSQL, and the request
//! log of each token that every node shares (the rate limit).

use deadpool_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::internal;
use crate::domain::scope::AccessGrant;
use crate::domain::time::Timestamp;
use crate::store::tenants::{
    ENTERPRISE_COLUMNS, FIND_ACCESS, INTEGRATION_COLUMNS, TOKEN_COLUMNS, access_token, enterprise,
    integration, stored_access,
};
use crate::store::{
    AccessTokenInfo, Enterprise, Integration, IntegrationChange, Missing, NewAccessToken,
    NewIntegration, StoreError, StoreResult, TokenRef,
};
use crate::tokens::TokenHash;
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Tenants;

pub(super) fn unique(e: tokio_postgres::Error, conflict: impl FnOnce() -> String) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Conflict(conflict())
    } else {
        internal(e)
    }
}

pub async fn is_empty(client: &impl GenericClient) -> StoreResult<bool> {
    let row = client
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM enterprises) AND NOT EXISTS (SELECT 1 FROM integrations)",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(row.get(0))
}

/// A token's (`$1`) enterprises (`$2`, home first), in one statement: the
/// database copies them into the token's row (`enterprise_ids`, migration 6)
/// once a statement, and every request reads them from there.
pub const INSERT_TOKEN_ENTERPRISES: &str = "INSERT INTO access_token_enterprises (token_id, position, enterprise_id) \
     SELECT $1, (e.n - 1)::int, e.id FROM unnest($2::uuid[]) WITH ORDINALITY e(id, n)";

pub async fn find_access(
    client: &impl GenericClient,
    client_token: TokenHash,
    access_token: TokenHash,
) -> StoreResult<Option<AccessGrant>> {
    let row = client
        .query_opt(&format!("{FIND_ACCESS}$1"), &[&&access_token.0[..]])
        .await
        .map_err(internal)?;
    let Some(row) = row else { return Ok(None) };
    Ok(stored_access(&row)?.grant(client_token, access_token))
}

pub async fn add_enterprise(client: &impl GenericClient, e: &Enterprise) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO enterprises (id, name, created_utc) VALUES ($1, $2, $3)",
            &[&e.id, &e.name, &e.created.unix()],
        )
        .await
        .map_err(|err| unique(err, || format!("enterprise {} already exists", e.id)))?;
    Ok(())
}

pub async fn enterprises(client: &impl GenericClient) -> StoreResult<Vec<Enterprise>> {
    let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises ORDER BY created_utc, name");
    let rows = client.query(&sql, &[]).await.map_err(internal)?;
    rows.iter().map(enterprise).collect()
}

pub async fn add_integration(client: &impl GenericClient, new: &NewIntegration) -> StoreResult<()> {
    let i = &new.integration;
    client
        .execute(
            "INSERT INTO integrations (id, name, client_token_hash, created_utc, webhook_url) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &i.id,
                &i.name,
                &&new.client_token.0[..],
                &i.created.unix(),
                &i.webhook_url,
            ],
        )
        .await
        .map_err(|err| unique(err, || format!("integration {} already exists", i.id)))?;
    Ok(())
}

pub async fn integrations(client: &impl GenericClient) -> StoreResult<Vec<Integration>> {
    let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM integrations ORDER BY created_utc, name");
    let rows = client.query(&sql, &[]).await.map_err(internal)?;
    rows.iter().map(integration).collect()
}

pub async fn update_integration(
    client: &impl GenericClient,
    id: Uuid,
    change: &IntegrationChange,
) -> StoreResult<Integration> {
    let url = change.webhook_url.clone();
    let row = client
        .query_opt(
            &format!(
                "UPDATE integrations SET name = coalesce($2, name), \
                        webhook_url = CASE WHEN $3 THEN $4 ELSE webhook_url END \
                 WHERE id = $1 RETURNING {INTEGRATION_COLUMNS}"
            ),
            &[&id, &change.name, &url.is_some(), &url.flatten()],
        )
        .await
        .map_err(internal)?;
    match row {
        Some(row) => integration(&row),
        None => Err(Missing::Integration(id).into()),
    }
}

pub async fn add_access_token(
    client: &mut impl GenericClient,
    new: &NewAccessToken,
) -> StoreResult<()> {
    let t = &new.info;
    let tx = client.transaction().await.map_err(internal)?;
    if tx
        .query_opt(
            "SELECT 1 FROM integrations WHERE id = $1",
            &[&t.integration_id],
        )
        .await
        .map_err(internal)?
        .is_none()
    {
        return Err(Missing::Integration(t.integration_id).into());
    }
    for enterprise in &t.enterprises {
        if tx
            .query_opt("SELECT 1 FROM enterprises WHERE id = $1", &[enterprise])
            .await
            .map_err(internal)?
            .is_none()
        {
            return Err(Missing::Enterprise(*enterprise).into());
        }
    }
    tx.execute(
        "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc, revoked_utc) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &t.id,
            &t.integration_id,
            &&new.token.0[..],
            &t.created.unix(),
            &t.revoked.map(Timestamp::unix),
        ],
    )
    .await
    .map_err(|err| unique(err, || "that access token already exists".to_owned()))?;
    tx.execute(INSERT_TOKEN_ENTERPRISES, &[&t.id, &t.enterprises])
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

pub async fn access_tokens(client: &impl GenericClient) -> StoreResult<Vec<AccessTokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t ORDER BY t.created_utc, t.id");
    let rows = client.query(&sql, &[]).await.map_err(internal)?;
    rows.iter().map(access_token).collect()
}

pub async fn revoke_access_token(
    client: &impl GenericClient,
    token: TokenRef,
    at: Timestamp,
) -> StoreResult<()> {
    let changed = match token {
        TokenRef::Id(id) => {
            client
                .execute(
                    "UPDATE access_tokens SET revoked_utc = $2 WHERE id = $1 AND revoked_utc IS NULL",
                    &[&id, &at.unix()],
                )
                .await
        }
        TokenRef::Secret(hash) => {
            client
                .execute(
                    "UPDATE access_tokens SET revoked_utc = $2 WHERE token_hash = $1 AND revoked_utc IS NULL",
                    &[&&hash.0[..], &at.unix()],
                )
                .await
        }
    }
    .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::AccessToken.into());
    }
    Ok(())
}

#[async_trait]
impl Tenants for PostgresStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        is_empty(&self.client().await?).await
    }

    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>> {
        find_access(&self.client().await?, client_token, access_token).await
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()> {
        add_enterprise(&self.client().await?, &enterprise).await
    }

    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>> {
        enterprises(&self.client().await?).await
    }

    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()> {
        add_integration(&self.client().await?, &integration).await
    }

    async fn integrations(&self) -> StoreResult<Vec<Integration>> {
        integrations(&self.client().await?).await
    }

    async fn update_integration(
        &self,
        id: Uuid,
        change: IntegrationChange,
    ) -> StoreResult<Integration> {
        update_integration(&self.client().await?, id, &change).await
    }

    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        add_access_token(&mut self.client().await?, &token).await
    }

    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>> {
        access_tokens(&self.client().await?).await
    }

    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<()> {
        revoke_access_token(&self.client().await?, token, at).await
    }
}
