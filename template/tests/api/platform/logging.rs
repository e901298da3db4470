use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{PASSWORD, logs, spawn_app, spawn_app_with};

/// The log lines of the request with `request_id`.
fn lines_of(request_id: &str) -> Vec<Value> {
    logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["span"]["request_id"] == request_id)
        .collect()
}

fn has_event(lines: &[Value], event: &str) -> bool {
    lines.iter().any(|line| line["fields"]["event"] == event)
}

// OPS-02/OPS-01: security events are JSON lines with a stable event name and
// the request id.
#[tokio::test]
async fn ops_02_security_events_are_structured() {
    let app = spawn_app().await;
    let user = app.user().await;
    let failed = uuid::Uuid::new_v4().to_string();
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("x-request-id", &failed)
        .json(&serde_json::json!({ "email": user.email, "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let denied = uuid::Uuid::new_v4().to_string();
    let admin_path = format!("/v1/admin/users/{}/disable", uuid::Uuid::new_v4());
    app.authed(Method::POST, &admin_path, &user)
        .header("x-request-id", &denied)
        .send()
        .await
        .unwrap();
    let rejected = uuid::Uuid::new_v4().to_string();
    app.client
        .get(app.url("/v1/me"))
        .bearer_auth("not.a.token")
        .header("x-request-id", &rejected)
        .send()
        .await
        .unwrap();
    assert!(
        has_event(&lines_of(&failed), "auth.login_failed"),
        "{}",
        logs()
    );
    assert!(has_event(&lines_of(&denied), "authz.denied"));
    assert!(has_event(&lines_of(&rejected), "auth.token_rejected"));
}

// OUT-10: passwords, tokens and the query string never reach the logs.
#[tokio::test]
async fn out_10_logs_hold_no_secrets() {
    let app = spawn_app().await;
    let user = app.user().await;
    let request_id = uuid::Uuid::new_v4().to_string();
    let secret_query = format!("/v1/me?access_token={}", user.access_token);
    app.authed(Method::GET, &secret_query, &user)
        .header("x-request-id", &request_id)
        .send()
        .await
        .unwrap();
    // The request was logged (so the check below is not vacuous)...
    assert!(
        has_event(&lines_of(&request_id), "input.rejected"),
        "{}",
        logs()
    );
    // ...but no secret was, nor the query string.
    let logged = logs();
    for secret in [
        PASSWORD,
        user.access_token.as_str(),
        user.refresh_token.as_str(),
    ] {
        assert!(!logged.contains(secret), "a secret reached the logs");
    }
    assert!(
        !logged.contains("access_token="),
        "the query string reached the logs"
    );
}

/// The line of `event` in the request with `request_id`.
fn event_line(request_id: &str, event: &str) -> Value {
    lines_of(request_id)
        .into_iter()
        .find(|line| line["fields"]["event"] == event)
        .unwrap_or_else(|| panic!("no {event} for {request_id}: {}", logs()))
}

// OPS-02: security events name the client, as resolved behind trusted
// proxies (not the proxy's address), through the request span.
#[tokio::test]
async fn ops_02_security_events_carry_the_client() {
    let app = spawn_app_with(&[
        ("APP_TRUSTED_PROXIES", "127.0.0.1/32"),
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "2"),
    ])
    .await;
    let user = app.user().await;
    let login = |client: &'static str, request_id: &str| {
        app.client
            .post(app.url("/v1/auth/login"))
            .header("x-forwarded-for", client)
            .header("x-request-id", request_id)
            .json(&serde_json::json!({ "email": user.email, "password": "not the password" }))
            .send()
    };
    let failed = uuid::Uuid::new_v4().to_string();
    let response = login("198.51.100.7", &failed).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let line = event_line(&failed, "auth.login_failed");
    assert_eq!(line["span"]["client"], "198.51.100.7", "{line}");

    let limited = uuid::Uuid::new_v4().to_string();
    for _ in 0..2 {
        login("203.0.113.9", &uuid::Uuid::new_v4().to_string())
            .await
            .unwrap();
    }
    let response = login("203.0.113.9", &limited).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let line = event_line(&limited, "ratelimit.exceeded");
    assert_eq!(line["span"]["client"], "203.0.113.9", "{line}");
}
