//! Validated input types: each can only hold a valid value, so handlers never
//! see unchecked data (IN-04). They deserialize through `TryFrom`, so a bad
//! field fails JSON and XML parsing alike, with the field named in the error.
mod email;
mod password;
mod text;

pub use email::Email;
pub use password::Password;
pub use text::{BoundedText, Quantity};

/// Item name of an order: 1 to 200 characters.
pub type OrderItem = BoundedText<1, 200>;
/// Free-text note on an order: up to 1000 characters.
pub type OrderNote = BoundedText<0, 1000>;
/// Where to ship an order: up to 500 characters.
pub type ShippingAddress = BoundedText<0, 500>;
