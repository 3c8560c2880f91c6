//! `MessageAdded` webhooks: the receiver's URL, the payload, and the
//! retry schedule.

use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

/// A receiver URL: http or https with a host. The text is kept exactly as given,
/// since its query string may carry the receiver's shared secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "a webhook URL must be http or https, not {}",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("the webhook URL '{text}' has no host"));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL without its query string, for logs and listings.
    pub fn redacted(text: &str) -> &str {
        text.split(['?', '#']).next().unwrap_or(text)
    }
}

/// The body of one webhook request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Payload {
    pub enterprise_id: Uuid,
    pub integration_id: Uuid,
    pub events: Vec<Event>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub discriminator: &'static str,
    pub value: EventValue,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventValue {
    pub id: Uuid,
}

impl Event {
    pub fn message_added(message_id: Uuid) -> Self {
        Self {
            discriminator: "MessageAdded",
            value: EventValue { id: message_id },
        }
    }
}

/// How often and how long a failed delivery is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub attempts: u32,
    /// The delay after the first failed attempt; each later one doubles it.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    /// 10 attempts; with a 42 s base the nine waits add up to about 6 hours.
    fn default() -> Self {
        Self {
            attempts: 10,
            base_delay: Duration::from_secs(42),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `failed` (1-based), or `None` when it
    /// was the last. `jitter` in `[0, 1)` spreads retries by up to ±20%.
    pub fn delay_after(&self, failed: u32, jitter: f64) -> Option<Duration> {
        if failed >= self.attempts {
            return None;
        }
        let doubling = 2f64.powi(failed.saturating_sub(1).min(30) as i32);
        let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
        Some(self.base_delay.mul_f64(doubling * spread))
    }
}

/// Parses a duration such as `250ms`, `42s`, `5m` or `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration such as 250ms, 42s, 5m or 1h");
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let number: u64 = digits.parse().map_err(|_| bad())?;
    match &text[digits.len()..] {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number * 60)),
        "h" => Ok(Duration::from_secs(number * 3600)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host() {
        assert!(WebhookUrl::parse("https://example.com/hook?secret=a%2Fb&x=1").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9/").is_ok());
        assert_eq!(
            WebhookUrl::parse("ftp://example.com/").unwrap_err(),
            "a webhook URL must be http or https, not ftp"
        );
        assert!(WebhookUrl::parse("example.com/hook").is_err());
        assert!(WebhookUrl::parse("http://").is_err());
    }

    #[test]
    fn the_url_text_is_kept_exactly() {
        let text = "https://example.com/hook?secret=A%2fb+c&x=%7E";
        assert_eq!(WebhookUrl::parse(text).unwrap().as_str(), text);
        assert_eq!(WebhookUrl::redacted(text), "https://example.com/hook");
    }

    #[test]
    fn default_retries_are_about_ten_attempts_over_about_six_hours() {
        let policy = RetryPolicy::default();
        let total: Duration = (1..policy.attempts)
            .map(|n| policy.delay_after(n, 0.5).unwrap())
            .sum();
        assert!(
            (5.5 * 3600.0..6.5 * 3600.0).contains(&total.as_secs_f64()),
            "{total:?}"
        );
        assert_eq!(policy.delay_after(10, 0.5), None);
    }

    #[test]
    fn delays_grow_and_jitter_stays_within_a_fifth() {
        let policy = RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_secs(10),
        };
        assert_eq!(policy.delay_after(1, 0.5), Some(Duration::from_secs(10)));
        assert_eq!(policy.delay_after(3, 0.5), Some(Duration::from_secs(40)));
        assert_eq!(policy.delay_after(1, 0.0), Some(Duration::from_secs(8)));
        assert!(policy.delay_after(1, 0.999).unwrap() < Duration::from_secs(12));
    }

    #[test]
    fn durations_parse_with_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("42s"), Ok(Duration::from_secs(42)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("42").is_err());
        assert!(parse_duration("s").is_err());
    }
}
