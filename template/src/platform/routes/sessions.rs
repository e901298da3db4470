//! The caller's own sessions: list them and end any of them (AUTH-07).
use axum::{extract::State, http::StatusCode};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::Caller,
    db,
    error::{ApiError, ApiResult, Problem},
    extract::Path,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions))
        .routes(routes!(delete_session))
}

/// A live session: one login and the refresh tokens descended from it.
#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Session id.
    id: Uuid,
    /// When the session started (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// When the session ends unless refreshed earlier (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
    /// True for the session of the token making this request.
    current: bool,
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    /// Live sessions, newest first.
    #[schema(max_items = 1000)]
    items: Vec<Session>,
}

/// Lists the caller's live sessions.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "sessions", security(("bearer" = ["account"])),
    responses(
        (status = 200, description = "Live sessions", body = SessionList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token or application lacks the account scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<SessionList>> {
    let rows: Vec<(Uuid, OffsetDateTime, OffsetDateTime)> = sqlx::query_as(
        "SELECT id, created_at, expires_at FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC LIMIT 1000",
    )
    .bind(caller.user_id)
    .bind(db::now())
    .fetch_all(&state.db)
    .await?;
    let items = rows
        .into_iter()
        .map(|(id, created_at, expires_at)| Session {
            id,
            created_at,
            expires_at,
            current: id == caller.session_id,
        })
        .collect();
    Ok(axum::Json(SessionList { items }))
}

/// Ends one of the caller's sessions; its tokens stop working on the next request.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "sessions", security(("bearer" = ["account"])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token or application lacks the account scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such session of the caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let ended = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(db::now())
    .bind(id)
    .bind(caller.user_id)
    .execute(&state.db)
    .await?
    .rows_affected();
    if ended == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
