//! Refresh-token rotation under races, and the cap on live sessions.
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestUser, spawn_app_with};

// JWT-03: two refreshes racing with one token: exactly one wins, the other
// is a reuse, and the reuse revokes the session, the winner's new tokens
// included. Never a 500 (SQLite used to answer "database is locked" and
// leave the session alive), on every one of twenty rounds.
#[tokio::test]
async fn jwt_03_racing_refreshes_revoke_the_session() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "10000"),
        ("APP_RATE_LIMIT_PER_MINUTE", "10000"),
    ])
    .await;
    let user = app.user().await;
    for round in 0..20 {
        let session = app.log_in(&user.email).await;
        let token = json!(session.refresh_token);
        let (first, second) = tokio::join!(app.refresh(&token), app.refresh(&token));
        let mut answers = [first, second];
        answers.sort_by_key(reqwest::Response::status);
        let [won, lost] = answers;
        assert_eq!(
            (won.status(), lost.status()),
            (StatusCode::OK, StatusCode::UNAUTHORIZED),
            "round {round}"
        );
        let pair: serde_json::Value = won.json().await.unwrap();
        let winner = TestUser {
            email: user.email.clone(),
            access_token: pair["access_token"].as_str().unwrap().to_owned(),
            refresh_token: pair["refresh_token"].as_str().unwrap().to_owned(),
        };
        assert_eq!(
            app.call(Method::GET, "/v1/me", &winner).await.status(),
            StatusCode::UNAUTHORIZED,
            "round {round}: the session outlived a reuse"
        );
        assert_eq!(
            app.refresh(&json!(winner.refresh_token)).await.status(),
            StatusCode::UNAUTHORIZED,
            "round {round}"
        );
    }
}

// AUTH-07: one account holds at most ten live sessions: each login past
// them ends the oldest, whose tokens stop working, while the newer ones
// (the one just made included) go on.
#[tokio::test]
async fn auth_07_live_sessions_per_account_are_capped() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "10000")]).await;
    let mut old = vec![app.user().await];
    for _ in 0..9 {
        old.push(app.log_in(&old[0].email).await);
    }
    // Sessions start on whole seconds: the first ten are made an hour old.
    let an_hour_ago = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
        - time::Duration::hours(1);
    sqlx::query("UPDATE sessions SET created_at = $1")
        .bind(an_hour_ago)
        .execute(&app.db)
        .await
        .unwrap();
    let mut new = Vec::new();
    for _ in 0..5 {
        new.push(app.log_in(&old[0].email).await);
    }
    let mut live = Vec::new();
    for session in old.iter().chain(&new) {
        live.push(app.call(Method::GET, "/v1/me", session).await.status() == StatusCode::OK);
    }
    assert_eq!(live.iter().filter(|&&l| l).count(), 10, "{live:?}");
    assert!(live[10..].iter().all(|&l| l), "the new ones live: {live:?}");
    let listed = app.get_json("/v1/me/sessions", &new[4]).await;
    let listed = listed
        .get("items")
        .unwrap_or(&listed)
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(listed, 10);
    let ended = old.iter().zip(&live).find(|(_, live)| !**live).unwrap().0;
    assert_eq!(
        app.refresh(&json!(ended.refresh_token)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
