//! The rate limit in PostgreSQL: each token's window of per-bucket counts,
//! shared by every node.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::{PostgresStore, internal};
use crate::ratelimit::{Decision, RateLimit};
use crate::store::{RateLimits, StoreResult};

/// What counts a request into its token's window: `$2` is the bucket of now,
/// `$3` the number of buckets in the window and `$4` the limit. The same rule
/// as [`crate::ratelimit::Window::count`], on the same two values: drop the
/// buckets that left the window, sum the rest (at most 60 of them), and when
/// there is room add one to now's bucket (a clock that stepped back adds to
/// the oldest bucket kept). One statement on the token's row: the row lock
/// serialises a token's requests for the shortest time.
pub const COUNT: &str = "ON CONFLICT (token_id) DO UPDATE SET (first_bucket, counts, allowed) = ( \
    SELECT k.first, \
           CASE WHEN k.total < $4::bigint \
                THEN k.padded[:k.at - 1] || (k.padded[k.at] + 1) || k.padded[k.at + 1:] \
                ELSE k.kept END, \
           k.total < $4::bigint \
    FROM (SELECT w.first, w.kept, \
                 (SELECT coalesce(sum(c), 0) FROM unnest(w.kept) c) AS total, \
                 GREATEST($2::bigint - w.first + 1, 1)::int AS at, \
                 w.kept || array_fill(0, ARRAY[GREATEST($2::bigint - w.first + 1 \
                                                        - cardinality(w.kept), 0)::int]) AS padded \
          FROM (SELECT CASE WHEN cardinality(s.kept) = 0 THEN $2::bigint \
                            ELSE GREATEST(r.first_bucket, s.start) END AS first, \
                       s.kept \
                FROM (SELECT $2::bigint - $3 + 1 AS start, \
                             CASE WHEN $2::bigint - $3 + 1 > r.first_bucket \
                                  THEN r.counts[LEAST($2::bigint - $3 + 2 - r.first_bucket, \
                                                      2147483647)::int:] \
                                  ELSE r.counts END AS kept) s) w) k)";

/// A new token's row: one request, in now's bucket.
pub const FIRST: &str = "$2::bigint, ARRAY[1], TRUE";

/// After [`COUNT`]: the bucket of the oldest request still counted, when the
/// request was refused (null when it was let through).
pub const OLDEST: &str = "CASE WHEN allowed THEN NULL ELSE first_bucket - 1 + \
     (SELECT min(o) FROM unnest(counts) WITH ORDINALITY u(c, o) WHERE c > 0) END";

/// The parameters `$2`, `$3` and `$4` of [`COUNT`].
pub fn parameters(limit: RateLimit, now_ms: i64) -> (i64, i64, i64) {
    let buckets = limit.buckets();
    (
        buckets.at(now_ms),
        i64::from(buckets.count),
        i64::from(limit.requests),
    )
}

/// The decision of a counted row: `allowed`, or refused with its oldest
/// bucket.
pub fn decided(allowed: bool, oldest: Option<i64>, limit: RateLimit, now_ms: i64) -> Decision {
    let buckets = limit.buckets();
    if allowed {
        return Decision::Allowed;
    }
    buckets.limited(oldest.unwrap_or_else(|| buckets.at(now_ms)), now_ms)
}

/// Counts a request of `token` at `now_ms` if its window has room.
pub async fn check_rate(
    client: &impl GenericClient,
    token: Uuid,
    limit: RateLimit,
    now_ms: i64,
) -> StoreResult<Decision> {
    let (bucket, buckets, requests) = parameters(limit, now_ms);
    let row = client
        .query_one(
            &format!(
                "INSERT INTO rate_limits AS r (token_id, first_bucket, counts, allowed) \
                 VALUES ($1, {FIRST}) {COUNT} RETURNING allowed, {OLDEST}"
            ),
            &[&token, &bucket, &buckets, &requests],
        )
        .await
        .map_err(internal)?;
    Ok(decided(row.get(0), row.get(1), limit, now_ms))
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
