//! Validated input types: each can only hold a valid value, so handlers never
//! see unchecked data (IN-04). They deserialize through `TryFrom`, so a bad
//! field fails JSON and XML parsing alike, with the field named in the error.
mod email;
mod password;
mod text;

pub use email::Email;
pub use password::{Password, TypedPassword};
pub use text::{BoundedText, Quantity};

use crate::classification::{Internal, Sensitive};

// Each stored field's class (OPS-06) is part of its type; ids, quantities and
// timestamps are public.

/// Item name of an order: 1 to 200 characters; internal.
pub type OrderItem = Internal<BoundedText<1, 200>>;
/// Free-text note on an order: up to 1000 characters; internal.
pub type OrderNote = Internal<BoundedText<0, 1000>>;
/// Where to ship an order: up to 500 characters; sensitive, so encrypted at rest.
pub type ShippingAddress = Sensitive<BoundedText<0, 500>>;
/// An account's e-mail address; internal.
pub type AccountEmail = Internal<Email>;
