use std::{net::SocketAddr, sync::Arc, time::Duration};

use reqwest::StatusCode;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    helpers::{TempDir, TestApp, spawn_app_with},
    platform::keys,
};

/// Reads until the server closes the connection or `limit` passes.
pub async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut received))
        .await
        .ok()?
        .ok()?;
    Some(received)
}

/// Sends `request` as raw bytes and returns what came back before the
/// server closed the connection (or 10 s passed). The write runs beside
/// the read: a server that refuses a huge head early stops reading it, and
/// the rest of the write then fails, which is fine.
pub async fn exchange(addr: SocketAddr, request: Vec<u8>) -> String {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut received = Vec::new();
    // An error after the answer (a reset, as unread bytes remained) keeps
    // what was read before it.
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut received)).await;
    drop(write.await);
    String::from_utf8_lossy(&received).into_owned()
}

/// A request head of about `size` bytes: one long header, then more unless
/// `finished` is false.
pub fn head_of(size: usize, finished: bool) -> Vec<u8> {
    let mut head = b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\nx-big: ".to_vec();
    head.resize(size, b'a');
    if finished {
        head.extend(b"\r\n\r\n");
    }
    head
}

// IN-04: request heads are bounded (16 KiB), far below hyper's 400 kB
// default: a 420 kB header gets 431 and the connection is closed, while a
// head of a few kilobytes is served as ever.
#[tokio::test]
async fn in_04_oversized_heads_are_refused() {
    let app = spawn_app_with(&[]).await;
    let response = exchange(app.api_addr, head_of(420 * 1024, true)).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response:.200}");
    let response = exchange(app.api_addr, head_of(8 * 1024, true)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.200}");
    let big_cookie = "c".repeat(12 * 1024);
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("cookie", big_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

// IN-04: an unfinished head that outgrows the bound is refused as soon as it
// does, long before the header deadline, so a crowd of them cannot each
// hold hundreds of kilobytes for the deadline's length.
#[tokio::test]
async fn in_04_unfinished_large_head_is_cut_off_early() {
    let app = spawn_app_with(&[("APP_HEADER_READ_TIMEOUT_SECS", "60")]).await;
    let started = std::time::Instant::now();
    let response = exchange(app.api_addr, head_of(100 * 1024, false)).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response:.200}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "held for {:?}",
        started.elapsed()
    );
}

// IN-08: RFC 9112 §3.2: an HTTP/1.1 request without Host, with two, or with
// one that is not a valid host[:port] gets a 400 problem; a valid one,
// bracketed IPv6 included, and an HTTP/1.0 request without one are served.
#[tokio::test]
async fn in_08_host_must_be_one_valid_value() {
    let app = spawn_app_with(&[]).await;
    let request = |version: &str, hosts: &[&str]| {
        let lines: String = hosts.iter().map(|h| format!("host: {h}\r\n")).collect();
        format!("GET /healthz HTTP/{version}\r\n{lines}connection: close\r\n\r\n").into_bytes()
    };
    for hosts in [
        &[][..],
        &["a", "a"],
        &["a", "b"],
        &["a b"],
        &["user@example.com"],
        &["example.com:80:80"],
        &["example.com/x"],
        &["[::1"],
    ] {
        let response = exchange(app.api_addr, request("1.1", hosts)).await;
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{hosts:?}: {response}"
        );
        assert!(response.contains("application/problem+json"), "{response}");
    }
    for (version, hosts) in [
        ("1.1", &["localhost"][..]),
        ("1.1", &["127.0.0.1:8080"]),
        ("1.1", &["[::1]:8080"]),
        ("1.1", &[""]),
        ("1.0", &[]),
    ] {
        let response = exchange(app.api_addr, request(version, hosts)).await;
        assert!(response.contains(" 200 OK"), "{hosts:?}: {response}");
    }
    // An absolute-form target carries its own authority; Host still counts.
    let absolute =
        b"GET http://localhost/healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    let response = exchange(app.api_addr, absolute.to_vec()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

// IN-04: a client that never finishes its headers is cut off (slow loris).
#[tokio::test]
async fn in_04_slow_headers_are_cut_off() {
    let app = spawn_app_with(&[("APP_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let mut stream = TcpStream::connect(app.api_addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nx-slow: ")
        .await
        .unwrap();
    let closed = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection was still open after 5 s");
}

// IN-04: a body that trickles in past the request deadline gets a 408 problem.
#[tokio::test]
async fn in_04_slow_body_gets_408() {
    let app = spawn_app_with(&[("APP_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut stream = TcpStream::connect(app.api_addr).await.unwrap();
    let head = "POST /v1/auth/login HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("application/problem+json"), "{response}");
}

/// A service serving TLS with a fresh self-signed certificate for localhost.
async fn tls_app() -> (TestApp, CertificateDer<'static>, TempDir) {
    let certified = keys::self_signed_localhost();
    let dir = TempDir::new();
    let cert = dir.write("cert.pem", certified.pem);
    let key = dir.write("key.pem", certified.key_pem);
    let app = spawn_app_with(&[
        ("APP_ENV", "production"),
        ("APP_TLS_CERT_FILE", &cert),
        ("APP_TLS_KEY_FILE", &key),
    ])
    .await;
    (app, CertificateDer::from(certified.der), dir)
}

/// A TLS connection to the service, trusting `root`, offering `alpn`.
async fn tls_connect(
    app: &TestApp,
    root: &CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_protocol_versions(&[version])
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(app.api_addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

async fn tls_get(
    app: &TestApp,
    root: &CertificateDer<'static>,
    version: &'static rustls::SupportedProtocolVersion,
) -> String {
    let mut tls = tls_connect(app, root, version, &[]).await;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.unwrap();
    response
}

// ACC-02: TLS 1.3 and 1.2 are served, in production mode, straight from rustls.
#[tokio::test]
async fn acc_02_serves_tls_12_and_13() {
    let (app, root, _dir) = tls_app().await;
    for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
        let response = tls_get(&app, &root, version).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response.contains("strict-transport-security: max-age=31536000; includeSubDomains")
        );
    }
    // Plain HTTP on the TLS port gets no answer.
    let plain = app.client.get(app.url("/healthz")).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != StatusCode::OK);
}

// IN-04: the API speaks HTTP/1.1 only, where every request has a header
// deadline: an HTTP/2 connection preface (h2c, prior knowledge) gets no
// HTTP/2 SETTINGS frame back, and under TLS a client offering h2 first is
// given http/1.1.
#[tokio::test]
async fn in_04_http2_is_not_served() {
    let app = spawn_app_with(&[]).await;
    assert_http2_refused(app.api_addr).await;

    let (app, root, _dir) = tls_app().await;
    let tls = tls_connect(&app, &root, &rustls::version::TLS13, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

// ACC-02: a client offering only TLS 1.1 is refused with an alert, never a ServerHello.
#[tokio::test]
async fn acc_02_tls_11_is_refused() {
    let (app, _root, _dir) = tls_app().await;
    let mut stream = TcpStream::connect(app.api_addr).await.unwrap();
    stream.write_all(&tls11_client_hello()).await.unwrap();
    let reply = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap_or_default();
    assert_eq!(
        reply.first(),
        Some(&0x15),
        "expected a TLS alert, got {reply:02x?}"
    );
}

/// A minimal ClientHello that offers TLS 1.1 at most, with CBC suites and no
/// extensions, as an old client would send it.
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02]; // client_version: TLS 1.1
    body.extend([0x42; 32]); // random
    body.push(0); // no session id
    body.extend([0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // two CBC suites
    body.extend([0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00];
    handshake.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend(u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend(handshake);
    record
}

/// Sends the HTTP/2 prior-knowledge preface to `addr`. An HTTP/2 server
/// answers at once with its SETTINGS and keeps the connection open; an
/// HTTP/1.1 one refuses the preface and closes.
pub async fn assert_http2_refused(addr: SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let empty_settings = [0, 0, 0, 4, 0, 0, 0, 0, 0];
    stream
        .write_all(&[&preface[..], &empty_settings].concat())
        .await
        .unwrap();
    let mut reply = [0; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut reply))
        .await
        .expect("the connection was left open")
        .unwrap_or(0);
    let reply = &reply[..read];
    assert!(
        reply.is_empty() || reply.starts_with(b"HTTP/1.1 4"),
        "expected an HTTP/1.1 refusal or a close, got {:02x?}",
        &reply[..reply.len().min(24)]
    );
}
