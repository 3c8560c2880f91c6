//! Secret tokens: how they are made, and the only form in which they are stored.
//!
//! A token is 252 random bits written like the vendor's tokens (32 hex digits,
//! a hyphen, 31 hex digits). The store keeps only its SHA-256 digest: tokens are
//! high-entropy, so a plain digest cannot be reversed, and looking a digest up in
//! an index reveals nothing an attacker can use. Digests read back from the store
//! are compared in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// SHA-256 digest of a token; the stored form.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Constant-time equality, for digests read back from the store.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == 32 && bool::from(self.0.ct_eq(stored))
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

/// A new random token, in the vendor's format.
pub fn generate() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let hex = hex::encode_upper(bytes);
    Ok(format!("{}-{}", &hex[..32], &hex[32..63]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_look_like_the_vendors() {
        let token = generate().unwrap();
        assert_eq!(token.len(), 64);
        assert_eq!(token.as_bytes()[32], b'-');
        assert_ne!(generate().unwrap(), token);
    }

    #[test]
    fn digests_match_only_their_own_token() {
        let hash = TokenHash::of("A");
        assert!(hash.matches(&TokenHash::of("A").0));
        assert!(!hash.matches(&TokenHash::of("B").0));
        assert!(!hash.matches(&[0u8; 31]));
    }
}
