//! A service generated for SQLite (the default) checks, builds, runs and serves.

#[test]
fn sqlite_service_passes_its_checks_and_serves_the_api() {
    rampart_e2e::exercise(rampart_e2e::Database::Sqlite);
}
