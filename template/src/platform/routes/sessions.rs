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
    error::{ApiError, ApiResult},
    extract::Path,
    platform::store::sessions,
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
    ))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<SessionList>> {
    let items = sessions::live(&state.db, caller.user_id, db::now())
        .await?
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
        (status = 404, description = "No such session of the caller"),
    ))]
async fn delete_session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if !sessions::end_own(&state.db, id, caller.user_id, db::now()).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}
