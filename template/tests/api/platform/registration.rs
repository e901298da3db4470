//! Registration with e-mail confirmation (`APP_VERIFY_EMAIL`): an address
//! becomes an account only through the token mailed to it, so nobody can
//! pre-claim an address they cannot read, and registering tells nothing.
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_problem, logs, spawn_app_with};

const THEIRS: &str = "an attacker's own passphrase";

async fn confirming_app() -> TestApp {
    spawn_app_with(&[
        ("APP_VERIFY_EMAIL", "true"),
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
    ])
    .await
}

/// The mails the log sender wrote to `to`, oldest first, waiting up to a
/// few seconds for `count` of them (they are sent after the answer).
async fn mails_to(to: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let mails: Vec<Value> = logs()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|line| line["fields"].clone())
            .filter(|fields| fields["event"] == "mail.sent" && fields["to"] == to)
            .collect();
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {count} mails to {to}:\n{}", logs());
}

async fn confirm(app: &TestApp, token: &Value) -> reqwest::Response {
    app.post_json("/v1/auth/confirm", &json!({ "token": token }))
        .await
}

// AUTH-04: someone registers the owner's address with their own password
// first. Neither can log in before confirming; the owner registers too and
// confirms with the token mailed to them: the account has the owner's
// password, never the attacker's, and the token works once.
#[tokio::test]
async fn auth_04_an_address_cannot_be_pre_claimed() {
    let app = confirming_app().await;
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4());
    let first = app.register(&owner, THEIRS).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    mails_to(&owner, 1).await;
    let second = app.register(&owner, PASSWORD).await;
    assert_eq!(second.json::<Value>().await.unwrap(), first);
    let mails = mails_to(&owner, 2).await;
    for password in [THEIRS, PASSWORD] {
        assert_problem(app.login(&owner, password).await, StatusCode::UNAUTHORIZED).await;
    }
    let token = &mails[1]["token"];
    assert_eq!(confirm(&app, token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&owner, PASSWORD).await.status(), StatusCode::OK);
    assert_problem(app.login(&owner, THEIRS).await, StatusCode::UNAUTHORIZED).await;
    // Spent, and the attacker's token died with the confirmation.
    for token in [token, &mails[0]["token"]] {
        assert_problem(confirm(&app, token).await, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(app.login(&owner, PASSWORD).await.status(), StatusCode::OK);
}

// AUTH-04: registering an address that has an account answers exactly as
// a new one does and changes nothing; its owner is told by mail instead.
#[tokio::test]
async fn auth_04_registering_a_taken_address_changes_nothing() {
    let app = confirming_app().await;
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4());
    app.register(&owner, PASSWORD).await;
    let token = &mails_to(&owner, 1).await[0]["token"];
    assert_eq!(confirm(&app, token).await.status(), StatusCode::NO_CONTENT);
    let fresh = app
        .register(&format!("new-{}@example.com", uuid::Uuid::new_v4()), THEIRS)
        .await;
    let taken = app.register(&owner, THEIRS).await;
    assert_eq!(taken.status(), fresh.status());
    assert_eq!(
        taken.json::<Value>().await.unwrap(),
        fresh.json::<Value>().await.unwrap()
    );
    let mails = mails_to(&owner, 2).await;
    assert_eq!(mails[1]["kind"], "already_registered");
    assert!(mails[1].get("token").is_none(), "{}", mails[1]);
    assert_problem(app.login(&owner, THEIRS).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.login(&owner, PASSWORD).await.status(), StatusCode::OK);
}

// Registrations waiting on one address are capped (three, the newest kept),
// so repeating a registration cannot grow the table; a made-up token
// confirms nothing.
#[tokio::test]
async fn auth_04_waiting_registrations_per_address_are_capped() {
    let app = confirming_app().await;
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4());
    for n in 1..=6 {
        app.register(&owner, THEIRS).await;
        mails_to(&owner, n).await;
    }
    let (waiting,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM pending_registrations WHERE email = $1")
            .bind(&owner)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(waiting, 3);
    let mails = mails_to(&owner, 6).await;
    assert_problem(
        confirm(&app, &json!("made-up")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    // The newest always waits; once it is confirmed, every other is void.
    assert_eq!(
        confirm(&app, &mails[5]["token"]).await.status(),
        StatusCode::NO_CONTENT
    );
    for mail in &mails[..5] {
        assert_problem(
            confirm(&app, &mail["token"]).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
}
