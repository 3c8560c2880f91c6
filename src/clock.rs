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
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.borrow()
    }

    fn moves(&self) -> Option<watch::Receiver<DateTime<Utc>>> {
        Some(self.0.subscribe())
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
}
