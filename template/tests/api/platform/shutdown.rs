use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{PASSWORD, spawn_app};

// A shutdown waits for requests in flight: one whose body is still arriving
// when the signal comes is answered in full before the server stops.
#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests() {
    let mut app = spawn_app().await;
    let body =
        serde_json::json!({ "email": "drain@example.com", "password": PASSWORD }).to_string();
    let (head, tail) = body.split_at(10);
    let mut stream = TcpStream::connect(app.api_addr).await.unwrap();
    let request = format!(
        "POST /v1/auth/register HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let server = app.shut_down();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !server.is_finished(),
        "the server stopped with a request in flight"
    );
    stream.write_all(tail.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");

    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "server did not stop cleanly"
    );
}
