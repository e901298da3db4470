use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// A password that meets the policy (AUTH-06), in NFKC form (NIST SP
/// 800-63B §5.1.1.2), so a password typed composed or decomposed, or with
/// compatibility forms, is one password. At least 8 characters (code points,
/// counted after normalising), long passphrases welcome, nothing truncated;
/// refused before any hashing: input over 1024 bytes, control characters,
/// passwords of only spaces or combining marks, and the commonest passwords.
/// Never printed: `Debug` shows a placeholder.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(SecretString);

/// The first 3,000 passwords of at least 8 characters, in frequency order,
/// of the 20,000 commonest that Django ships (Royce Williams' list, drawn
/// from breach corpora), one a line, lower-case.
const COMMON: &str = include_str!("common-passwords.txt");

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// Far above any passphrase, far below what would make hashing a burden;
    /// holds for the password as sent and as normalised.
    pub const MAX_BYTES: usize = 1024;

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl TryFrom<String> for Password {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let value = normalised(value)?;
        if value.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if value
            .chars()
            .all(|c| c.is_whitespace() || is_combining_mark(c))
        {
            return Err("must contain more than spaces and combining marks".into());
        }
        if is_common(&value) {
            return Err("is one of the most common passwords; choose another".into());
        }
        Ok(Self(value.into()))
    }
}

/// A password as typed at login: bounded and normalised as `Password` is,
/// but not held to the rest of the policy, which the passwords of accounts
/// made before it (or before a longer common list) need not meet: they
/// still log in.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct TypedPassword(pub Password);

impl TryFrom<String> for TypedPassword {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Ok(Self(Password(normalised(value)?.into())))
    }
}

/// `value` in NFKC form, within the byte bound as sent and as normalised
/// (the first bounds the normalisation's work), and at least `MIN_CHARS`
/// characters long once normalised.
fn normalised(value: String) -> Result<String, String> {
    let too_long = || format!("must be at most {} bytes long", Password::MAX_BYTES);
    if value.len() > Password::MAX_BYTES {
        return Err(too_long());
    }
    let value: String = value.nfkc().collect();
    if value.len() > Password::MAX_BYTES {
        return Err(too_long());
    }
    if value.chars().count() < Password::MIN_CHARS {
        return Err(format!(
            "must be at least {} characters long",
            Password::MIN_CHARS
        ));
    }
    Ok(value)
}

/// Whether `password` is on the common list, ignoring case.
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON.lines().any(|common| common == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(value: &str) -> String {
        Password::try_from(value.to_owned()).unwrap_err()
    }

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

    // AUTH-06: one password whatever form it was typed in; lengths count
    // characters of the normalised form, bytes both before and after.
    #[test]
    fn auth_06_passwords_are_nfkc_normalised() {
        let composed = Password::try_from("caf\u{e9} cr\u{e8}me".to_owned()).unwrap();
        let decomposed = Password::try_from("cafe\u{301} cre\u{300}me".to_owned()).unwrap();
        assert_eq!(composed.expose(), decomposed.expose());
        let wide = Password::try_from("\u{ff30}\u{ff41}\u{ff53}\u{ff53}phrase!".to_owned());
        assert_eq!(wide.unwrap().expose(), "Passphrase!");
        // Seven characters once composed, though eight code points as sent.
        assert!(refusal("abcdefe\u{301}").contains("at least 8"));
        // U+FDFA is 3 bytes that normalise to 33.
        let expands = "\u{fdfa}".repeat(40);
        assert!(expands.len() <= Password::MAX_BYTES);
        assert!(refusal(&expands).contains("at most 1024 bytes"));
    }

    // AUTH-06: control characters, blank passwords and the common list are
    // refused, whatever their case.
    #[test]
    fn auth_06_weak_passwords_refused() {
        assert!(refusal("12345678").contains("most common"));
        assert!(refusal("PassWord1").contains("most common"));
        assert!(refusal("QWERTYUIOP").contains("most common"));
        assert!(refusal("        ").contains("more than spaces"));
        assert!(refusal(&"\u{3000}\u{2003}\u{a0} ".repeat(2)).contains("more than spaces"));
        assert!(refusal(&"\u{301}".repeat(8)).contains("more than spaces"));
        assert!(refusal(&" \u{301}".repeat(4)).contains("more than spaces"));
        assert!(refusal(&"\0".repeat(8)).contains("control"));
        assert!(refusal("password\u{7f}x").contains("control"));
        assert!(Password::try_from("password is long enough".to_owned()).is_ok());
        assert!(
            COMMON
                .lines()
                .all(|p| p.chars().count() >= Password::MIN_CHARS
                    && p == p.to_lowercase()
                    && p.is_ascii())
        );
        assert_eq!(COMMON.lines().count(), 3000);
    }

    // A login is held to the bounds and the normal form, not to the rest of
    // the policy: accounts older than it still log in.
    #[test]
    fn auth_06_typed_passwords_are_only_bounded_and_normalised() {
        let typed = |value: &str| TypedPassword::try_from(value.to_owned()).map(|t| t.0);
        assert_eq!(typed("12345678").unwrap().expose(), "12345678");
        assert_eq!(typed(&"\0".repeat(8)).unwrap().expose(), "\0".repeat(8));
        assert_eq!(
            typed("cafe\u{301} cre\u{300}me").unwrap().expose(),
            "caf\u{e9} cr\u{e8}me"
        );
        assert!(typed("short").unwrap_err().contains("at least 8"));
        assert!(typed(&"x".repeat(1025)).unwrap_err().contains("at most"));
    }

    // OUT-10: a password never shows up in debug output.
    #[test]
    fn out_10_password_debug_is_redacted() {
        let password = Password::try_from("hunter2hunter2".to_owned()).unwrap();
        assert!(!format!("{password:?}").contains("hunter2"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        // AUTH-06: any string is refused, or accepted as its NFKC form
        // within every bound, which is accepted again unchanged.
        #[test]
        fn auth_06_any_string_is_refused_or_normalised(value in any::<String>()) {
            check(value)?;
        }

        // The same near the bounds, with marks, spaces and wide forms.
        #[test]
        fn auth_06_near_bounds_are_refused_or_normalised(
            value in "[a-z \u{301}\u{3000}\u{ff41}\u{fdfa}\u{0}]{0,400}"
        ) {
            check(value)?;
        }
    }

    fn check(value: String) -> Result<(), TestCaseError> {
        let Ok(password) = Password::try_from(value.clone()) else {
            return Ok(());
        };
        let text = password.expose();
        prop_assert_eq!(text, value.nfkc().collect::<String>());
        prop_assert!(text.len() <= Password::MAX_BYTES);
        prop_assert!(text.chars().count() >= Password::MIN_CHARS);
        prop_assert!(!text.chars().any(char::is_control));
        let again = Password::try_from(text.to_owned()).map(|p| p.expose().to_owned());
        prop_assert_eq!(again.as_deref(), Ok(text));
        Ok(())
    }
}
