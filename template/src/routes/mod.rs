//! One module per resource. Routes are protected unless listed in `public`
//! (deny by default, PROC-01).
mod admin;
mod auth;
mod health;
mod me;
mod orders;
mod sessions;

use axum::middleware;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    auth::require_auth, config::HttpSettings, http::rate_limit, openapi::ApiDoc, state::AppState,
};

/// The API routes and their OpenAPI description, built together so the
/// document cannot drift from what is served.
pub fn router(state: AppState, http: &HttpSettings) -> OpenApiRouter {
    let public = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(
            // Password guessing and token probing get a tighter budget (ACC-01).
            auth::public_router().layer(rate_limit::per_minute(http.auth_rate_limit_per_minute)),
        );
    let protected = OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(sessions::router())
        .merge(orders::router())
        .merge(admin::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_auth));
    public.merge(protected).with_state(state)
}

/// Paths reachable without a token; everything else answers 401 without one.
pub const PUBLIC_PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
];
