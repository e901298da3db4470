use reqwest::{Method, StatusCode};
use serde_json::Value;

use {{crate_name}}::platform::routes::PUBLIC_PATHS;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

async fn document(app: &crate::helpers::TestApp) -> Value {
    let response = app.admin_get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

// OPS-04: the OpenAPI document (3.1) and metrics are on the admin listener only.
#[tokio::test]
async fn ops_04_docs_and_metrics_only_on_admin_listener() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in ["/openapi.json", "/metrics"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND).await;
    }
}

// OPS-03: request counts by route and status are exported.
#[tokio::test]
async fn ops_03_metrics_count_requests_by_route() {
    let app = spawn_app().await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    let metrics = app.admin_get("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
    let text = metrics.text().await.unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains("route=\"/healthz\"")
            && l.contains("status=\"200\"")),
        "{text}"
    );
}

// OPS-03: made-up HTTP methods (any token is one to hyper) cannot grow the
// metrics: they all count as OTHER, whether the route exists (405), does not
// (404), or the limiter refuses them. Before, each became a label of its own.
#[tokio::test]
async fn ops_03_made_up_methods_do_not_grow_the_metrics() {
    let app = spawn_app().await;
    let before = app.admin_get("/metrics").await.text().await.unwrap();
    for n in 0..200 {
        let token = format!("BREW{n}{}", "X".repeat(2_000));
        let method = Method::from_bytes(token.as_bytes()).unwrap();
        for path in ["/healthz", "/nowhere", "/v1/me"] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "{path}: {}",
                response.status()
            );
        }
    }
    let after = app.admin_get("/metrics").await.text().await.unwrap();
    assert!(!after.contains("BREW"), "a made-up method became a label");
    assert!(after.contains("method=\"OTHER\""), "{after}");
    // 600 new series of 2 kB labels would be about 20 MB; other tests in this
    // process add a few kB of their own.
    assert!(
        after.len() < before.len() + 1_000_000,
        "/metrics grew from {} to {} bytes",
        before.len(),
        after.len()
    );
}

// PROC-01: every route in the inventory needs a token unless it is on the public list.
#[tokio::test]
async fn proc_01_every_non_public_route_requires_authentication() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, item) in paths {
        // Concrete ids for templated segments.
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            if PUBLIC_PATHS.contains(&path.as_str()) {
                assert_ne!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {path} is public"
                );
            } else {
                assert_problem(response, StatusCode::UNAUTHORIZED).await;
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} protected operations found");
}

// OPS-07: every schema property is described and every operation documents
// its error statuses as problem+json.
#[tokio::test]
async fn ops_07_contract_is_described() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            assert!(
                property["description"].is_string(),
                "{name}.{field} has no description"
            );
            assert!(
                is_bounded(property),
                "{name}.{field} has no explicit validation: {property}"
            );
        }
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            // Statuses the layers can give on any route are listed too.
            for status in ["401", "403", "406", "408", "429", "500"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            if operation.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{method} {path} lacks 413");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]["application/problem+json"].is_object(),
                        "{method} {path} {status} is not documented as a problem"
                    );
                }
            }
        }
    }
}

// PROC-09: each route declares its scopes in the contract; a token without
// them gets 403 (not 401) before any logic, one with exactly them passes.
#[tokio::test]
async fn proc_09_declared_scopes_are_enforced() {
    let app = spawn_app().await;
    let user = app.user().await;
    let unscoped = app.with_scope(&user, "");
    let doc = document(&app).await;
    let mut scoped = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path.replace("{id}", &uuid::Uuid::new_v4().to_string());
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let scopes: Vec<&str> = operation["security"][0]["bearer"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if scopes.is_empty() {
                continue;
            }
            scoped += 1;
            let denied = app.call(method.clone(), &concrete, &unscoped).await;
            let problem = assert_problem(denied, StatusCode::FORBIDDEN).await;
            assert!(
                problem["detail"].as_str().unwrap().contains(scopes[0]),
                "{problem}"
            );
            // A session of its own: the call may be the logout.
            let session = app.log_in(&user.email).await;
            let exact = app.with_scope(&session, &scopes.join(" "));
            let allowed = app.call(method.clone(), &concrete, &exact).await.status();
            assert!(
                !matches!(allowed, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
                "{method} {path}: {allowed}"
            );
        }
    }
    assert!(scoped >= 6, "only {scoped} operations declare scopes");
}

// PROC-01/PROC-09: the document is the whole inventory, so the walks above
// cover every route. Every path the source names (any string literal of
// src/ that starts with `/`) and every documented path is probed with every
// method: whatever is served must be documented with that method, and every
// documented operation must be served. A route added outside utoipa's
// `routes!` fails here. Served means routed: without a token an unrouted
// path is a 404 (routed ones are 401 or the route's answer), and with one an
// unrouted method is a 405 (a handler's own 404 still counts as routed).
#[tokio::test]
async fn proc_01_every_served_route_is_documented() {
    let app = spawn_app_with(&[
        ("APP_AUTH_RATE_LIMIT_PER_MINUTE", "100000"),
        ("APP_RATE_LIMIT_PER_MINUTE", "100000"),
    ])
    .await;
    let doc = document(&app).await;
    let documented = doc["paths"].as_object().unwrap();
    let mut paths = source_paths(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    paths.extend(documented.keys().cloned());
    assert!(
        paths.len() > documented.len(),
        "no path found in the source"
    );
    let mut user = app.user().await;
    for path in &paths {
        let concrete = concrete(path);
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let anonymous = app.client.request(method.clone(), app.url(&concrete));
            let anonymous = anonymous.send().await.unwrap().status();
            let mut authed = app.call(method.clone(), &concrete, &user).await.status();
            if authed == StatusCode::UNAUTHORIZED {
                // A probe of logout or of the sessions ended the session.
                user = app.log_in(&user.email).await;
                authed = app.call(method.clone(), &concrete, &user).await.status();
            }
            let served =
                anonymous != StatusCode::NOT_FOUND && authed != StatusCode::METHOD_NOT_ALLOWED;
            let listed = documented
                .get(path)
                .is_some_and(|item| item.get(method.as_str().to_lowercase()).is_some());
            assert_eq!(
                served,
                listed,
                "{method} {path} answers {anonymous} without a token and {authed} with one, \
                 but is {}documented",
                if listed { "" } else { "not " }
            );
        }
    }
}

/// `path` with each `{parameter}` replaced by a fresh UUID.
fn concrete(path: &str) -> String {
    let mut concrete = String::new();
    let mut rest = path;
    while let Some((before, after)) = rest.split_once('{') {
        concrete.push_str(before);
        concrete.push_str(&uuid::Uuid::new_v4().to_string());
        rest = after.split_once('}').map_or("", |(_, after)| after);
    }
    concrete + rest
}

/// Every string literal in the Rust files under `dir` that looks like a URL
/// path (query strings cut off).
fn source_paths(dir: &std::path::Path) -> std::collections::BTreeSet<String> {
    let mut paths = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            paths.extend(source_paths(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            for (at, _) in source.match_indices("\"/") {
                let literal = source[at + 1..]
                    .split(['"', '?'])
                    .next()
                    .unwrap_or_default();
                let path_like = |c: char| c.is_ascii_alphanumeric() || "/_-.{}:".contains(c);
                if literal.starts_with('/') && literal.chars().all(path_like) {
                    paths.insert(literal.to_owned());
                }
            }
        }
    }
    paths
}

/// Whether a property schema states its limits: a length, range, format,
/// pattern or enumeration for scalars, a maximum size for arrays.
fn is_bounded(property: &Value) -> bool {
    let has = |key: &str| property.get(key).is_some();
    if has("$ref") || property["allOf"].is_array() || property["oneOf"].is_array() {
        return true;
    }
    let types: Vec<&str> = match &property["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    !types.is_empty()
        && types.iter().filter(|t| **t != "null").all(|t| match *t {
            "string" => has("maxLength") || has("format") || has("pattern") || has("enum"),
            "integer" | "number" => has("minimum") || has("maximum"),
            "array" => has("maxItems"),
            "boolean" => true,
            _ => false,
        })
}
