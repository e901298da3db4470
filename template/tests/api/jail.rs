use std::time::Duration;

use reqwest::StatusCode;
use time::OffsetDateTime;

use crate::helpers::{PASSWORD, TestApp, assert_problem, spawn_app_with};

async fn fail_login(app: &TestApp, email: &str, times: usize) {
    for n in 0..times {
        let response = app
            .client
            .post(app.url("/v1/auth/login"))
            // A different claimed client each time: the jail is per account.
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .json(&serde_json::json!({ "email": email, "password": "not the password" }))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
}

async fn jail_state(app: &TestApp, email: &str) -> (i32, Option<OffsetDateTime>) {
    sqlx::query_as("SELECT lockouts, locked_until FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

// AUTH-03/AUTH-04: five failures lock the account: the right password is then
// refused exactly like a wrong one, while other accounts are unaffected.
#[tokio::test]
async fn auth_03_five_failures_lock_the_account() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let victim = app.user().await;
    let bystander = app.user().await;
    fail_login(&app, &victim.email, 5).await;
    let locked = assert_problem(
        app.login(&victim.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let wrong = assert_problem(
        app.login(&victim.email, "still wrong").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(locked, wrong);
    assert_eq!(
        app.login(&bystander.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

// AUTH-03: the jail lives in the database: another instance (or a restart)
// sees it too.
#[tokio::test]
async fn auth_03_jail_is_shared_by_every_instance() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let victim = app.user().await;
    fail_login(&app, &victim.email, 5).await;
    let replica = app.sibling().await;
    let response = replica.login(&victim.email, PASSWORD).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let (lockouts, until) = jail_state(&app, &victim.email).await;
    assert_eq!(lockouts, 1);
    assert!(until.unwrap() > OffsetDateTime::now_utc());
}

// AUTH-03: the account opens again after the window, and the next lockout
// lasts twice as long.
#[tokio::test]
async fn auth_03_lockout_window_grows_on_repeat() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100"),
        ("APP_LOGIN_LOCKOUT_SECS", "2"),
    ])
    .await;
    let victim = app.user().await;
    fail_login(&app, &victim.email, 5).await;
    let (_, first) = jail_state(&app, &victim.email).await;
    let first = first.unwrap() - OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    fail_login(&app, &victim.email, 5).await;
    let (lockouts, second) = jail_state(&app, &victim.email).await;
    let second = second.unwrap() - OffsetDateTime::now_utc();
    assert_eq!(lockouts, 2);
    assert!(first <= time::Duration::seconds(2), "{first}");
    assert!(second > time::Duration::seconds(2), "{second}");
    // Once the window has passed, the right password works again.
    tokio::time::sleep(second.unsigned_abs() + Duration::from_millis(1_100)).await;
    assert_eq!(
        app.login(&victim.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(jail_state(&app, &victim.email).await, (0, None));
}
