//! What the emulator tools keep in the database: the manual clock, and the
//! reset of content in a scope.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;

#[async_trait]
pub trait Emulator: Send + Sync {
    /// The manual clock: the stored time if there is one, else `start_ms`,
    /// stored now. Either way the answer is what every node reads.
    async fn start_clock(&self, start_ms: i64) -> StoreResult<i64>;
    /// The manual clock's time, if the database keeps one.
    async fn stored_clock(&self) -> StoreResult<Option<i64>>;
    /// Moves the manual clock to `to_ms`, unless that is earlier than it is.
    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove>;
    /// Moves the manual clock forward by `by_ms`.
    async fn advance_clock(&self, by_ms: i64) -> StoreResult<ClockMove>;
    /// Removes the threads in `scope` with their messages, webhook events and
    /// deliveries, and the rate-limit windows of the scope's access tokens, in
    /// one transaction.
    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts>;
}

/// How a move of the manual clock ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// The clock now shows this.
    Moved { now_ms: i64 },
    /// Refused: the clock only goes forward, and it shows this.
    Backward { now_ms: i64 },
    /// There is no manual clock in this database.
    NoClock,
}

/// What a reset removes: threads of these integrations and these enterprises
/// (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetScope {
    pub integrations: Option<Vec<Uuid>>,
    pub enterprises: Option<Vec<Uuid>>,
}

/// What a reset removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetCounts {
    pub threads: u64,
    pub messages: u64,
    pub deliveries: u64,
}
