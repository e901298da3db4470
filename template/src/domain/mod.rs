//! The service's own domain types, built from the platform's validated
//! inputs (`crate::input`), which are re-exported here for the code that
//! names them `domain::`.
pub use crate::input::{AccountEmail, BoundedText, Email, Password, Quantity, TypedPassword};

use crate::classification::{Internal, Sensitive};

// Each stored field's class (OPS-06) is part of its type; ids, quantities and
// timestamps are public.

/// Item name of an order: 1 to 200 characters; internal.
pub type OrderItem = Internal<BoundedText<1, 200>>;
/// Free-text note on an order: up to 1000 characters; internal.
pub type OrderNote = Internal<BoundedText<0, 1000>>;
/// Where to ship an order: up to 500 characters; sensitive, so encrypted at rest.
pub type ShippingAddress = Sensitive<BoundedText<0, 500>>;
