//! Enterprises, integrations and their tokens in PostgreSQL, and the request
//! log of each token that every node shares (the rate limit).

use deadpool_postgres::GenericClient;
use tokio_postgres::Statement;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::internal;
use super::query::prepared;
use crate::domain::scope::AccessGrant;
use crate::domain::time::Timestamp;
use crate::ratelimit::{Decision, RateLimit, limited};
use crate::store::tenants::StoredAccess;
use crate::store::{
    AccessTokenInfo, Admission, Admitted, Enterprise, Integration, Missing, NewAccessToken,
    NewIntegration, StoreError, StoreResult, TokenRef,
};
use crate::tokens::TokenHash;

fn unique(e: tokio_postgres::Error, conflict: impl FnOnce() -> String) -> StoreError {
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
        .query_opt(
            "SELECT t.id, t.integration_id, t.token_hash, i.client_token_hash, t.enterprise_ids \
             FROM access_tokens t JOIN integrations i ON i.id = t.integration_id \
             WHERE t.token_hash = $1 AND t.revoked_utc IS NULL",
            &[&&access_token.0[..]],
        )
        .await
        .map_err(internal)?;
    let Some(row) = row else { return Ok(None) };
    let stored = StoredAccess {
        token_id: row.get(0),
        integration_id: row.get(1),
        access_digest: row.get(2),
        client_digest: row.get(3),
        enterprises: row.get(4),
    };
    Ok(stored.grant(client_token, access_token))
}

/// What counts a request into its token's log: `$2` now, `$3` the window and `$4`
/// the limit, in milliseconds and requests.
///
/// The log is kept in ascending order, so that `width_bucket` (a binary
/// search: how many times are at most the given one) finds where the window
/// starts and where this request goes, and slices do the rest. Unnesting the
/// log into rows to filter it cost a quarter of PostgreSQL's CPU under a high
/// limit. A request is put in its place, not appended, so that nodes whose
/// clocks differ by a little still keep the log in order.
const COUNT: &str = "ON CONFLICT (token_id) DO UPDATE SET (log, allowed) = ( \
    SELECT CASE WHEN cardinality(k.kept) < $4 \
                THEN k.kept[:width_bucket($2::bigint, k.kept)] || $2::bigint \
                     || k.kept[width_bucket($2::bigint, k.kept) + 1:] \
                ELSE k.kept END, \
           cardinality(k.kept) < $4 \
    FROM (SELECT r.log[width_bucket($2::bigint - $3, r.log) + 1:] AS kept) k)";

/// The session setting that [`admit`] sets to its guard's key when it allows
/// the guard's token, and to nothing otherwise: what [`guarded`] writes check.
pub const ADMITTED: &str = "switchboard.admitted";

/// A write's guard: the write is done only if the admission just before it on
/// the same connection allowed `token`. `key` is new for every request, so a
/// setting left on the connection by an earlier request never matches.
#[derive(Debug, Clone)]
pub struct Guard {
    pub key: String,
    pub token: Uuid,
}

impl Guard {
    pub fn new(token: Uuid) -> Self {
        Self {
            key: Uuid::new_v4().simple().to_string(),
            token,
        }
    }
}

/// The condition a guarded statement adds, `key` being its guard's key's
/// placeholder (`$9`).
pub fn guarded(key: &str) -> String {
    format!("current_setting('{ADMITTED}', true) = {key}")
}

/// The statement of [`admit`], prepared on one connection.
///
/// A guarded operation is sent right behind its admission, and must reach
/// the database after it: prepared beforehand, the admission goes out as soon
/// as it is polled, while an operation that still has to prepare its own
/// statement waits for that round trip.
pub struct AdmissionStatement(Statement);

impl AdmissionStatement {
    pub async fn prepare(client: &impl GenericClient) -> StoreResult<Self> {
        prepared(
            client,
            &format!(
                "WITH found AS ( \
                     SELECT t.id, t.integration_id, t.token_hash, i.client_token_hash, \
                            t.enterprise_ids AS enterprises \
                     FROM access_tokens t JOIN integrations i ON i.id = t.integration_id \
                     WHERE t.token_hash = $1 AND t.revoked_utc IS NULL), \
                 counted AS ( \
                     INSERT INTO rate_limits AS r (token_id, log, allowed) \
                     SELECT id, ARRAY[$2::bigint], TRUE FROM found WHERE client_token_hash = $5 \
                     {COUNT} RETURNING allowed, log[1] AS oldest) \
                 SELECT f.id, f.integration_id, f.token_hash, f.client_token_hash, f.enterprises, \
                        c.allowed, c.oldest, \
                        set_config('{ADMITTED}', \
                                   CASE WHEN c.allowed AND f.id = $7 THEN $6 ELSE '' END, false) \
                 FROM found f LEFT JOIN counted c ON TRUE"
            ),
        )
        .await
        .map(Self)
    }
}

/// [`find_access`] and [`check_rate`] in one statement, so one round trip: the
/// token's row is found, and counted only when the client token is its
/// integration's (requests that fail authentication are not counted). With a
/// `guard`, the connection's [`ADMITTED`] setting is left at its key if this
/// admission allows the guard's token, and emptied otherwise.
pub async fn admit(
    client: &impl GenericClient,
    statement: &AdmissionStatement,
    admission: Admission,
    guard: Option<&Guard>,
) -> StoreResult<Admitted> {
    let Admission {
        client_token,
        access_token,
        limit,
        now_ms,
    } = admission;
    let window_ms = i64::from(limit.window_secs) * 1000;
    let (key, guarded_token) = match guard {
        Some(guard) => (guard.key.as_str(), guard.token),
        None => ("", Uuid::nil()),
    };
    let row = client
        .query_opt(
            &statement.0,
            &[
                &&access_token.0[..],
                &now_ms,
                &window_ms,
                &i32::try_from(limit.requests).unwrap_or(i32::MAX),
                &&client_token.0[..],
                &key,
                &guarded_token,
            ],
        )
        .await
        .map_err(internal)?;
    let Some(row) = row else { return Ok(None) };
    let stored = StoredAccess {
        token_id: row.get(0),
        integration_id: row.get(1),
        access_digest: row.get(2),
        client_digest: row.get(3),
        enterprises: row.get(4),
    };
    // The digests are compared again, in constant time, as everywhere.
    let Some(grant) = stored.grant(client_token, access_token) else {
        return Ok(None);
    };
    let decision = match row.get::<_, Option<bool>>(5) {
        Some(true) => Decision::Allowed,
        Some(false) => limited(
            row.get::<_, Option<i64>>(6).unwrap_or(now_ms),
            limit,
            now_ms,
        ),
        None => return Ok(None),
    };
    Ok(Some((grant, decision)))
}

/// The sliding log of the rate limit, shared by every node, as one statement on the
/// token's row (the row lock serialises a token's requests for the shortest
/// time): drop what left the window, count what is left, append this request if
/// there is room. The log is UNLOGGED, so the commit does not wait for a disk.
pub async fn check_rate(
    client: &impl GenericClient,
    token: Uuid,
    limit: RateLimit,
    now_ms: i64,
) -> StoreResult<Decision> {
    let window_ms = i64::from(limit.window_secs) * 1000;
    let row = client
        .query_one(
            &format!(
                "INSERT INTO rate_limits AS r (token_id, log, allowed) \
                 VALUES ($1, ARRAY[$2::bigint], TRUE) {COUNT} RETURNING allowed, log[1]"
            ),
            &[
                &token,
                &now_ms,
                &window_ms,
                &i32::try_from(limit.requests).unwrap_or(i32::MAX),
            ],
        )
        .await
        .map_err(internal)?;
    if row.get::<_, bool>(0) {
        return Ok(Decision::Allowed);
    }
    Ok(limited(
        row.get::<_, Option<i64>>(1).unwrap_or(now_ms),
        limit,
        now_ms,
    ))
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
    let rows = client
        .query(
            "SELECT id, name, created_utc FROM enterprises ORDER BY created_utc, name",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(rows
        .iter()
        .map(|r| Enterprise {
            id: r.get(0),
            name: r.get(1),
            created: Timestamp::from_unix(r.get(2)),
        })
        .collect())
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
    let rows = client
        .query(
            "SELECT id, name, created_utc, webhook_url FROM integrations ORDER BY created_utc, name",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(rows
        .iter()
        .map(|r| Integration {
            id: r.get(0),
            name: r.get(1),
            created: Timestamp::from_unix(r.get(2)),
            webhook_url: r.get(3),
        })
        .collect())
}

pub async fn add_access_token(
    client: &mut deadpool_postgres::Object,
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
        "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc) VALUES ($1, $2, $3, $4)",
        &[&t.id, &t.integration_id, &&new.token.0[..], &t.created.unix()],
    )
    .await
    .map_err(|err| unique(err, || "that access token already exists".to_owned()))?;
    tx.execute(INSERT_TOKEN_ENTERPRISES, &[&t.id, &t.enterprises])
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

pub async fn access_tokens(client: &impl GenericClient) -> StoreResult<Vec<AccessTokenInfo>> {
    let rows = client
        .query(
            "SELECT t.id, t.integration_id, t.created_utc, t.revoked_utc, t.enterprise_ids \
             FROM access_tokens t ORDER BY t.created_utc, t.id",
            &[],
        )
        .await
        .map_err(internal)?;
    Ok(rows
        .iter()
        .map(|r| AccessTokenInfo {
            id: r.get(0),
            integration_id: r.get(1),
            created: Timestamp::from_unix(r.get(2)),
            revoked: r.get::<_, Option<i64>>(3).map(Timestamp::from_unix),
            enterprises: r.get(4),
        })
        .collect())
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
