use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{PASSWORD, TempDir, assert_problem, spawn_app, spawn_app_with},
    keys,
};

// AUTH-04: registration answers the same whether or not the e-mail exists.
#[tokio::test]
async fn auth_04_register_does_not_reveal_existing_accounts() {
    let app = spawn_app().await;
    let first = app.register("ada@example.com", PASSWORD).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = app.register("ADA@example.com", "another password").await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    // The second registration changed nothing: the first password still works.
    assert_eq!(
        app.login("ada@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("ada@example.com", "another password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

// AUTH-02/JWT-03: login returns a bearer token pair with a 15-minute access token.
#[tokio::test]
async fn jwt_03_login_returns_a_token_pair() {
    let app = spawn_app().await;
    app.register("bob@example.com", PASSWORD).await;
    let response = app.login("bob@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().unwrap().len() < 1024);
    assert!(body["refresh_token"].as_str().unwrap().len() >= 43);
}

// AUTH-04: unknown user and wrong password are indistinguishable.
#[tokio::test]
async fn auth_04_login_failures_look_alike() {
    let app = spawn_app().await;
    app.register("carol@example.com", PASSWORD).await;
    let wrong = app.login("carol@example.com", "not the password").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer");
    assert_eq!(unknown.headers()["www-authenticate"], "Bearer");
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = assert_problem(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, unknown);
}

// IN-04: schema-invalid input is a 422 naming the field.
#[tokio::test]
async fn in_04_invalid_fields_are_named() {
    let app = spawn_app().await;
    let body = assert_problem(
        app.register("not-an-email", PASSWORD).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("email"), "{body}");
    let body = assert_problem(
        app.register("dan@example.com", "short").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("password"),
        "{body}"
    );
}

// AUTH-06: a 1 MiB password is refused at once, never hashed.
#[tokio::test]
async fn auth_06_huge_password_refused() {
    let app = spawn_app().await;
    let response = app
        .register("erin@example.com", &"p".repeat(1024 * 1024))
        .await;
    assert!(
        matches!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY
        ),
        "{}",
        response.status()
    );
}

// IN-06: fields that are not part of the request type are refused.
#[tokio::test]
async fn in_06_extra_fields_are_refused() {
    let app = spawn_app().await;
    let response = app
        .post_json(
            "/v1/auth/register",
            &json!({ "email": "frank@example.com", "password": PASSWORD, "is_admin": true }),
        )
        .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

// AUTH-01: Basic credentials are just bad credentials.
#[tokio::test]
async fn auth_01_basic_auth_is_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app
        .client
        .get(app.url("/v1/me"))
        .basic_auth(&user.email, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

// JWT-02: a token signed with another key, or a garbage token, is refused.
#[tokio::test]
async fn jwt_02_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    let foreign = other.user().await;
    let response = app.call(Method::GET, "/v1/me", &foreign).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let response = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth("a.b.c")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

// JWT-03: refresh tokens rotate, and reusing a spent one revokes the session.
#[tokio::test]
async fn jwt_03_refresh_rotates_and_reuse_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.user().await;
    let refreshed = app.refresh(&json!(user.refresh_token)).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let pair: Value = refreshed.json().await.unwrap();
    assert_ne!(pair["refresh_token"].as_str().unwrap(), user.refresh_token);
    let new_access = pair["access_token"].as_str().unwrap();
    let me = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // Replaying the spent token: refused, and the whole session dies.
    let replay = app.refresh(&json!(user.refresh_token)).await;
    assert_problem(replay, StatusCode::UNAUTHORIZED).await;
    let me = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(new_access)
        .send()
        .await
        .unwrap();
    assert_problem(me, StatusCode::UNAUTHORIZED).await;
    let next = app.refresh(&json!(pair["refresh_token"])).await;
    assert_problem(next, StatusCode::UNAUTHORIZED).await;
}

// AUTH-07: logout takes effect on the very next request.
#[tokio::test]
async fn auth_07_logout_revokes_on_next_request() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app.call(Method::POST, "/v1/auth/logout", &user).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.call(Method::GET, "/v1/me", &user).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let refresh = app.refresh(&json!(user.refresh_token)).await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED).await;
}

// OUT-06: /v1/me shows the account without any credential material.
#[tokio::test]
async fn out_06_me_returns_only_public_fields() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app.call(Method::GET, "/v1/me", &user).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "email", "id"]);
    assert_eq!(body["email"], user.email);
}

// AUTH-04: an unknown user, a wrong password and a locked account take about
// the same time, since each costs one argon2 verification. Rounds interleave
// the three cases, and each case is judged by its fastest round: other work
// on the machine only adds time (hashing runs at the lowest CPU priority, so
// a busy host can stretch any one login many times over), while a path that
// skipped or added a hash would show in every round, the fastest included.
#[tokio::test]
async fn auth_04_login_failures_take_the_same_time() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    let wrong_users = [app.user().await, app.user().await];
    let locked = app.user().await;
    for _ in 0..5 {
        app.login(&locked.email, "not the password").await;
    }
    let timed = |email: String, password: &'static str| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let response = app.login(&email, password).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            started.elapsed()
        }
    };
    let (mut unknown, mut wrong, mut jailed) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..8 {
        unknown.push(timed(format!("nobody-{round}@example.com"), PASSWORD).await);
        wrong.push(timed(wrong_users[round % 2].email.clone(), "not the password").await);
        jailed.push(timed(locked.email.clone(), PASSWORD).await);
    }
    let best = |samples: Vec<std::time::Duration>| samples.into_iter().min().unwrap();
    let bests = [best(unknown), best(wrong), best(jailed)];
    let (fastest, slowest) = (bests.iter().min().unwrap(), bests.iter().max().unwrap());
    assert!(
        slowest.as_secs_f64() < fastest.as_secs_f64() * 2.0,
        "fastest rounds differ too much (unknown, wrong, locked): {bests:?}"
    );
}

// JWT-02: the asymmetric option: with APP_JWT_ALGORITHM=EdDSA the service
// signs with its key pair, and its tokens say so.
#[tokio::test]
async fn jwt_02_eddsa_key_pair_option() {
    let (_, private, public) = keys::ed25519();
    let dir = TempDir::new();
    let private = dir.write("jwt.pem", private);
    let public = dir.write("jwt.pub.pem", public);
    let app = spawn_app_with(&[
        ("APP_JWT_ALGORITHM", "EdDSA"),
        ("APP_JWT_PRIVATE_KEY_FILE", &private),
        ("APP_JWT_PUBLIC_KEY_FILE", &public),
    ])
    .await;
    let user = app.user().await;
    let header = user.access_token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    assert!(String::from_utf8(header).unwrap().contains("\"EdDSA\""));
    assert_eq!(
        app.call(Method::GET, "/v1/me", &user).await.status(),
        StatusCode::OK
    );
}
