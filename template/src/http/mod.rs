//! Layers wrapped around every route: request ids, logging, metrics, limits,
//! panics and the problem+json envelope for errors raised outside handlers.
mod client;
mod guards;
mod metrics;
mod problem;
pub mod rate_limit;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware,
};
use tower::ServiceBuilder;
use tower_http::{
    LatencyUnit,
    catch_panic::CatchPanicLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    sensitive_headers::SetSensitiveRequestHeadersLayer,
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{auth::application::API_KEY_HEADER, config::HttpSettings};

pub use metrics::{Counter, render_metrics};

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Wraps the API router in the service's standard layers, outermost first.
pub fn layers(router: Router, settings: &HttpSettings) -> Router {
    let request_id = HeaderName::from_static(guards::REQUEST_ID);
    // Innermost, where bodies are still axum's: the rate limit (keyed on the
    // client that `client::identify` below resolved), then CORS, which
    // answers preflights before any route runs.
    let router = router.layer(rate_limit::per_minute(settings.rate_limit_per_minute));
    let router = match cors(&settings.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    // Outermost first. `Router::layer` runs these after routing, so the
    // matched route is known to metrics, and 404/405 responses pass through them.
    router.layer(
        ServiceBuilder::new()
            .layer(middleware::map_request(guards::drop_malformed_request_id))
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            // On every response, errors and panics included (OUT-01..04, OUT-09, OUT-12, ACC-03).
            .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(header(header::X_FRAME_OPTIONS, "DENY"))
            .layer(header(
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; frame-ancestors 'none'",
            ))
            .layer(header(header::REFERRER_POLICY, "no-referrer"))
            .layer(header(header::CACHE_CONTROL, "no-store"))
            .layer(header(
                header::STRICT_TRANSPORT_SECURITY,
                "max-age=31536000; includeSubDomains",
            ))
            .layer(SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
                header::COOKIE,
                HeaderName::from_static(API_KEY_HEADER),
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
            // Before any other work: who is calling, and may they (ACC-05).
            .layer(middleware::from_fn_with_state(
                Arc::new(settings.clone()),
                client::identify,
            ))
            .layer(CatchPanicLayer::custom(problem::panic_to_problem))
            .layer(middleware::from_fn(guards::refuse_credentials_in_query))
            .layer(middleware::from_fn(guards::require_acceptable))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                settings.request_timeout,
            ))
            .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
    )
}

/// CORS is off unless origins are configured; then only those exact origins
/// are allowed, without credentials, and responses vary on `Origin` (OUT-11).
fn cors(origins: &[HeaderValue]) -> Option<CorsLayer> {
    (!origins.is_empty()).then(|| {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins.iter().cloned()))
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static(API_KEY_HEADER),
            ])
            .expose_headers([
                header::LOCATION,
                HeaderName::from_static(guards::REQUEST_ID),
            ])
            .max_age(Duration::from_secs(600))
    })
}

/// Sets `name` on every response, replacing any value a handler chose.
fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, extract::Request, routing::get};
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("secret internal detail")
    }

    // OUT-08: a panicking handler yields an opaque problem 500 that still
    // carries the security headers; the panic message never leaves.
    #[tokio::test]
    async fn out_08_panic_becomes_an_opaque_problem() {
        let settings = HttpSettings {
            rate_limit_per_minute: 10,
            request_timeout: Duration::from_secs(5),
            ..HttpSettings::default()
        };
        let app = layers(
            Router::new()
                .route("/boom", get(boom))
                .route("/fine", get(|| async { "fine" })),
            &settings,
        );
        let request = |path: &str| {
            let mut request = Request::get(path).body(Body::empty()).unwrap();
            let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            request
        };
        let response = app.clone().oneshot(request("/boom")).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("\"status\":500") && !body.contains("secret"),
            "{body}"
        );
        // The service keeps serving after the panic.
        let after = app.oneshot(request("/fine")).await.unwrap();
        assert_eq!(after.status(), StatusCode::OK);
    }
}
