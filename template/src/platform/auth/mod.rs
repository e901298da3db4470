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

/// The scopes routes can require. Every route needs one, which the calling
/// application must hold when keys are required (AUTH-08): routes for a
/// signed-in user declare theirs with `Authorized<S>` (a plain `Caller` means
/// `Account`), and the routes that sign users up and in need `Auth`. The
/// service's own scopes come from `crate::scopes`, the seam where a team
/// adds one.
pub mod scope {
    use std::sync::LazyLock;

    pub use crate::scopes::*;

    /// The platform's scopes.
    const PLATFORM: &[&str] = &[Auth::NAME, Account::NAME, Admin::NAME];

    /// Every scope, for checking the scopes given to an application.
    pub fn all() -> impl Iterator<Item = &'static str> {
        PLATFORM.iter().chain(crate::scopes::GRANTED).copied()
    }

    /// The scopes a token of a user (`admin`: an administrator) carries,
    /// space-separated.
    pub fn granted(admin: bool) -> &'static str {
        static USER: LazyLock<String> = LazyLock::new(|| {
            let mut scopes = vec![Account::NAME];
            scopes.extend(crate::scopes::GRANTED);
            scopes.join(" ")
        });
        static ADMIN: LazyLock<String> = LazyLock::new(|| format!("{} {}", *USER, Admin::NAME));
        if admin { &ADMIN } else { &USER }
    }

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
    /// Administer accounts.
    pub struct Admin;

    impl Scope for Auth {
        const NAME: &'static str = "auth";
    }
    impl Scope for Account {
        const NAME: &'static str = "account";
    }
    impl Scope for Admin {
        const NAME: &'static str = "admin";
    }
}
