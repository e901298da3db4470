//! CI-07: a release that fails its health gate is rolled back automatically to
//! the previous one, which serves again with every row written before.

use rampart_e2e::{Database, deploy::broken_release_is_rolled_back_without_data_loss};

#[test]
fn sqlite_broken_release_is_rolled_back_without_data_loss() {
    broken_release_is_rolled_back_without_data_loss(Database::Sqlite);
}

#[test]
fn postgres_broken_release_is_rolled_back_without_data_loss() {
    broken_release_is_rolled_back_without_data_loss(Database::Postgres);
}
