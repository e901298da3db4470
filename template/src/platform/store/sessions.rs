//! Sessions and their refresh tokens. A session is live while it is not
//! revoked, not expired, and its account is not disabled.
use sqlx::Executor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Database;

/// Starts session `id` of `user_id`, ending at `expires_at`.
pub async fn start<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
    user_id: Uuid,
    now: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Ends the account's live sessions but `keep` and the newest `others`
/// others; how many it ended.
pub async fn end_all_but_newest<'c>(
    db: impl Executor<'c, Database = Database>,
    user_id: Uuid,
    keep: Uuid,
    others: i64,
    now: OffsetDateTime,
) -> sqlx::Result<u64> {
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $3 \
         WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2 AND id NOT IN ( \
           SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND id <> $2 \
           ORDER BY created_at DESC, id DESC LIMIT $4)",
    )
    .bind(user_id)
    .bind(keep)
    .bind(now)
    .bind(others)
    .execute(db)
    .await?
    .rows_affected();
    Ok(ended)
}

/// Whether session `id` of `user_id` is live.
pub async fn is_live<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
    user_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let live: Option<(Uuid,)> = sqlx::query_as(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL \
         AND s.expires_at > $3 AND u.disabled = FALSE",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(live.is_some())
}

/// The account's live sessions, newest first: id, start and end.
pub async fn live<'c>(
    db: impl Executor<'c, Database = Database>,
    user_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<Vec<(Uuid, OffsetDateTime, OffsetDateTime)>> {
    sqlx::query_as(
        "SELECT id, created_at, expires_at FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1000",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Ends session `id`; false when it had ended already (or never was).
pub async fn end<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let ended =
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(db)
            .await?
            .rows_affected();
    Ok(ended > 0)
}

/// Ends session `id` if `user_id` holds it; false when it has no such live session.
pub async fn end_own<'c>(
    db: impl Executor<'c, Database = Database>,
    id: Uuid,
    user_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(db)
    .await?
    .rows_affected();
    Ok(ended > 0)
}

/// Ends every live session of the account.
pub async fn end_all<'c>(
    db: impl Executor<'c, Database = Database>,
    user_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a refresh token of session `session_id` by its hash.
pub async fn add_refresh_token<'c>(
    db: impl Executor<'c, Database = Database>,
    token_hash: &[u8],
    session_id: Uuid,
    now: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
    )
    .bind(token_hash)
    .bind(session_id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// The live session a refresh token belongs to, spent or not.
pub struct Refreshing {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub is_admin: bool,
}

/// The live session of the refresh token with `token_hash`, if any.
pub async fn by_refresh_token<'c>(
    db: impl Executor<'c, Database = Database>,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> sqlx::Result<Option<Refreshing>> {
    let found: Option<(Uuid, Uuid, bool)> = sqlx::query_as(
        "SELECT s.id, s.user_id, u.is_admin \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id \
         WHERE r.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND u.disabled = FALSE",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(found.map(|(session_id, user_id, is_admin)| Refreshing {
        session_id,
        user_id,
        is_admin,
    }))
}

/// Marks the refresh token spent if it still is unspent; false when it
/// was spent already, which tells a reuse apart and settles a race
/// between two uses: exactly one of them gets true.
pub async fn spend_refresh_token<'c>(
    db: impl Executor<'c, Database = Database>,
    token_hash: &[u8],
    now: OffsetDateTime,
) -> sqlx::Result<bool> {
    let claimed = sqlx::query(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
    )
    .bind(now)
    .bind(token_hash)
    .execute(db)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}
