//! Sessions of the staff web inbox: a signed cookie that names its staff
//! member (or the operator), so that any node and any restart accepts it,
//! with a key derived from the operator token, so that changing the token
//! ends every session; the CSRF token of a session; and the throttle of wrong
//! logins.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::tokens::TokenHash;

/// The cookie's name.
pub const COOKIE: &str = "switchboard_inbox";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Wrong logins allowed from one address, or for one login, in
/// [`THROTTLE_WINDOW`].
pub const THROTTLE_TRIES: usize = 10;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(60);

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks sessions with a key only the operator token gives.
#[derive(Clone)]
pub struct Sessions {
    key: [u8; 32],
}

/// A session that checked out: its id, which the CSRF token is bound to,
/// when it was issued and expires, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub expires_unix: i64,
    /// Real time, ms: a member's password change or disable ends the
    /// sessions issued before it.
    pub issued_ms: i64,
    pub who: Who,
}

/// Whose session it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The operator token's: the built-in admin "Operator".
    Operator,
    Member(Uuid),
}

impl Who {
    fn text(self) -> String {
        match self {
            Self::Operator => "operator".to_owned(),
            Self::Member(id) => id.simple().to_string(),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "operator" => Some(Self::Operator),
            id => Uuid::try_parse(id).ok().map(Self::Member),
        }
    }
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

    /// A new session's cookie value for `who`, valid until `now_ms` +
    /// [`LIFETIME`].
    pub fn issue(&self, now_ms: i64, who: Who) -> anyhow::Result<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let expires = (now_ms.div_euclid(1000) + LIFETIME.as_secs() as i64).to_string();
        let issued = now_ms.to_string();
        let id = hex::encode(nonce);
        let who = who.text();
        let mac = self.mac(&["session", &expires, &issued, &id, &who]);
        Ok(format!("v2.{expires}.{issued}.{id}.{who}.{mac}"))
    }

    /// The session of a cookie value, if it is ours and not expired.
    pub fn check(&self, value: &str, now_unix: i64) -> Option<Session> {
        let parts: Vec<&str> = value.split('.').collect();
        let ["v2", expires, issued, id, who, mac] = parts[..] else {
            return None;
        };
        let expected = self.mac(&["session", expires, issued, id, who]);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        if now_unix >= expires {
            return None;
        }
        Some(Session {
            id: id.to_owned(),
            expires_unix: expires,
            issued_ms: issued.parse().ok()?,
            who: Who::parse(who)?,
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

/// Wrong logins per key (an address, or a login) over the last minute, on
/// this node.
pub struct Throttle<K> {
    wrong: Mutex<HashMap<K, Vec<Instant>>>,
}

impl<K> Default for Throttle<K> {
    fn default() -> Self {
        Self {
            wrong: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Throttle<K> {
    /// Whether `key` has used up its wrong tries.
    pub fn is_blocked(&self, key: &K, now: Instant) -> bool {
        let mut wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        let Some(tries) = wrong.get_mut(key) else {
            return false;
        };
        tries.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
        tries.len() >= THROTTLE_TRIES
    }

    pub fn wrong_try(&self, key: K, now: Instant) {
        let mut wrong = self.wrong.lock().unwrap_or_else(|e| e.into_inner());
        // Forget keys that have been quiet, so the map stays small.
        if wrong.len() > 10_000 {
            wrong.retain(|_, tries| {
                tries
                    .last()
                    .is_some_and(|t| now.duration_since(*t) < THROTTLE_WINDOW)
            });
        }
        wrong.entry(key).or_default().push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_checks_out_until_it_expires_and_only_with_its_key() {
        let sessions = Sessions::new(&TokenHash::of("operator"));
        let member = Uuid::new_v4();
        let cookie = sessions.issue(1_000_000, Who::Member(member)).unwrap();
        let session = sessions.check(&cookie, 1000).unwrap();
        assert_eq!(
            (session.who, session.issued_ms),
            (Who::Member(member), 1_000_000)
        );
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
        let forged = cookie.replace("v2.44200", "v2.99999");
        assert!(sessions.check(&forged, 1000).is_none());
        let claimed = cookie.replace(&member.simple().to_string(), "operator");
        assert!(sessions.check(&claimed, 1000).is_none(), "whose is signed");
        let operator = sessions.issue(1_000_000, Who::Operator).unwrap();
        assert_eq!(sessions.check(&operator, 1000).unwrap().who, Who::Operator);
        let csrf = sessions.csrf(&session);
        assert!(sessions.csrf_matches(&session, &csrf));
        let other = sessions
            .check(
                &sessions.issue(1_000_000, Who::Member(member)).unwrap(),
                1000,
            )
            .unwrap();
        assert!(
            !sessions.csrf_matches(&other, &csrf),
            "bound to its session"
        );
    }

    #[test]
    fn the_eleventh_wrong_try_in_a_minute_is_blocked() {
        let throttle = Throttle::default();
        let address: std::net::IpAddr = [127, 0, 0, 1].into();
        let start = Instant::now();
        for _ in 0..10 {
            assert!(!throttle.is_blocked(&address, start));
            throttle.wrong_try(address, start);
        }
        assert!(throttle.is_blocked(&address, start));
        assert!(!throttle.is_blocked(&address, start + THROTTLE_WINDOW));
    }
}
