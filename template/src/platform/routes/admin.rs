//! Administration; every route needs the `admin` scope (OPS-05).
use axum::{extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::{Authorized, scope::Admin},
    db,
    error::{ApiError, ApiResult},
    extract::Path,
    platform::store::{applications, sessions, users},
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
        (status = 404, description = "No such account"),
    ))]
async fn disable_user(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<Admin>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let now = db::now();
    let mut tx = state.db.begin().await?;
    if !users::disable(&mut *tx, id).await? {
        return Err(ApiError::NotFound);
    }
    sessions::end_all(&mut *tx, id, now).await?;
    tx.commit().await?;
    tracing::info!(event = "admin.user_disabled", by = %caller.user_id, user_id = %id);
    Ok(StatusCode::NO_CONTENT)
}

/// Disables a calling application; its key stops working on the next request (AUTH-08).
#[utoipa::path(post, path = "/v1/admin/applications/{id}/disable", tag = "admin", security(("bearer" = ["admin"])),
    params(("id" = Uuid, Path, description = "Application id")),
    responses(
        (status = 204, description = "Application disabled"),
        (status = 404, description = "No such application"),
    ))]
async fn disable_application(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<Admin>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if !applications::disable(&state.db, id).await? {
        return Err(ApiError::NotFound);
    }
    tracing::info!(event = "admin.application_disabled", by = %caller.user_id, application_id = %id);
    Ok(StatusCode::NO_CONTENT)
}
