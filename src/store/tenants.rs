//! Enterprises, integrations and their tokens: the [`Tenants`] seam, and the
//! credential check both backends share.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::row::Row;
use crate::domain::scope::AccessGrant;
use crate::domain::time::Timestamp;
use crate::tokens::TokenHash;

#[async_trait]
pub trait Tenants: Send + Sync {
    /// True when the database holds no enterprise and no integration yet.
    async fn is_empty(&self) -> StoreResult<bool>;
    /// The grant of an access token, if both tokens are known, the access token is
    /// not revoked, and it belongs to the client token's integration.
    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>>;
    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()>;
    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>>;
    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()>;
    async fn integrations(&self) -> StoreResult<Vec<Integration>>;
    /// Changes an integration's name or webhook URL; the integration as it
    /// is now ([`super::Missing::Integration`] when there is none).
    async fn update_integration(
        &self,
        id: Uuid,
        change: IntegrationChange,
    ) -> StoreResult<Integration>;
    /// Adds a token ([`super::Missing`] names an integration or enterprise that
    /// does not exist).
    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()>;
    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>>;
    /// Revokes an active token ([`super::Missing::AccessToken`] if there is none).
    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<()>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    pub id: Uuid,
    pub name: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: Uuid,
    pub name: String,
    pub created: Timestamp,
    /// Where its `MessageAdded` webhooks go, exactly as given.
    pub webhook_url: Option<String>,
}

/// What changes of an integration; `None` keeps it as it is.
#[derive(Debug, Clone, Default)]
pub struct IntegrationChange {
    pub name: Option<String>,
    /// `Some(None)` clears the URL.
    pub webhook_url: Option<Option<String>>,
}

/// A new integration and the digest of its ClientToken.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub integration: Integration,
    pub client_token: TokenHash,
}

/// An access token as listed to an administrator (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenInfo {
    pub id: Uuid,
    pub integration_id: Uuid,
    /// The home enterprise first.
    pub enterprises: Vec<Uuid>,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// A new access token and the digest of its secret.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub info: AccessTokenInfo,
    pub token: TokenHash,
}

/// How an administrator names a token to revoke.
#[derive(Debug, Clone, Copy)]
pub enum TokenRef {
    Id(Uuid),
    Secret(TokenHash),
}

/// An active access token found by its digest, as a backend reads it.
#[derive(Debug, Clone)]
pub struct StoredAccess {
    pub token_id: Uuid,
    pub integration_id: Uuid,
    pub access_digest: Vec<u8>,
    /// The digest of its integration's ClientToken.
    pub client_digest: Vec<u8>,
    /// Its scope, the home enterprise first.
    pub enterprises: Vec<Uuid>,
}

impl StoredAccess {
    /// The grant, when both presented tokens match. Both digests are compared in
    /// constant time, and either failing is the same answer.
    pub fn grant(self, client_token: TokenHash, access_token: TokenHash) -> Option<AccessGrant> {
        let access_ok = access_token.matches(&self.access_digest);
        let client_ok = client_token.matches(&self.client_digest);
        (access_ok & client_ok).then_some(AccessGrant {
            token_id: self.token_id,
            integration_id: self.integration_id,
            enterprises: self.enterprises,
        })
    }
}

/// The columns of an enterprise, in the order [`enterprise`] reads them.
pub const ENTERPRISE_COLUMNS: &str = "id, name, created_utc";

pub fn enterprise(row: &impl Row) -> StoreResult<Enterprise> {
    Ok(Enterprise {
        id: row.uuid(0)?,
        name: row.string(1)?,
        created: Timestamp::from_unix(row.int(2)?),
    })
}

/// The columns of an integration, in the order [`integration`] reads them.
pub const INTEGRATION_COLUMNS: &str = "id, name, created_utc, webhook_url";

pub fn integration(row: &impl Row) -> StoreResult<Integration> {
    Ok(Integration {
        id: row.uuid(0)?,
        name: row.string(1)?,
        created: Timestamp::from_unix(row.int(2)?),
        webhook_url: row.string_or_null(3)?,
    })
}

/// The columns of an access token as listed (`t` the token), in the order
/// [`access_token`] reads them.
pub const TOKEN_COLUMNS: &str =
    "t.id, t.integration_id, t.created_utc, t.revoked_utc, t.enterprise_ids";

pub fn access_token(row: &impl Row) -> StoreResult<AccessTokenInfo> {
    Ok(AccessTokenInfo {
        id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        created: Timestamp::from_unix(row.int(2)?),
        revoked: row.int_or_null(3)?.map(Timestamp::from_unix),
        enterprises: row.uuid_list(4)?,
    })
}

/// The query that finds an active access token by its digest, read by
/// [`stored_access`]; the backend appends its parameter for the digest.
pub const FIND_ACCESS: &str = "SELECT t.id, t.integration_id, t.token_hash, i.client_token_hash, \
     t.enterprise_ids \
     FROM access_tokens t JOIN integrations i ON i.id = t.integration_id \
     WHERE t.revoked_utc IS NULL AND t.token_hash = ";

pub fn stored_access(row: &impl Row) -> StoreResult<StoredAccess> {
    Ok(StoredAccess {
        token_id: row.uuid(0)?,
        integration_id: row.uuid(1)?,
        access_digest: row.bytes(2)?.to_vec(),
        client_digest: row.bytes(3)?.to_vec(),
        enterprises: row.uuid_list(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_needs_both_tokens_to_match() {
        let stored = StoredAccess {
            token_id: Uuid::from_u128(1),
            integration_id: Uuid::from_u128(2),
            access_digest: TokenHash::of("access").0.to_vec(),
            client_digest: TokenHash::of("client").0.to_vec(),
            enterprises: vec![Uuid::from_u128(3)],
        };
        let (client, access) = (TokenHash::of("client"), TokenHash::of("access"));
        assert!(stored.clone().grant(client, access).is_some());
        assert!(
            stored
                .clone()
                .grant(TokenHash::of("other"), access)
                .is_none()
        );
        assert!(stored.grant(client, TokenHash::of("other")).is_none());
    }
}
