use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

// AUTH-07: users list their sessions and end one; it dies on the next request.
#[tokio::test]
async fn auth_07_users_revoke_their_own_sessions() {
    let app = spawn_app().await;
    let laptop = app.user().await;
    let phone = app.log_in(&laptop.email).await;
    let list: Value = app.get_json("/v1/me/sessions", &laptop).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let phone_session = items.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .authed(
            Method::DELETE,
            &format!("/v1/me/sessions/{phone_session}"),
            &laptop,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.call(Method::GET, "/v1/me", &phone).await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let response = app.call(Method::GET, "/v1/me", &laptop).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// PROC-02: another user's session cannot be ended, and looks missing.
#[tokio::test]
async fn proc_02_other_users_sessions_look_missing() {
    let app = spawn_app().await;
    let victim = app.user().await;
    let intruder = app.user().await;
    let list: Value = app.get_json("/v1/me/sessions", &victim).await;
    let session = list["items"][0]["id"].as_str().unwrap().to_owned();
    let response = app
        .authed(
            Method::DELETE,
            &format!("/v1/me/sessions/{session}"),
            &intruder,
        )
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
    let response = app.call(Method::GET, "/v1/me", &victim).await;
    assert_eq!(response.status(), StatusCode::OK);
}
