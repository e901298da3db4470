//! Registrations waiting for their e-mail confirmation, by token hash.
use sqlx::Executor;
use time::OffsetDateTime;

use crate::db::Database;

/// Drops the registrations expired at `now`.
pub async fn drop_expired<'c>(
    db: impl Executor<'c, Database = Database>,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM pending_registrations WHERE expires_at <= $1")
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

/// How many registrations are waiting.
pub async fn waiting<'c>(db: impl Executor<'c, Database = Database>) -> sqlx::Result<i64> {
    let (waiting,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pending_registrations")
        .fetch_one(db)
        .await?;
    Ok(waiting)
}

/// Files a registration of `email` until `expires_at`.
pub async fn add<'c>(
    db: impl Executor<'c, Database = Database>,
    token_hash: &[u8],
    email: &str,
    password_hash: String,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO pending_registrations (token_hash, email, password_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Keeps the newest `keep` registrations of `email` (the one of
/// `newest_hash` among them) and drops the others.
pub async fn keep_newest<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
    newest_hash: &[u8],
    keep: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM pending_registrations WHERE email = $1 AND token_hash NOT IN ( \
           SELECT token_hash FROM pending_registrations WHERE email = $1 \
           ORDER BY created_at DESC, token_hash = $2 DESC LIMIT $3)",
    )
    .bind(email)
    .bind(newest_hash)
    .bind(keep)
    .execute(db)
    .await?;
    Ok(())
}

/// The e-mail address and password hash of the live registration of
/// `token_hash`, if any.
pub async fn by_token<'c>(
    db: impl Executor<'c, Database = Database>,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as(
        "SELECT email, password_hash FROM pending_registrations WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Drops every registration of `email`.
pub async fn drop_all<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM pending_registrations WHERE email = $1")
        .bind(email)
        .execute(db)
        .await?;
    Ok(())
}
