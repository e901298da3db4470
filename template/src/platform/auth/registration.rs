//! Registration, with or without e-mail confirmation. Without it
//! (`APP_VERIFY_EMAIL` off, the default) the account exists at once, so
//! anyone can claim an address they cannot read. With it, a registration
//! waits in `pending_registrations` until the token mailed to the address
//! comes back; only then is the account created, with the password given
//! with that token, so a registration made by someone else never becomes
//! the owner's account.
use std::time::Duration;

use crate::{
    auth::OpaqueToken,
    db::{self, Db},
    input::AccountEmail,
    mail::{Mail, Mailer},
    platform::store::{registrations, users},
};

/// How long a confirmation token stays valid.
const PENDING_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Registrations waiting on one address; older ones give way.
const PENDING_PER_ADDRESS: i64 = 3;
/// Registrations waiting in all: past this, new ones are dropped (and
/// logged), so the table cannot grow without bound whoever registers.
const MAX_PENDING: i64 = 100_000;

/// Creates the account at once (no confirmation); an address already
/// registered is left as it is, and the caller cannot tell (AUTH-04).
pub async fn create(db: &Db, email: &AccountEmail, password_hash: String) -> sqlx::Result<()> {
    users::create(db, email.as_str(), password_hash, db::now()).await
}

/// Files a registration to confirm and mails its token, or, when the
/// address has an account, tells its owner. Run after the answer has gone,
/// so its work cannot show which of the two it did.
pub async fn request(db: Db, mailer: &dyn Mailer, email: AccountEmail, password_hash: String) {
    let to = email.as_str().to_owned();
    let mail = match file(&db, &email, password_hash).await {
        Ok(Some(token)) => Mail::Confirm { to, token },
        Ok(None) => Mail::AlreadyRegistered { to },
        Err(error) => {
            tracing::error!(event = "auth.registration_failed", %error);
            return;
        }
    };
    if let Err(error) = mailer.send(mail).await {
        tracing::error!(event = "mail.failed", error = format!("{error:#}"));
    }
}

/// The new registration's token; `None` when the address has an account.
async fn file(
    db: &Db,
    email: &AccountEmail,
    password_hash: String,
) -> anyhow::Result<Option<String>> {
    let now = db::now();
    let mut tx = db::begin_write(db).await?;
    if users::exists(&mut *tx, email.as_str()).await? {
        return Ok(None);
    }
    registrations::drop_expired(&mut *tx, now).await?;
    let waiting = registrations::waiting(&mut *tx).await?;
    anyhow::ensure!(
        waiting < MAX_PENDING,
        "{waiting} registrations are waiting: dropped"
    );
    let token = OpaqueToken::generate()?;
    let expires_at = now + PENDING_TTL;
    registrations::add(
        &mut *tx,
        &token.hash,
        email.as_str(),
        password_hash,
        now,
        expires_at,
    )
    .await?;
    registrations::keep_newest(&mut *tx, email.as_str(), &token.hash, PENDING_PER_ADDRESS).await?;
    tx.commit().await?;
    Ok(Some(token.value))
}

/// Creates the account a confirmation token was mailed for, with the
/// password registered with it; false for an unknown, used or expired token.
pub async fn confirm(db: &Db, token: &str) -> sqlx::Result<bool> {
    let now = db::now();
    let mut tx = db::begin_write(db).await?;
    let found = registrations::by_token(&mut *tx, &OpaqueToken::hash(token), now).await?;
    let Some((email, password_hash)) = found else {
        return Ok(false);
    };
    users::create(&mut *tx, &email, password_hash, now).await?;
    // Every other registration of the address is void now.
    registrations::drop_all(&mut *tx, &email).await?;
    tx.commit().await?;
    Ok(true)
}
