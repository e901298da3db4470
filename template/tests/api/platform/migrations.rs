use reqwest::StatusCode;
use sqlx_core::migrate::{MigrateError, Migrator};

use {{crate_name}}::db;

use crate::helpers::{TempDir, spawn_app};

// CI-07: after a rollback, the previous release runs on the schema the failed
// release migrated. Migrations are additive, so the service accepts versions
// newer than it knows, where plain sqlx would refuse to start.
#[tokio::test]
async fn ci_07_older_release_starts_on_a_newer_schema() {
    let app = spawn_app().await;
    let newer = TempDir::new();
    let ours = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(ours).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        newer.write(&name, std::fs::read_to_string(&path).unwrap());
    }
    newer.write(
        "9999_newer_release.sql",
        "CREATE TABLE newer_release_probe (id INTEGER PRIMARY KEY);\n".to_owned(),
    );
    Migrator::new(newer.path())
        .await
        .unwrap()
        .run(&app.db)
        .await
        .expect("the newer release migrates");

    let mut strict = db::migrator();
    // Unlocked: a failed run would keep PostgreSQL's advisory lock on its
    // pooled connection, and the run below would wait for it forever.
    strict.set_locking(false);
    let strict = strict.run(&app.db).await;
    assert!(
        matches!(strict, Err(MigrateError::VersionMissing(9999))),
        "plain sqlx accepted an unknown migration, so this test proves nothing: {strict:?}"
    );
    db::migrate(&app.db)
        .await
        .expect("the older release starts on the newer schema");
    let replica = app.sibling().await;
    let ready = replica
        .client
        .get(replica.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
}
