//! The caller's orders. Every query is scoped by owner, so another user's
//! order is indistinguishable from a missing one (PROC-02).
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::{
        Authorized, Caller,
        scope::{OrdersRead, OrdersWrite},
    },
    classification::Sensitive,
    db,
    domain::{OrderItem, OrderNote, Quantity, ShippingAddress},
    encryption::FieldCipher,
    error::{ApiError, ApiResult, Problem},
    extract::{Json, JsonOrXml, Path, Query},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, create_order))
        .routes(routes!(get_order, update_order, delete_order))
}

/// A new order. Unknown fields (such as `id` or `owner`) are refused (IN-06);
/// texts may hold line breaks and tabs but no other control characters.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(xml(name = "order"))]
pub struct NewOrder {
    /// What is ordered.
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    item: OrderItem,
    /// How many units.
    #[schema(value_type = i32, minimum = 1, maximum = 1000)]
    quantity: Quantity,
    /// Free-text note.
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    note: Option<OrderNote>,
    /// Where to ship the order.
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    shipping_address: Option<ShippingAddress>,
}

/// Changes to an order; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderChanges {
    /// What is ordered.
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    item: Option<OrderItem>,
    /// How many units.
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 1000)]
    quantity: Option<Quantity>,
    /// Free-text note.
    #[schema(value_type = Option<String>, max_length = 1000, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    note: Option<OrderNote>,
    /// Where to ship the order.
    #[schema(value_type = Option<String>, max_length = 500, pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")]
    shipping_address: Option<ShippingAddress>,
}

/// An order as the caller sees it, without its owner.
#[derive(Serialize, ToSchema)]
pub struct Order {
    /// Order id.
    id: Uuid,
    /// What is ordered.
    #[schema(min_length = 1, max_length = 200)]
    item: String,
    /// How many units.
    #[schema(minimum = 1, maximum = 1000)]
    quantity: i32,
    /// Free-text note.
    #[schema(max_length = 1000)]
    note: Option<String>,
    /// Where to ship the order.
    #[schema(value_type = Option<String>, max_length = 500)]
    shipping_address: Option<Sensitive<String>>,
    /// When the order was placed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    /// When the order last changed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: OffsetDateTime,
}

/// An order as stored: the shipping address is sensitive, so it is sealed
/// (AUTH-05) and only opened on the way out.
struct OrderRow {
    id: Uuid,
    item: String,
    quantity: i32,
    note: Option<String>,
    shipping_address: Option<Vec<u8>>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl<'r> FromRow<'r, db::Row> for OrderRow {
    fn from_row(row: &'r db::Row) -> sqlx::Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            item: row.try_get("item")?,
            quantity: row.try_get("quantity")?,
            note: row.try_get("note")?,
            shipping_address: row.try_get("shipping_address")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

impl OrderRow {
    fn open(self, cipher: &FieldCipher) -> ApiResult<Order> {
        let shipping_address = match &self.shipping_address {
            Some(sealed) => Some(cipher.open(sealed, self.id)?),
            None => None,
        };
        Ok(Order {
            id: self.id,
            item: self.item,
            quantity: self.quantity,
            note: self.note,
            shipping_address,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Seals an optional shipping address for order `id`.
fn seal(
    cipher: &FieldCipher,
    address: Option<ShippingAddress>,
    id: Uuid,
) -> ApiResult<Option<Vec<u8>>> {
    Ok(address.map(|a| cipher.seal(&a, id)).transpose()?)
}

/// One page of orders, newest first.
#[derive(Serialize, ToSchema)]
pub struct OrderPage {
    /// The orders on this page.
    #[schema(max_items = 100)]
    items: Vec<Order>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[schema(max_length = 64)]
    next_cursor: Option<String>,
}

/// Paging parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(max_length = 64)]
    cursor: Option<String>,
}

const SELECT_ORDER: &str = "SELECT id, item, quantity, note, shipping_address, created_at, updated_at \
                            FROM orders WHERE id = $1 AND owner_id = $2";

/// Lists the caller's orders, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/me/orders", tag = "orders", security(("bearer" = ["orders:read"])), params(Paging),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 400, description = "Bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the orders:read scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_orders(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersRead>,
    Query(paging): Query<Paging>,
) -> ApiResult<axum::Json<OrderPage>> {
    let limit = match paging.limit.unwrap_or(20) {
        n @ 1..=100 => i64::from(n),
        _ => {
            return Err(ApiError::BadRequest(
                "limit must be between 1 and 100".into(),
            ));
        }
    };
    // Keyset paging: the cursor is the (created_at, id) of the last order seen.
    let (after_time, after_id) = match paging.cursor.as_deref() {
        Some(cursor) => decode_cursor(cursor)?,
        None => (
            OffsetDateTime::now_utc() + time::Duration::days(1),
            Uuid::max(),
        ),
    };
    let mut rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT id, item, quantity, note, shipping_address, created_at, updated_at FROM orders \
         WHERE owner_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(caller.user_id)
    .bind(after_time.replace_nanosecond(0).unwrap_or(after_time))
    .bind(after_id)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let next_cursor = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(rows.len() - 1);
        rows.last()
            .map(|last| encode_cursor(last.created_at, last.id))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|row| row.open(&state.cipher))
        .collect::<ApiResult<_>>()?;
    Ok(axum::Json(OrderPage { items, next_cursor }))
}

/// Places an order, from a JSON or an XML body.
#[utoipa::path(post, path = "/v1/me/orders", tag = "orders", security(("bearer" = ["orders:write"])),
    request_body(content(
        (NewOrder = "application/json"),
        (NewOrder = "application/xml"),
    )),
    responses(
        (status = 201, description = "Order placed", body = Order,
            headers(("Location" = String, description = "URL of the new order"))),
        (status = 400, description = "Malformed body, or XML with a DOCTYPE", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the orders:write scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor XML", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    JsonOrXml(order): JsonOrXml<NewOrder>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<Order>)> {
    let (id, now) = (Uuid::new_v4(), db::now());
    sqlx::query(
        "INSERT INTO orders (id, owner_id, item, quantity, note, shipping_address, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(id)
    .bind(caller.user_id)
    .bind(order.item.as_str())
    .bind(order.quantity.get())
    .bind(order.note.map(|note| note.into_inner().into_inner()))
    .bind(seal(&state.cipher, order.shipping_address, id)?)
    .bind(now)
    .execute(&state.db)
    .await?;
    let created = fetch(&state, &caller, id).await?;
    let mut headers = HeaderMap::new();
    let location =
        HeaderValue::from_str(&format!("/v1/me/orders/{id}")).map_err(anyhow::Error::from)?;
    headers.insert(header::LOCATION, location);
    Ok((StatusCode::CREATED, headers, axum::Json(created)))
}

/// Returns one of the caller's orders.
#[utoipa::path(get, path = "/v1/me/orders/{id}", tag = "orders", security(("bearer" = ["orders:read"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the orders:read scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersRead>,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::Json<Order>> {
    fetch(&state, &caller, id).await.map(axum::Json)
}

/// Changes some fields of one of the caller's orders.
#[utoipa::path(patch, path = "/v1/me/orders/{id}", tag = "orders", security(("bearer" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = OrderChanges,
    responses(
        (status = 200, description = "The changed order", body = Order),
        (status = 400, description = "Malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the orders:write scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    Path(id): Path<Uuid>,
    Json(changes): Json<OrderChanges>,
) -> ApiResult<axum::Json<Order>> {
    let updated = sqlx::query(
        "UPDATE orders SET item = COALESCE($3, item), quantity = COALESCE($4, quantity), \
         note = COALESCE($5, note), shipping_address = COALESCE($6, shipping_address), updated_at = $7 \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(caller.user_id)
    .bind(changes.item.map(|item| item.into_inner().into_inner()))
    .bind(changes.quantity.map(Quantity::get))
    .bind(changes.note.map(|note| note.into_inner().into_inner()))
    .bind(seal(&state.cipher, changes.shipping_address, id)?)
    .bind(db::now())
    .execute(&state.db)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(ApiError::NotFound);
    }
    fetch(&state, &caller, id).await.map(axum::Json)
}

/// Deletes one of the caller's orders.
#[utoipa::path(delete, path = "/v1/me/orders/{id}", tag = "orders", security(("bearer" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 204, description = "Order deleted"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks the orders:write scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order of the caller", body = Problem, content_type = "application/problem+json"),
    ))]
async fn delete_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    let deleted = sqlx::query("DELETE FROM orders WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(caller.user_id)
        .execute(&state.db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn fetch(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Order> {
    let row: OrderRow = sqlx::query_as(SELECT_ORDER)
        .bind(id)
        .bind(caller.user_id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(ApiError::NotFound)?;
    row.open(&state.cipher)
}

/// A cursor is the base64 of the last order's creation time (Unix seconds,
/// big-endian) and id. It is not signed: it only positions a listing that is
/// scoped to the caller's own orders, so a crafted one shows nothing more.
/// Decoding checks everything a crafted one could get wrong.
fn encode_cursor(created_at: OffsetDateTime, id: Uuid) -> String {
    let mut bytes = created_at.unix_timestamp().to_be_bytes().to_vec();
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Longest cursor accepted: 24 bytes are 32 characters (the documented 64
/// leaves room).
const MAX_CURSOR_LEN: usize = 64;
/// 9999-12-31T23:59:59Z, the latest time every database here stores.
const LATEST_CURSOR_SECS: i64 = 253_402_300_799;

fn decode_cursor(cursor: &str) -> ApiResult<(OffsetDateTime, Uuid)> {
    let invalid = || ApiError::BadRequest("cursor is not one this service issued".into());
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (secs, id) = bytes.split_at_checked(8).ok_or_else(invalid)?;
    let secs = i64::from_be_bytes(secs.try_into().map_err(|_| invalid())?);
    // Issued cursors hold times from the Unix epoch to year 9999; others (a
    // year before 0 cannot even be stored by SQLite) were never issued.
    if !(0..=LATEST_CURSOR_SECS).contains(&secs) {
        return Err(invalid());
    }
    let time = OffsetDateTime::from_unix_timestamp(secs).map_err(|_| invalid())?;
    let id = Uuid::from_slice(id).map_err(|_| invalid())?;
    Ok((time, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let (time, id) = (db::now(), Uuid::new_v4());
        assert_eq!(decode_cursor(&encode_cursor(time, id)).unwrap(), (time, id));
        assert!(decode_cursor("not-a-cursor").is_err());
        assert!(decode_cursor("").is_err());
    }

    /// A cursor of `secs` and a random id, as a client could craft it.
    fn crafted(secs: i64) -> String {
        let mut bytes = secs.to_be_bytes().to_vec();
        bytes.extend_from_slice(Uuid::new_v4().as_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    // IN-04: crafted cursors are refused: before the epoch (year -1 could
    // not be stored by SQLite: a 500), after year 9999, one id byte short or
    // long, or longer than documented.
    #[test]
    fn in_04_crafted_cursors_refused() {
        for secs in [-1, -62_198_755_200, i64::MIN, 253_402_300_800, i64::MAX] {
            assert!(decode_cursor(&crafted(secs)).is_err(), "{secs}");
        }
        assert!(decode_cursor(&crafted(0)).is_ok());
        assert!(decode_cursor(&crafted(LATEST_CURSOR_SECS)).is_ok());
        let mut bytes = 0_i64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[7; 15]);
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(&bytes)).is_err());
        bytes.extend_from_slice(&[7; 2]);
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(&bytes)).is_err());
        assert!(decode_cursor(&format!("{}A", crafted(0))).is_err());
        assert!(decode_cursor(&"A".repeat(MAX_CURSOR_LEN + 4)).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // IN-04: any text is refused or decodes to a time the databases
        // store (epoch to year 9999) and re-encodes to itself.
        #[test]
        fn in_04_any_cursor_is_refused_or_issuable(cursor in any::<String>()) {
            check(&cursor)?;
        }

        // The same for any 0 to 40 bytes in base64, most of which decode.
        #[test]
        fn in_04_any_decoded_bytes_are_refused_or_issuable(
            bytes in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            check(&URL_SAFE_NO_PAD.encode(bytes))?;
        }

        // And for every 24-byte cursor: every time and every id.
        #[test]
        fn in_04_any_time_is_refused_or_storable(secs in any::<i64>(), id in any::<u128>()) {
            let mut bytes = secs.to_be_bytes().to_vec();
            bytes.extend_from_slice(&id.to_be_bytes());
            check(&URL_SAFE_NO_PAD.encode(bytes))?;
        }
    }

    fn check(cursor: &str) -> Result<(), TestCaseError> {
        if let Ok((time, id)) = decode_cursor(cursor) {
            prop_assert!((0..=9999).contains(&time.year()), "{time}");
            prop_assert_eq!(encode_cursor(time, id), cursor);
        }
        Ok(())
    }
}
