//! Login floods: the password-hashing queue is bounded, so a flood is shed
//! with 503 and `Retry-After` instead of queueing without end, and what it
//! sheds or cuts short never counts against an account's jail.
use reqwest::StatusCode;
use tokio::task::JoinSet;

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

/// One hashing thread and no rate limit in the way, so that a few hundred
/// logins overflow the hashing queue.
async fn flooded_app(extra: &[(&str, &str)]) -> TestApp {
    let mut settings = vec![
        ("APP_PASSWORD_HASH_CONCURRENCY", "1"),
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("APP_RATE_LIMIT_PER_MINUTE", "100000"),
    ];
    settings.extend_from_slice(extra);
    spawn_app_with(&settings).await
}

/// Sends `count` logins for unknown addresses at once.
fn flood(app: &TestApp, count: usize) -> JoinSet<reqwest::Response> {
    let mut logins = JoinSet::new();
    for n in 0..count {
        let request = app.client.post(app.url("/v1/auth/login")).json(
            &serde_json::json!({ "email": format!("flood-{n}@example.com"), "password": PASSWORD }),
        );
        logins.spawn(async move { request.send().await.unwrap() });
    }
    logins
}

// ACC-01: 300 logins at once against one hashing thread: those the bounded
// queue cannot take are shed at once with 503, Retry-After and a problem
// body (counted in the metrics); the rest are judged as usual, and the
// service logs users in as soon as the flood has passed.
#[tokio::test]
async fn acc_01_a_login_flood_is_shed_with_retry_after() {
    let app = flooded_app(&[]).await;
    let user = app.user().await;
    let (mut shed, mut judged) = (0, 0);
    for response in flood(&app, 300).join_all().await {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(response.headers()["retry-after"], "1");
            let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
            assert!(
                problem["detail"].as_str().unwrap().contains("capacity"),
                "{problem}"
            );
            shed += 1;
        } else {
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
            judged += 1;
        }
    }
    assert!(shed > 0 && judged > 0, "shed {shed}, judged {judged}");
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let counted: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("shed_total "))
        .expect("shed_total in the metrics")
        .parse()
        .unwrap();
    assert!(counted >= shed, "{counted} < {shed}");
    assert_eq!(
        app.login(&user.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

// AUTH-03: right-password logins caught in a flood, shed or cut short by the
// request deadline, never count as failures: the account is not locked when
// the flood is over, and its jail is empty.
#[tokio::test]
async fn auth_03_a_flood_never_locks_out_the_right_password() {
    let app = flooded_app(&[("APP_REQUEST_TIMEOUT_SECS", "1")]).await;
    let victim = app.user().await;
    let mut flooding = flood(&app, 300);
    let mut own = JoinSet::new();
    for _ in 0..8 {
        let request = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&serde_json::json!({ "email": victim.email, "password": PASSWORD }));
        own.spawn(async move { request.send().await.unwrap().status() });
        flooding.spawn({
            let request = app
                .client
                .post(app.url("/v1/auth/login"))
                .json(&serde_json::json!({ "email": "flood@example.com", "password": PASSWORD }));
            async move { request.send().await.unwrap() }
        });
    }
    for status in own.join_all().await {
        assert!(
            [
                StatusCode::OK,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::REQUEST_TIMEOUT
            ]
            .contains(&status),
            "{status}"
        );
    }
    flooding.join_all().await;
    // Judgements cut short by the deadline finish in the background.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let jail: (i32, i32) =
        sqlx::query_as("SELECT known_failed_logins, known_lockouts FROM users WHERE email = $1")
            .bind(&victim.email)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(jail, (0, 0));
    assert_eq!(
        app.login(&victim.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}
