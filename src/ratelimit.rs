//! The request limit per access token: at most `requests` in any
//! window of `window` seconds, as a sliding log of request times.

use std::collections::{HashMap, VecDeque};
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

/// Sliding-log limiter held in this process: right for a store that one server
/// process owns (SQLite). A shared store keeps the log in the database instead.
#[derive(Default)]
pub struct LocalLimiter {
    logs: Mutex<HashMap<Uuid, VecDeque<i64>>>,
}

/// How many tokens' logs to hold before dropping the idle ones.
const PRUNE_AT: usize = 10_000;

impl LocalLimiter {
    /// Counts a request of `token` at `now_ms` (milliseconds) if the limit allows it.
    pub fn check(&self, limit: RateLimit, token: Uuid, now_ms: i64) -> Decision {
        let window_ms = i64::from(limit.window_secs) * 1000;
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        if logs.len() >= PRUNE_AT {
            logs.retain(|_, log| log.back().is_some_and(|&t| t > now_ms - window_ms));
        }
        let log = logs.entry(token).or_default();
        decide(log, limit, now_ms)
    }

    /// Forgets the windows of these tokens.
    pub fn forget(&self, tokens: &[Uuid]) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        for token in tokens {
            logs.remove(token);
        }
    }
}

/// The sliding-log rule on one token's log of request times, kept in
/// ascending order even if a clock steps back (a request goes in its place).
pub fn decide(log: &mut VecDeque<i64>, limit: RateLimit, now_ms: i64) -> Decision {
    let window_ms = i64::from(limit.window_secs) * 1000;
    while log.front().is_some_and(|&t| t <= now_ms - window_ms) {
        log.pop_front();
    }
    if log.len() < limit.requests as usize {
        let place = log.partition_point(|&t| t <= now_ms);
        log.insert(place, now_ms);
        return Decision::Allowed;
    }
    limited(log.front().copied().unwrap_or(now_ms), limit, now_ms)
}

/// The refusal when the oldest counted request was at `oldest_ms`: retry when
/// it leaves the window, in whole seconds rounded up, at least 1.
pub fn limited(oldest_ms: i64, limit: RateLimit, now_ms: i64) -> Decision {
    let window_ms = i64::from(limit.window_secs) * 1000;
    let wait_ms = (oldest_ms + window_ms - now_ms).max(1);
    Decision::Limited {
        retry_after_secs: (wait_ms as u64).div_ceil(1000).max(1),
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
}
