use serde::Deserialize;

/// A plausible e-mail address, lower-cased so that lookups and uniqueness
/// ignore case. Deliverability is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let invalid = || "must be an e-mail address such as name@example.com".to_owned();
        if value.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} bytes long", Self::MAX_LEN));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        if local.is_empty() || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IN-04: e-mail format is checked before any business logic.
    #[test]
    fn in_04_email_format() {
        assert_eq!(
            Email::try_from("Ada@Example.COM".to_owned())
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(Email::try_from(bad.to_owned()).is_err(), "{bad:?} accepted");
        }
        assert!(Email::try_from(format!("{}@example.com", "a".repeat(250))).is_err());
    }
}
