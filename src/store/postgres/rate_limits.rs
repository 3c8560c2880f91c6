//! The rate limit in PostgreSQL: each token's log of request times, shared by
//! every node.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::{PostgresStore, internal};
use crate::ratelimit::{Decision, RateLimit, limited};
use crate::store::{RateLimits, StoreResult};

/// What counts a request into its token's log: `$2` now, `$3` the window and `$4`
/// the limit, in milliseconds and requests.
///
/// The log is kept in ascending order, so that `width_bucket` (a binary
/// search: how many times are at most the given one) finds where the window
/// starts and where this request goes, and slices do the rest. Unnesting the
/// log into rows to filter it cost a quarter of PostgreSQL's CPU under a high
/// limit. A request is put in its place, not appended, so that nodes whose
/// clocks differ by a little still keep the log in order.
pub const COUNT: &str = "ON CONFLICT (token_id) DO UPDATE SET (log, allowed) = ( \
    SELECT CASE WHEN cardinality(k.kept) < $4 \
                THEN k.kept[:width_bucket($2::bigint, k.kept)] || $2::bigint \
                     || k.kept[width_bucket($2::bigint, k.kept) + 1:] \
                ELSE k.kept END, \
           cardinality(k.kept) < $4 \
    FROM (SELECT r.log[width_bucket($2::bigint - $3, r.log) + 1:] AS kept) k)";

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

#[async_trait]
impl RateLimits for PostgresStore {
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision> {
        check_rate(&self.client().await?, token_id, limit, now_ms).await
    }
}
