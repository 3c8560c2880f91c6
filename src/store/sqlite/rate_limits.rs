//! The rate limit of a SQLite file's one server: each token's window, kept
//! in this process.

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::ratelimit::{Decision, RateLimit};
use crate::store::{RateLimits, StoreResult};

#[async_trait]
impl RateLimits for SqliteStore {
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision> {
        Ok(self.limiter.check(limit, token_id, now_ms))
    }
}
