//! Authentication: password hashing, tokens, the authenticated caller, and
//! the calling application.
pub mod application;
mod caller;
pub mod grants;
pub mod jail;
mod opaque;
mod password;
pub mod registration;
pub mod scope;
mod token;

pub use application::{CallingApp, require_api_key, require_app_scope};
pub use caller::{Authorized, Caller, require_auth};
pub use jail::Jail;
pub use opaque::{OpaqueToken, random_bytes};
pub use password::{Busy, Passwords, Ticket};
pub use token::{Claims, Tokens};
