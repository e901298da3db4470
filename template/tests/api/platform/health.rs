use reqwest::StatusCode;

use crate::helpers::{PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_200() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

// OUT-07: readiness, and requests that need the database, turn into 503
// problems when the database is gone.
#[tokio::test]
async fn out_07_readyz_is_503_when_database_is_unreachable() {
    let app = spawn_app().await;
    app.db.close().await;
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_problem(response, StatusCode::SERVICE_UNAVAILABLE).await;
    // Requests that need the database get a retryable 503, not an opaque 500.
    let login = app.login("ada@example.com", PASSWORD).await;
    assert_problem(login, StatusCode::SERVICE_UNAVAILABLE).await;
    // Liveness does not depend on the database.
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
