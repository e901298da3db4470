use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{logs, spawn_app};

// OPS-06: each field's class decides its handling, seen from outside: the
// owner reads every field back, the row holds internal fields as they are
// and the sensitive one sealed, and no classified value reaches the logs,
// whether the order came as JSON or XML, was changed, or was refused.
#[tokio::test]
async fn ops_06_classification_drives_storage_and_logs() {
    let app = spawn_app().await;
    let user = app.user().await;
    let marker = Uuid::new_v4().simple().to_string();
    let (item, note, address) = (
        format!("item-{marker}"),
        format!("note-{marker}"),
        format!("address-{marker}"),
    );
    let body = json!({ "item": item, "quantity": 2, "note": note, "shipping_address": address });
    let created: Value = app.create_order(&user, &body).await.json().await.unwrap();
    assert_eq!(created["shipping_address"], address.as_str());
    let xml = format!(
        "<order><item>{item}</item><quantity>1</quantity><shipping_address>{address}</shipping_address></order>"
    );
    assert_eq!(app.post_xml(&user, xml).await.status(), StatusCode::CREATED);
    let path = format!("/v1/me/orders/{}", created["id"].as_str().unwrap());
    let refused = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({ "shipping_address": address, "quantity": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get_json(&path, &user).await["note"], note.as_str());

    let rows: Vec<(String, Option<String>, Option<Vec<u8>>)> =
        sqlx::query_as("SELECT item, note, shipping_address FROM orders")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    for (stored_item, _, sealed) in &rows {
        assert_eq!(stored_item, &item, "internal: stored as is");
        let sealed = sealed.as_deref().expect("an address was given");
        assert!(
            !sealed.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "sensitive: stored in the clear"
        );
    }
    let logged = logs();
    assert!(logged.contains("/v1/me/orders"), "the requests were logged");
    assert!(
        !logged.contains(&marker),
        "a classified value reached the logs"
    );
    assert!(
        !logged.contains(&user.email),
        "an e-mail address reached the logs"
    );
}
