//! A service generated for PostgreSQL checks, builds, runs and serves. Needs
//! the server on 127.0.0.1:5432 (`ci/setup` starts it).

#[test]
fn postgres_service_passes_its_checks_and_serves_the_api() {
    rampart_e2e::exercise(rampart_e2e::Database::Postgres);
}
