//! The grants this node has seen its access tokens admitted with, so that a
//! token's next request can send its operation along with its admission
//! (see [`crate::store::admission`]). Only a hint: admission still decides
//! every request, and a wrong hint costs the request one more round trip.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::scope::AccessGrant;
use crate::ratelimit::Decision;
use crate::store::Admitted;
use crate::tokens::TokenHash;

/// Pairs kept at most; the book starts again empty when it is full.
const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct GrantBook {
    known: Mutex<HashMap<(TokenHash, TokenHash), Known>>,
}

struct Known {
    grant: AccessGrant,
    /// Until when the token was last found over its limit: until then its
    /// requests are admitted first, so that a refused one reads nothing.
    limited_until_ms: i64,
}

impl GrantBook {
    /// The grant the pair of tokens was last admitted with, unless it was
    /// refused or is still over its limit at `now_ms`.
    pub fn expected(
        &self,
        client: TokenHash,
        access: TokenHash,
        now_ms: i64,
    ) -> Option<AccessGrant> {
        let known = self.known.lock().ok()?;
        let entry = known.get(&(client, access))?;
        (entry.limited_until_ms <= now_ms).then(|| entry.grant.clone())
    }

    /// Notes what admission found for the pair.
    pub fn note(&self, client: TokenHash, access: TokenHash, admitted: &Admitted, now_ms: i64) {
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        let key = (client, access);
        let Some((grant, decision)) = admitted else {
            known.remove(&key);
            return;
        };
        let limited_until_ms = match decision {
            Decision::Allowed => i64::MIN,
            Decision::Limited { retry_after_secs } => now_ms.saturating_add(
                i64::try_from(*retry_after_secs)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(1000),
            ),
        };
        if let Some(entry) = known.get_mut(&key) {
            entry.grant.clone_from(grant);
            entry.limited_until_ms = limited_until_ms;
            return;
        }
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(
            key,
            Known {
                grant: grant.clone(),
                limited_until_ms,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn grant(n: u128) -> AccessGrant {
        AccessGrant {
            token_id: Uuid::from_u128(n),
            integration_id: Uuid::from_u128(100),
            enterprises: vec![Uuid::from_u128(200)],
        }
    }

    #[test]
    fn a_pair_is_expected_with_its_last_grant_until_refused() {
        let book = GrantBook::default();
        let (client, access) = (TokenHash::of("c"), TokenHash::of("a"));
        assert_eq!(book.expected(client, access, 0), None);
        book.note(client, access, &Some((grant(1), Decision::Allowed)), 0);
        assert_eq!(book.expected(client, access, 0), Some(grant(1)));
        assert_eq!(book.expected(TokenHash::of("x"), access, 0), None);
        book.note(client, access, &Some((grant(2), Decision::Allowed)), 0);
        assert_eq!(book.expected(client, access, 0), Some(grant(2)));
        book.note(client, access, &None, 0);
        assert_eq!(book.expected(client, access, 0), None);
    }

    #[test]
    fn a_limited_pair_is_not_expected_until_it_may_retry() {
        let book = GrantBook::default();
        let (client, access) = (TokenHash::of("c"), TokenHash::of("a"));
        let limited = Decision::Limited {
            retry_after_secs: 3,
        };
        book.note(client, access, &Some((grant(1), limited)), 10_000);
        assert_eq!(book.expected(client, access, 12_999), None);
        assert_eq!(book.expected(client, access, 13_000), Some(grant(1)));
    }

    #[test]
    fn the_book_stays_within_its_capacity() {
        let book = GrantBook::default();
        for n in 0..CAPACITY + 5 {
            let access = TokenHash::of(&n.to_string());
            book.note(
                TokenHash::of("c"),
                access,
                &Some((grant(1), Decision::Allowed)),
                0,
            );
        }
        assert!(book.known.lock().unwrap().len() <= CAPACITY);
    }
}
