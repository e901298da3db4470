use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    platform::store::users,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// The caller's own account. Built field by field: a stored row (with its
/// password hash) never reaches a response (OUT-06).
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// Account id.
    id: Uuid,
    /// The account's e-mail address.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// When the account was created (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

/// Returns the caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = ["account"])),
    responses(
        (status = 200, description = "The caller's account", body = Me),
    ))]
async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<axum::Json<Me>> {
    let (id, email, created_at) = users::profile(&state.db, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(Me {
        id,
        email,
        created_at,
    }))
}
