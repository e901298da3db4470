//! Who gets which scopes: the platform's and the service's (`crate::scopes`).
use std::sync::LazyLock;

use super::scope::{Account, Admin, PLATFORM, Scope};

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
