use reqwest::{Method, StatusCode};

use crate::helpers::{assert_problem, spawn_app};

// OUT-08: unknown routes get a problem body, not an empty 404.
#[tokio::test]
async fn out_08_unknown_route_is_a_problem() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/no/such/route"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
}

// IN-01: a wrong method gets 405 with Allow and a problem body.
#[tokio::test]
async fn in_01_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let response = app
        .client
        .request(Method::PUT, app.url("/v1/auth/login"))
        .send()
        .await
        .unwrap();
    let allow = response.headers().get("allow").cloned();
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(allow.expect("Allow header"), "POST");
}

// IN-03: a body that is not JSON where JSON is expected gets 415.
#[tokio::test]
async fn in_03_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a@b.c")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

// IN-04: malformed JSON is a 400 problem, and internal detail never leaks (OUT-08).
#[tokio::test]
async fn in_04_malformed_json_is_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, StatusCode::BAD_REQUEST).await;
    let text = body.to_string();
    for leak in ["serde", "axum", "sqlx", "src/", ".rs"] {
        assert!(!text.contains(leak), "{leak} leaked in {text}");
    }
}

// IN-04: an oversized body gets 413 before it is read whole.
#[tokio::test]
async fn in_04_oversized_body_is_413() {
    let app = spawn_app().await;
    let huge = serde_json::json!({ "email": "a@example.com", "password": "x".repeat(200 * 1024) })
        .to_string();
    let response = app
        .client
        .post(app.url("/v1/auth/register"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

// OPS-01: every response carries a request id.
#[tokio::test]
async fn ops_01_responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
}

// IN-04: JSON nested deeper than the limit is a 400, refused before parsing.
#[tokio::test]
async fn in_04_over_deep_json_is_400() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let response = app
        .client
        .post(app.url("/v1/auth/login"))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, StatusCode::BAD_REQUEST).await;
    assert!(
        body["detail"].as_str().unwrap().contains("nested"),
        "{body}"
    );
}

// ACC-04: no static files and no directory listings, wherever one looks.
#[tokio::test]
async fn acc_04_no_files_are_served() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/static/",
        "/.env",
        "/Cargo.toml",
        "/src/main.rs",
        "/%2e%2e/Cargo.toml",
        "/data/",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let body = assert_problem(response, StatusCode::NOT_FOUND).await;
        assert!(!body.to_string().contains("APP_JWT_SECRET"), "{path}");
    }
}

// IN-04: a body that is not JSON is a 400 even when a field before the
// syntax error would also fail validation (a 422 before); a well-formed
// body with an invalid field is still a 422.
#[tokio::test]
async fn in_04_json_syntax_errors_are_400_before_validation() {
    let app = spawn_app().await;
    let post = |path: &'static str, body: &'static str| {
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for path in ["/v1/auth/register", "/v1/auth/login"] {
        for broken in [
            r#"{"email":"a@example.com","password":"x",}"#,
            r#"{"email":"not an address","password":"x""#,
            r#"{"email":"not an address",,"password":"x"}"#,
            r#"{"email":"not an address","password":"\q"}"#,
            r#"{"email":"not an address","password":"x"}}"#,
            r#"{"email":"not an address","password":"x"} {}"#,
            r#"{"email":"not an address","password":"x","#,
            r#"{"email":"not an address","password":'x'}"#,
        ] {
            let response = post(path, broken).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{path} {broken}"
            );
            assert_problem(response, StatusCode::BAD_REQUEST).await;
        }
        let invalid = post(path, r#"{"email":"not an address","password":"x"}"#);
        assert_problem(invalid.await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
}
