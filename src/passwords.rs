//! Staff passwords: Argon2id hashes in the PHC string format (the `argon2`
//! crate's defaults: 19 MiB, 2 passes), made and checked off the async
//! threads, as each takes tens of milliseconds by design.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// The hash of `password`, as it is kept.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash a password: {e}"))
    })
    .await?
}

/// Whether `password` is the one `hash` was made of. A login that names no
/// member is checked against a hash of nothing anyone knows, so that the
/// answer takes as long either way.
pub async fn verify(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| NOBODY.to_owned());
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// An Argon2id hash whose password nobody knows.
const NOBODY: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm9ib2R5bm9ib2R5bm9ib2R5$\
                      zmFZ1eYI7sUGbqvTWdJRDg1yyq8H6EIMdIm5ymvhM2o";

/// A one-time password for a new member (or one whose password an admin
/// reset): 20 letters and digits that cannot be mistaken for each other.
pub fn one_time() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_checks_against_its_own_hash_only() {
        let hash = hash("correct horse battery".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".to_owned(), Some(hash.clone())).await);
        assert!(!verify("wrong horse battery".to_owned(), Some(hash)).await);
        assert!(!verify("anything".to_owned(), None).await);
        let once = one_time().unwrap();
        assert_eq!(once.len(), 20);
        assert_ne!(once, one_time().unwrap());
    }
}
