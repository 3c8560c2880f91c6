//! `MessageAdded` webhooks: the receiver's URL, the payload, and the
//! retry schedule.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;
use uuid::Uuid;

/// A receiver URL: http or https with a host. The text is kept exactly as given,
/// since its query string may carry the receiver's shared secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let shown = Self::redacted(text);
        let url = reqwest::Url::parse(text).map_err(|e| format!("'{shown}' is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "a webhook URL must be http or https, not {}",
                url.scheme()
            ));
        }
        let host = raw_host(text);
        if host.is_empty() || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("the webhook URL '{shown}' has no host"));
        }
        // The URL standard reads `2130706433`, `0x7f.1` and `127.1` as
        // 127.0.0.1: a receiver's address must be written as what it is.
        if let Some(url::Host::Ipv4(ip)) = url.host()
            && host != ip.to_string()
        {
            return Err(format!(
                "the webhook URL '{shown}' writes the address {ip} as '{host}'; write it as {ip}"
            ));
        }
        if let Some(ip) = host_ip(&url)
            && ip.is_unspecified()
        {
            return Err(format!(
                "the webhook URL '{shown}' names the unspecified address {ip}, which is no receiver"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL without its user name, password, query string and fragment, for
    /// logs, listings and messages.
    pub fn redacted(text: &str) -> String {
        let text = text.split(['?', '#']).next().unwrap_or(text);
        match text.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                let host = authority.rsplit('@').next().unwrap_or(authority);
                format!("{scheme}://{host}{path}")
            }
            None => text.to_owned(),
        }
    }
}

/// The host of a URL exactly as written: between `://` (and any `user@`) and
/// the port, path, query or fragment.
fn raw_host(text: &str) -> &str {
    let rest = text.split_once("://").map_or(text, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.split(':').next().unwrap_or(host)
}

/// The IP address a URL names directly, if its host is one.
pub fn host_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, unspecified, shared (CGNAT), multicast, broadcast or reserved
/// for documentation. Webhooks go only to public addresses unless the operator
/// allows the others (`--allow-private-webhooks`).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
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
    let seconds = |per: u64| {
        number
            .checked_mul(per)
            .map(Duration::from_secs)
            .ok_or_else(bad)
    };
    match &text[digits.len()..] {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        _ => Err(bad()),
    }
}

/// A webhook delivery's state, as the delivery log and export files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Pending" => Some(Self::Pending),
            "Delivered" => Some(Self::Delivered),
            "Failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
        }
    }

    /// The database's word for it.
    pub fn column(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn from_column(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.column() == text)
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
    fn odd_host_forms_and_the_unspecified_address_are_refused() {
        for odd in [
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://127.1/hook",
        ] {
            let error = WebhookUrl::parse(odd).unwrap_err();
            assert!(error.contains("write it as 127.0.0.1"), "{odd}: {error}");
        }
        for unspecified in ["http://0.0.0.0:9/hook", "http://[::]:9/hook"] {
            let error = WebhookUrl::parse(unspecified).unwrap_err();
            assert!(
                error.contains("unspecified address"),
                "{unspecified}: {error}"
            );
        }
        assert!(WebhookUrl::parse("http://:9/hook").is_err(), "empty host");
        assert!(
            WebhookUrl::parse("http://user@/hook").is_err(),
            "empty host"
        );
        assert!(WebhookUrl::parse("http://[::1]:9/hook").is_ok());
        assert!(WebhookUrl::parse("http://hooks.example.com:9/hook").is_ok());
    }

    #[test]
    fn user_names_passwords_and_queries_are_never_shown() {
        assert_eq!(
            WebhookUrl::redacted("https://user:pa55@example.com:8443/hook?secret=s#f"),
            "https://example.com:8443/hook"
        );
        assert_eq!(
            WebhookUrl::redacted("postgres://switchboard:pa55@db:5432/switchboard"),
            "postgres://db:5432/switchboard"
        );
        let error = WebhookUrl::parse("https://user:pa55@/hook").unwrap_err();
        assert!(!error.contains("pa55"), "{error}");
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
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
