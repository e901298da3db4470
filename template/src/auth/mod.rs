//! Authentication: password hashing, tokens, and the authenticated caller.
mod caller;
mod jail;
mod password;
mod token;

pub use caller::{Caller, require_auth};
pub use jail::Jail;
pub use password::Passwords;
pub use token::{Claims, RefreshToken, Tokens};

/// Scopes granted to every user.
pub const USER_SCOPES: &str = "orders:read orders:write";
/// Scopes granted to administrators.
pub const ADMIN_SCOPES: &str = "orders:read orders:write admin";

pub mod scope {
    pub const ORDERS_READ: &str = "orders:read";
    pub const ORDERS_WRITE: &str = "orders:write";
    pub const ADMIN: &str = "admin";
}
