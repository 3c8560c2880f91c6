//! The one clock every part of switchboard reads: timestamps, rate-limit
//! windows, webhook retry times, pruning. Nothing else asks the machine for the
//! time of day, so that a test (or an operator) who moves this clock moves all of
//! switchboard with it.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

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

/// A clock that stands still until it is moved.
pub struct ManualClock(watch::Sender<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(watch::Sender::new(start))
    }

    pub fn advance(&self, by: Duration) {
        self.0.send_modify(|now| *now += by);
    }

    /// Shows `at_ms` (milliseconds since the Unix epoch), unless the clock
    /// already shows a later time: moves arrive from the database, and from
    /// other nodes, possibly out of order.
    pub fn jump_to(&self, at_ms: i64) {
        let Some(at) = DateTime::from_timestamp_millis(at_ms) else {
            return;
        };
        self.0.send_if_modified(|now| {
            let later = at > *now;
            if later {
                *now = at;
            }
            later
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.borrow()
    }

    fn moves(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        Some(self.0.subscribe())
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
    fn a_jump_only_goes_forward() {
        let start = DateTime::from_timestamp_millis(10_000).unwrap();
        let clock = ManualClock::new(start);
        clock.jump_to(5_000);
        assert_eq!(clock.now_ms(), 10_000, "an older move is ignored");
        clock.jump_to(12_500);
        assert_eq!(clock.now_ms(), 12_500);
    }
}
