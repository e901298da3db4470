//! Calling applications (AUTH-08) on a generated release binary: a key
//! issued with its `app` subcommand gates every route but the health checks,
//! and bounds what the application may call.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::http::{Client, Reply};
use crate::server::{self, Server};

/// Issues a key with the binary's CLI, then serves with keys required and
/// checks the 401/403 answers over HTTP.
pub fn keys_gate_the_api(binary: &Path, service_dir: &Path, log: &Path) {
    let refused = app_command(binary, service_dir, &["--scope", "orders:delete"]);
    assert!(!refused.status.success(), "an unknown scope was accepted");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unknown scope"),
        "no reason given: {refused:?}"
    );
    // Signs users up and in (`auth`) and reads orders, nothing else.
    let issued = app_command(
        binary,
        service_dir,
        &["--scope", "auth", "--scope", "orders:read"],
    );
    assert!(issued.status.success(), "app create failed: {issued:?}");
    let stdout = String::from_utf8_lossy(&issued.stdout);
    let key = stdout.lines().last().expect("the key is printed").trim();

    let env = [
        ("APP_BEHIND_TLS_PROXY", "true".to_owned()),
        ("APP_REQUIRE_API_KEY", "true".to_owned()),
    ];
    let mut server = Server::start(binary, service_dir, log, &env);
    let client = Client::new();
    // The health check needs no key, or this would never return.
    server.wait_healthy(&client, Duration::from_secs(60));
    let api = &server.api_url;
    let credentials =
        json!({ "email": "app-user@example.com", "password": "a passphrase for apps" }).to_string();
    let post = |path: &str, headers: &[(&str, &str)], body: &str| -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        client.send("POST", &format!("{api}{path}"), &all, body.as_bytes())
    };

    let no_key = post("/v1/auth/register", &[], &credentials);
    assert_eq!(no_key.status, 401, "{no_key:?}");
    assert_eq!(
        no_key.header("www-authenticate"),
        Some("ApiKey header=\"X-Api-Key\"")
    );
    let with_key = [("x-api-key", key)];
    assert_eq!(
        post("/v1/auth/register", &with_key, &credentials).status,
        202
    );
    let login = post("/v1/auth/login", &with_key, &credentials);
    assert_eq!(login.status, 200, "{login:?}");
    let token = login.json()["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let bearer = format!("Bearer {token}");
    let orders = format!("{api}/v1/me/orders");
    let list = client.send(
        "GET",
        &orders,
        &[("x-api-key", key), ("authorization", &bearer)],
        b"",
    );
    assert_eq!(list.status, 200, "{list:?}");
    let list = client.send("GET", &orders, &[("authorization", &bearer)], b"");
    assert_eq!(list.status, 401, "a valid token without a key: {list:?}");
    let order = json!({ "item": "tea", "quantity": 1 }).to_string();
    let outside = post(
        "/v1/me/orders",
        &[("x-api-key", key), ("authorization", &bearer)],
        &order,
    );
    assert_eq!(
        outside.status, 403,
        "outside the application's scopes: {outside:?}"
    );
    // A route with no order scope still needs one the application holds.
    let me = client.send(
        "GET",
        &format!("{api}/v1/me"),
        &[("x-api-key", key), ("authorization", &bearer)],
        b"",
    );
    assert_eq!(me.status, 403, "/v1/me without `account`: {me:?}");

    let status = server.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit on SIGTERM: {status}");
    let logged = std::fs::read_to_string(log).expect("the log is readable");
    assert!(!logged.contains(key), "the key reached the log");
}

/// `BINARY app create --name e2e-reader ARGS` in production mode.
fn app_command(binary: &Path, service_dir: &Path, args: &[&str]) -> std::process::Output {
    server::binary_command(binary, service_dir)
        .args(["app", "create", "--name", "e2e-reader"])
        .args(args)
        .env("APP_BEHIND_TLS_PROXY", "true")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()))
}
