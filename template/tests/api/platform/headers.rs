use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app, spawn_app_with};

const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];

fn assert_hardened(response: &Response, case: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(
            response.headers().get(*name).map(|v| v.to_str().unwrap()),
            Some(*value),
            "{name} on {case}"
        );
    }
    for name in ["server", "x-powered-by", "x-aspnet-version"] {
        assert!(response.headers().get(name).is_none(), "{name} on {case}");
    }
    assert!(
        response.headers().contains_key("x-request-id"),
        "request id on {case}"
    );
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Response {
    build(app.client.request(method, app.url(path)))
        .send()
        .await
        .unwrap()
}

// OUT-01, OUT-02, OUT-03, OUT-04, OUT-09, OUT-12, ACC-03: the security
// headers are on every response, errors included, and no fingerprinting
// header ever is.
#[tokio::test]
async fn out_01_security_headers_on_every_response() {
    let app = spawn_app().await;
    let cases = [
        ("200", send(&app, Method::GET, "/healthz", |r| r).await),
        ("401", send(&app, Method::GET, "/v1/me", |r| r).await),
        ("404", send(&app, Method::GET, "/nowhere", |r| r).await),
        ("405", send(&app, Method::DELETE, "/healthz", |r| r).await),
        (
            "406",
            send(&app, Method::GET, "/healthz", |r| {
                r.header("accept", "text/html")
            })
            .await,
        ),
        (
            "413",
            send(&app, Method::POST, "/v1/auth/login", |r| {
                r.header("content-type", "application/json")
                    .body(vec![b' '; 100 * 1024])
            })
            .await,
        ),
        (
            "415",
            send(&app, Method::POST, "/v1/auth/login", |r| r.body("x")).await,
        ),
        (
            "422",
            send(&app, Method::POST, "/v1/auth/login", |r| {
                r.json(&json!({ "email": "x" }))
            })
            .await,
        ),
    ];
    for (case, response) in &cases {
        assert_eq!(response.status().as_str(), *case);
        assert_hardened(response, case);
    }
    let limited = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1")]).await;
    send(&limited, Method::POST, "/v1/auth/refresh", |r| r.body("x")).await;
    let response = send(&limited, Method::POST, "/v1/auth/refresh", |r| r.body("x")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_hardened(&response, "429");
}

// OUT-05: the Content-Type always matches the body: JSON for results,
// problem+json for errors, nothing for an empty 204.
#[tokio::test]
async fn out_05_content_type_matches_body() {
    let app = spawn_app().await;
    let user = app.user().await;
    let ok = app.call(Method::GET, "/v1/me", &user).await;
    assert_eq!(ok.headers()["content-type"], "application/json");
    serde_json::from_str::<serde_json::Value>(&ok.text().await.unwrap()).unwrap();
    let missing = app
        .call(Method::GET, "/v1/me/orders/not-a-uuid", &user)
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
    let empty = app.call(Method::POST, "/v1/auth/logout", &user).await;
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    assert!(empty.headers().get("content-type").is_none());
    assert!(empty.bytes().await.unwrap().is_empty());
}

// IN-02: a client that accepts no JSON type gets 406.
#[tokio::test]
async fn in_02_unacceptable_accept_is_406() {
    let app = spawn_app().await;
    let response = send(&app, Method::GET, "/healthz", |r| {
        r.header("accept", "application/xml")
    })
    .await;
    assert_problem(response, StatusCode::NOT_ACCEPTABLE).await;
    let response = send(&app, Method::GET, "/healthz", |r| {
        r.header("accept", "text/html, application/json;q=0.1")
    })
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

// IN-05: a token in the query string is refused, even a valid one.
#[tokio::test]
async fn in_05_credentials_in_query_are_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    for param in ["access_token", "token", "api_key", "Authorization"] {
        let path = format!("/v1/me?{param}={}", user.access_token);
        let response = app.call(Method::GET, &path, &user).await;
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app.call(Method::GET, "/v1/me/orders?limit=5", &user).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// OPS-01/IN-08: a well-formed request id is kept, a malformed one replaced.
#[tokio::test]
async fn ops_01_request_ids_are_kept_or_replaced() {
    let app = spawn_app().await;
    let kept = send(&app, Method::GET, "/healthz", |r| {
        r.header("x-request-id", "abc-123_x.y")
    })
    .await;
    assert_eq!(kept.headers()["x-request-id"], "abc-123_x.y");
    for bad in ["a b", "<script>", &"x".repeat(65), "line\tbreak"] {
        let response = send(&app, Method::GET, "/healthz", |r| {
            r.header("x-request-id", bad)
        })
        .await;
        let id = response.headers()["x-request-id"].to_str().unwrap();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}

/// The `Access-Control-*` headers of a response, by name.
fn cors_headers(response: &Response) -> Vec<String> {
    response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .filter(|name| name.starts_with("access-control-"))
        .collect()
}

// OUT-11: with CORS on, an unlisted origin gets no CORS header at all, on a
// preflight or a plain request, while a listed one gets the full set.
#[tokio::test]
async fn out_11_unlisted_origins_get_no_cors_headers() {
    let app = spawn_app_with(&[("APP_CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let preflight = |origin: &'static str| {
        send(&app, Method::OPTIONS, "/v1/me", move |r| {
            r.header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
        })
    };
    let listed = preflight("https://app.example.com").await;
    let granted = cors_headers(&listed);
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(granted.iter().any(|g| g == name), "{name}: {granted:?}");
    }
    for origin in [
        "https://evil.example",
        "null",
        "https://app.example.com.evil",
    ] {
        let refused = preflight(origin).await;
        assert_eq!(cors_headers(&refused), Vec::<String>::new(), "{origin}");
        let plain = send(&app, Method::GET, "/healthz", |r| {
            r.header("origin", origin)
        })
        .await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert_eq!(cors_headers(&plain), Vec::<String>::new(), "{origin}");
    }
    let listed = send(&app, Method::GET, "/healthz", |r| {
        r.header("origin", "https://app.example.com")
    })
    .await;
    assert!(cors_headers(&listed).contains(&"access-control-expose-headers".to_owned()));
}
