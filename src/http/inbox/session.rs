//! Sessions of the staff web inbox: a signed cookie, so that any node and any
//! restart accepts it, with a key derived from the operator token, so that
//! changing the token ends every session; the CSRF token of a session; and the
//! throttle of wrong logins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::tokens::TokenHash;

/// The cookie's name.
pub const COOKIE: &str = "switchboard_inbox";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Wrong logins allowed from one address in [`THROTTLE_WINDOW`].
pub const THROTTLE_TRIES: usize = 10;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(60);

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks sessions with a key only the operator token gives.
#[derive(Clone)]
pub struct Sessions {
    key: [u8; 32],
}

/// A session that checked out: its id, which the CSRF token is bound to, and
/// when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub expires_unix: i64,
}

impl Sessions {
    pub fn new(operator_token: &TokenHash) -> Self {
        let mut key = Sha256::new();
        key.update(b"switchboard inbox sessions v1\0");
        key.update(operator_token.0);
        Self {
            key: key.finalize().into(),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        // A key of any length is accepted: this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\0");
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// A new session's cookie value, valid until `now_unix` + [`LIFETIME`].
    pub fn issue(&self, now_unix: i64) -> anyhow::Result<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let expires = (now_unix + LIFETIME.as_secs() as i64).to_string();
        let id = hex::encode(nonce);
        let mac = self.mac(&["session", &expires, &id]);
        Ok(format!("v1.{expires}.{id}.{mac}"))
    }

    /// The session of a cookie value, if it is ours and not expired.
    pub fn check(&self, value: &str, now_unix: i64) -> Option<Session> {
        let mut parts = value.split('.');
        let (Some("v1"), Some(expires), Some(id), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let expected = self.mac(&["session", expires, id]);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        (now_unix < expires).then(|| Session {
            id: id.to_owned(),
            expires_unix: expires,
        })
    }

    /// The CSRF token of a session: bound to it, and to nothing a page of
    /// another origin can read.
    pub fn csrf(&self, session: &Session) -> String {
        self.mac(&["csrf", &session.id])
    }

    pub fn csrf_matches(&self, session: &Session, token: &str) -> bool {
        bool::from(self.csrf(session).as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Wrong logins per address over the last minute, on this node.
#[derive(Default)]
pub struct Throttle {
    wrong: Mutex<HashMap<IpAddr, Vec<Instant>>>,
}

impl Throttle {
    /// Whether `address` has used up its wrong tries.
    pub fn is_blocked(&self, address: IpAddr, now: Instant) -> bool {
        let mut wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        let tries = wrong.entry(address).or_default();
        tries.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
        tries.len() >= THROTTLE_TRIES
    }

    pub fn wrong_try(&self, address: IpAddr, now: Instant) {
        let mut wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        // Forget addresses that have been quiet, so the map stays small.
        if wrong.len() > 10_000 {
            wrong.retain(|_, tries| {
                tries
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < THROTTLE_WINDOW)
            });
        }
        wrong.entry(address).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_checks_out_until_it_expires_and_only_with_its_key() {
        let sessions = Sessions::new(&TokenHash::of("operator"));
        let cookie = sessions.issue(1000).unwrap();
        let session = sessions.check(&cookie, 1000).unwrap();
        assert!(
            sessions.check(&cookie, 1000 + 12 * 3600).is_none(),
            "expired"
        );
        assert!(
            Sessions::new(&TokenHash::of("another"))
                .check(&cookie, 1000)
                .is_none(),
            "a new operator token ends it"
        );
        let forged = cookie.replace("v1.44200", "v1.99999");
        assert!(sessions.check(&forged, 1000).is_none());
        let csrf = sessions.csrf(&session);
        assert!(sessions.csrf_matches(&session, &csrf));
        let other = sessions
            .check(&sessions.issue(1000).unwrap(), 1000)
            .unwrap();
        assert!(
            !sessions.csrf_matches(&other, &csrf),
            "bound to its session"
        );
    }

    #[test]
    fn the_eleventh_wrong_try_in_a_minute_is_blocked() {
        let throttle = Throttle::default();
        let address: IpAddr = [127, 0, 0, 1].into();
        let start = Instant::now();
        for _ in 0..10 {
            assert!(!throttle.is_blocked(address, start));
            throttle.wrong_try(address, start);
        }
        assert!(throttle.is_blocked(address, start));
        assert!(!throttle.is_blocked(address, start + THROTTLE_WINDOW));
    }
}
