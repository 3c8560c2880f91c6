//! Bounded texts: what a client may write into a thread or a message.

use super::fields::{Input, InputError, Object};

/// A text of `1..=MAX` Unicode scalar values that is not only whitespace
/// (`OriginalSender`, `Subject`, a message's `Text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

/// `OriginalSender` and `Subject` of a thread.
pub type ShortText = Text<255>;

impl<const MAX: usize> Text<MAX> {
    pub fn parse(obj: &Object<'_>, name: &str) -> Input<Self> {
        Self::checked(obj.required_str(name)?, obj.path(name).as_str())
    }

    /// `text`, if it keeps the rules; errors call it `name` ("A reply").
    pub fn checked(text: &str, name: &str) -> Input<Self> {
        let len = text.chars().count();
        if len == 0 || len > MAX {
            return Err(InputError(format!(
                "{name} must be between 1 and {MAX} characters long."
            )));
        }
        if text.trim().is_empty() {
            return Err(InputError(format!("{name} must not be only whitespace.")));
        }
        if text.contains('\0') {
            return Err(InputError(format!("{name} must not contain U+0000.")));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The text of `bytes`, a prefix of something longer: a character cut at the
/// end is left out, and any other byte that is not UTF-8 shows as U+FFFD.
pub fn utf8_prefix(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Input<ShortText> {
        let body = json!({ "Subject": value });
        ShortText::parse(&Object::root(&body).unwrap(), "Subject")
    }

    #[test]
    fn length_counts_unicode_scalar_values() {
        assert!(parse(json!("é".repeat(255))).is_ok());
        assert!(parse(json!("😀".repeat(255))).is_ok());
        assert_eq!(
            parse(json!("😀".repeat(256))).unwrap_err().0,
            "Subject must be between 1 and 255 characters long."
        );
    }

    #[test]
    fn empty_and_blank_are_refused() {
        assert!(parse(json!("")).is_err());
        assert_eq!(
            parse(json!(" \t\n")).unwrap_err().0,
            "Subject must not be only whitespace."
        );
    }
}
