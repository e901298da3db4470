//! Data classification (OPS-06). Every field the service stores is public,
//! internal or sensitive, and its class decides how it is handled:
//!
//! | class     | examples                       | in logs  | at rest                      |
//! |-----------|--------------------------------|----------|------------------------------|
//! | public    | ids, quantities, timestamps    | as is    | as is                        |
//! | internal  | e-mail, order item and note    | redacted | as is                        |
//! | sensitive | shipping address               | redacted | sealed with AES-256-GCM      |
//!
//! The classes are types. `Internal<T>` and `Sensitive<T>` print only their
//! class through `Debug` and have no `Display`, so a value cannot reach a log
//! line by accident, and `FieldCipher` seals and opens only `Sensitive`
//! values, so a sensitive field cannot be stored in the clear. Passwords and
//! tokens are secrets, not data: they are hashed and never returned.
use std::{fmt, marker::PhantomData, ops::Deref};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::{PartialSchema, ToSchema, openapi::RefOr, openapi::schema::Schema};

/// A value of class `C`; (de)serialized exactly like the bare value.
#[derive(Clone, PartialEq, Eq)]
pub struct Classified<T, C>(T, PhantomData<C>);

/// Shown to its owner, kept out of logs.
pub type Internal<T> = Classified<T, InternalClass>;
/// Shown to its owner, kept out of logs, and encrypted at rest.
pub type Sensitive<T> = Classified<T, SensitiveClass>;

/// The class of a `Classified` value.
pub trait Class {
    /// What logs show instead of the value.
    const REDACTED: &'static str;
}

#[derive(Clone, PartialEq, Eq)]
pub struct InternalClass;
#[derive(Clone, PartialEq, Eq)]
pub struct SensitiveClass;

impl Class for InternalClass {
    const REDACTED: &'static str = "[internal]";
}
impl Class for SensitiveClass {
    const REDACTED: &'static str = "[sensitive]";
}

impl<T, C> Classified<T, C> {
    pub fn new(value: T) -> Self {
        Self(value, PhantomData)
    }

    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, C> Deref for Classified<T, C> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T, C: Class> fmt::Debug for Classified<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(C::REDACTED)
    }
}

impl<T: Serialize, C> Serialize for Classified<T, C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>, C> Deserialize<'de> for Classified<T, C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self::new)
    }
}

// Described exactly like the bare value, as it travels.
impl<T: PartialSchema, C> PartialSchema for Classified<T, C> {
    fn schema() -> RefOr<Schema> {
        T::schema()
    }
}

impl<T: ToSchema, C> ToSchema for Classified<T, C> {}

#[cfg(test)]
mod tests {
    use super::*;

    // OPS-06: classified values never print, but travel over the API unchanged.
    #[test]
    fn ops_06_classified_values_are_redacted_in_logs_only() {
        let address: Sensitive<String> = serde_json::from_str(r#""1 Main Street""#).unwrap();
        let note = Internal::new("gift wrap".to_owned());
        assert_eq!(format!("{address:?} {note:?}"), "[sensitive] [internal]");
        let logged = format!("{:?}", Some(vec![address.clone()]));
        assert!(!logged.contains("Main"), "{logged}");
        assert_eq!(
            serde_json::to_string(&address).unwrap(),
            r#""1 Main Street""#
        );
        assert_eq!(address.as_str(), "1 Main Street");
    }
}
