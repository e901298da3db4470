//! What a generated release binary does at its edges, checked from outside:
//! it refuses to start unsafely, and its error responses stay hardened.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::http::{Client, Reply};
use crate::server::{Server, expect_refusal};

/// The headers every response must carry (OUT-01..03, OUT-09, OUT-12, ACC-03).
const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
];

/// Start-up refusals: a weak signing key (JWT-01), plain HTTP in production
/// without a TLS proxy (ACC-02), a data key id given twice, and address
/// confirmation with the log-only mail sender, each with a message saying why.
pub fn refuses_unsafe_starts(binary: &Path, service_dir: &Path) {
    let limit = Duration::from_secs(30);
    let weak = expect_refusal(
        binary,
        service_dir,
        &[
            ("APP_JWT_SECRET", "c2VjcmV0"),
            ("APP_BEHIND_TLS_PROXY", "true"),
        ],
        limit,
    );
    assert!(weak.contains("APP_JWT_SECRET"), "no reason given: {weak}");
    let plain = expect_refusal(binary, service_dir, &[], limit);
    assert!(
        plain.contains("APP_BEHIND_TLS_PROXY"),
        "no reason given: {plain}"
    );
    // One id for two keys would keep only the last, and data sealed with the
    // first would no longer open: refused, as any other bad key setting.
    let dotenv = std::fs::read_to_string(service_dir.join(".env")).expect("rampart wrote .env");
    let key = dotenv
        .lines()
        .find_map(|l| l.strip_prefix("APP_DATA_KEYS="))
        .and_then(|keys| keys.split_once(':'))
        .map(|(_, key)| key.to_owned())
        .expect("a data key in .env");
    let twice = format!("k1:{key},k1:{key}");
    let repeated = expect_refusal(
        binary,
        service_dir,
        &[("APP_DATA_KEYS", &twice), ("APP_BEHIND_TLS_PROXY", "true")],
        limit,
    );
    assert!(
        repeated.contains("\"k1\" twice"),
        "no reason given: {repeated}"
    );
    // Confirming addresses with the sender that only logs would put every
    // confirmation token in the logs.
    let logged = expect_refusal(
        binary,
        service_dir,
        &[
            ("APP_VERIFY_EMAIL", "true"),
            ("APP_BEHIND_TLS_PROXY", "true"),
        ],
        limit,
    );
    assert!(
        logged.contains("APP_VERIFY_EMAIL"),
        "no reason given: {logged}"
    );
}

/// Error responses of the running release binary: a 404, a 405, a 415, an
/// XXE payload and a 413 are problems with every security header.
pub fn errors_are_hardened(client: &Client, server: &Server) -> Vec<String> {
    let api = &server.api_url;
    let credentials =
        json!({ "email": "edge@example.com", "password": "a long enough passphrase" });
    client.post_json(&format!("{api}/v1/auth/register"), &credentials, None);
    let login = client.post_json(&format!("{api}/v1/auth/login"), &credentials, None);
    let token = login.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let bearer = format!("Bearer {token}");
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE order [<!ENTITY x SYSTEM "file:///etc/passwd">]><order><item>&x;</item><quantity>1</quantity></order>"#;
    let cases: [(u16, Reply); 5] = [
        (
            404,
            client.send("GET", &format!("{api}/no/such/route"), &[], b""),
        ),
        (
            405,
            client.send("DELETE", &format!("{api}/healthz"), &[], b""),
        ),
        (
            415,
            client.send(
                "POST",
                &format!("{api}/v1/auth/login"),
                &[("content-type", "text/plain")],
                b"hello",
            ),
        ),
        (
            400,
            client.send(
                "POST",
                &format!("{api}/v1/me/orders"),
                &[
                    ("content-type", "application/xml"),
                    ("authorization", &bearer),
                ],
                xxe.as_bytes(),
            ),
        ),
        (
            413,
            client.send(
                "POST",
                &format!("{api}/v1/auth/register"),
                &[("content-type", "application/json")],
                &vec![b' '; 100 * 1024],
            ),
        ),
    ];
    for (status, reply) in &cases {
        assert_eq!(reply.status, *status, "unexpected reply {reply:?}");
        assert_eq!(
            reply.content_type.as_deref(),
            Some("application/problem+json"),
            "{status} is not a problem: {reply:?}"
        );
        for (name, value) in SECURITY_HEADERS {
            assert_eq!(
                reply.header(name),
                Some(*value),
                "{name} on {status}: {reply:?}"
            );
        }
        for name in ["server", "x-powered-by"] {
            assert!(reply.header(name).is_none(), "{name} on {status}");
        }
        assert!(
            !reply.body.contains("root:"),
            "file contents leaked on {status}"
        );
    }
    assert_eq!(
        cases[1].1.header("allow"),
        Some("GET,HEAD"),
        "405 without Allow"
    );
    let wrong = json!({ "email": "edge@example.com", "password": WRONG_PASSWORD });
    let failed = client.post_json(&format!("{api}/v1/auth/login"), &wrong, None);
    assert_eq!(failed.status, 401, "wrong password: {failed:?}");
    vec![
        token,
        WRONG_PASSWORD.to_owned(),
        "a long enough passphrase".to_owned(),
    ]
}

const WRONG_PASSWORD: &str = "wrong passphrase that must never be logged";

/// The service's log (JSON lines) records the security events of
/// `errors_are_hardened` under stable names with the request id, and none of
/// `secrets` (OPS-02, OUT-10).
pub fn security_events_are_logged(log: &Path, secrets: &[String]) {
    let text = std::fs::read_to_string(log).expect("the service log is readable");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for event in ["auth.login_failed", "input.rejected"] {
        let line = lines
            .iter()
            .find(|l| l["fields"]["event"] == event)
            .unwrap_or_else(|| panic!("no {event} event in the log:\n{text}"));
        assert!(
            line["span"]["request_id"].is_string(),
            "{event} without a request id: {line}"
        );
    }
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "a secret reached the log: {secret}"
        );
    }
}
