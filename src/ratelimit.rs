//! The request limit per access token: at most `requests` in any window of
//! `window` seconds, counted in a fixed number of buckets per token.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

use uuid::Uuid;

/// `N/Ss`: at most N requests in any S-second window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub window_secs: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests: 200,
            window_secs: 30,
        }
    }
}

impl FromStr for RateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("rate limit '{s}' is not of the form N/Ss, for example 200/30s");
        let (requests, window) = s.split_once('/').ok_or_else(bad)?;
        let window = window.strip_suffix('s').ok_or_else(bad)?;
        let requests: u32 = requests.trim().parse().map_err(|_| bad())?;
        let window_secs: u32 = window.trim().parse().map_err(|_| bad())?;
        if requests == 0 || window_secs == 0 {
            return Err(format!(
                "rate limit '{s}' must allow at least 1 request in at least 1 second"
            ));
        }
        Ok(Self {
            requests,
            window_secs,
        })
    }
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}s", self.requests, self.window_secs)
    }
}

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the client may retry after this many whole seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

/// A window holds at most this many counts, whatever its length: the state of
/// a token has a fixed size, so a token allowed a million requests costs what
/// one allowed 200 does.
pub const MAX_BUCKETS: u32 = 60;

/// How a limit's window is cut into buckets: whole seconds, one second each
/// for windows up to [`MAX_BUCKETS`] seconds, longer ones so that there are
/// at most that many. A request counts in the bucket of the second it came
/// in, and stops counting when its bucket leaves the window: the limit is
/// exact to the bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    /// The length of a bucket, in milliseconds.
    pub width_ms: i64,
    /// How many buckets the window spans.
    pub count: u32,
}

impl RateLimit {
    pub fn buckets(self) -> Buckets {
        let width_secs = self.window_secs.div_ceil(MAX_BUCKETS).max(1);
        Buckets {
            width_ms: i64::from(width_secs) * 1000,
            count: self.window_secs.div_ceil(width_secs),
        }
    }
}

impl Buckets {
    /// The bucket of `now_ms`.
    pub fn at(self, now_ms: i64) -> i64 {
        now_ms.div_euclid(self.width_ms)
    }

    /// The refusal when the oldest request still counted is in bucket
    /// `oldest`: retry when that bucket leaves the window, in whole seconds
    /// rounded up, at least 1.
    pub fn limited(self, oldest: i64, now_ms: i64) -> Decision {
        let free_at_ms = (oldest + i64::from(self.count)).saturating_mul(self.width_ms);
        let wait_ms = (free_at_ms - now_ms).max(1);
        Decision::Limited {
            retry_after_secs: (wait_ms as u64).div_ceil(1000).max(1),
        }
    }
}

/// One token's window: the count of each bucket from `first` on, at most
/// [`Buckets::count`] of them. The same rule runs in PostgreSQL (see
/// `store::postgres::rate_limits`) on the same two values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub first: i64,
    pub counts: Vec<u32>,
}

impl Window {
    /// Counts a request at `now_ms` if the window has room for it.
    pub fn count(&mut self, limit: RateLimit, now_ms: i64) -> Decision {
        let buckets = limit.buckets();
        let now = buckets.at(now_ms);
        let start = now - i64::from(buckets.count) + 1;
        // Buckets that left the window go.
        if start > self.first {
            let gone = usize::try_from(start - self.first).unwrap_or(usize::MAX);
            self.counts.drain(..gone.min(self.counts.len()));
            self.first = start;
        }
        if self.counts.is_empty() {
            self.first = now;
        }
        let total: u64 = self.counts.iter().map(|&c| u64::from(c)).sum();
        if total >= u64::from(limit.requests) {
            let oldest = self.counts.iter().position(|&c| c > 0).unwrap_or(0);
            return buckets.limited(self.first + oldest as i64, now_ms);
        }
        // A clock that stepped back counts into the oldest bucket kept.
        let at = usize::try_from(now - self.first).unwrap_or(0);
        if self.counts.len() <= at {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += 1;
        Decision::Allowed
    }
}

/// The windows of the tokens of a store that one server process owns
/// (SQLite). A shared store keeps them in the database instead.
#[derive(Default)]
pub struct LocalLimiter {
    windows: Mutex<HashMap<Uuid, Window>>,
}

/// How many tokens' windows to hold before dropping the idle ones.
const PRUNE_AT: usize = 10_000;

impl LocalLimiter {
    /// Counts a request of `token` at `now_ms` (milliseconds) if the limit allows it.
    pub fn check(&self, limit: RateLimit, token: Uuid, now_ms: i64) -> Decision {
        let buckets = limit.buckets();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= PRUNE_AT {
            let start = buckets.at(now_ms) - i64::from(buckets.count) + 1;
            windows.retain(|_, w| w.first + w.counts.len() as i64 > start);
        }
        windows.entry(token).or_default().count(limit, now_ms)
    }

    /// Forgets the windows of these tokens.
    pub fn forget(&self, tokens: &[Uuid]) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for token in tokens {
            windows.remove(token);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_cli_form() {
        assert_eq!(
            "200/30s".parse(),
            Ok(RateLimit {
                requests: 200,
                window_secs: 30
            })
        );
        assert!("200".parse::<RateLimit>().is_err());
        assert!("200/30".parse::<RateLimit>().is_err());
        assert!("0/30s".parse::<RateLimit>().is_err());
    }

    #[test]
    fn any_window_holds_at_most_n_requests() {
        let limit = RateLimit {
            requests: 3,
            window_secs: 10,
        };
        let limiter = LocalLimiter::default();
        let token = Uuid::new_v4();
        for t in [0, 1000, 2000] {
            assert_eq!(limiter.check(limit, token, t), Decision::Allowed);
        }
        // The oldest request leaves the window at 10 000 ms: 7.5 s from now, so 8.
        assert_eq!(
            limiter.check(limit, token, 2500),
            Decision::Limited {
                retry_after_secs: 8
            }
        );
        assert_eq!(limiter.check(limit, token, 10_000), Decision::Allowed);
        assert_eq!(
            limiter.check(limit, Uuid::new_v4(), 10_000),
            Decision::Allowed
        );
    }

    #[test]
    fn a_window_is_cut_into_at_most_60_buckets_of_whole_seconds() {
        let cut = |window_secs| {
            let b = RateLimit {
                requests: 1,
                window_secs,
            }
            .buckets();
            (b.width_ms, b.count)
        };
        assert_eq!(cut(30), (1000, 30));
        assert_eq!(cut(60), (1000, 60));
        assert_eq!(cut(61), (2000, 31));
        assert_eq!(cut(3600), (60_000, 60));
        assert_eq!(cut(u32::MAX).1, MAX_BUCKETS);
    }

    /// The rule spelled out: a request counts while its bucket is one of the
    /// window's last `count`; every request allowed is remembered.
    fn oracle(allowed: &[i64], limit: RateLimit, now_ms: i64) -> Decision {
        let b = limit.buckets();
        let start = b.at(now_ms) - i64::from(b.count) + 1;
        let counted: Vec<i64> = allowed
            .iter()
            .map(|&t| b.at(t))
            .filter(|&bucket| bucket >= start)
            .collect();
        if counted.len() < limit.requests as usize {
            return Decision::Allowed;
        }
        b.limited(*counted.iter().min().unwrap(), now_ms)
    }

    proptest::proptest! {
        #[test]
        fn the_buckets_decide_as_the_rule_says(
            requests in 1u32..8,
            window_secs in 1u32..200,
            steps in proptest::collection::vec(0i64..5_000, 1..300),
        ) {
            let limit = RateLimit { requests, window_secs };
            let mut window = Window::default();
            let mut allowed = Vec::new();
            let mut now = 1_700_000_000_000;
            for step in steps {
                now += step;
                let expected = oracle(&allowed, limit, now);
                proptest::prop_assert_eq!(window.count(limit, now), expected);
                if expected == Decision::Allowed {
                    allowed.push(now);
                }
                proptest::prop_assert!(window.counts.len() <= limit.buckets().count as usize);
            }
        }
    }
}
