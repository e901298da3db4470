//! Authentication: password hashing, tokens, the authenticated caller, and
//! the calling application.
pub mod application;
mod caller;
pub mod jail;
mod opaque;
mod password;
mod token;

pub use application::{CallingApp, require_api_key};
pub use caller::{Authorized, Caller, require_auth};
pub use jail::Jail;
pub use opaque::{OpaqueToken, random_bytes};
pub use password::Passwords;
pub use token::{Claims, Tokens};

/// Scopes granted to every user.
pub const USER_SCOPES: &str = "orders:read orders:write";
/// Scopes granted to administrators.
pub const ADMIN_SCOPES: &str = "orders:read orders:write admin";

/// The scopes routes can require, as types for `Authorized<S>`.
pub mod scope {
    /// Every scope, for checking the scopes given to an application.
    pub const ALL: &[&str] = &[OrdersRead::NAME, OrdersWrite::NAME, Admin::NAME];

    /// Whether `granted`, a space-separated scope list (a token's or an
    /// application's), includes `scope`.
    pub fn includes(granted: &str, scope: &str) -> bool {
        granted.split(' ').any(|s| s == scope)
    }

    /// A scope a token may carry.
    pub trait Scope {
        const NAME: &'static str;
    }

    /// Read one's own orders.
    pub struct OrdersRead;
    /// Create, change and delete one's own orders.
    pub struct OrdersWrite;
    /// Administer accounts.
    pub struct Admin;

    impl Scope for OrdersRead {
        const NAME: &'static str = "orders:read";
    }
    impl Scope for OrdersWrite {
        const NAME: &'static str = "orders:write";
    }
    impl Scope for Admin {
        const NAME: &'static str = "admin";
    }
}
