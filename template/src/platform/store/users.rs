//! Accounts.
use sqlx::{Executor, FromRow, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{self, Database};

/// What login needs of an account.
pub struct Account {
    pub id: Uuid,
    pub password_hash: String,
    pub is_admin: bool,
    pub disabled: bool,
    /// The network of its last successful login, if any.
    pub known_network: Option<String>,
}

impl<'r> FromRow<'r, db::Row> for Account {
    fn from_row(row: &'r db::Row) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            password_hash: row.try_get("password_hash")?,
            is_admin: row.try_get("is_admin")?,
            disabled: row.try_get("disabled")?,
            known_network: row.try_get("known_network")?,
        })
    }
}

/// The account of `email`, as login needs it.
pub async fn for_login<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
) -> sqlx::Result<Option<Account>> {
    sqlx::query_as(
        "SELECT id, password_hash, is_admin, disabled, known_network FROM users WHERE email = $1",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

/// Whether `email` has an account.
pub async fn exists<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
) -> sqlx::Result<bool> {
    let found: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(db)
        .await?;
    Ok(found.is_some())
}

/// Creates an account; an address already registered is left as it is,
/// and the caller cannot tell (AUTH-04).
pub async fn create<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
    password_hash: String,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Creates `email` as an administrator, or promotes, re-enables and unlocks
/// it (its login jail emptied), with a new password.
pub async fn upsert_admin<'c>(
    db: impl Executor<'c, Database = Database>,
    email: &str,
    password_hash: String,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, is_admin, created_at) VALUES ($1, $2, $3, TRUE, $4) \
         ON CONFLICT (email) DO UPDATE SET is_admin = TRUE, disabled = FALSE, password_hash = excluded.password_hash, \
         failed_logins = 0, lockouts = 0, locked_until = NULL, \
         known_failed_logins = 0, known_lockouts = 0, known_locked_until = NULL",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(())
}

/// The account's id, e-mail address and creation time.
pub async fn profile<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
) -> sqlx::Result<Option<(Uuid, String, OffsetDateTime)>> {
    sqlx::query_as("SELECT id, email, created_at FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Disables the account; false when there is none.
pub async fn disable<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
) -> sqlx::Result<bool> {
    let disabled = sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(disabled > 0)
}
