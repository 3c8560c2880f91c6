//! What the emulator tools keep in the database: the manual clock, and the
//! reset of content in a scope.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;

#[async_trait]
pub trait Emulator: Send + Sync {
    /// Turns the manual clock on: the stored time if the database keeps a
    /// manual clock, else `start_ms`, stored now. Either way the answer is
    /// what every node reads.
    async fn start_clock(&self, start_ms: i64) -> StoreResult<ClockState>;
    /// Turns the manual clock off (the server reads the system's); whether it
    /// was on.
    async fn stop_clock(&self) -> StoreResult<bool>;
    /// The manual clock, if the database keeps one that is on.
    async fn stored_clock(&self) -> StoreResult<Option<ClockState>>;
    /// Moves the manual clock to `to_ms`: forward always, back only when
    /// nothing stored is newer than `to_ms`.
    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove>;
    /// Moves the manual clock forward by `by_ms`, unless it would pass `max_ms`.
    async fn advance_clock(&self, by_ms: i64, max_ms: i64) -> StoreResult<ClockMove>;
    /// Removes the threads in `scope` with their messages, webhook events and
    /// deliveries, and the rate-limit windows of the scope's access tokens
    /// (and every fault, if it says so), in one transaction.
    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts>;
    /// Records that every node's request log was emptied at `at_ms` (real
    /// time).
    async fn empty_request_logs(&self, at_ms: i64) -> StoreResult<()>;
    /// When the request logs were last emptied.
    async fn request_logs_emptied(&self) -> StoreResult<Option<i64>>;
}

/// The manual clock as stored: its time, and how many moves it has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockState {
    pub version: i64,
    pub now_ms: i64,
}

/// How a move of the manual clock ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockMove {
    /// The clock now shows this.
    Moved(ClockState),
    /// Refused: something stored is newer than the time asked for, as new as
    /// `newest_ms`.
    Newer { newest_ms: i64 },
    /// Refused: the move would pass the latest time the clock shows; it
    /// shows `now_ms`.
    Beyond { now_ms: i64 },
    /// There is no manual clock in this database.
    NoClock,
}

/// Where a move of the manual clock `current` leads: the time to store, or
/// why not. Setting goes forward always, and back only when nothing stored is
/// newer than the time asked for (`newest_ms`, read in the same transaction).
pub fn plan_set(
    current: Option<ClockState>,
    to_ms: i64,
    newest_ms: Option<i64>,
) -> Result<i64, ClockMove> {
    let Some(current) = current else {
        return Err(ClockMove::NoClock);
    };
    match newest_ms {
        Some(newest_ms) if to_ms < current.now_ms && newest_ms > to_ms => {
            Err(ClockMove::Newer { newest_ms })
        }
        _ => Ok(to_ms),
    }
}

/// Where advancing `current` by `by_ms` leads, unless past `max_ms`.
pub fn plan_advance(
    current: Option<ClockState>,
    by_ms: i64,
    max_ms: i64,
) -> Result<i64, ClockMove> {
    let Some(current) = current else {
        return Err(ClockMove::NoClock);
    };
    match current.now_ms.checked_add(by_ms) {
        Some(to) if to <= max_ms => Ok(to),
        _ => Err(ClockMove::Beyond {
            now_ms: current.now_ms,
        }),
    }
}

/// What a reset removes: threads of these integrations and these enterprises
/// (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetScope {
    pub integrations: Option<Vec<Uuid>>,
    pub enterprises: Option<Vec<Uuid>>,
    /// Every fault goes too.
    pub faults: bool,
}

/// What a reset removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResetCounts {
    pub threads: u64,
    pub messages: u64,
    pub deliveries: u64,
}

/// The newest time stored content holds, in milliseconds, as a query over
/// the tables of content: what the clock may not be set back before.
/// Enterprises, integrations, tokens and faults are kept by a reset, so they
/// do not count.
pub const NEWEST_STORED: &str = "SELECT max(t) FROM ( \
     SELECT max(updated_utc) * 1000 AS t FROM threads \
     UNION ALL SELECT max(created_utc) * 1000 FROM messages \
     UNION ALL SELECT max(created_ms) FROM webhook_events \
     UNION ALL SELECT max(created_ms) FROM webhook_deliveries \
     UNION ALL SELECT max(finished_ms) FROM webhook_deliveries \
     UNION ALL SELECT max(started_ms) FROM webhook_attempts) AS stored";

#[cfg(test)]
mod tests {
    use super::*;

    const AT: ClockState = ClockState {
        version: 3,
        now_ms: 10_000,
    };

    #[test]
    fn the_clock_goes_back_only_past_nothing_stored() {
        assert_eq!(plan_set(Some(AT), 20_000, Some(15_000)), Ok(20_000));
        assert_eq!(plan_set(Some(AT), 5_000, None), Ok(5_000), "nothing stored");
        assert_eq!(
            plan_set(Some(AT), 5_000, Some(5_000)),
            Ok(5_000),
            "as new, not newer"
        );
        assert_eq!(
            plan_set(Some(AT), 5_000, Some(5_001)),
            Err(ClockMove::Newer { newest_ms: 5_001 })
        );
        assert_eq!(plan_set(None, 5_000, None), Err(ClockMove::NoClock));
    }

    #[test]
    fn an_advance_stops_at_the_last_time() {
        assert_eq!(plan_advance(Some(AT), 500, 11_000), Ok(10_500));
        assert_eq!(plan_advance(Some(AT), 1_000, 11_000), Ok(11_000));
        assert_eq!(
            plan_advance(Some(AT), 1_001, 11_000),
            Err(ClockMove::Beyond { now_ms: 10_000 })
        );
        assert_eq!(
            plan_advance(Some(AT), i64::MAX, i64::MAX),
            Err(ClockMove::Beyond { now_ms: 10_000 })
        );
    }
}
