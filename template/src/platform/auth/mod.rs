//! Authentication: password hashing, tokens, the authenticated caller, and
//! the calling application.
pub mod application;
mod caller;
pub mod jail;
mod opaque;
mod password;
pub mod registration;
mod token;

pub use application::{CallingApp, require_api_key, require_app_scope};
pub use caller::{Authorized, Caller, require_auth};
pub use jail::Jail;
pub use opaque::{OpaqueToken, random_bytes};
pub use password::{Busy, Passwords, Ticket};
pub use token::{Claims, Tokens};

/// Scopes granted to every user.
pub const USER_SCOPES: &str = "account orders:read orders:write";
/// Scopes granted to administrators.
pub const ADMIN_SCOPES: &str = "account orders:read orders:write admin";

/// The scopes routes can require. Every route needs one, which the calling
/// application must hold when keys are required (AUTH-08): routes for a
/// signed-in user declare theirs with `Authorized<S>` (a plain `Caller` means
/// `Account`), and the routes that sign users up and in need `Auth`.
pub mod scope {
    /// Every scope, for checking the scopes given to an application.
    pub const ALL: &[&str] = &[
        Auth::NAME,
        Account::NAME,
        OrdersRead::NAME,
        OrdersWrite::NAME,
        Admin::NAME,
    ];

    /// Whether `granted`, a space-separated scope list (a token's or an
    /// application's), includes `scope`.
    pub fn includes(granted: &str, scope: &str) -> bool {
        granted.split(' ').any(|s| s == scope)
    }

    /// A scope a token or an application may carry.
    pub trait Scope {
        const NAME: &'static str;
    }

    /// Register, log in and refresh: an application's scope, never a token's.
    pub struct Auth;
    /// Read one's own account, list and end one's sessions, log out.
    pub struct Account;
    /// Read one's own orders.
    pub struct OrdersRead;
    /// Create, change and delete one's own orders.
    pub struct OrdersWrite;
    /// Administer accounts.
    pub struct Admin;

    impl Scope for Auth {
        const NAME: &'static str = "auth";
    }
    impl Scope for Account {
        const NAME: &'static str = "account";
    }
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
