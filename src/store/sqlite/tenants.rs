//! Enterprises, integrations and their tokens in SQLite.

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use uuid::Uuid;

use super::{conversion, internal};
use crate::domain::scope::AccessGrant;
use crate::domain::time::Timestamp;
use crate::store::tenants::StoredAccess;
use crate::store::{
    AccessTokenInfo, Enterprise, Integration, Missing, NewAccessToken, NewIntegration, StoreError,
    StoreResult, TokenRef,
};
use crate::tokens::TokenHash;

/// Turns a uniqueness violation into a client-facing conflict.
fn unique(e: rusqlite::Error, conflict: impl FnOnce() -> String) -> StoreError {
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

/// The ids of an `access_tokens.enterprise_ids` column, written by
/// [`insert_enterprises`] (a JSON array of their text, as this once was, cost a quarter
/// of a `messageThreads/add`'s instructions to build and read back).
pub fn enterprise_ids(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<Uuid>> {
    let bytes = row.get_ref(column)?.as_blob()?;
    if !bytes.len().is_multiple_of(16) {
        return Err(conversion(
            column,
            anyhow::anyhow!("{} bytes are not a list of ids", bytes.len()),
        ));
    }
    bytes
        .chunks_exact(16)
        .map(|id| Uuid::from_slice(id).map_err(|e| conversion(column, e)))
        .collect()
}

pub fn find_access(
    conn: &Connection,
    client_token: TokenHash,
    access_token: TokenHash,
) -> StoreResult<Option<AccessGrant>> {
    let found = conn
        .prepare_cached(
            "SELECT t.id, t.integration_id, t.token_hash, i.client_token_hash, t.enterprise_ids \
             FROM access_tokens t JOIN integrations i ON i.id = t.integration_id \
             WHERE t.token_hash = +?1 AND t.revoked_utc IS NULL",
        )
        .and_then(|mut s| {
            s.query_row([&access_token.0[..]], |r| {
                Ok(StoredAccess {
                    token_id: r.get(0)?,
                    integration_id: r.get(1)?,
                    access_digest: r.get(2)?,
                    client_digest: r.get(3)?,
                    enterprises: enterprise_ids(r, 4)?,
                })
            })
            .optional()
        })
        .map_err(internal)?;
    Ok(found.and_then(|stored| stored.grant(client_token, access_token)))
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
    conn.prepare("SELECT id, name, created_utc FROM enterprises ORDER BY created_utc, name")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Enterprise {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    created: Timestamp::from_unix(r.get(2)?),
                })
            })?
            .collect()
        })
        .map_err(internal)
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
    conn.prepare(
        "SELECT id, name, created_utc, webhook_url FROM integrations ORDER BY created_utc, name",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(Integration {
                id: r.get(0)?,
                name: r.get(1)?,
                created: Timestamp::from_unix(r.get(2)?),
                webhook_url: r.get(3)?,
            })
        })?
        .collect()
    })
    .map_err(internal)
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
        "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc) VALUES (?1, ?2, ?3, ?4)",
        params![t.id, t.integration_id, &new.token.0[..], t.created.unix()],
    )
    .map_err(|err| unique(err, || "that access token already exists".to_owned()))?;
    insert_enterprises(conn, t.id, &t.enterprises).map_err(internal)?;
    Ok(())
}

pub fn access_tokens(conn: &Connection) -> StoreResult<Vec<AccessTokenInfo>> {
    conn.prepare(
        "SELECT t.id, t.integration_id, t.created_utc, t.revoked_utc, t.enterprise_ids \
         FROM access_tokens t ORDER BY t.created_utc, t.id",
    )
    .and_then(|mut s| {
        s.query_map([], |r| {
            Ok(AccessTokenInfo {
                id: r.get(0)?,
                integration_id: r.get(1)?,
                enterprises: enterprise_ids(r, 4)?,
                created: Timestamp::from_unix(r.get(2)?),
                revoked: r.get::<_, Option<i64>>(3)?.map(Timestamp::from_unix),
            })
        })?
        .collect()
    })
    .map_err(internal)
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
