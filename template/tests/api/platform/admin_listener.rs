use std::{net::SocketAddr, time::Duration};

use reqwest::StatusCode;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::{
    helpers::{TempDir, TestApp, assert_problem, spawn_app_with},
    platform::transport::{assert_http2_refused, exchange, head_of, read_until_closed},
};

fn admin_addr(app: &TestApp) -> SocketAddr {
    app.admin_address
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

// OPS-04/IN-04: the admin listener has the API's transport limits: an
// unfinished head is cut off at the header deadline, a head over the bound
// gets 431, and HTTP/2 (prior knowledge) is not spoken.
#[tokio::test]
async fn ops_04_admin_listener_has_the_transport_limits() {
    let app = spawn_app_with(&[("APP_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let admin = admin_addr(&app);
    let mut stream = TcpStream::connect(admin).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: test\r\nx-slow: ")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection was still open after 5 s");

    let response = exchange(admin, head_of(100 * 1024, false)).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response:.200}");

    assert_http2_refused(admin).await;
    // Plain requests are still served.
    let metrics = app.admin_get("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
}

// OPS-04: with a token file configured, the admin listener answers only
// requests bearing that token (401 problem otherwise), on loopback too.
#[tokio::test]
async fn ops_04_admin_token_is_required_when_configured() {
    let dir = TempDir::new();
    let token = "s3cr3t-admin-token-of-forty-characters-x";
    let file = dir.write("admin.token", format!("{token}\n"));
    let app = spawn_app_with(&[("APP_ADMIN_TOKEN_FILE", &file)]).await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.admin_address));
    for path in ["/metrics", "/openapi.json"] {
        let missing = get(path).send().await.unwrap();
        assert_problem(missing, StatusCode::UNAUTHORIZED).await;
        for wrong in [
            "wrong",
            &token[..token.len() - 1],
            &format!("{token}x"),
            &token.to_uppercase(),
        ] {
            let response = get(path).bearer_auth(wrong).send().await.unwrap();
            assert_problem(response, StatusCode::UNAUTHORIZED).await;
        }
        let basic = get(path)
            .header("authorization", format!("Basic {token}"))
            .send()
            .await
            .unwrap();
        assert_problem(basic, StatusCode::UNAUTHORIZED).await;
        let right = get(path).bearer_auth(token).send().await.unwrap();
        assert_eq!(right.status(), StatusCode::OK, "{path}");
    }
    // The API's own routes do not take the admin token.
    let me = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_problem(me, StatusCode::UNAUTHORIZED).await;
}
