use base64::{Engine, engine::general_purpose::STANDARD};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestUser, random_bytes, spawn_app};

const ADDRESS: &str = "42 Secret Garden Lane, Springfield";

async fn order_with_address(app: &TestApp, user: &TestUser) -> Value {
    let body = json!({ "item": "tea", "quantity": 1, "shipping_address": ADDRESS });
    app.create_order(user, &body).await.json().await.unwrap()
}

async fn stored_address(app: &TestApp, id: &str) -> Vec<u8> {
    let (sealed,): (Vec<u8>,) = sqlx::query_as("SELECT shipping_address FROM orders WHERE id = $1")
        .bind(Uuid::parse_str(id).unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    sealed
}

// AUTH-05/OPS-06: the shipping address is sensitive: the database row holds
// no plaintext, while the API returns it to its owner.
#[tokio::test]
async fn auth_05_shipping_address_is_encrypted_at_rest() {
    let app = spawn_app().await;
    let user = app.user().await;
    let order: Value = order_with_address(&app, &user).await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(order["shipping_address"], ADDRESS);
    let raw = stored_address(&app, id).await;
    assert!(
        !raw.windows(6).any(|w| w == b"Secret"),
        "plaintext in the database"
    );
    assert!(raw.len() > ADDRESS.len(), "no room for nonce and tag");
    // A change is sealed too.
    let path = format!("/v1/me/orders/{id}");
    app.authed(Method::PATCH, &path, &user)
        .json(&json!({ "shipping_address": "7 Hidden Road" }))
        .send()
        .await
        .unwrap();
    assert!(
        !stored_address(&app, id)
            .await
            .windows(6)
            .any(|w| w == b"Hidden")
    );
    assert_eq!(
        app.get_json(&path, &user).await["shipping_address"],
        "7 Hidden Road"
    );
}

// AUTH-05: keys rotate: after a new key is added and made current, old
// values still read and new writes carry the new key id.
#[tokio::test]
async fn auth_05_data_keys_rotate() {
    let app = spawn_app().await;
    let user = app.user().await;
    let old: Value = order_with_address(&app, &user).await;
    let keys = format!(
        "{},k2:{}",
        app.setting("APP_DATA_KEYS"),
        STANDARD.encode(random_bytes(32))
    );
    let rotated = app.sibling_with(&[("APP_DATA_KEYS", keys)]).await;
    let path = format!("/v1/me/orders/{}", old["id"].as_str().unwrap());
    assert_eq!(
        rotated.get_json(&path, &user).await["shipping_address"],
        ADDRESS
    );
    let new: Value = order_with_address(&rotated, &user).await;
    let sealed = stored_address(&rotated, new["id"].as_str().unwrap()).await;
    assert_eq!(&sealed[1..4], b"\x02k2", "new writes use the current key");
}
