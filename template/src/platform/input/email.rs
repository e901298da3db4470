use serde::Deserialize;

/// A plausible e-mail address, lower-cased so that lookups and uniqueness
/// ignore case. Deliverability is not checked.
///
/// Only ASCII is accepted: a dot-atom local part (RFC 5322: letters, digits,
/// ``!#$%&'*+/=?^_`{|}~-`` and single inner dots) of at most 64 bytes, and a
/// domain of two or more letter-digit-hyphen labels, its last starting with
/// a letter. An internationalised domain is given in its punycode form
/// (`xn--…`), so each domain has one spelling. Invisible, format and
/// direction characters, mixed scripts and look-alike letters (Cyrillic `а`,
/// the Kelvin sign) cannot occur, so two addresses that display alike are one
/// account or refused. The only folding is ASCII lower-casing, and the length
/// limits apply to the folded address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;
    /// RFC 5321 §4.5.3.1.1.
    pub const MAX_LOCAL_LEN: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if !value.is_ascii() {
            return Err("must be ASCII: give an international domain in its xn-- form".into());
        }
        let value = value.to_ascii_lowercase();
        if value.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} bytes long", Self::MAX_LEN));
        }
        let invalid = || "must be an e-mail address such as name@example.com".to_owned();
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.len() > Self::MAX_LOCAL_LEN {
            return Err(format!(
                "must have at most {} bytes before the @",
                Self::MAX_LOCAL_LEN
            ));
        }
        if !is_dot_atom(local) || !is_host_name(domain) {
            return Err(invalid());
        }
        Ok(Self(value))
    }
}

/// RFC 5322's dot-atom: atoms of `atext` joined by single dots.
fn is_dot_atom(local: &str) -> bool {
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b);
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.bytes().all(atext))
}

/// Two or more labels of letters, digits and inner hyphens (RFC 1123), of at
/// most 63 bytes each; the top-level one starts with a letter, so an IP
/// address is not a domain.
fn is_host_name(domain: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let mut labels = domain.rsplit('.');
    let top = labels.next().unwrap_or_default();
    top.starts_with(|c: char| c.is_ascii_lowercase())
        && label_ok(top)
        && domain.contains('.')
        && labels.all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Email, String> {
        Email::try_from(value.to_owned())
    }

    // IN-04: e-mail format is checked before any business logic.
    #[test]
    fn in_04_email_format() {
        assert_eq!(
            parse("Ada@Example.COM").unwrap().as_str(),
            "ada@example.com"
        );
        for good in [
            "a.b+tag@mail.example.co.uk",
            "o'brien@example.com",
            "x@xn--bcher-kva.example",
            "1@a-b.c0m",
            "!#$%&'*+/=?^_`{|}~-@example.org",
        ] {
            assert!(parse(good).is_ok(), "{good:?} refused");
        }
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            ".ada@example.com",
            "ada.@example.com",
            "a..da@example.com",
            "\"ada\"@example.com",
            "ada@-example.com",
            "ada@example-.com",
            "ada@example..com",
            "ada@.example.com",
            "ada@example.com.",
            "ada@127.0.0.1",
            "ada@[127.0.0.1]",
            "ada@exa_mple.com",
            "ada(comment)@example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    // IN-04: look-alikes of one address are refused rather than becoming
    // accounts of their own: invisible and format characters, direction
    // overrides, other scripts' letters, the Kelvin sign, a Unicode domain.
    #[test]
    fn in_04_email_look_alikes_refused() {
        for bad in [
            "ada\u{200B}@example.com",
            "a\u{00AD}da@example.com",
            "\u{FEFF}ada@example.com",
            "ada@example.com\u{202E}",
            "ad\u{180E}a@example.com",
            "\u{0430}da@example.com",
            "\u{212A}im@example.com",
            "ada@b\u{00FC}cher.example",
            "ada@example\u{3002}com",
            "ad\u{0061}\u{0301}@example.com",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    // IN-04: the length limits hold for the address as stored.
    #[test]
    fn in_04_email_length_after_folding() {
        let local = "a".repeat(64);
        let domain = |len: usize| {
            let labels = ["b".repeat(63), "c".repeat(63), "d".repeat(63)].join(".");
            format!("{}.com", &labels[..len - 4])
        };
        let longest = format!("{local}@{}", domain(254 - 65));
        assert_eq!(longest.len(), 254);
        assert!(parse(&longest.to_uppercase()).is_ok());
        assert!(parse(&format!("{local}@{}", domain(254 - 64))).is_err());
        assert!(parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        assert!(parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        // IN-04: any string at all is refused or becomes an address that is
        // ASCII, lower-case, within the limits, and parses to itself again.
        #[test]
        fn in_04_any_string_is_refused_or_canonical(value in any::<String>()) {
            if let Ok(email) = Email::try_from(value) {
                check_canonical(&email)?;
            }
        }

        // The same from strings that are nearly addresses.
        #[test]
        fn in_04_near_addresses_are_refused_or_canonical(
            value in "[a-zA-Z0-9.+_\u{200B}\u{0430}\u{212A}-]{0,70}@[a-zA-Z0-9.\u{00FC}-]{0,70}"
        ) {
            if let Ok(email) = Email::try_from(value.clone()) {
                check_canonical(&email)?;
                prop_assert_eq!(email.as_str(), value.to_ascii_lowercase());
            }
        }
    }

    fn check_canonical(email: &Email) -> Result<(), TestCaseError> {
        let text = email.as_str();
        prop_assert!(text.is_ascii() && text.len() <= Email::MAX_LEN);
        prop_assert_eq!(text, text.to_ascii_lowercase());
        let again = Email::try_from(text.to_owned());
        prop_assert_eq!(again.as_ref().map(Email::as_str), Ok(text));
        Ok(())
    }
}
