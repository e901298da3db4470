use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use {{crate_name}}::auth::application;

use crate::{
    helpers::{PASSWORD, TempDir, assert_problem, spawn_app, spawn_app_with},
    platform::keys,
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

// AUTH-06: a password far over the limit, but inside the 64 KiB body limit so
// that the policy must catch it, is refused with 422 before any hashing: at
// login too, where a hashed attempt would be a 401 counted by the jail, and
// more such attempts than the jail allows leave the account open.
#[tokio::test]
async fn auth_06_huge_password_refused() {
    let app = spawn_app().await;
    let huge = "p".repeat(60 * 1024);
    let problem = assert_problem(
        app.register("erin@example.com", &huge).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("password"));
    let victim = app.user().await;
    for _ in 0..6 {
        let problem = assert_problem(
            app.login(&victim.email, &huge).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains("at most 1024"),
            "{problem}"
        );
    }
    app.log_in(&victim.email).await;
}

// AUTH-06: a password is compared in NFKC form, so one typed composed at
// registration and decomposed (or in full-width forms) at login is the same.
#[tokio::test]
async fn auth_06_passwords_are_unicode_normalised() {
    let app = spawn_app().await;
    let email = "noor@example.com";
    let composed = "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e";
    assert_eq!(
        app.register(email, composed).await.status(),
        StatusCode::ACCEPTED
    );
    for typed in [
        composed,
        "cafe\u{301} cre\u{300}me bru\u{302}le\u{301}e",
        "\u{ff43}af\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e",
    ] {
        assert_eq!(
            app.login(email, typed).await.status(),
            StatusCode::OK,
            "{typed:?}"
        );
    }
    app.assert_login_refused_like_unknown(email, "cafe creme brulee")
        .await;
}

// AUTH-06: the commonest passwords (whatever their case), blank ones, control
// characters and lone combining marks are refused with a 422 saying why,
// before any account is created.
#[tokio::test]
async fn auth_06_weak_passwords_are_refused() {
    let app = spawn_app().await;
    let marks = "\u{301}".repeat(8);
    let nuls = "\0".repeat(8);
    for (n, (password, reason)) in [
        ("12345678", "most common"),
        ("PASSWORD1", "most common"),
        ("iloveyou2", "most common"),
        ("        ", "more than spaces"),
        (marks.as_str(), "more than spaces"),
        (nuls.as_str(), "control characters"),
        ("tab\there ok", "control characters"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("weak{n}@example.com");
        let problem = assert_problem(
            app.register(&email, password).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("password") && detail.contains(reason),
            "{password:?}: {detail}"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
            .bind(&email)
            .fetch_one(&app.db)
            .await
            .unwrap();
        assert_eq!(count, 0, "{password:?} created an account");
    }
}

// AUTH-06: the policy is for new passwords: an account whose password
// predates it (one on today's common list, or control characters) still
// logs in with it.
#[tokio::test]
async fn auth_06_passwords_older_than_the_policy_still_log_in() {
    use argon2::PasswordHasher;
    let app = spawn_app().await;
    for old in ["12345678", "tab\there ok"] {
        let user = app.user().await;
        let hash = argon2::Argon2::default()
            .hash_password(old.as_bytes())
            .unwrap()
            .to_string();
        sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2")
            .bind(hash)
            .bind(&user.email)
            .execute(&app.db)
            .await
            .unwrap();
        assert_eq!(
            app.login(&user.email, old).await.status(),
            StatusCode::OK,
            "{old:?}"
        );
    }
}

// IN-04: look-alikes of a registered address (invisible and format
// characters, direction overrides, other scripts' letters, the Kelvin sign, a
// Unicode domain) are refused with 422 instead of becoming accounts that
// display alike; case variants are the same account; the punycode form of an
// international domain is accepted.
#[tokio::test]
async fn in_04_email_look_alikes_are_refused() {
    let app = spawn_app_with(&[("APP_AUTH_RATE_LIMIT_PER_MINUTE", "1000")]).await;
    let kim = "kim@example.com";
    assert_eq!(
        app.register(kim, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    for look_alike in [
        "kim\u{200B}@example.com",
        "k\u{00AD}im@example.com",
        "\u{FEFF}kim@example.com",
        "kim@example.com\u{202E}",
        "ki\u{180E}m@example.com",
        "\u{212A}im@example.com",
        "k\u{0456}m@example.com",
        "kim@\u{0435}xample.com",
        "kim@b\u{00FC}cher.example",
    ] {
        for response in [
            app.register(look_alike, "another long password").await,
            app.login(look_alike, PASSWORD).await,
        ] {
            let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert!(
                problem["detail"].as_str().unwrap().contains("email"),
                "{look_alike:?}: {problem}"
            );
        }
    }
    assert_eq!(
        app.register("KIM@Example.COM", "another long password")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.login("Kim@EXAMPLE.com", PASSWORD).await.status(),
        StatusCode::OK
    );
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
    assert_eq!(
        app.register("kim@xn--bcher-kva.example", PASSWORD)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
}

// IN-04: the 254-byte limit holds for the address as stored: the longest
// address is stored lower-cased at 254 bytes, one byte more is refused, and
// so is a shorter one whose lower-case form would be longer (`Ⱥ` is 2 bytes,
// `ⱥ` 3: such an address was once checked before folding and stored longer).
#[tokio::test]
async fn in_04_email_length_is_checked_as_stored() {
    let app = spawn_app().await;
    let domain = format!(
        "{}.{}.{}.com",
        "c".repeat(63),
        "d".repeat(63),
        "e".repeat(63)
    );
    let address = |local: &str| format!("{local}@{}", domain.to_uppercase());
    let longest = address(&"L".repeat(254 - domain.len() - 1));
    assert_eq!(longest.len(), 254);
    assert_eq!(
        app.register(&longest, PASSWORD).await.status(),
        StatusCode::ACCEPTED
    );
    app.log_in(&longest.to_lowercase()).await;
    for refused in [
        address(&"L".repeat(255 - domain.len() - 1)),
        address(&"\u{23a}".repeat(29)),
    ] {
        let problem = assert_problem(
            app.register(&refused, PASSWORD).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains("email"),
            "{problem}"
        );
    }
    let longest_stored: Option<i32> =
        sqlx::query_scalar("SELECT MAX(octet_length(email)) FROM users")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(longest_stored, Some(254));
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
    // The fastest of many rounds: load from parallel tests only adds time.
    for round in 0..16 {
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

// JWT-02: a token carrying the attacker's own key in its header (`jwk`, with
// `kid`, `jku` and `x5u` pointing at it too), signed with that key over a real
// user's claims, is refused: only the service's key verifies.
#[tokio::test]
async fn jwt_02_token_signed_with_its_embedded_key_is_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let app = spawn_app().await;
    let user = app.user().await;
    let payload = user.access_token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let secret = b"the attacker's key, 32 bytes or more";
    let mut header = Header::new(Algorithm::HS256);
    header.jwk = Some(
        serde_json::from_value(json!({ "kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret) }))
            .unwrap(),
    );
    header.kid = Some("attacker".into());
    header.jku = Some("http://127.0.0.1:9/jwks.json".into());
    header.x5u = Some("http://127.0.0.1:9/cert.pem".into());
    let forged = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
    let response = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(&forged)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    // The same claims, signed by the service, are a working token.
    let genuine = app.with_scope(&user, claims["scope"].as_str().unwrap());
    assert_eq!(
        app.call(Method::GET, "/v1/me", &genuine).await.status(),
        StatusCode::OK
    );
}

// AUTH-08: arbitrary application keys (any header bytes, and near misses of a
// real key) are all refused with the same 401 problem, never a server error;
// the real key passes.
#[tokio::test]
async fn auth_08_arbitrary_api_keys_are_refused() {
    use proptest::{prelude::*, strategy::ValueTree, test_runner::TestRunner};
    let app = spawn_app_with(&[("APP_REQUIRE_API_KEY", "true")]).await;
    let issued = application::issue_key(&app.db, "web", &["orders:read".into()])
        .await
        .unwrap();
    let real = issued.key.clone().into_bytes();
    let near_miss = (0..real.len(), any::<u8>()).prop_map(move |(at, byte)| {
        let mut key = real.clone();
        key[at] = if key[at] == byte { byte ^ 1 } else { byte };
        key
    });
    let keys = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..1024),
        near_miss,
        "[A-Za-z0-9_-]{0,64}".prop_map(String::into_bytes),
    ];
    let mut runner = TestRunner::deterministic();
    let mut sent = 0;
    while sent < 200 {
        let key = keys.new_tree(&mut runner).unwrap().current();
        let Ok(value) = reqwest::header::HeaderValue::from_bytes(&key) else {
            continue;
        };
        if value.as_bytes().trim_ascii() == issued.key.as_bytes() {
            continue;
        }
        let response = app
            .client
            .get(app.url("/v1/me"))
            .header("x-api-key", value)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["www-authenticate"],
            "ApiKey header=\"X-Api-Key\""
        );
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
        sent += 1;
    }
    // The real key passes to the user's token check, which wants a bearer.
    let real = app
        .client
        .get(app.url("/v1/me"))
        .header("x-api-key", &issued.key)
        .send()
        .await
        .unwrap();
    assert_eq!(real.headers()["www-authenticate"], "Bearer");
}
