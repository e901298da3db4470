//! Administration; every route needs the `admin` scope (OPS-05).
use axum::{extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::{Authorized, scope::Admin},
    db,
    error::{ApiError, ApiResult, Problem},
    extract::Path,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(disable_user))
        .routes(routes!(disable_application))
}

/// Disables an account and ends its sessions; its tokens stop working on the next request.
#[utoipa::path(post, path = "/v1/admin/users/{id}/disable", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 204, description = "Account disabled"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable_user(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<Admin>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let disabled = sqlx::query("UPDATE users SET disabled = TRUE WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if disabled == 0 {
        return Err(ApiError::NotFound);
    }
    sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(event = "admin.user_disabled", by = %caller.user_id, user_id = %id);
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a calling application; its key stops working on the next request (AUTH-08).
#[utoipa::path(post, path = "/v1/admin/applications/{id}/disable", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 204, description = "Application disabled"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the admin scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable_application(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<Admin>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let disabled = sqlx::query("UPDATE applications SET disabled = TRUE WHERE id = $1")
        .bind(id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if disabled == 0 {
        return Err(ApiError::NotFound);
    }
    tracing::info!(event = "admin.application_disabled", by = %caller.user_id, application_id = %id);
    Ok(StatusCode::NO_CONTENT)
}
