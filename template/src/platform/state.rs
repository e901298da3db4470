//! What the platform gives every handler, through the service's `AppState`
//! (`crate::state`), which derefs to it.
use std::sync::Arc;

use crate::{
    auth::{Jail, Passwords, Tokens},
    db::Db,
    encryption::FieldCipher,
    mail::Mailer,
};

/// The platform's shared parts; cheap to clone.
#[derive(Clone)]
pub struct PlatformState {
    pub db: Db,
    pub tokens: Arc<Tokens>,
    pub passwords: Passwords,
    pub jail: Jail,
    /// Seals sensitive fields for storage (AUTH-05).
    pub cipher: Arc<FieldCipher>,
    /// Mails registration tokens; `None` when addresses are not confirmed.
    pub mailer: Option<Arc<dyn Mailer>>,
}
