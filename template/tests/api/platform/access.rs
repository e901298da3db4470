use reqwest::{Method, StatusCode};

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

async fn login_from(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&serde_json::json!({ "email": "nobody@example.com", "password": PASSWORD }));
    if let Some(ip) = forwarded_for {
        request = request.header("x-forwarded-for", ip);
    }
    request.send().await.unwrap()
}

// ACC-01/AUTH-03: login has a tight per-client budget; over it, 429 with
// Retry-After and a problem body, while other endpoints keep answering.
#[tokio::test]
async fn acc_01_auth_endpoints_are_rate_limited() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "3")]).await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = login_from(&app, None).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let metrics = app.admin_get("/metrics").await;
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("rate_limited_total") && metrics.contains("auth_failures_total"));
}

// ACC-01/AUTH-03: rotating X-Forwarded-For does not buy a fresh budget. From
// a peer that is no trusted proxy the header is ignored; through a trusted
// proxy only the address the proxy appended counts, not the entries the client
// wrote on its left. The test client connects from loopback: a stranger to
// the first service, the proxy of the second.
#[tokio::test]
async fn acc_01_rotating_forwarded_for_does_not_escape_the_limit() {
    let limit = ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "3");
    let stranger = spawn_app_with(&[limit, ("APP_TRUSTED_PROXIES", "10.0.0.0/8")]).await;
    let proxied = spawn_app_with(&[limit, ("APP_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128")]).await;
    for (app, client) in [(&stranger, ""), (&proxied, ", 203.0.113.7")] {
        for n in 0..3 {
            let response = login_from(app, Some(&format!("198.51.100.{n}{client}"))).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{n}{client}");
        }
        let response = login_from(app, Some(&format!("198.51.100.200{client}"))).await;
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    }
    // The proxy's header was read: another client behind it has its own budget.
    let other = login_from(&proxied, Some("198.51.100.200, 203.0.113.8")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

// ACC-01: an IPv6 client is counted by its /64, whichever of its addresses it
// uses, and an IPv4 client the same whether its address arrives plain or
// IPv4-mapped; the next /64 has a budget of its own.
#[tokio::test]
async fn acc_01_one_ipv6_64_shares_one_budget() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "3"),
        ("APP_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128"),
    ])
    .await;
    for address in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:a:b:c:d"] {
        let response = login_from(&app, Some(address)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{address}");
    }
    let response = login_from(&app, Some("2001:db8:1:2:ffff::9")).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    let next = login_from(&app, Some("2001:db8:1:3::1")).await;
    assert_eq!(next.status(), StatusCode::UNAUTHORIZED);

    for address in ["198.51.100.9", "::ffff:198.51.100.9", "198.51.100.9"] {
        let response = login_from(&app, Some(address)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{address}");
    }
    let response = login_from(&app, Some("::ffff:198.51.100.9")).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
}

// ACC-01: behind a configured proxy, each forwarded client has its own budget.
#[tokio::test]
async fn acc_01_trusted_proxy_forwards_client_addresses() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "2"),
        ("APP_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128"),
    ])
    .await;
    for n in 0..4 {
        let response = login_from(&app, Some(&format!("198.51.100.{n}"))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "client {n}");
    }
    for _ in 0..2 {
        login_from(&app, Some("203.0.113.7")).await;
    }
    let response = login_from(&app, Some("203.0.113.7")).await;
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
}

// ACC-01/ACC-05: behind a trusted proxy that is itself allowed, a client
// outside the allow-list cannot pass for the proxy by writing junk into
// X-Forwarded-For; the address the proxy appended decides.
#[tokio::test]
async fn acc_05_junk_forwarded_for_does_not_make_the_client_the_proxy() {
    let app = spawn_app_with(&[
        ("APP_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128"),
        (
            "APP_ALLOWED_CLIENT_NETWORKS",
            "127.0.0.1/32, ::1/128, 198.51.100.0/24",
        ),
    ])
    .await;
    let get = |forwarded: String| {
        app.client
            .get(app.url("/healthz"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    // As the proxy forwards them: the client's junk, then its real address.
    for junk in ["x", "unknown, ,", "127.0.0.1, junk", "[::1]:80"] {
        let response = get(format!("{junk}, 203.0.113.9")).await.unwrap();
        assert_problem(response, StatusCode::FORBIDDEN).await;
    }
    let allowed = get("x, 198.51.100.7".to_owned()).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
}

// ACC-05: outside the allowed networks, 403 before anything else happens.
#[tokio::test]
async fn acc_05_client_network_allow_list() {
    let closed = spawn_app_with(&[("APP_ALLOWED_CLIENT_NETWORKS", "10.0.0.0/8")]).await;
    for path in ["/healthz", "/v1/me", "/nowhere"] {
        let response = closed.client.get(closed.url(path)).send().await.unwrap();
        assert_problem(response, StatusCode::FORBIDDEN).await;
    }
    let open = spawn_app_with(&[(
        "APP_ALLOWED_CLIENT_NETWORKS",
        "10.0.0.0/8, 127.0.0.0/8, ::1/128",
    )])
    .await;
    let response = open.client.get(open.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/v1/me/orders"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

// OUT-11: CORS is off by default: no origin is ever allowed.
#[tokio::test]
async fn out_11_cors_is_off_by_default() {
    let app = spawn_app_with(&[]).await;
    let response = preflight(&app, "https://evil.example").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

// OUT-11: with an allow-list, exactly those origins, no credentials, Vary: Origin.
#[tokio::test]
async fn out_11_cors_allows_only_listed_origins() {
    let app = spawn_app_with(&[("APP_CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let allowed = preflight(&app, "https://app.example.com").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let vary: Vec<_> = allowed
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_lowercase())
        .collect();
    assert!(vary.iter().any(|v| v.contains("origin")), "{vary:?}");
    let refused = preflight(&app, "https://evil.example").await;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
