//! The one place that knows which database the service was generated for.
//! Everything else uses `Db` and static SQL with `$n` parameters, which
//! PostgreSQL and SQLite both understand.
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::migrate::MigrateDatabase;
use time::OffsetDateTime;
{% if database == "postgres" %}
/// The database driver this service was generated with.
pub type Database = sqlx::Postgres;
/// A pool of connections to the database.
pub type Db = sqlx::PgPool;
type Options = sqlx::postgres::PgPoolOptions;
type ConnectOptions = sqlx::postgres::PgConnectOptions;
{% else %}
/// The database driver this service was generated with.
pub type Database = sqlx::Sqlite;
/// A pool of connections to the database.
pub type Db = sqlx::SqlitePool;
type Options = sqlx::sqlite::SqlitePoolOptions;
type ConnectOptions = sqlx::sqlite::SqliteConnectOptions;
{% endif %}
/// Opens a pool, creating the database first when it does not exist yet
/// (the embedded SQLite file on first start, or an empty PostgreSQL database).
pub async fn connect(url: &SecretString) -> anyhow::Result<Db> {
    let url = url.expose_secret();
    create_if_missing(url).await?;
    let options: ConnectOptions = url.parse()?;
{%- if database == "sqlite" %}
    // Write-ahead logging: readers (every request's session check) no longer
    // wait behind writers (logins, new orders). Commits stay fully synced.
    let options = options.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
{%- endif %}
    let pool = Options::new()
        .max_connections(16)
        // A request waiting longer than this for a connection gets a 503.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    Ok(pool)
}

async fn create_if_missing(url: &str) -> anyhow::Result<()> {
{%- if database == "sqlite" %}
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
{%- endif %}
    if !Database::database_exists(url).await? {
        Database::create_database(url).await?;
    }
    Ok(())
}

/// Applies the migrations embedded from `migrations/` at build time.
pub async fn migrate(pool: &Db) -> anyhow::Result<()> {
    let mut migrator = sqlx::migrate!("./migrations");
    // CI-07: when a deploy rolls back, the previous release starts on the
    // schema the failed release already migrated. Migrations are additive
    // (expand, then contract), so versions newer than this binary knows are
    // not an error; edited or failed migrations still are.
    migrator.set_ignore_missing(true);
    migrator.run(pool).await?;
    Ok(())
}

/// The current time, truncated to whole seconds so that stored timestamps
/// compare and sort the same way in every database.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    // PROC-05: sqlx accepts SQL only as a `&'static str` unless it is wrapped
    // in its assertion type; with that wrapper absent from the code, no SQL
    // can be built from input.
    #[test]
    fn proc_05_every_sql_statement_is_static() {
        let marker = concat!("AssertSql", "Safe");
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files += 1;
                    let text = std::fs::read_to_string(&path).unwrap();
                    assert!(
                        !text.contains(marker),
                        "{} builds SQL dynamically",
                        path.display()
                    );
                }
            }
        }
        assert!(files > 10);
    }
}
