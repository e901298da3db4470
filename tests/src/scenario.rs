//! The API walk-through every generated service must pass over real HTTP.

use serde_json::{Value, json};

use crate::http::{Client, Reply};

/// Register, log in, create and read an order, and check the unauthenticated,
/// readiness and OpenAPI endpoints.
pub fn walk_through(client: &Client, api: &str, admin: &str) {
    let credentials = json!({
        "email": "e2e.user@example.com",
        "password": "correct horse battery staple 42",
    });

    let first = client.post_json(&format!("{api}/v1/auth/register"), &credentials, None);
    expect_status(&first, 202, "register");
    // A repeat must look the same, so registration does not reveal who exists.
    let again = client.post_json(&format!("{api}/v1/auth/register"), &credentials, None);
    expect_status(&again, 202, "register again");
    assert_eq!(
        first.body, again.body,
        "registering an existing email answers differently"
    );

    let login = client.post_json(&format!("{api}/v1/auth/login"), &credentials, None);
    expect_status(&login, 200, "login");
    let tokens = login.json();
    let token = string_field(&tokens, "access_token");
    assert_eq!(tokens["token_type"], "Bearer", "login: {tokens}");
    assert!(tokens["expires_in"].is_u64(), "login: {tokens}");
    string_field(&tokens, "refresh_token");

    let order = json!({ "item": "tea", "quantity": 2 });
    let created = client.post_json(&format!("{api}/v1/me/orders"), &order, Some(&token));
    expect_status(&created, 201, "create order");
    let body = created.json();
    let id = string_field(&body, "id");
    assert!(is_uuid(&id), "order id is not a UUID: {body}");
    let location = created.location.clone().unwrap_or_default();
    assert_eq!(
        location,
        format!("/v1/me/orders/{id}"),
        "Location does not name the new order"
    );

    let fetched = get(client, &format!("{api}{location}"), Some(&token));
    expect_status(&fetched, 200, "read order");
    let fetched = fetched.json();
    assert_eq!(fetched["id"], id.as_str(), "read order: {fetched}");
    assert_eq!(fetched["item"], "tea", "read order: {fetched}");
    assert_eq!(fetched["quantity"], 2, "read order: {fetched}");

    let anonymous = get(client, &format!("{api}/v1/me/orders"), None);
    expect_status(&anonymous, 401, "orders without a token");
    let content_type = anonymous.content_type.as_deref().unwrap_or_default();
    assert!(
        content_type.starts_with("application/problem+json"),
        "401 is not problem+json: {anonymous:?}"
    );

    expect_status(&get(client, &format!("{api}/readyz"), None), 200, "readyz");

    let openapi = get(client, &format!("{admin}/openapi.json"), None);
    expect_status(&openapi, 200, "openapi.json");
    let document = openapi.json();
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "OpenAPI version is {version:?}");
}

fn get(client: &Client, url: &str, token: Option<&str>) -> Reply {
    client
        .get(url, token)
        .unwrap_or_else(|e| panic!("GET {url} got no reply: {e}"))
}

fn expect_status(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: unexpected reply {reply:?}");
}

fn string_field(body: &Value, field: &str) -> String {
    match body[field].as_str() {
        Some(value) if !value.is_empty() => value.to_owned(),
        _ => panic!("no string `{field}` in {body}"),
    }
}

/// The canonical hyphenated form: 8-4-4-4-12 hex digits.
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}
