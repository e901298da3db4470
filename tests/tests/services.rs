//! One generated service per database, each through its own CI and over real
//! HTTP. The two run side by side (cargo runs a binary's tests in parallel):
//! one's builds overlap the other's test runs, fuzzing and waits. The
//! PostgreSQL service needs the server on 127.0.0.1:5432 (`ci/setup` starts
//! it).

/// `rampart new`, its CI (coverage included), the release binary served and
/// hardened from outside, then CI-07 for real: a broken release deployed
/// with its own deploy script is rolled back without data loss.
#[test]
fn sqlite_service_passes_its_ci_serves_and_rolls_back_a_broken_release() {
    rampart_e2e::exercise(rampart_e2e::Database::Sqlite);
}

/// Generated from an older template, edited, then moved to this one with
/// `rampart update --set database=postgres`; its CI passes, it serves, and
/// each of its CI gates fails once the service is broken on purpose.
#[test]
fn postgres_service_updated_to_this_template_passes_its_ci_and_every_gate_bites() {
    rampart_e2e::exercise(rampart_e2e::Database::Postgres);
}
