//! Every time switchboard reads, from two clocks, and nothing else asks the
//! machine for the time:
//!
//! - [`Clock`], the time of the data: `CreatedUtc`/`UpdatedUtc`, webhook retry
//!   times, pruning, the request log, the times the inbox shows, and the
//!   CLI's own rows. It is the machine's clock, or a manual one kept in the
//!   database that a tester moves (SPEC §16.1); moving it moves all of that.
//! - [`RealClock`], real time, for what must pass in real seconds whatever
//!   the data clock says: rate-limit windows (SPEC §4), the inbox's session
//!   lifetimes and login throttle, and how long things took. Tests put a
//!   [`FakeRealClock`] in its place, so a session expires without waiting.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// The clock of the data.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// A receiver that sees every move of a clock that is moved by hand, so that
    /// what waits for a time (a webhook retry) can look again at once. A clock
    /// that moves by itself has none.
    fn moves(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        None
    }

    /// The clock as one an operator moves, if it is one.
    fn manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// The machine's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The machine's clock, shared.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// The earliest time a manual clock shows: 2000-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 946_684_800_000;
/// The latest: 9999-12-31T23:59:59Z (a time of four year digits).
pub const LATEST_MS: i64 = 253_402_300_799_000;

/// A clock that stands still until it is moved: a copy of the manual clock
/// the database keeps, moved by every move stored (by this node or another).
pub struct ManualClock {
    now: watch::Sender<DateTime<Utc>>,
    /// The version of the stored move it shows.
    version: Mutex<i64>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: watch::Sender::new(start),
            version: Mutex::new(i64::MIN),
        }
    }

    /// The clock at a stored move.
    pub fn at(version: i64, now_ms: i64) -> Self {
        let clock = Self::new(DateTime::from_timestamp_millis(now_ms).unwrap_or_default());
        *clock.version.lock().unwrap_or_else(|e| e.into_inner()) = version;
        clock
    }

    /// Moves this copy alone (tests).
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    /// Shows the stored move `version`, at `at_ms`, unless it shows a later
    /// move already: moves arrive from this node's own answers and from the
    /// database's announcements, possibly out of order. Earlier or later
    /// times alike: the clock may have been set back.
    pub fn moved(&self, version: i64, at_ms: i64) {
        let Some(at) = DateTime::from_timestamp_millis(at_ms) else {
            return;
        };
        let mut shown = self.version.lock().unwrap_or_else(|e| e.into_inner());
        if version > *shown {
            *shown = version;
            self.now.send_replace(at);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.borrow()
    }

    fn moves(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        Some(self.now.subscribe())
    }

    fn manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}

/// Resolves when `moves` sees the clock moved; never without a receiver.
pub async fn moved(moves: &mut Option<watch::Receiver<DateTime<Utc>>>) {
    let closed = match moves {
        Some(receiver) => receiver.changed().await.is_err(),
        None => true,
    };
    if closed {
        std::future::pending::<()>().await;
    }
}

/// Real time.
pub trait RealClock: Send + Sync + 'static {
    /// The machine's time of day, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Whole seconds since the Unix epoch.
    fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// A point of a clock that only goes forward, to measure how long
    /// something takes.
    fn instant(&self) -> Instant;
}

/// The machine's real time.
pub struct SystemRealClock;

impl RealClock for SystemRealClock {
    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// The machine's real time, shared.
pub fn real() -> Arc<dyn RealClock> {
    Arc::new(SystemRealClock)
}

/// Real time that tests move by hand, both its time of day and its instants.
pub struct FakeRealClock {
    start_ms: i64,
    start: Instant,
    offset: Mutex<std::time::Duration>,
}

impl FakeRealClock {
    pub fn new(start_ms: i64) -> Self {
        Self {
            start_ms,
            start: Instant::now(),
            offset: Mutex::new(std::time::Duration::ZERO),
        }
    }

    pub fn advance(&self, by: std::time::Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn offset(&self) -> std::time::Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RealClock for FakeRealClock {
    fn now_ms(&self) -> i64 {
        let offset = i64::try_from(self.offset().as_millis()).unwrap_or(i64::MAX);
        self.start_ms.saturating_add(offset)
    }

    fn instant(&self) -> Instant {
        self.start + self.offset()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_told_and_says_so() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        let mut moves = clock.moves();
        assert_eq!(clock.now(), start);
        clock.advance(Duration::seconds(42));
        assert_eq!(clock.now(), start + Duration::seconds(42));
        // The move happened before anyone waited: it is not lost.
        tokio::time::timeout(std::time::Duration::from_secs(1), moved(&mut moves))
            .await
            .expect("the move is seen");
    }

    #[test]
    fn moves_are_shown_in_the_order_they_were_stored() {
        let clock = ManualClock::at(3, 10_000);
        clock.moved(5, 1_000);
        assert_eq!(clock.now_ms(), 1_000, "set back");
        clock.moved(4, 12_500);
        assert_eq!(
            clock.now_ms(),
            1_000,
            "an older move arriving late is ignored"
        );
        clock.moved(6, 12_500);
        assert_eq!(clock.now_ms(), 12_500);
        assert_eq!(
            DateTime::from_timestamp_millis(LATEST_MS)
                .unwrap()
                .to_rfc3339(),
            "9999-12-31T23:59:59+00:00"
        );
        assert_eq!(
            DateTime::from_timestamp_millis(EARLIEST_MS)
                .unwrap()
                .to_rfc3339(),
            "2000-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn a_fake_real_clock_moves_its_time_and_its_instants_together() {
        let clock = FakeRealClock::new(5_000);
        let before = clock.instant();
        clock.advance(std::time::Duration::from_millis(2_500));
        assert_eq!(clock.now_ms(), 7_500);
        assert_eq!(clock.now_unix(), 7);
        assert_eq!(
            clock.instant() - before,
            std::time::Duration::from_millis(2_500)
        );
    }
}
