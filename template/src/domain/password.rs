use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// A password that meets the policy (AUTH-06): at least 8 characters, long
/// passphrases welcome, nothing truncated, and oversized input refused before
/// any hashing. Never printed: `Debug` shows a placeholder.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// Far above any passphrase, far below what would make hashing a burden.
    pub const MAX_BYTES: usize = 1024;

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl TryFrom<String> for Password {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.len() > Self::MAX_BYTES {
            return Err(format!("must be at most {} bytes long", Self::MAX_BYTES));
        }
        if value.chars().count() < Self::MIN_CHARS {
            return Err(format!(
                "must be at least {} characters long",
                Self::MIN_CHARS
            ));
        }
        Ok(Self(value.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // AUTH-06: minimum length, long passphrases, oversized input refused.
    #[test]
    fn auth_06_password_policy() {
        assert!(Password::try_from("short".to_owned()).is_err());
        assert!(Password::try_from("eight ch".to_owned()).is_ok());
        let passphrase = "correct horse battery staple ".repeat(30);
        assert_eq!(
            Password::try_from(passphrase.clone()).unwrap().expose(),
            passphrase
        );
        assert!(Password::try_from("x".repeat(1024 * 1024)).is_err());
    }

    // OUT-10: a password never shows up in debug output.
    #[test]
    fn out_10_password_debug_is_redacted() {
        let password = Password::try_from("hunter2hunter2".to_owned()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
