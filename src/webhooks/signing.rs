//! Signed webhooks, as the Standard Webhooks specification says
//! (<https://www.standardwebhooks.com>): a secret `whsec_<base64 of 32 random
//! bytes>`, and on every request `webhook-signature: v1,<base64 of
//! HMAC-SHA256("{webhook-id}.{webhook-timestamp}.{body}")>`, one signature per
//! secret that signs, separated by spaces. The vendor's own webhooks carry
//! only the URL's secret; signing is for hotels that host switchboard.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix of a secret as it is shown.
const PREFIX: &str = "whsec_";

/// How long the secret before a rotation keeps signing beside the new one:
/// a day, on the server's clock.
pub const ROTATION_MS: i64 = 24 * 3600 * 1000;

/// A new secret's 32 random bytes.
pub fn new_secret() -> anyhow::Result<Vec<u8>> {
    let mut bytes = vec![0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// A secret as it is shown once and given to a receiver's library.
pub fn shown(secret: &[u8]) -> String {
    format!("{PREFIX}{}", STANDARD.encode(secret))
}

/// The `webhook-signature` header's value: `v1,<signature>` for each secret.
pub fn signature(secrets: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries: this secret,
    /// id, timestamp and body sign to this value.
    #[test]
    fn signs_as_the_specification_s_example_does() {
        let secret = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_and_a_secret_shows_with_its_prefix() {
        let (old, new) = (new_secret().unwrap(), new_secret().unwrap());
        assert_eq!(old.len(), 32);
        assert_ne!(old, new);
        let both = signature(&[new.clone(), old.clone()], "id", 1, b"{}");
        let parts: Vec<&str> = both.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature(&[new], "id", 1, b"{}"));
        assert_eq!(
            parts[1],
            signature(std::slice::from_ref(&old), "id", 1, b"{}")
        );
        let text = shown(&old);
        assert!(text.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&text[6..]).unwrap(), old);
    }
}
