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
    platform::store::users,
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
    sqlx::query("DELETE FROM pending_registrations WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let (waiting,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pending_registrations")
        .fetch_one(&mut *tx)
        .await?;
    anyhow::ensure!(
        waiting < MAX_PENDING,
        "{waiting} registrations are waiting: dropped"
    );
    let token = OpaqueToken::generate()?;
    sqlx::query(
        "INSERT INTO pending_registrations (token_hash, email, password_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&token.hash)
    .bind(email.as_str())
    .bind(password_hash)
    .bind(now)
    .bind(now + PENDING_TTL)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM pending_registrations WHERE email = $1 AND token_hash NOT IN ( \
           SELECT token_hash FROM pending_registrations WHERE email = $1 \
           ORDER BY created_at DESC, token_hash = $2 DESC LIMIT $3)",
    )
    .bind(email.as_str())
    .bind(&token.hash)
    .bind(PENDING_PER_ADDRESS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(token.value))
}

/// Creates the account a confirmation token was mailed for, with the
/// password registered with it; false for an unknown, used or expired token.
pub async fn confirm(db: &Db, token: &str) -> sqlx::Result<bool> {
    let now = db::now();
    let mut tx = db::begin_write(db).await?;
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT email, password_hash FROM pending_registrations WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(OpaqueToken::hash(token))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, password_hash)) = found else {
        return Ok(false);
    };
    users::create(&mut *tx, &email, password_hash, now).await?;
    // Every other registration of the address is void now.
    sqlx::query("DELETE FROM pending_registrations WHERE email = $1")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}
