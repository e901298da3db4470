//! Layers wrapped around every route: request ids, logging, metrics, limits,
//! panics and the problem+json envelope for errors raised outside handlers.
mod client;
mod guards;
mod metrics;
mod problem;
pub mod rate_limit;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, Version, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use secrecy::{ExposeSecret, SecretString};
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

use crate::{
    auth::application::API_KEY_HEADER,
    config::HttpSettings,
    error::{ApiError, Problem},
};

pub use client::ClientAddr;
pub use metrics::render_metrics;

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
        Some(cors) => router.layer(cors).layer(middleware::from_fn_with_state(
            Arc::<[HeaderValue]>::from(settings.cors_origins.as_slice()),
            withhold_cors_from_unlisted,
        )),
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
                        // `client` is recorded by `client::identify`, so that
                        // every event of the request names the caller.
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id = %id,
                            client = tracing::field::Empty,
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
            .layer(middleware::from_fn(require_one_valid_host))
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

/// tower-http's CORS layer sends `Access-Control-Allow-Methods`, `-Headers`
/// and `-Expose-Headers` whatever the origin, withholding only `-Allow-Origin`;
/// a request from an origin not on the list gets no CORS header at all (OUT-11).
async fn withhold_cors_from_unlisted(
    State(origins): State<Arc<[HeaderValue]>>,
    request: Request,
    next: Next,
) -> Response {
    let listed = request
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|origin| origins.contains(origin));
    let mut response = next.run(request).await;
    if !listed {
        let headers = response.headers_mut();
        let cors: Vec<HeaderName> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    response
}

/// RFC 9112 §3.2: an HTTP/1.1 request has exactly one `Host`, and any
/// request's `Host` is a valid `uri-host[:port]`; anything else is a 400
/// (IN-08). The service does not route on it, but proxies and logs may.
async fn require_one_valid_host(request: Request, next: Next) -> Response {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let verdict = match (hosts.next(), hosts.next()) {
        (None, _) if request.version() == Version::HTTP_11 => Err("send one Host header"),
        (Some(_), Some(_)) => Err("send one Host header, not several"),
        (Some(host), None) if !is_valid_host(host.as_bytes()) => {
            Err("the Host header is not a valid host[:port]")
        }
        _ => Ok(()),
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(detail) => ApiError::BadRequest(detail.into()).into_response(),
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a bracketed IPv6
/// literal or a reg-name (which covers IPv4 addresses and may be empty),
/// then optional digits. No user information, percent-encoding, spaces or
/// other characters.
fn is_valid_host(value: &[u8]) -> bool {
    let (host_ok, rest) = match value.strip_prefix(b"[") {
        Some(literal) => match literal.iter().position(|&b| b == b']') {
            Some(end) => (
                std::str::from_utf8(&literal[..end])
                    .is_ok_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
                &literal[end + 1..],
            ),
            None => (false, &[][..]),
        },
        None => {
            let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            (is_reg_name(&value[..end]), &value[end..])
        }
    };
    let port_ok = match rest.split_first() {
        None => true,
        Some((b':', port)) => port.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    host_ok && port_ok
}

/// `*( unreserved / sub-delims )`: a reg-name without percent-encoding,
/// which no DNS name needs and the `http` crate refuses in an authority.
fn is_reg_name(name: &[u8]) -> bool {
    name.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    })
}

/// The admin listener's layers: with a token configured, every request must
/// carry it as `Authorization: Bearer` (401 problem otherwise). Both sides
/// are hashed before a constant-time comparison, so neither the token's
/// content nor its length leaks through timing.
pub fn admin_layers(router: Router, token: Option<SecretString>) -> Router {
    match token {
        Some(token) => router.layer(middleware::from_fn_with_state(
            Arc::new(token),
            require_admin_token,
        )),
        None => router,
    }
}

async fn require_admin_token(
    State(token): State<Arc<SecretString>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    use aws_lc_rs::{constant_time::verify_slices_are_equal, digest};
    let sent = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, credential)| credential);
    let hash = |text: &str| digest::digest(&digest::SHA256, text.as_bytes());
    let expected = hash(token.expose_secret());
    if verify_slices_are_equal(hash(sent).as_ref(), expected.as_ref()).is_ok() {
        return next.run(request).await;
    }
    tracing::warn!(
        event = "admin.token_rejected",
        client = %peer.ip(),
        path = %request.uri().path()
    );
    Problem::new(
        StatusCode::UNAUTHORIZED,
        Some("send the admin token as a bearer token".into()),
    )
    .into_response()
}

/// Sets `name` on every response, replacing any value a handler chose.
fn header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

#[cfg(test)]
mod tests {
    use axum::{body::Body, routing::get};
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
            let mut request = Request::get(path)
                .header(header::HOST, "localhost")
                .body(Body::empty())
                .unwrap();
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

    // IN-08: Host values follow uri-host[:port]; nothing else passes.
    #[test]
    fn in_08_host_syntax() {
        for good in [
            "example.com",
            "example.com:8080",
            "127.0.0.1:80",
            "[::1]",
            "[2001:db8::1]:443",
            "xn--bcher-kva.example",
            "host:",
            "",
        ] {
            assert!(is_valid_host(good.as_bytes()), "{good:?}");
        }
        for bad in [
            "a b",
            "user@example.com",
            "example.com:80:80",
            "example.com:8o",
            "[::1",
            "[not-v6]:80",
            "[::1]x",
            "::1",
            "a%20b",
            "example.com/path",
            "bücher.example",
            "a\tb",
        ] {
            assert!(!is_valid_host(bad.as_bytes()), "{bad:?}");
        }
    }

    // IN-08: seeded random values never panic the check, and whatever it
    // accepts is an authority the `http` crate reads back whole, with no
    // user information.
    #[test]
    fn in_08_host_check_is_total_and_sound() {
        let pieces = [
            "example",
            "com",
            ".",
            "-",
            "_",
            "~",
            "127.0.0.1",
            "[::1]",
            "[",
            "]",
            ":",
            "80",
            "@",
            " ",
            "%20",
            "::",
            "ü",
            "\t",
            "*",
            "(",
            "/",
            "?",
            "#",
            "x",
            "0",
            "\u{7f}",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut accepted = 0;
        for _ in 0..20_000 {
            let value: String = (0..next(6)).map(|_| pieces[next(pieces.len())]).collect();
            if !is_valid_host(value.as_bytes()) {
                continue;
            }
            accepted += 1;
            // The `http` crate refuses an empty host, which `Host` allows.
            if value.is_empty() || value.starts_with(':') {
                continue;
            }
            let authority: axum::http::uri::Authority = value
                .parse()
                .unwrap_or_else(|e| panic!("{value:?} accepted but not an authority: {e}"));
            assert_eq!(authority.as_str(), value);
            assert!(!value.contains('@'), "{value:?}");
        }
        assert!((2_000..18_000).contains(&accepted), "{accepted} accepted");
    }
}
