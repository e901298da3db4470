//! Validated input types: each can only hold a valid value, so handlers never
//! see unchecked data (IN-04). They deserialize through `TryFrom`, so a bad
//! field fails JSON and XML parsing alike, with the field named in the error.
mod email;
mod password;
mod text;

pub use email::Email;
pub use password::{Password, TypedPassword};
pub use text::{BoundedText, Quantity};

use crate::classification::Internal;

/// An account's e-mail address; internal (OPS-06).
pub type AccountEmail = Internal<Email>;
