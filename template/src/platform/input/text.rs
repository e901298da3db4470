use std::fmt;

use serde::{
    Deserialize, Deserializer,
    de::{self, Visitor},
};
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type},
};

/// The characters `BoundedText` refuses, as a JSON Schema pattern: the
/// control characters but line feed, carriage return and tab.
pub const NO_CONTROL_CHARACTERS: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

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

// A field states its bounds once, in its type: the schema says them.
impl<const MIN: usize, const MAX: usize> PartialSchema for BoundedText<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length((MIN > 0).then_some(MIN))
            .max_length(Some(MAX))
            .pattern(Some(NO_CONTROL_CHARACTERS))
            .into()
    }
}

impl<const MIN: usize, const MAX: usize> ToSchema for BoundedText<MIN, MAX> {}

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

impl PartialSchema for Quantity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(1))
            .maximum(Some(Self::MAX))
            .into()
    }
}

impl ToSchema for Quantity {}

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

    // IN-04: the schema states the type's rules, so a client that follows
    // the document sends nothing the type refuses, and the reverse: its
    // bounds, and a pattern that refuses exactly the characters it does.
    #[test]
    fn in_04_text_schema_states_the_rules() {
        let schema = serde_json::to_value(BoundedText::<1, 200>::schema()).unwrap();
        assert_eq!(
            (schema["minLength"].as_u64(), schema["maxLength"].as_u64()),
            (Some(1), Some(200))
        );
        assert_eq!(schema["pattern"], NO_CONTROL_CHARACTERS);
        let optional = serde_json::to_value(BoundedText::<0, 9>::schema()).unwrap();
        assert!(optional.get("minLength").is_none());
        let body = NO_CONTROL_CHARACTERS
            .strip_prefix("^[^")
            .and_then(|p| p.strip_suffix("]*$"))
            .unwrap();
        let code = |hex: &str| u32::from_str_radix(hex, 16).unwrap();
        let ranges: Vec<(u32, u32)> = body.split("\\u").filter(|part| !part.is_empty()).fold(
            Vec::new(),
            |mut ranges, part| {
                match part.strip_suffix('-') {
                    Some(start) => ranges.push((code(start), u32::MAX)),
                    None if ranges.last().is_some_and(|r| r.1 == u32::MAX) => {
                        ranges.last_mut().unwrap().1 = code(part);
                    }
                    None => ranges.push((code(part), code(part))),
                }
                ranges
            },
        );
        for c in (0..0x3000).filter_map(char::from_u32) {
            let refused_by_pattern = ranges
                .iter()
                .any(|(a, b)| (*a..=*b).contains(&u32::from(c)));
            let refused_by_type = BoundedText::<0, 9>::try_from(c.to_string()).is_err();
            assert_eq!(refused_by_pattern, refused_by_type, "{:#x}", u32::from(c));
        }
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
