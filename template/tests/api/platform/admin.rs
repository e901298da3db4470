use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

// OPS-05/PROC-09: without the admin scope the answer is 403, and nothing changes.
#[tokio::test]
async fn ops_05_only_admins_disable_users() {
    let app = spawn_app().await;
    let user = app.user().await;
    let target = app.user().await;
    let me: Value = app.get_json("/v1/me", &target).await;
    let path = format!("/v1/admin/users/{}/disable", me["id"].as_str().unwrap());
    let response = app.call(Method::POST, &path, &user).await;
    let problem = assert_problem(response, StatusCode::FORBIDDEN).await;
    assert!(problem["detail"].as_str().unwrap().contains("admin"));
    let response = app.call(Method::GET, "/v1/me", &target).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// OPS-05/AUTH-04: disabling takes effect on the next request, and the
// disabled account's login looks like any failed login.
#[tokio::test]
async fn ops_05_disabling_takes_effect_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let target = app.user().await;
    let me: Value = app.get_json("/v1/me", &target).await;
    let path = format!("/v1/admin/users/{}/disable", me["id"].as_str().unwrap());
    let response = app.call(Method::POST, &path, &admin).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = app.call(Method::GET, "/v1/me", &target).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    app.assert_login_refused_like_unknown(&target.email, PASSWORD)
        .await;

    let missing = format!("/v1/admin/users/{}/disable", uuid::Uuid::new_v4());
    let response = app.call(Method::POST, &missing, &admin).await;
    assert_problem(response, StatusCode::NOT_FOUND).await;
}
