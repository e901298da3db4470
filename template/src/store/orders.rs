//! Orders, each owned by one account: every query is scoped by owner, so
//! another account's order is indistinguishable from a missing one (PROC-02).
use sqlx::{FromRow, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    db::{self, Db},
    paging::Cursor,
};

/// An order as stored. The shipping address is sensitive, so it is sealed
/// (AUTH-05): the store sees only its sealed bytes.
pub struct OrderRow {
    pub id: Uuid,
    pub item: String,
    pub quantity: i32,
    pub note: Option<String>,
    pub shipping_address: Option<Vec<u8>>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
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

/// The fields of a new order, or the changes to one (`None`: unchanged).
pub struct Fields {
    pub item: Option<String>,
    pub quantity: Option<i32>,
    pub note: Option<String>,
    pub shipping_address: Option<Vec<u8>>,
}

/// Up to `limit` of the owner's orders after `after`, newest first.
pub async fn page(db: &Db, owner: Uuid, after: Cursor, limit: i64) -> sqlx::Result<Vec<OrderRow>> {
    let time = after.created_at;
    sqlx::query_as(
        "SELECT id, item, quantity, note, shipping_address, created_at, updated_at FROM orders \
         WHERE owner_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(owner)
    .bind(time.replace_nanosecond(0).unwrap_or(time))
    .bind(after.id)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Stores order `id` of `owner`; `new` holds every required field.
pub async fn insert(db: &Db, id: Uuid, owner: Uuid, new: Fields) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO orders (id, owner_id, item, quantity, note, shipping_address, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(id)
    .bind(owner)
    .bind(new.item)
    .bind(new.quantity)
    .bind(new.note)
    .bind(new.shipping_address)
    .bind(db::now())
    .execute(db)
    .await?;
    Ok(())
}

/// The owner's order `id`, if there is one.
pub async fn get(db: &Db, id: Uuid, owner: Uuid) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(
        "SELECT id, item, quantity, note, shipping_address, created_at, updated_at \
         FROM orders WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner)
    .fetch_optional(db)
    .await
}

/// Applies `changes` to the owner's order `id`; false when there is none.
pub async fn update(db: &Db, id: Uuid, owner: Uuid, changes: Fields) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE orders SET item = COALESCE($3, item), quantity = COALESCE($4, quantity), \
         note = COALESCE($5, note), shipping_address = COALESCE($6, shipping_address), updated_at = $7 \
         WHERE id = $1 AND owner_id = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(changes.item)
    .bind(changes.quantity)
    .bind(changes.note)
    .bind(changes.shipping_address)
    .bind(db::now())
    .execute(db)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

/// Deletes the owner's order `id`; false when there is none.
pub async fn delete(db: &Db, id: Uuid, owner: Uuid) -> sqlx::Result<bool> {
    let deleted = sqlx::query("DELETE FROM orders WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner)
        .execute(db)
        .await?
        .rows_affected();
    Ok(deleted > 0)
}
