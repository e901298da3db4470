//! The library API the CLI and the end-to-end tests share.

use rampart::{Error, NewOptions, new_service};

#[test]
fn new_service_creates_the_directory_it_reports() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NewOptions {
        name: "lib-api".into(),
        database: Some("postgres".into()),
        path: Some(dir.path().join("svc")),
        git: false,
        template: None,
    };
    let created = new_service(&opts).expect("service is created");
    assert_eq!(created.path, dir.path().join("svc"));
    assert!(created.path.join("Cargo.toml").is_file());
    assert!(created.files.iter().any(|f| f == "Cargo.toml"));
    assert_eq!(created.answers["database"].to_string(), "postgres");
    assert!(!created.git_initialized);
}

#[test]
fn validation_errors_map_to_exit_code_two() {
    let dir = tempfile::tempdir().unwrap();
    let opts = NewOptions {
        name: "Bad Name".into(),
        database: None,
        path: Some(dir.path().join("svc")),
        git: false,
        template: None,
    };
    let err = new_service(&opts).unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
    assert_eq!(err.exit_code(), 2);
    assert!(!dir.path().join("svc").exists());
}
