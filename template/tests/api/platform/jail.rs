use std::time::Duration;

use reqwest::{Response, StatusCode};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use crate::helpers::{
    Attempt, Budget, Jail, MAX_FAILURES, PASSWORD, TestApp, assert_problem, logs, spawn_app_with,
};

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

/// Lockouts and lock of the budget of the account's known network: the test
/// users log in from the loopback, where these tests guess too.
async fn jail_state(app: &TestApp, email: &str) -> (i32, Option<OffsetDateTime>) {
    sqlx::query_as("SELECT known_lockouts, known_locked_until FROM users WHERE email = $1")
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
    let before = OffsetDateTime::now_utc();
    fail_login(&app, &victim.email, 5).await;
    let (lockouts, second) = jail_state(&app, &victim.email).await;
    let second = second.unwrap();
    assert_eq!(lockouts, 2);
    assert!(first <= time::Duration::seconds(2), "{first}");
    // Twice the first window, from a lock taken after `before` (measured
    // from then, however long the five logins took on a loaded machine).
    assert!(
        second - before > time::Duration::seconds(3),
        "{}",
        second - before
    );
    // Once the window has passed, the right password works again.
    let left = second - OffsetDateTime::now_utc();
    tokio::time::sleep(left.unsigned_abs() + Duration::from_millis(1_100)).await;
    assert_eq!(
        app.login(&victim.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(jail_state(&app, &victim.email).await, (0, None));
}

// AUTH-03: attempts are counted as they start, not when their hash is done:
// of twelve attempts in flight at once, four may go on, one locks the
// account, and the rest are refused; the right password is refused next.
#[tokio::test]
async fn auth_03_attempts_count_before_their_verdict() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let victim = app.user().await;
    let (id,): (uuid::Uuid,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(&victim.email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let jail = Jail {
        base: Duration::from_secs(300),
    };
    let mut in_flight = JoinSet::new();
    for _ in 0..12 {
        let db = app.db.clone();
        in_flight.spawn(async move { jail.attempt(&db, id, Budget::Known).await.unwrap() });
    }
    let attempts = in_flight.join_all().await;
    let count = |kind: fn(&Attempt) -> bool| attempts.iter().filter(|a| kind(a)).count();
    assert_eq!(count(|a| *a == Attempt::Open), 4, "{attempts:?}");
    assert_eq!(
        count(|a| matches!(a, Attempt::Locking(window) if window.as_secs() == 300)),
        1,
        "{attempts:?}"
    );
    assert_eq!(count(|a| *a == Attempt::Refused), 7, "{attempts:?}");
    assert_problem(
        app.login(&victim.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

// AUTH-03: twenty wrong guesses sent at once lock the account once, for the
// first window: each is counted before its verdict, so no more than five
// are ever judged, and the ones past the limit do not stack more lockouts.
#[tokio::test]
async fn auth_03_parallel_guesses_lock_once() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
        ("APP_LOGIN_LOCKOUT_SECS", "3"),
    ])
    .await;
    let victim = app.user().await;
    let mut guesses = JoinSet::new();
    for _ in 0..20 {
        let request = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&serde_json::json!({ "email": victim.email, "password": "not the password" }));
        guesses.spawn(async move { request.send().await.unwrap() });
    }
    // Those past the hashing queue are shed uncounted; enough are judged to lock.
    let mut judged = 0;
    for response in guesses.join_all().await {
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(response.headers()["retry-after"], "1");
        } else {
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
            judged += 1;
        }
    }
    assert!(judged >= 5, "{judged}");
    let (lockouts, until) = jail_state(&app, &victim.email).await;
    assert_eq!(lockouts, 1);
    // Stacked lockouts would have doubled the window three times over.
    let left = until.unwrap() - OffsetDateTime::now_utc();
    assert!(left <= time::Duration::seconds(3), "{left}");
    tokio::time::sleep(left.unsigned_abs() + Duration::from_millis(1_100)).await;
    assert_eq!(
        app.login(&victim.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

// AUTH-04: when the jail cannot count an attempt (here its column is gone),
// a wrong password still gets the 401 every failure gets, never a 5xx that
// would tell an existing account from an unknown one; the jail fails closed,
// and only the right password hears of the fault.
#[tokio::test]
async fn auth_04_jail_failure_looks_like_any_failure() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let victim = app.user().await;
    sqlx::query("ALTER TABLE users RENAME COLUMN known_failed_logins TO gone")
        .execute(&app.db)
        .await
        .unwrap();
    app.assert_login_refused_like_unknown(&victim.email, "not the password")
        .await;
    assert!(logs().contains("auth.jail_failed"));
    let right = app.login(&victim.email, PASSWORD).await;
    assert!(right.status().is_server_error(), "{}", right.status());
}

// AUTH-03: an account left at the limit without a lock (a lock whose write
// was lost: the count and the lock used to be two statements) is not
// refused for good: the next attempt locks it properly, or, with the right
// password, logs in.
#[tokio::test]
async fn auth_03_a_lost_lock_write_does_not_lock_for_good() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let victim = app.user().await;
    let stuck = app.user().await;
    for user in [&victim, &stuck] {
        sqlx::query(
            "UPDATE users SET known_failed_logins = $1, known_locked_until = NULL WHERE email = $2",
        )
        .bind(MAX_FAILURES)
        .bind(&user.email)
        .execute(&app.db)
        .await
        .unwrap();
    }
    assert_eq!(
        app.login(&victim.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(jail_state(&app, &victim.email).await, (0, None));
    fail_login(&app, &stuck.email, 1).await;
    let (lockouts, until) = jail_state(&app, &stuck.email).await;
    assert_eq!(lockouts, 1);
    assert!(until.unwrap() > OffsetDateTime::now_utc());
}

// AUTH-03: `create-admin` is the way out of a lockout for an administrator
// whose address someone keeps guessing at: it resets the jail with the
// password.
#[tokio::test]
async fn auth_03_create_admin_unlocks_the_account() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100")]).await;
    let admin = app.admin().await;
    fail_login(&app, &admin.email, 5).await;
    assert_problem(
        app.login(&admin.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.create_admin(&admin.email).await;
    assert_eq!(jail_state(&app, &admin.email).await, (0, None));
    assert_eq!(
        app.login(&admin.email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

/// A login as `email` from `client`, as a trusted proxy reports it.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Response {
    app.client
        .post(app.url("/v1/auth/login"))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

// AUTH-03: strangers who know an address can lock the account everywhere
// but on the network its owner last logged in from, where the right
// password still works. Guessing from that network spends a budget of its
// own, once: a guesser gets no more than two budgets' worth of guesses.
#[tokio::test]
async fn auth_03_strangers_cannot_lock_the_owner_out_of_their_network() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1000"),
        ("APP_TRUSTED_PROXIES", "127.0.0.1/32, ::1/128"),
    ])
    .await;
    let email = format!("owner-{}@example.com", uuid::Uuid::new_v4());
    assert_eq!(
        app.register(&email, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    let home = login_from(&app, "203.0.113.5", &email, PASSWORD).await;
    assert_eq!(home.status(), StatusCode::OK);
    for n in 0..MAX_FAILURES + 3 {
        let guess = login_from(&app, &format!("198.51.{n}.7"), &email, "not the password").await;
        assert_problem(guess, StatusCode::UNAUTHORIZED).await;
    }
    let away = login_from(&app, "192.0.2.1", &email, PASSWORD).await;
    assert_problem(away, StatusCode::UNAUTHORIZED).await;
    // The owner, at home behind another address of the same network.
    let home = login_from(&app, "203.0.113.77", &email, PASSWORD).await;
    assert_eq!(home.status(), StatusCode::OK);
    // Their login does not reopen the strangers' budget.
    let away = login_from(&app, "192.0.2.1", &email, PASSWORD).await;
    assert_problem(away, StatusCode::UNAUTHORIZED).await;
    for n in 0..MAX_FAILURES {
        let guess = login_from(
            &app,
            &format!("203.0.113.{}", 100 + n),
            &email,
            "not the password",
        )
        .await;
        assert_problem(guess, StatusCode::UNAUTHORIZED).await;
    }
    let home = login_from(&app, "203.0.113.5", &email, PASSWORD).await;
    assert_problem(home, StatusCode::UNAUTHORIZED).await;
}
