//! Identity properties of a generated release binary, checked over HTTP:
//! the login jail, refresh-token reuse detection, the cross-user 404 and the
//! 401/403 split.

use serde_json::{Value, json};

use crate::http::{Client, Reply};

const PASSWORD: &str = "identity check passphrase";

struct Api<'a> {
    client: &'a Client,
    base: &'a str,
}

impl Api<'_> {
    fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Reply {
        self.client
            .post_json(&format!("{}{path}", self.base), body, token)
    }

    fn get(&self, path: &str, token: &str) -> Reply {
        let bearer = format!("Bearer {token}");
        self.client.send(
            "GET",
            &format!("{}{path}", self.base),
            &[("authorization", &bearer)],
            b"",
        )
    }

    /// Registers `email` and logs it in: (access token, refresh token).
    fn user(&self, email: &str) -> (String, String) {
        let credentials = json!({ "email": email, "password": PASSWORD });
        assert_eq!(
            self.post("/v1/auth/register", &credentials, None).status,
            202
        );
        let login = self.post("/v1/auth/login", &credentials, None);
        assert_eq!(login.status, 200, "login of {email}: {login:?}");
        let body = login.json();
        (field(&body, "access_token"), field(&body, "refresh_token"))
    }
}

fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_owned()
}

/// Runs every identity check against the service at `base`.
pub fn check_identity(client: &Client, base: &str) {
    let api = Api { client, base };
    login_jail(&api);
    refresh_reuse_revokes_the_session(&api);
    other_users_orders_look_missing(&api);
    unauthenticated_is_401_and_unauthorized_is_403(&api);
}

/// AUTH-03: five failures lock the account; the right password is then refused.
fn login_jail(api: &Api) {
    api.user("jailed@example.com");
    let wrong = json!({ "email": "jailed@example.com", "password": "not the passphrase" });
    for _ in 0..5 {
        assert_eq!(api.post("/v1/auth/login", &wrong, None).status, 401);
    }
    let right = json!({ "email": "jailed@example.com", "password": PASSWORD });
    let locked = api.post("/v1/auth/login", &right, None);
    assert_eq!(locked.status, 401, "a locked account logged in: {locked:?}");
}

/// JWT-03: replaying a spent refresh token kills the whole session.
fn refresh_reuse_revokes_the_session(api: &Api) {
    let (_, first_refresh) = api.user("refresher@example.com");
    let refreshed = api.post(
        "/v1/auth/refresh",
        &json!({ "refresh_token": first_refresh }),
        None,
    );
    assert_eq!(refreshed.status, 200, "refresh: {refreshed:?}");
    let access = field(&refreshed.json(), "access_token");
    assert_eq!(api.get("/v1/me", &access).status, 200);
    let replay = api.post(
        "/v1/auth/refresh",
        &json!({ "refresh_token": first_refresh }),
        None,
    );
    assert_eq!(
        replay.status, 401,
        "a spent refresh token worked: {replay:?}"
    );
    assert_eq!(
        api.get("/v1/me", &access).status,
        401,
        "the session survived the replay"
    );
}

/// PROC-02: another user's order answers like a missing one.
fn other_users_orders_look_missing(api: &Api) {
    let (owner, _) = api.user("owner@example.com");
    let (intruder, _) = api.user("intruder@example.com");
    let order = api.post(
        "/v1/me/orders",
        &json!({ "item": "tea", "quantity": 1 }),
        Some(&owner),
    );
    assert_eq!(order.status, 201);
    let id = field(&order.json(), "id");
    let theirs = api.get(&format!("/v1/me/orders/{id}"), &intruder);
    let missing = api.get(
        "/v1/me/orders/00000000-0000-4000-8000-000000000000",
        &intruder,
    );
    assert_eq!((theirs.status, &theirs.body), (404, &missing.body));
    let list = api.get("/v1/me/orders", &intruder);
    assert_eq!(
        list.json()["items"],
        json!([]),
        "another user's order is listed"
    );
}

/// PROC-09: no token is 401; a token without the scope is 403.
fn unauthenticated_is_401_and_unauthorized_is_403(api: &Api) {
    let (user, _) = api.user("plain@example.com");
    let path = "/v1/admin/users/00000000-0000-4000-8000-000000000000/disable";
    let anonymous = api.post(path, &json!({}), None);
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let forbidden = api.post(path, &json!({}), Some(&user));
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
}
