//! The Cargo.lock `rampart new` writes is current and exactly what cargo
//! itself writes, whatever the service's name: `cargo update --workspace`,
//! which rewrites a lock that is stale or out of cargo's order, leaves it
//! byte for byte as it was. Needs the crates.io index (cargo fetches it).

use std::process::Command;

use rampart::{NewOptions, new_service};

fn locked_service(name: &str, database: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let created = new_service(&NewOptions {
        name: name.into(),
        database: Some(database.into()),
        path: Some(dir.path().join(name)),
        git: false,
        template: None,
    })
    .unwrap_or_else(|e| panic!("rampart new {name}: {e}"));
    assert!(
        created.files.iter().any(|f| f == "Cargo.lock"),
        "no Cargo.lock for {database}"
    );
    let path = created.path;
    (dir, path)
}

#[test]
fn every_database_gets_a_current_lock_in_cargo_order() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // First, middle and last place among the dependencies; a hyphen sorts
    // before the underscores of serde_json and its kin.
    for (name, database) in [
        ("a", "sqlite"),
        ("serde-api", "sqlite"),
        ("zz-orders", "postgres"),
        (
            "e2e-postgres-orders-platform-service-with-a-long-name",
            "postgres",
        ),
    ] {
        let (_dir, service) = locked_service(name, database);
        let written = std::fs::read_to_string(service.join("Cargo.lock")).unwrap();
        let out = Command::new(&cargo)
            .args(["update", "--workspace", "--quiet"])
            .current_dir(&service)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo update: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let after = std::fs::read_to_string(service.join("Cargo.lock")).unwrap();
        if after != written {
            let changed: Vec<String> = similar::TextDiff::from_lines(&written, &after)
                .unified_diff()
                .to_string()
                .lines()
                .take(40)
                .map(str::to_owned)
                .collect();
            panic!(
                "template/locks/{database}.lock is stale or out of cargo's order for `{name}`: \
                 run ci/locks. cargo changed it:\n{}",
                changed.join("\n")
            );
        }
    }
}
