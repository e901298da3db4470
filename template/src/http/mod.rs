//! Layers wrapped around every route: request ids, logging, metrics, limits,
//! panics and the problem+json envelope for errors raised outside handlers.
mod metrics;
mod problem;

use std::time::Duration;

use axum::{Router, http::StatusCode, middleware};
use tower::ServiceBuilder;
use tower_http::{
    LatencyUnit,
    catch_panic::CatchPanicLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

pub use metrics::{metrics_handle, render_metrics};

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Deadline for a whole request, body included; it also bounds the drain on shutdown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Wraps the API router in the service's standard layers, outermost first.
pub fn layers(router: Router) -> Router {
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    // Outermost first. `Router::layer` runs these after routing, so the
    // matched route is known to metrics, and 404/405 responses pass through them.
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(SetSensitiveRequestHeadersLayer::new([
                axum::http::header::AUTHORIZATION,
                axum::http::header::COOKIE,
            ]))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<_>| {
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id = %id,
                        )
                    })
                    .on_response(
                        DefaultOnResponse::new()
                            .level(Level::INFO)
                            .latency_unit(LatencyUnit::Millis),
                    ),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(middleware::map_response(problem::problem_for_bare_errors))
            .layer(middleware::from_fn(metrics::record))
            .layer(CatchPanicLayer::custom(problem::panic_to_problem))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    )
}
