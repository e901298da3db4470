//! The weight baseline of ci/bench: the smallest axum + sqlx (SQLite)
//! service, built with the generated service's release settings.
use axum::{Router, routing::get};

#[tokio::main]
async fn main() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect("sqlite::memory:")
        .await
        .expect("SQLite opens");
    let app = Router::new().route(
        "/",
        get(move || {
            let pool = pool.clone();
            async move {
                let (n,): (i64,) = sqlx::query_as("SELECT 1")
                    .fetch_one(&pool)
                    .await
                    .expect("query");
                n.to_string()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    axum::serve(listener, app).await.expect("serves");
}
