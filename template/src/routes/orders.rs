//! The caller's orders: the example resource, the shape to copy for one of
//! your own. Handlers check input through types (`domain`), ask for scopes
//! through `Authorized<S>`, keep SQL in `store/orders.rs` (scoped by owner,
//! PROC-02) and seal sensitive fields on the way in, open them on the way out.
use axum::{
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
};
use serde::{Deserialize, Serialize};
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
    domain::{OrderItem, OrderNote, Quantity, ShippingAddress},
    encryption::FieldCipher,
    error::{ApiError, ApiResult},
    extract::{Json, JsonOrXml, Path, Query},
    paging::{self, Cursor},
    state::AppState,
    store::orders::{self, Fields, OrderRow},
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
    #[schema(inline)]
    item: OrderItem,
    /// How many units.
    #[schema(inline)]
    quantity: Quantity,
    /// Free-text note.
    #[schema(inline)]
    note: Option<OrderNote>,
    /// Where to ship the order.
    #[schema(inline)]
    shipping_address: Option<ShippingAddress>,
}

/// Changes to an order; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderChanges {
    /// What is ordered.
    #[schema(inline)]
    item: Option<OrderItem>,
    /// How many units.
    #[schema(inline)]
    quantity: Option<Quantity>,
    /// Free-text note.
    #[schema(inline)]
    note: Option<OrderNote>,
    /// Where to ship the order.
    #[schema(inline)]
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

/// The order as the caller sees it: its shipping address opened.
fn opened(row: OrderRow, cipher: &FieldCipher) -> ApiResult<Order> {
    let shipping_address = match &row.shipping_address {
        Some(sealed) => Some(cipher.open(sealed, row.id)?),
        None => None,
    };
    Ok(Order {
        id: row.id,
        item: row.item,
        quantity: row.quantity,
        note: row.note,
        shipping_address,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
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

/// Lists the caller's orders, newest first, a page at a time.
#[utoipa::path(get, path = "/v1/me/orders", tag = "orders", security(("bearer" = ["orders:read"])), params(Paging),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 400, description = "Bad limit or cursor"),
    ))]
async fn list_orders(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersRead>,
    Query(paging): Query<Paging>,
) -> ApiResult<axum::Json<OrderPage>> {
    let limit = paging::limit(paging.limit, 20, 100)?;
    let after = match paging.cursor.as_deref() {
        Some(cursor) => Cursor::decode(cursor)?,
        None => Cursor::first(),
    };
    // One more than asked tells whether there is a next page.
    let mut rows = orders::page(&state.db, caller.user_id, after, limit + 1).await?;
    let next_cursor = if rows.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
        rows.truncate(rows.len() - 1);
        rows.last().map(|last| {
            let (created_at, id) = (last.created_at, last.id);
            Cursor { created_at, id }.encode()
        })
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|row| opened(row, &state.cipher))
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
    ))]
async fn create_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    JsonOrXml(order): JsonOrXml<NewOrder>,
) -> ApiResult<(StatusCode, HeaderMap, axum::Json<Order>)> {
    let id = Uuid::new_v4();
    let fields = Fields {
        item: Some(order.item.into_inner().into_inner()),
        quantity: Some(order.quantity.get()),
        note: order.note.map(|note| note.into_inner().into_inner()),
        shipping_address: seal(&state.cipher, order.shipping_address, id)?,
    };
    orders::insert(&state.db, id, caller.user_id, fields).await?;
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
        (status = 404, description = "No such order of the caller"),
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
        (status = 404, description = "No such order of the caller"),
    ))]
async fn update_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    Path(id): Path<Uuid>,
    Json(changes): Json<OrderChanges>,
) -> ApiResult<axum::Json<Order>> {
    let changes = Fields {
        item: changes.item.map(|item| item.into_inner().into_inner()),
        quantity: changes.quantity.map(Quantity::get),
        note: changes.note.map(|note| note.into_inner().into_inner()),
        shipping_address: seal(&state.cipher, changes.shipping_address, id)?,
    };
    if !orders::update(&state.db, id, caller.user_id, changes).await? {
        return Err(ApiError::NotFound);
    }
    fetch(&state, &caller, id).await.map(axum::Json)
}

/// Deletes one of the caller's orders.
#[utoipa::path(delete, path = "/v1/me/orders/{id}", tag = "orders", security(("bearer" = ["orders:write"])),
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 204, description = "Order deleted"),
        (status = 404, description = "No such order of the caller"),
    ))]
async fn delete_order(
    State(state): State<AppState>,
    Authorized(caller, _): Authorized<OrdersWrite>,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    if !orders::delete(&state.db, id, caller.user_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn fetch(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<Order> {
    let row = orders::get(&state.db, id, caller.user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    opened(row, &state.cipher)
}
