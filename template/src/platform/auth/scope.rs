//! The scopes routes can require. Every route needs one, which the calling
//! application must hold when keys are required (AUTH-08): routes for a
//! signed-in user declare theirs with `Authorized<S>` (a plain `Caller`
//! means `Account`), and the routes that sign users up and in need `Auth`.
//! These are the platform's; the service's own are in `crate::scopes`,
//! the seam where a team adds one, and `crate::auth::scope` names both.

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

/// The platform's scopes.
pub const PLATFORM: &[&str] = &[Auth::NAME, Account::NAME, Admin::NAME];

/// Whether `granted`, a space-separated scope list (a token's or an
/// application's), includes `scope`.
pub fn includes(granted: &str, scope: &str) -> bool {
    granted.split(' ').any(|s| s == scope)
}
