//! The service's own resources, one module per resource. Everything here is
//! served behind the platform's sign-in (`crate::platform::routes`): a route
//! answers 401 without a valid token (deny by default, PROC-01), and a
//! handler asks for the scopes it needs through `Authorized<S>`.
mod orders;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// The team's routes and their OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(orders::router())
}
