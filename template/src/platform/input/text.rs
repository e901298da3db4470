use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};

/// A string of `MIN..=MAX` characters without control characters other than
/// line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> TryFrom<String> for BoundedText<MIN, MAX> {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let chars = value.chars().count();
        if !(MIN..=MAX).contains(&chars) {
            return Err(format!(
                "must be {MIN} to {MAX} characters long, got {chars}"
            ));
        }
        if value
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        Ok(Self(value))
    }
}

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const MIN: usize, const MAX: usize> AsRef<str> for BoundedText<MIN, MAX> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// How many units of an item to order: 1 to 1000. A whole number written
/// with a fraction (`3.0`) is still a whole number, as JSON Schema says; a
/// string is not one, except as the text of an XML element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i32);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Whole;

        impl Visitor<'_> for Whole {
            type Value = Quantity;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a whole number between 1 and {}", Quantity::MAX)
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Quantity, E> {
                Quantity::try_from(value).map_err(E::custom)
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Quantity, E> {
                self.visit_i64(i64::try_from(value).unwrap_or(i64::MAX))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Quantity, E> {
                // Exact: 1..=1000 are represented exactly as f64.
                if value.fract() == 0.0 && (1.0..=f64::from(Quantity::MAX)).contains(&value) {
                    self.visit_i64(value as i64)
                } else {
                    Err(E::custom(format!(
                        "must be a whole number between 1 and {}, got {value}",
                        Quantity::MAX
                    )))
                }
            }
        }

        // serde_json hands numbers of any kind to the visitor and refuses
        // strings; quick-xml parses the element's text as an integer.
        deserializer.deserialize_i64(Whole)
    }
}

impl Quantity {
    pub const MAX: i32 = 1000;

    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match i32::try_from(value) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(format!("must be between 1 and {}, got {value}", Self::MAX)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IN-04: lengths are checked in characters, at both bounds.
    #[test]
    fn in_04_text_bounds() {
        type T = BoundedText<1, 3>;
        assert!(T::try_from(String::new()).is_err());
        assert!(T::try_from(String::from("abc")).is_ok());
        assert!(T::try_from(String::from("äöü")).is_ok());
        assert!(T::try_from(String::from("abcd")).is_err());
        assert!(T::try_from(String::from("a\u{0}")).is_err());
    }

    // IN-04: quantities outside 1..=1000 are refused.
    #[test]
    fn in_04_quantity_range() {
        assert!(Quantity::try_from(0).is_err());
        assert_eq!(Quantity::try_from(1).unwrap().get(), 1);
        assert_eq!(Quantity::try_from(1000).unwrap().get(), 1000);
        assert!(Quantity::try_from(1001).is_err());
        assert!(Quantity::try_from(i64::MAX).is_err());
    }

    // IN-04: JSON Schema counts 3.0 as an integer, so it is accepted; a
    // fraction, a string or an out-of-range value is not.
    #[test]
    fn in_04_quantity_from_json() {
        let parse = |json: &str| serde_json::from_str::<Quantity>(json);
        assert_eq!(parse("3").unwrap().get(), 3);
        assert_eq!(parse("882.0").unwrap().get(), 882);
        for bad in ["3.5", "\"3\"", "0", "1001.0", "-1", "1e300", "null"] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
