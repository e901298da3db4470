//! The service's own scopes: one type per scope its routes require with
//! `Authorized<S>`, and the list of those every signed-in user is granted.
//! They join the platform's (`auth`, `account`, `admin`) as
//! `crate::auth::scope::*`; an application may be given any of them.
use crate::auth::scope::Scope;

/// Read one's own orders.
pub struct OrdersRead;
/// Create, change and delete one's own orders.
pub struct OrdersWrite;

impl Scope for OrdersRead {
    const NAME: &'static str = "orders:read";
}
impl Scope for OrdersWrite {
    const NAME: &'static str = "orders:write";
}

/// Granted to every signed-in user, administrators included.
pub const GRANTED: &[&str] = &[OrdersRead::NAME, OrdersWrite::NAME];
