use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use {{crate_name}}::auth::application::{self, IssuedKey};

use crate::helpers::{PASSWORD, TestApp, TestUser, assert_problem, logs, spawn_app_with};

async fn keyed_app() -> TestApp {
    spawn_app_with(&[("APP_REQUIRE_API_KEY", "true")]).await
}

async fn issue(app: &TestApp, name: &str, scopes: &[&str]) -> IssuedKey {
    let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    application::issue_key(&app.db, name, &scopes)
        .await
        .unwrap()
}

const ALL_SCOPES: &[&str] = &["auth", "account", "orders:read", "orders:write", "admin"];

// AUTH-08: with keys required, a request without a valid key in the header
// is refused with 401 before anything else, the health checks excepted; the
// key is stored only as a hash and never logged.
#[tokio::test]
async fn auth_08_requests_need_a_valid_api_key() {
    let mut app = keyed_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let credentials = json!({ "email": "someone@example.com", "password": "a long passphrase" });
    let no_key = app.post_json("/v1/auth/login", &credentials).await;
    assert_eq!(
        no_key.headers()["www-authenticate"],
        "ApiKey header=\"X-Api-Key\""
    );
    let problem = assert_problem(no_key, StatusCode::UNAUTHORIZED).await;
    assert!(problem["detail"].as_str().unwrap().contains("X-Api-Key"));
    let no_key = app
        .client
        .get(app.url("/v1/me/orders"))
        .send()
        .await
        .unwrap();
    assert_problem(no_key, StatusCode::UNAUTHORIZED).await;

    let issued = issue(&app, "web", ALL_SCOPES).await;
    // A URL is logged and cached along the way, so a key there is refused.
    let in_query = format!("/v1/auth/login?api_key={}", issued.key);
    let response = app
        .client
        .post(app.url(&in_query))
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    app.use_api_key("not-a-key-of-this-service");
    let wrong = app.post_json("/v1/auth/login", &credentials).await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED).await;

    app.use_api_key(&issued.key);
    let user = app.user().await;
    assert_eq!(
        app.call(Method::GET, "/v1/me/orders", &user).await.status(),
        StatusCode::OK
    );

    let stored: Vec<(Vec<u8>, String)> = sqlx::query_as("SELECT key_hash, name FROM applications")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(
        stored[0].0,
        issued.key.as_bytes(),
        "the key is stored in the clear"
    );
    assert_eq!(stored[0].0.len(), 32, "a SHA-256 hash");
    assert!(!logs().contains(&issued.key), "the key reached the logs");
}

// AUTH-08: an application may call only routes within its scopes, whoever
// its user is: outside them the answer is 403, even for an administrator.
#[tokio::test]
async fn auth_08_keys_bound_what_an_application_may_call() {
    let mut app = keyed_app().await;
    let web = issue(&app, "web", ALL_SCOPES).await;
    app.use_api_key(&web.key);
    let (user, admin) = (app.user().await, app.admin().await);
    let reader = issue(&app, "dashboard", &["orders:read"]).await;
    app.use_api_key(&reader.key);
    assert_eq!(
        app.call(Method::GET, "/v1/me/orders", &user).await.status(),
        StatusCode::OK
    );
    let order = json!({ "item": "tea", "quantity": 1 });
    let problem =
        assert_problem(app.create_order(&user, &order).await, StatusCode::FORBIDDEN).await;
    assert!(problem["detail"].as_str().unwrap().contains("orders:write"));
    let target = format!("/v1/admin/users/{}/disable", Uuid::new_v4());
    let response = app.call(Method::POST, &target, &admin).await;
    assert_problem(response, StatusCode::FORBIDDEN).await;

    let writer = issue(&app, "shop", &["orders:read", "orders:write"]).await;
    app.use_api_key(&writer.key);
    assert_eq!(
        app.create_order(&user, &order).await.status(),
        StatusCode::CREATED
    );
}

/// Calls every operation of the contract `doc` that takes an API key as
/// `admin`, with the `orders:read` key in use: those needing `orders:read`
/// pass, every other is 403. Returns how many were refused.
async fn refused_outside_orders_read(app: &TestApp, doc: &Value, admin: &TestUser) -> usize {
    let mut refused = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", &Uuid::new_v4().to_string());
        for (method, operation) in item.as_object().unwrap() {
            if operation["security"][0].get("api_key").is_none() {
                continue; // the health checks
            }
            let needs = &operation["security"][0]["bearer"];
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .authed(method.clone(), &concrete, admin)
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            if *needs == json!(["orders:read"]) {
                assert_ne!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
            } else {
                assert_problem(response, StatusCode::FORBIDDEN).await;
                refused += 1;
            }
        }
    }
    refused
}

// AUTH-08: no route is outside the scopes: with a key given only
// `orders:read`, every operation of the contract that does not need
// `orders:read` is 403 for an administrator, whose token carries every user
// scope; so are the account routes (`account`) and registering, logging in
// and refreshing (`auth`). A key given those scopes gets through.
#[tokio::test]
async fn auth_08_every_route_needs_an_application_scope() {
    let mut app = keyed_app().await;
    let web = issue(&app, "web", ALL_SCOPES).await;
    app.use_api_key(&web.key);
    let admin = app.admin().await;
    let doc: Value = app.admin_get("/openapi.json").await.json().await.unwrap();
    let reader = issue(&app, "dashboard", &["orders:read"]).await;
    app.use_api_key(&reader.key);
    let refused = refused_outside_orders_read(&app, &doc, &admin).await;
    assert!(refused >= 10, "only {refused} operations refused");

    let session = format!("/v1/me/sessions/{}", Uuid::new_v4());
    let refresh = json!({ "refresh_token": admin.refresh_token });
    let credentials = json!({ "email": admin.email, "password": PASSWORD });
    let signed_in = [
        (Method::GET, "/v1/me"),
        (Method::GET, "/v1/me/sessions"),
        (Method::DELETE, session.as_str()),
        (Method::POST, "/v1/auth/logout"),
    ];
    let signing_in = [
        ("/v1/auth/register", &credentials),
        ("/v1/auth/login", &credentials),
        ("/v1/auth/refresh", &refresh),
    ];
    for (method, path) in &signed_in {
        let response = app.call(method.clone(), path, &admin).await;
        let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
        assert!(problem["detail"].as_str().unwrap().contains("`account`"));
    }
    for (path, body) in signing_in {
        let problem = assert_problem(app.post_json(path, body).await, StatusCode::FORBIDDEN).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("`auth`"),
            "{path}"
        );
    }

    let client = issue(&app, "mobile", &["auth", "account"]).await;
    app.use_api_key(&client.key);
    for (method, path, status) in [
        (Method::GET, "/v1/me", StatusCode::OK),
        (Method::GET, "/v1/me/sessions", StatusCode::OK),
        (Method::DELETE, session.as_str(), StatusCode::NOT_FOUND),
        (Method::POST, "/v1/auth/logout", StatusCode::NO_CONTENT),
    ] {
        let response = app.call(method.clone(), path, &admin).await;
        assert_eq!(response.status(), status, "{method} {path}");
    }
    for (path, status) in [
        ("/v1/auth/register", StatusCode::ACCEPTED),
        ("/v1/auth/login", StatusCode::OK),
    ] {
        assert_eq!(
            app.post_json(path, &credentials).await.status(),
            status,
            "{path}"
        );
    }
    let user = app.user().await;
    let refreshed = app.refresh(&json!(user.refresh_token)).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
}

// AUTH-08/OPS-05: only an administrator disables an application, and a
// disabled or revoked key fails from the next request on; issuing a new key
// for the application replaces the old one.
#[tokio::test]
async fn auth_08_disabled_and_revoked_keys_stop_at_once() {
    let mut app = keyed_app().await;
    let console = issue(&app, "console", ALL_SCOPES).await;
    let mobile = issue(&app, "mobile", ALL_SCOPES).await;
    app.use_api_key(&console.key);
    let (user, admin) = (app.user().await, app.admin().await);
    let disable = format!("/v1/admin/applications/{}/disable", mobile.id);
    let response = app.call(Method::POST, &disable, &user).await;
    assert_problem(response, StatusCode::FORBIDDEN).await;
    app.use_api_key(&mobile.key);
    assert_eq!(
        app.call(Method::GET, "/v1/me", &user).await.status(),
        StatusCode::OK
    );

    app.use_api_key(&console.key);
    assert_eq!(
        app.call(Method::POST, &disable, &admin).await.status(),
        StatusCode::NO_CONTENT
    );
    app.use_api_key(&mobile.key);
    let response = app.call(Method::GET, "/v1/me", &user).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;

    application::revoke_key(&app.db, "console").await.unwrap();
    app.use_api_key(&console.key);
    let response = app.call(Method::GET, "/v1/me", &user).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    assert!(
        application::revoke_key(&app.db, "console").await.is_err(),
        "revoked twice"
    );

    let renewed = issue(&app, "console", ALL_SCOPES).await;
    assert_eq!(renewed.id, console.id, "the same application");
    app.use_api_key(&renewed.key);
    assert_eq!(
        app.call(Method::GET, "/v1/me", &user).await.status(),
        StatusCode::OK
    );
    app.use_api_key(&console.key);
    let response = app.call(Method::GET, "/v1/me", &user).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

// AUTH-08: bad input to the `app` subcommand is refused with a reason.
#[tokio::test]
async fn auth_08_issuing_checks_names_and_scopes() {
    let app = keyed_app().await;
    for (name, scopes) in [
        ("", vec!["admin"]),
        ("ok", vec![]),
        ("ok", vec!["orders:delete"]),
    ] {
        let scopes: Vec<String> = scopes.into_iter().map(str::to_owned).collect();
        assert!(
            application::issue_key(&app.db, name, &scopes)
                .await
                .is_err(),
            "{name:?} {scopes:?}"
        );
    }
    assert!(
        application::revoke_key(&app.db, "never-created")
            .await
            .is_err()
    );
}

// AUTH-08/OPS-07: when keys are required the contract says so on every
// operation but the health checks.
#[tokio::test]
async fn auth_08_contract_requires_the_key() {
    let app = keyed_app().await;
    let doc: Value = app.admin_get("/openapi.json").await.json().await.unwrap();
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "X-Api-Key");
    let needs_key = |path: &str, method: &str| {
        doc["paths"][path][method]["security"]
            .as_array()
            .is_some_and(|all| all.iter().all(|need| need.get("api_key").is_some()))
    };
    assert!(needs_key("/v1/auth/login", "post"));
    assert!(needs_key("/v1/me/orders", "get"));
    assert!(
        doc["paths"]["/v1/me/orders"]["get"]["security"][0]
            .get("bearer")
            .is_some()
    );
    assert!(!needs_key("/healthz", "get"));
}
