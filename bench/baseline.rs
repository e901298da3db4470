//! The hot-path baseline of ci/bench: `GET /v1/me/orders` as a plain axum
//! handler running the service's own query on the same SQLite database, with
//! no security layer at all: no token or session check, no rate limit,
//! headers, timeouts or tracing, and the shipping address left sealed.
//! ci/bench builds it inside a copy of the generated service, so it shares
//! the service's dependencies and release settings.
use axum::{Json, Router, extract::State, routing::get};
use serde::Serialize;
use sqlx::{
    FromRow, Row,
    sqlite::{SqlitePool, SqlitePoolOptions, SqliteRow},
};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Clone)]
struct App {
    pool: SqlitePool,
    owner: Uuid,
}

#[derive(Serialize)]
struct Order {
    id: Uuid,
    item: String,
    quantity: i32,
    note: Option<String>,
    #[serde(skip)]
    #[allow(dead_code)]
    shipping_address: Option<Vec<u8>>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    updated_at: OffsetDateTime,
}

// Rows are read as the service reads them, without sqlx's derive macro.
impl<'r> FromRow<'r, SqliteRow> for Order {
    fn from_row(row: &'r SqliteRow) -> sqlx::Result<Self> {
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

#[derive(Serialize)]
struct Page {
    items: Vec<Order>,
    next_cursor: Option<String>,
}

async fn list(State(app): State<App>) -> Json<Page> {
    let mut items: Vec<Order> = sqlx::query_as(
        "SELECT id, item, quantity, note, shipping_address, created_at, updated_at \
         FROM orders WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(app.owner)
    .bind(21_i64)
    .fetch_all(&app.pool)
    .await
    .expect("the orders query runs");
    items.truncate(20);
    Json(Page {
        items,
        next_cursor: None,
    })
}

#[tokio::main]
async fn main() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let owner = Uuid::parse_str(&var("BENCH_OWNER")).expect("BENCH_OWNER is a UUID");
    // The service's pool settings (src/platform/db.rs).
    let pool = SqlitePoolOptions::new()
        .max_connections(16)
        .connect(&var("BENCH_DATABASE_URL"))
        .await
        .expect("the database opens");
    let app = Router::new()
        .route("/v1/me/orders", get(list))
        .with_state(App { pool, owner });
    let listener = tokio::net::TcpListener::bind(var("BENCH_ADDR"))
        .await
        .expect("BENCH_ADDR is free");
    axum::serve(listener, app).await.expect("serves");
}
