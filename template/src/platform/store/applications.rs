//! Calling applications and their keys (AUTH-08).
use sqlx::Executor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Database;

/// The id and scopes of the live application whose key hashes to `key_hash`.
pub async fn by_key<'c>(
    db: impl Executor<'c, Database = Database>,
    key_hash: &[u8],
) -> sqlx::Result<Option<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT id, scopes FROM applications \
         WHERE key_hash = $1 AND revoked_at IS NULL AND disabled = FALSE",
    )
    .bind(key_hash)
    .fetch_optional(db)
    .await
}

/// Creates application `name`, or gives an existing one this key and these
/// scopes, enabled again; its id.
pub async fn upsert<'c>(
    db: impl Executor<'c, Database = Database>,
    name: &str,
    key_hash: &[u8],
    scopes: &str,
    now: OffsetDateTime,
) -> sqlx::Result<Uuid> {
    let (id,): (Uuid,) = sqlx::query_as(
        "INSERT INTO applications (id, name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash, scopes = excluded.scopes, \
         disabled = FALSE, revoked_at = NULL RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(name)
    .bind(key_hash)
    .bind(scopes)
    .bind(now)
    .fetch_one(db)
    .await?;
    Ok(id)
}

/// Revokes the key of application `name`; false when it has no live key.
pub async fn revoke<'c>(
    db: impl Executor<'c, Database = Database>,
    name: &str,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let revoked = sqlx::query(
        "UPDATE applications SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(name)
    .execute(db)
    .await?
    .rows_affected();
    Ok(revoked > 0)
}

/// Disables application `id`; false when there is none.
pub async fn disable<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
) -> sqlx::Result<bool> {
    let disabled = sqlx::query("UPDATE applications SET disabled = TRUE WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(disabled > 0)
}

/// Every application: id, name, scopes, disabled, revoked; by name.
pub async fn all<'c>(
    db: impl Executor<'c, Database = Database>,
) -> sqlx::Result<Vec<(Uuid, String, String, bool, bool)>> {
    sqlx::query_as(
        "SELECT id, name, scopes, disabled, revoked_at IS NOT NULL FROM applications ORDER BY name",
    )
    .fetch_all(db)
    .await
}
