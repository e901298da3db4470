//! The login jail's counters, on `users`: one set of columns per budget
//! (`known_*` for the network of the account's last successful login, the
//! plain ones for everywhere else). The jail's rules are in `auth/jail.rs`;
//! counting and locking are one statement, so no failure between two
//! writes can leave an account at the limit without a lock.
use sqlx::Executor;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::Database;

/// Which of an account's two sets of counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counters {
    /// The network of the account's last successful login.
    Known,
    /// Everywhere else.
    Elsewhere,
}

/// The statements of one set of counters, each over its own columns.
struct Statements {
    count: &'static str,
    lengthen: &'static str,
}

// The same statements over each budget's columns, written out so that each
// reads as the SQL it is.
const KNOWN: Statements = Statements {
    count: "UPDATE users SET \
        known_failed_logins = CASE WHEN known_failed_logins + 1 >= $3 THEN 0 ELSE known_failed_logins + 1 END, \
        known_lockouts = CASE WHEN known_failed_logins + 1 >= $3 THEN known_lockouts + 1 ELSE known_lockouts END, \
        known_locked_until = CASE WHEN known_failed_logins + 1 >= $3 THEN $4 ELSE NULL END \
        WHERE id = $1 AND (known_locked_until IS NULL OR known_locked_until <= $2) \
        RETURNING known_lockouts, known_locked_until",
    lengthen: "UPDATE users SET known_locked_until = $3 \
        WHERE id = $1 AND known_lockouts = $2 AND known_locked_until IS NOT NULL",
};
const ELSEWHERE: Statements = Statements {
    count: "UPDATE users SET \
        failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END, \
        lockouts = CASE WHEN failed_logins + 1 >= $3 THEN lockouts + 1 ELSE lockouts END, \
        locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE NULL END \
        WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
        RETURNING lockouts, locked_until",
    lengthen: "UPDATE users SET locked_until = $3 \
        WHERE id = $1 AND lockouts = $2 AND locked_until IS NOT NULL",
};

impl Counters {
    fn statements(self) -> &'static Statements {
        match self {
            Self::Known => &KNOWN,
            Self::Elsewhere => &ELSEWHERE,
        }
    }
}

/// Counts a failure against `counters` unless they are locked at `now`;
/// the `limit`-th failure resets the count and locks them until
/// `lock_until`. `None` when locked already; else the lockouts so far and,
/// when this one locked, until when.
pub async fn count<'c>(
    db: impl Executor<'c, Database = Database>,
    user: Uuid,
    counters: Counters,
    limit: i32,
    now: OffsetDateTime,
    lock_until: OffsetDateTime,
) -> sqlx::Result<Option<(i32, Option<OffsetDateTime>)>> {
    sqlx::query_as(counters.statements().count)
        .bind(user)
        .bind(now)
        .bind(limit)
        .bind(lock_until)
        .fetch_optional(db)
        .await
}

/// Moves the end of lockout number `lockouts` to `until`, if it is still
/// the latest.
pub async fn lengthen<'c>(
    db: impl Executor<'c, Database = Database>,
    user: Uuid,
    counters: Counters,
    lockouts: i32,
    until: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(counters.statements().lengthen)
        .bind(user)
        .bind(lockouts)
        .bind(until)
        .execute(db)
        .await?;
    Ok(())
}

/// Empties `counters` after a successful login from `network`: the known
/// ones only while `network` is still the known one; the others make
/// `network` the known one, with fresh counters.
pub async fn reset<'c>(
    db: impl Executor<'c, Database = Database>,
    user: Uuid,
    counters: Counters,
    network: &str,
) -> sqlx::Result<()> {
    let statement = match counters {
        Counters::Known => {
            "UPDATE users SET known_failed_logins = 0, known_lockouts = 0, \
             known_locked_until = NULL WHERE id = $1 AND known_network = $2"
        }
        Counters::Elsewhere => {
            "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL, \
             known_network = $2, known_failed_logins = 0, known_lockouts = 0, \
             known_locked_until = NULL WHERE id = $1"
        }
    };
    sqlx::query(statement)
        .bind(user)
        .bind(network)
        .execute(db)
        .await?;
    Ok(())
}
