//! One request to a receiver: the body, the headers every webhook request
//! carries (and its signature, when the integration signs), and the
//! guards on where it may go.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::signing;
use super::{Redirects, WebhookSettings};
use crate::clock::RealClock;
use crate::domain::text::utf8_prefix;
use crate::domain::webhook::{host_ip, is_public};
use crate::store::outbox::RESPONSE_KEPT;

/// `User-Agent` of every webhook request.
pub const USER_AGENT: &str = concat!("switchboard/", env!("CARGO_PKG_VERSION"));

/// One webhook request to make.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub url: &'a str,
    /// `webhook-id`: the delivery's id, the same on every attempt.
    pub id: String,
    /// The JSON body, exactly as sent.
    pub body: Vec<u8>,
    /// The secrets that sign it (none: not signed).
    pub secrets: &'a [Vec<u8>],
}

/// What sends webhook requests: the worker's and `webhooks/test`'s.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    real_clock: Arc<dyn RealClock>,
}

impl Sender {
    pub fn new(settings: &WebhookSettings, real_clock: Arc<dyn RealClock>) -> anyhow::Result<Self> {
        // TLS in pure Rust (ring), so that https receivers need no system
        // library. Installing twice (tests start many workers) is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Self {
            client: http_client(settings)?,
            allow_private: settings.allow_private,
            real_clock,
        })
    }

    /// Sends `outgoing` once. `webhook-timestamp` is real time (Unix
    /// seconds), also on a manual clock: receivers compare it with their own
    /// clock to refuse replays.
    pub async fn send(&self, outgoing: &Outgoing<'_>) -> Sent {
        // A name is checked by the resolver; an address written in the URL here.
        if let Ok(parsed) = reqwest::Url::parse(outgoing.url)
            && let Some(refused) = refused_address(&parsed, self.allow_private)
        {
            return Sent::failed("AddressRefused", refused.to_string());
        }
        let timestamp = self.real_clock.now_ms().div_euclid(1000);
        let mut request = self
            .client
            .post(outgoing.url)
            .header("content-type", "application/json")
            .header("user-agent", USER_AGENT)
            .header("webhook-id", &outgoing.id)
            .header("webhook-timestamp", timestamp.to_string());
        if !outgoing.secrets.is_empty() {
            request = request.header(
                "webhook-signature",
                signing::signature(outgoing.secrets, &outgoing.id, timestamp, &outgoing.body),
            );
        }
        let mut response = match request.body(outgoing.body.clone()).send().await {
            Ok(response) => response,
            Err(e) => return Sent::failed(error_kind(&e), describe(&e)),
        };
        // The start of the answer, for the delivery log; the rest is not read.
        let mut kept = Vec::new();
        while kept.len() < RESPONSE_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        kept.truncate(RESPONSE_KEPT);
        Sent {
            status: Some(response.status().as_u16()),
            response: Some(utf8_prefix(&kept)),
            failure: None,
        }
    }
}

/// What a request to a receiver gave back.
#[derive(Debug, Clone)]
pub struct Sent {
    pub status: Option<u16>,
    /// The first [`RESPONSE_KEPT`] bytes of the answer.
    pub response: Option<String>,
    /// When there was no answer: the kind of error and what happened, in words.
    pub failure: Option<(&'static str, String)>,
}

impl Sent {
    pub fn failed(kind: &'static str, error: String) -> Self {
        Self {
            status: None,
            response: None,
            failure: Some((kind, error)),
        }
    }
}

/// The kind of a request that got no answer, as the delivery log names it.
fn error_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "Timeout"
    } else if error.is_connect() {
        "Connect"
    } else if error.is_redirect() {
        "Redirect"
    } else {
        "Request"
    }
}

/// The client that speaks to receivers: the timeout, no `Referer` (it would
/// carry the URL's secret to the next hop), only the redirects that keep the
/// method and body and that `settings` allow, and, unless private addresses are
/// allowed, a resolver that gives only public addresses, so every connection,
/// redirects included, goes to the public internet.
fn http_client(settings: &WebhookSettings) -> anyhow::Result<reqwest::Client> {
    let (allow_private, redirects) = (settings.allow_private, settings.redirects);
    let builder = reqwest::Client::builder()
        .timeout(settings.timeout)
        .referer(false)
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            let from = attempt.previous().last();
            let same_origin = from.is_some_and(|from| from.origin() == attempt.url().origin());
            let refused = refused_address(attempt.url(), allow_private);
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if !matches!(attempt.status().as_u16(), 307 | 308) {
                attempt.stop()
            } else if redirects == Redirects::SameOrigin && !same_origin {
                attempt.error(NOT_FOLLOWED)
            } else if let Some(refused) = refused {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        }));
    let builder = if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(PublicOnly))
    };
    Ok(builder.build()?)
}

const NOT_FOLLOWED: &str = "the receiver redirected to another scheme, host or port, which is \
                            not followed (serve --webhook-redirects any allows it)";

/// The address a URL names directly, if it is not public and private ones are
/// not allowed. Names are left to the resolver ([`PublicOnly`]).
fn refused_address(url: &reqwest::Url, allow_private: bool) -> Option<PrivateAddress> {
    host_ip(url)
        .filter(|ip| !allow_private && !is_public(*ip))
        .map(PrivateAddress)
}

/// A receiver address outside the public internet, refused.
#[derive(Debug)]
struct PrivateAddress(IpAddr);

impl std::fmt::Display for PrivateAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the receiver's address {} is not public (serve --allow-private-webhooks allows it)",
            self.0
        )
    }
}

impl std::error::Error for PrivateAddress {}

/// Resolves receiver names to their public addresses only.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| is_public(a.ip()))
                .collect();
            match (public.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs),
                (true, Some(address)) => Err(PrivateAddress(address.ip()).into()),
                (true, None) => Err(format!("{} has no address", name.as_str()).into()),
            }
        })
    }
}

/// A transport error in words, without the URL (its query may hold a secret).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the timeout".to_owned();
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_redirect() {
        "redirect failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.contains("://") {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
