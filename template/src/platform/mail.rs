//! Mail the service sends: the token that confirms a new account's address
//! (`APP_VERIFY_EMAIL`), and the note that an address already has one.
//! `Mailer` is the seam for a real provider; the built-in `LogMailer` writes
//! each message to the log, for development: in production the service
//! refuses to start with it, since whoever reads the logs could confirm any
//! address. To send for real, implement `Mailer` and return it from `mailer`.
use std::{future::Future, pin::Pin, sync::Arc};

use crate::config::{Mode, Settings};

/// A message for one address.
#[derive(Debug)]
pub enum Mail {
    /// Confirms a registration: the token goes to `POST /v1/auth/confirm`.
    Confirm { to: String, token: String },
    /// Someone registered an address that already has an account; the
    /// owner hears of it, the registrant learns nothing (AUTH-04).
    AlreadyRegistered { to: String },
}

pub type Sending<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Sends mail.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: Mail) -> Sending<'_>;
}

/// Writes each message to the log (`mail.sent`), token included.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, mail: Mail) -> Sending<'_> {
        Box::pin(async move {
            match mail {
                Mail::Confirm { to, token } => {
                    tracing::info!(event = "mail.sent", kind = "confirm", %to, %token);
                }
                Mail::AlreadyRegistered { to } => {
                    tracing::info!(event = "mail.sent", kind = "already_registered", %to);
                }
            }
            Ok(())
        })
    }
}

/// The mailer registration confirms addresses with; none when
/// `APP_VERIFY_EMAIL` is off.
pub fn mailer(settings: &Settings) -> anyhow::Result<Option<Arc<dyn Mailer>>> {
    if !settings.verify_email {
        return Ok(None);
    }
    anyhow::ensure!(
        settings.mode == Mode::Development,
        "APP_VERIFY_EMAIL needs a mail sender: the built-in one only logs, \
         which production forbids; implement `Mailer` in src/platform/mail.rs"
    );
    Ok(Some(Arc::new(LogMailer)))
}
