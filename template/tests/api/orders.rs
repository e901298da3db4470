use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

// PROC-03: a new order gets a random (v4) UUID and a Location header.
#[tokio::test]
async fn proc_03_create_order_returns_uuid_and_location() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app
        .create_order(
            &user,
            &json!({ "item": "tea", "quantity": 2, "note": "green" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = response.json().await.unwrap();
    let id = uuid::Uuid::parse_str(order["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 4);
    assert_eq!(location, format!("/v1/me/orders/{id}"));
    assert_eq!(
        (order["item"].clone(), order["quantity"].clone()),
        (json!("tea"), json!(2))
    );
    let fetched: Value = app.get_json(&location, &user).await;
    assert_eq!(fetched, order);
}

// PROC-04: a valid XML order works like JSON.
#[tokio::test]
async fn proc_04_xml_orders_are_accepted() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app
        .post_xml(
            &user,
            "<?xml version=\"1.0\"?><order><item>coffee</item><quantity>3</quantity></order>",
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    assert_eq!(
        (order["item"].clone(), order["quantity"].clone()),
        (json!("coffee"), json!(3))
    );
}

// PROC-04/IN-04: malformed XML is a 400, XML that is not an order a 422
// (unknown or duplicate fields, attributes, a bad number), and nothing is
// stored.
#[tokio::test]
async fn proc_04_bad_xml_orders_are_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    let cases = [
        (
            "<order><item>x</item><quantity>1</quantity>",
            StatusCode::BAD_REQUEST,
        ),
        ("<order><item>x</quantity></item>", StatusCode::BAD_REQUEST),
        (
            "<order><item>&undefined;</item><quantity>1</quantity></order>",
            StatusCode::BAD_REQUEST,
        ),
        (
            "<order><item>x</item><quantity>1</quantity></order><order/>",
            StatusCode::BAD_REQUEST,
        ),
        (
            "<order><item>x</item><quantity>1</quantity><owner>u</owner></order>",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "<order id=\"1\"><item>x</item><quantity>1</quantity></order>",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "<order><item>x</item><item>y</item><quantity>1</quantity></order>",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "<order><item>x</item><quantity>many</quantity></order>",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (payload, status) in cases {
        let response = app.post_xml(&user, payload).await;
        assert_eq!(response.status(), status, "{payload}");
        assert_problem(response, status).await;
    }
    let page: Value = app.get_json("/v1/me/orders", &user).await;
    assert_eq!(page["items"], json!([]));
}

// PROC-04: XXE and entity expansion payloads are refused with 400 and nothing is stored.
#[tokio::test]
async fn proc_04_xml_doctype_is_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    let payloads = [
        r#"<?xml version="1.0"?><!DOCTYPE order [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><order><item>&xxe;</item><quantity>1</quantity></order>"#,
        r#"<!DOCTYPE order [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><order><item>&b;</item><quantity>1</quantity></order>"#,
        r#"<!DOCTYPE order [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><order><item>x</item><quantity>1</quantity></order>"#,
    ];
    for payload in payloads {
        let response = app.post_xml(&user, payload).await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
    let page: Value = app.get_json("/v1/me/orders", &user).await;
    assert_eq!(page["items"], json!([]));
}

// IN-03: an order body that is neither JSON nor XML gets 415.
#[tokio::test]
async fn in_03_order_in_other_format_is_415() {
    let app = spawn_app().await;
    let user = app.user().await;
    let response = app
        .authed(Method::POST, "/v1/me/orders", &user)
        .header("content-type", "text/csv")
        .body("tea,1")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

// IN-04: out-of-range fields are refused with the field named.
#[tokio::test]
async fn in_04_order_fields_are_validated() {
    let app = spawn_app().await;
    let user = app.user().await;
    let cases = [
        (json!({ "item": "", "quantity": 1 }), "item"),
        (json!({ "item": "x".repeat(201), "quantity": 1 }), "item"),
        (json!({ "item": "tea", "quantity": 0 }), "quantity"),
        (json!({ "item": "tea", "quantity": 1001 }), "quantity"),
        (
            json!({ "item": "tea", "quantity": 1, "note": "n".repeat(1001) }),
            "note",
        ),
        (
            json!({ "item": "tea", "quantity": 1, "shipping_address": "s".repeat(501) }),
            "shipping_address",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            app.create_order(&user, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
}

// IN-06: an id or owner in the body is refused, not applied.
#[tokio::test]
async fn in_06_mass_assignment_is_refused() {
    let app = spawn_app().await;
    let user = app.user().await;
    let other = app.user().await;
    let body = json!({ "item": "tea", "quantity": 1, "id": uuid::Uuid::new_v4(), "owner_id": uuid::Uuid::new_v4() });
    assert_problem(
        app.create_order(&user, &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let created: Value = app
        .create_order(&user, &json!({ "item": "tea", "quantity": 1 }))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/me/orders/{}", created["id"].as_str().unwrap());
    let response = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({ "owner_id": other.email }))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

// PROC-02: another user's order answers exactly like a missing one, for
// every method.
#[tokio::test]
async fn proc_02_other_users_orders_look_missing() {
    let app = spawn_app().await;
    let owner = app.user().await;
    let intruder = app.user().await;
    let order: Value = app
        .create_order(&owner, &json!({ "item": "tea", "quantity": 1 }))
        .await
        .json()
        .await
        .unwrap();
    let theirs = format!("/v1/me/orders/{}", order["id"].as_str().unwrap());
    let missing = format!("/v1/me/orders/{}", uuid::Uuid::new_v4());
    // Every method answers byte for byte alike, but for the request id and date.
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let send = |path: String| {
            app.authed(method.clone(), &path, &intruder)
                .json(&json!({ "quantity": 9 }))
                .send()
        };
        let (a, b) = (
            send(theirs.clone()).await.unwrap(),
            send(missing.clone()).await.unwrap(),
        );
        assert_eq!(a.status(), StatusCode::NOT_FOUND, "{method}");
        let headers = |r: &reqwest::Response| {
            let mut kept: Vec<(String, Vec<u8>)> = r
                .headers()
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "x-request-id" | "date"))
                .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                .collect();
            kept.sort();
            kept
        };
        assert_eq!(
            (a.status(), headers(&a)),
            (b.status(), headers(&b)),
            "{method}"
        );
        assert_eq!(
            a.bytes().await.unwrap(),
            b.bytes().await.unwrap(),
            "{method}"
        );
    }
    // The owner's order is untouched.
    let mine: Value = app.get_json(&theirs, &owner).await;
    assert_eq!(mine["quantity"], 1);
    let page: Value = app.get_json("/v1/me/orders", &intruder).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn orders_can_be_changed_and_deleted() {
    let app = spawn_app().await;
    let user = app.user().await;
    let order: Value = app
        .create_order(&user, &json!({ "item": "tea", "quantity": 1 }))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/me/orders/{}", order["id"].as_str().unwrap());
    let changed: Value = app
        .authed(Method::PATCH, &path, &user)
        .json(&json!({ "quantity": 5, "shipping_address": "1 Main St" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (changed["item"].clone(), changed["quantity"].clone()),
        (json!("tea"), json!(5))
    );
    assert_eq!(changed["shipping_address"], "1 Main St");
    let deleted = app.call(Method::DELETE, &path, &user).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = app.call(Method::GET, &path, &user).await;
    assert_problem(gone, StatusCode::NOT_FOUND).await;
}

// Cursor paging visits every order exactly once, newest first.
#[tokio::test]
async fn listing_pages_through_every_order_once() {
    let app = spawn_app().await;
    let user = app.user().await;
    let mut created = HashSet::new();
    for n in 0..25 {
        let order: Value = app
            .create_order(
                &user,
                &json!({ "item": format!("item {n}"), "quantity": 1 }),
            )
            .await
            .json()
            .await
            .unwrap();
        created.insert(order["id"].as_str().unwrap().to_owned());
    }
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/me/orders?limit=10&cursor={c}"),
            None => "/v1/me/orders?limit=10".to_owned(),
        };
        let page: Value = app.get_json(&path, &user).await;
        pages += 1;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 10);
        seen.extend(items.iter().map(|o| {
            (
                o["created_at"].as_str().unwrap().to_owned(),
                o["id"].as_str().unwrap().to_owned(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!((seen.len(), ids), (25, created));
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
}

// IN-04: crafted cursors are 400s on either database: times before the
// epoch (year -1 was a 500 on SQLite, which cannot store it), after year
// 9999, the extremes of the encoding, ids a byte short or long, text that is
// not base64 or is longer than documented. A genuine cursor still pages.
#[tokio::test]
async fn in_04_crafted_cursors_are_400() {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let app = spawn_app().await;
    let user = app.user().await;
    for _ in 0..2 {
        app.create_order(&user, &json!({ "item": "tea", "quantity": 1 }))
            .await;
    }
    let cursor = |secs: i64, id: &[u8]| {
        let bytes = [&secs.to_be_bytes()[..], id].concat();
        URL_SAFE_NO_PAD.encode(bytes)
    };
    let id = uuid::Uuid::new_v4();
    let id = id.as_bytes();
    let crafted = [
        cursor(-62_198_755_200, id),
        cursor(-1, id),
        cursor(i64::MIN, id),
        cursor(253_402_300_800, id),
        cursor(i64::MAX, id),
        cursor(1_700_000_000, &id[..15]),
        cursor(1_700_000_000, &[&id[..], &[0]].concat()),
        cursor(1_700_000_000, &[]),
        format!("{}=", cursor(1_700_000_000, id)),
        "!!!!".to_owned(),
        "A".repeat(65),
    ];
    for forged in &crafted {
        let response = app
            .call(
                Method::GET,
                &format!("/v1/me/orders?cursor={forged}"),
                &user,
            )
            .await;
        let problem = assert_problem(response, StatusCode::BAD_REQUEST).await;
        assert!(
            problem["detail"].as_str().unwrap().contains("cursor"),
            "{forged}"
        );
    }
    let first = app.get_json("/v1/me/orders?limit=1", &user).await;
    let next = first["next_cursor"].as_str().unwrap();
    let second = app
        .get_json(&format!("/v1/me/orders?limit=1&cursor={next}"), &user)
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_ne!(second["items"][0]["id"], first["items"][0]["id"]);
}

// IN-04: limit outside 1..=100 and forged cursors are 400s.
#[tokio::test]
async fn in_04_bad_paging_parameters_are_400() {
    let app = spawn_app().await;
    let user = app.user().await;
    for query in ["limit=0", "limit=101", "limit=abc", "cursor=forged"] {
        let response = app
            .call(Method::GET, &format!("/v1/me/orders?{query}"), &user)
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
}

// PROC-05: SQL in input is stored as text and changes nothing else.
#[tokio::test]
async fn proc_05_sql_in_input_is_inert() {
    let app = spawn_app().await;
    let user = app.user().await;
    let evil = "x'); DELETE FROM orders; --";
    let order: Value = app
        .create_order(
            &user,
            &json!({ "item": evil, "quantity": 1, "note": "' OR '1'='1" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["item"], evil);
    let second = app
        .create_order(&user, &json!({ "item": "tea", "quantity": 1 }))
        .await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let page: Value = app.get_json("/v1/me/orders", &user).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let response = app.login("a'--@example.com", "' OR '1'='1' --").await;
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
}

// PROC-04: entities that point at a listener of ours (external DTD, external
// entity, parameter entity) are never fetched.
#[tokio::test]
async fn proc_04_external_entities_are_never_fetched() {
    let app = spawn_app().await;
    let user = app.user().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/evil.dtd", listener.local_addr().unwrap());
    let fetched = tokio::spawn(async move { listener.accept().await.is_ok() });
    let payloads = [
        format!(
            r#"<!DOCTYPE order SYSTEM "{url}"><order><item>x</item><quantity>1</quantity></order>"#
        ),
        format!(
            r#"<!DOCTYPE order [<!ENTITY e SYSTEM "{url}">]><order><item>&e;</item><quantity>1</quantity></order>"#
        ),
        format!(
            r#"<!DOCTYPE order [<!ENTITY % p SYSTEM "{url}"> %p;]><order><item>x</item><quantity>1</quantity></order>"#
        ),
        format!(
            r#"<!DOCTYPE order [<!ENTITY big "{}">]><order><item>{}</item><quantity>1</quantity></order>"#,
            "x".repeat(10_000),
            "&big;".repeat(1_000)
        ),
    ];
    for payload in payloads {
        let response = app.post_xml(&user, payload).await;
        assert_problem(response, StatusCode::BAD_REQUEST).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !fetched.is_finished(),
        "the service connected to the entity URL"
    );
    fetched.abort();
}

// PROC-10: input is data, never code. Template, format-string, shell, SQL,
// script, escape and path syntax is stored and returned byte for byte, on
// every way in (JSON, XML, PATCH) and out (the answer, GET, the listing, the
// database row): any layer that evaluated, escaped, trimmed or rewrote text
// would change some of these.
#[tokio::test]
async fn proc_10_input_is_never_evaluated() {
    let app = spawn_app().await;
    let user = app.user().await;
    let payloads = [
        // Liquid and Jinja delimiters, their second character escaped (`\x7b`
        // and `\x25`) so that the template engine generating this file
        // leaves them be.
        "{\x7b7*7}} {\x25 raw %} ${7*7} #{7*7} <%= 7*7 %> @(7*7) ~[7*7]",
        "{\x7bconstructor.constructor('return process')()}} {\x7bconfig.items()}}",
        "%s%s%n%x%p %1$s {0} {} {:?} {name}",
        "$(id) `id` ; ls -la | cat /etc/passwd && rm -rf / #",
        "${jndi:ldap://127.0.0.1/x} ${env:HOME} $HOME %PATH%",
        "x'); DROP TABLE orders; -- \" OR \"1\"=\"1 /* */",
        "<script>alert(1)</script> &amp; &lt; &#x41; ]]> <![CDATA[",
        r"\u0041 \x41 \n \\ \0 %41%0d%0a +%20",
        "../../etc/passwd ..\\..\\windows __proto__ {\"$gt\":\"\"}",
        "=cmd|' /C calc'!A0 @SUM(1+1) -2+3",
        "  padded  \r\nsecond line\twith a tab\n",
    ];
    let mut ids = Vec::new();
    for text in payloads {
        let body = json!({ "item": "tea", "quantity": 1, "note": text });
        let created: Value = app.create_order(&user, &body).await.json().await.unwrap();
        assert_eq!(created["note"], text);
        let path = format!("/v1/me/orders/{}", created["id"].as_str().unwrap());
        let patched: Value = app
            .authed(Method::PATCH, &path, &user)
            .json(&json!({ "item": text, "shipping_address": text }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (&patched["item"], &patched["shipping_address"]),
            (&json!(text), &json!(text))
        );
        let fetched = app.get_json(&path, &user).await;
        assert_eq!(fetched, patched);
        let xml = app
            .post_xml(
                &user,
                format!(
                    "<order><item>{}</item><quantity>2</quantity></order>",
                    xml_escape(text)
                ),
            )
            .await;
        assert_eq!(xml.status(), StatusCode::CREATED, "{text:?}");
        let from_xml: Value = xml.json().await.unwrap();
        assert_eq!(from_xml["item"], text);
        ids.extend([created["id"].clone(), from_xml["id"].clone()]);
    }
    let stored: Vec<(String, Option<String>)> = sqlx::query_as("SELECT item, note FROM orders")
        .fetch_all(&app.db)
        .await
        .unwrap();
    for text in payloads {
        assert!(
            stored.contains(&(text.to_owned(), Some(text.to_owned()))),
            "{text:?}"
        );
        assert!(stored.contains(&(text.to_owned(), None)), "{text:?}");
    }
    let page = app.get_json("/v1/me/orders?limit=100", &user).await;
    let listed: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(listed.len(), ids.len());
    assert!(ids.iter().all(|id| listed.contains(&id)));
}

/// `text` as XML character data: markup characters as references, and a
/// carriage return as one too, since XML turns a bare one into a line feed.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#13;")
}
