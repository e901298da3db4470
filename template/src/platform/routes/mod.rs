//! The platform's routes (health, sign-in, the account, sessions, admin) and
//! the layers that protect every route, the team's included. Routes are
//! protected unless listed in `PUBLIC_PATHS` (deny by default, PROC-01).
mod admin;
mod auth;
mod health;
mod me;
mod sessions;

use axum::middleware;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{
    auth::{require_api_key, require_app_scope, require_auth, scope},
    config::HttpSettings,
    http::rate_limit,
    openapi::ApiDoc,
    state::AppState,
};

/// The API routes and their OpenAPI description, built together so the
/// document cannot drift from what is served.
pub fn router(state: AppState, http: &HttpSettings) -> OpenApiRouter {
    let mut public = auth::public_router();
    if http.require_api_key {
        // Signing users up and in needs the calling application's `auth` scope (AUTH-08).
        public = public.route_layer(middleware::from_fn(require_app_scope::<scope::Auth>));
    }
    // Password guessing and token probing get a tighter budget (ACC-01).
    let public = public.layer(rate_limit::per_minute(http.auth_rate_limit_per_minute));
    let protected = OpenApiRouter::new()
        .merge(auth::router())
        .merge(me::router())
        .merge(sessions::router())
        .merge(crate::routes::router())
        .merge(admin::router())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_auth));
    let api = public.merge(protected);
    // The application key is checked before the user's token (AUTH-08); the
    // routes for a signed-in user check its scopes in `Authorized<S>`.
    let api = if http.require_api_key {
        api.route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
    } else {
        api
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(api)
        .with_state(state)
}

/// Paths that need no application key even when keys are required, so load
/// balancers and orchestrators can probe them.
pub const KEYLESS_PATHS: &[&str] = &["/healthz", "/readyz"];

/// Paths reachable without a token; everything else answers 401 without one.
pub const PUBLIC_PATHS: &[&str] = &[
    "/healthz",
    "/readyz",
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/confirm",
];
