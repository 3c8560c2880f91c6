//! Enterprises, integrations and their tokens in SQLite.

use std::sync::LazyLock;

use rusqlite::{Connection, ErrorCode, params};
use uuid::Uuid;

use super::internal;
use super::query::{Args, query};
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

use super::SqliteStore;
use crate::store::Tenants;

/// Turns a uniqueness violation into a client-facing conflict.
pub(super) fn unique(e: rusqlite::Error, conflict: impl FnOnce() -> String) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict(conflict()),
        _ => internal(e),
    }
}

fn exists(conn: &Connection, sql: &str, id: Uuid) -> StoreResult<bool> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.exists([id]))
        .map_err(internal)
}

pub fn is_empty(conn: &Connection) -> StoreResult<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM enterprises) AND NOT EXISTS (SELECT 1 FROM integrations)",
        [],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Writes the enterprises (home first) of the token `token`, whose row is
/// written: a row of `access_token_enterprises` each, and their copy in the
/// token's row, `enterprise_ids` (migration 7: their 16 bytes each, one after
/// the other), which every request reads. Token creation and import both
/// write a token's enterprises here, so the two never part.
pub fn insert_enterprises(conn: &Connection, token: Uuid, ids: &[Uuid]) -> rusqlite::Result<()> {
    let mut row = conn.prepare_cached(
        "INSERT INTO access_token_enterprises (token_id, position, enterprise_id) \
         VALUES (?1, ?2, ?3)",
    )?;
    for (position, enterprise) in ids.iter().enumerate() {
        row.execute(params![token, position as i64, enterprise])?;
    }
    let copy: Vec<u8> = ids.iter().flat_map(|id| *id.as_bytes()).collect();
    conn.execute(
        "UPDATE access_tokens SET enterprise_ids = ?2 WHERE id = ?1",
        params![token, copy],
    )?;
    Ok(())
}

pub fn find_access(
    conn: &Connection,
    client_token: TokenHash,
    access_token: TokenHash,
) -> StoreResult<Option<AccessGrant>> {
    // Every Connector API request runs this: its text is made once, and
    // `+` keeps the planner from planning it again at every bind (see `query`).
    static SQL: LazyLock<String> = LazyLock::new(|| format!("{FIND_ACCESS}+?1"));
    let mut statement = conn.prepare_cached(&SQL).map_err(internal)?;
    let mut rows = statement.query([&access_token.0[..]]).map_err(internal)?;
    let Some(row) = rows.next().map_err(internal)? else {
        return Ok(None);
    };
    Ok(stored_access(row)?.grant(client_token, access_token))
}

pub fn add_enterprise(conn: &Connection, e: &Enterprise) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO enterprises (id, name, created_utc) VALUES (?1, ?2, ?3)",
        params![e.id, e.name, e.created.unix()],
    )
    .map_err(|err| unique(err, || format!("enterprise {} already exists", e.id)))?;
    Ok(())
}

pub fn enterprises(conn: &Connection) -> StoreResult<Vec<Enterprise>> {
    let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises ORDER BY created_utc, name");
    query(conn, &sql, &Args::new(), |row| enterprise(row))
}

pub fn add_integration(conn: &Connection, new: &NewIntegration) -> StoreResult<()> {
    let i = &new.integration;
    conn.execute(
        "INSERT INTO integrations (id, name, client_token_hash, created_utc, webhook_url) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            i.id,
            i.name,
            &new.client_token.0[..],
            i.created.unix(),
            i.webhook_url
        ],
    )
    .map_err(|err| unique(err, || format!("integration {} already exists", i.id)))?;
    Ok(())
}

pub fn integrations(conn: &Connection) -> StoreResult<Vec<Integration>> {
    let sql = format!("SELECT {INTEGRATION_COLUMNS} FROM integrations ORDER BY created_utc, name");
    query(conn, &sql, &Args::new(), |row| integration(row))
}

pub fn update_integration(
    conn: &Connection,
    id: Uuid,
    change: &IntegrationChange,
) -> StoreResult<Integration> {
    let sql = format!(
        "UPDATE integrations SET name = coalesce(:name, name), \
                webhook_url = CASE WHEN :url_given THEN :url ELSE webhook_url END \
         WHERE id = :id RETURNING {INTEGRATION_COLUMNS}"
    );
    let url = change.webhook_url.clone();
    let args: Args = vec![
        (":id", Box::new(id)),
        (":name", Box::new(change.name.clone())),
        (":url_given", Box::new(url.is_some())),
        (":url", Box::new(url.flatten())),
    ];
    let changed = query(conn, &sql, &args, |row| integration(row))?;
    changed
        .into_iter()
        .next()
        .ok_or_else(|| Missing::Integration(id).into())
}

pub fn add_access_token(conn: &Connection, new: &NewAccessToken) -> StoreResult<()> {
    let t = &new.info;
    if !exists(
        conn,
        "SELECT 1 FROM integrations WHERE id = ?1",
        t.integration_id,
    )? {
        return Err(Missing::Integration(t.integration_id).into());
    }
    for &enterprise in &t.enterprises {
        if !exists(conn, "SELECT 1 FROM enterprises WHERE id = ?1", enterprise)? {
            return Err(Missing::Enterprise(enterprise).into());
        }
    }
    conn.execute(
        "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc, revoked_utc) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            t.id,
            t.integration_id,
            &new.token.0[..],
            t.created.unix(),
            t.revoked.map(Timestamp::unix)
        ],
    )
    .map_err(|err| unique(err, || "that access token already exists".to_owned()))?;
    insert_enterprises(conn, t.id, &t.enterprises).map_err(internal)?;
    Ok(())
}

pub fn access_tokens(conn: &Connection) -> StoreResult<Vec<AccessTokenInfo>> {
    let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens t ORDER BY t.created_utc, t.id");
    query(conn, &sql, &Args::new(), |row| access_token(row))
}

pub fn revoke_access_token(conn: &Connection, token: TokenRef, at: Timestamp) -> StoreResult<()> {
    let changed = match token {
        TokenRef::Id(id) => conn.execute(
            "UPDATE access_tokens SET revoked_utc = ?2 WHERE id = ?1 AND revoked_utc IS NULL",
            params![id, at.unix()],
        ),
        TokenRef::Secret(hash) => conn.execute(
            "UPDATE access_tokens SET revoked_utc = ?2 WHERE token_hash = ?1 AND revoked_utc IS NULL",
            params![&hash.0[..], at.unix()],
        ),
    }
    .map_err(internal)?;
    if changed == 0 {
        return Err(Missing::AccessToken.into());
    }
    Ok(())
}

#[async_trait]
impl Tenants for SqliteStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        self.readers.read(is_empty).await
    }

    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>> {
        // A lookup by unique digest: cheaper to run here than to hand over.
        self.readers
            .read_inline(|conn| find_access(conn, client_token, access_token))
            .await
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()> {
        self.writer
            .write(move |conn| add_enterprise(conn, &enterprise))
            .await
    }

    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>> {
        self.readers.read(enterprises).await
    }

    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()> {
        self.writer
            .write(move |conn| add_integration(conn, &integration))
            .await
    }

    async fn integrations(&self) -> StoreResult<Vec<Integration>> {
        self.readers.read(integrations).await
    }

    async fn update_integration(
        &self,
        id: Uuid,
        change: IntegrationChange,
    ) -> StoreResult<Integration> {
        self.writer
            .write(move |conn| update_integration(conn, id, &change))
            .await
    }

    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        self.writer
            .write(move |conn| add_access_token(conn, &token))
            .await
    }

    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>> {
        self.readers.read(access_tokens).await
    }

    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<()> {
        self.writer
            .write(move |conn| revoke_access_token(conn, token, at))
            .await
    }
}
