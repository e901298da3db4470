//! The one place that knows which database the service was generated for.
//! Everything else uses `Db` and static SQL with `$n` parameters, which
//! PostgreSQL and SQLite both understand.
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::SqlSafeStr;
use sqlx_core::migrate::{MigrateDatabase, Migration, MigrationType, Migrator};
use time::OffsetDateTime;
{% if database == "postgres" %}
/// The database driver this service was generated with.
pub type Database = sqlx::Postgres;
/// A pool of connections to the database.
pub type Db = sqlx::PgPool;
/// A row of a query's result.
pub type Row = sqlx::postgres::PgRow;
type Options = sqlx::postgres::PgPoolOptions;
type ConnectOptions = sqlx::postgres::PgConnectOptions;
{% else %}
/// The database driver this service was generated with.
pub type Database = sqlx::Sqlite;
/// A pool of connections to the database.
pub type Db = sqlx::SqlitePool;
/// A row of a query's result.
pub type Row = sqlx::sqlite::SqliteRow;
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

/// `migrations/`, embedded by build.rs as (version, description, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The embedded migrations, with the versions, descriptions and checksums
/// sqlx gives them when it reads `migrations/` itself.
pub fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                // sqlx's opt-out of the transaction around a migration.
                let no_tx = sql.starts_with("-- no-transaction");
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    no_tx,
                )
            })
            .collect(),
    )
}

/// Applies the embedded migrations.
pub async fn migrate(pool: &Db) -> anyhow::Result<()> {
    let mut migrator = migrator();
    // CI-07: when a deploy rolls back, the previous release starts on the
    // schema the failed release already migrated. Migrations are additive
    // (expand, then contract), so versions newer than this binary knows are
    // not an error; edited or failed migrations still are.
    migrator.set_ignore_missing(true);
    migrator.run(pool).await?;
    Ok(())
}

{% if database == "sqlite" -%}
/// Begins a transaction that reads, then writes, holding SQLite's write
/// lock from the start (`BEGIN IMMEDIATE`): a deferred transaction that has
/// read cannot start writing once another connection has committed, and
/// would fail with "database is locked" instead of waiting its turn.
pub async fn begin_write(db: &Db) -> sqlx::Result<sqlx::Transaction<'static, Database>> {
    db.begin_with("BEGIN IMMEDIATE").await
}
{%- else -%}
/// Begins a transaction that reads, then writes (PostgreSQL's row locks
/// already make a concurrent writer wait its turn).
pub async fn begin_write(db: &Db) -> sqlx::Result<sqlx::Transaction<'static, Database>> {
    db.begin().await
}
{%- endif %}

/// The current time, truncated to whole seconds so that stored timestamps
/// compare and sort the same way in every database.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Whether the database answers (readiness).
pub async fn ping(db: &Db) -> sqlx::Result<()> {
    sqlx::query("SELECT 1").execute(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The embedded migrations are the ones sqlx reads from `migrations/`:
    // same versions, descriptions, SQL and checksums, so databases migrated
    // by earlier releases (built with `sqlx::migrate!`) still validate.
    #[tokio::test]
    async fn embedded_migrations_match_the_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let read = Migrator::new(dir).await.unwrap();
        let embedded = migrator();
        let key = |m: &Migration| {
            (
                m.version,
                m.description.to_string(),
                m.migration_type,
                m.sql.as_str().to_owned(),
                m.checksum.to_vec(),
                m.no_tx,
            )
        };
        let read: Vec<_> = read.iter().map(key).collect();
        assert!(read.len() >= 3, "{read:?}");
        assert_eq!(embedded.iter().map(key).collect::<Vec<_>>(), read);
    }
{%- if database == "sqlite" %}

    // The bundled SQLite is built as .cargo/config.toml says: plans that do
    // not depend on bound values, and no extension loading, full-text search
    // or R-trees.
    #[tokio::test]
    async fn bundled_sqlite_is_built_with_our_options() {
        let pool = Db::connect("sqlite::memory:").await.unwrap();
        for (option, wanted) in [
            ("ENABLE_QPSG", true),
            ("OMIT_LOAD_EXTENSION", true),
            ("ENABLE_FTS3", false),
            ("ENABLE_FTS5", false),
            ("ENABLE_RTREE", false),
        ] {
            let used: bool = sqlx::query_scalar("SELECT sqlite_compileoption_used($1)")
                .bind(option)
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(used, wanted, "SQLITE_{option}");
        }
    }
{%- endif %}

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
