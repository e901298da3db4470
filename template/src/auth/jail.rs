//! Login jail (AUTH-03): an account allows `MAX_FAILURES` login attempts
//! without a success; the last of them locks it, even against the right
//! password, for a window that doubles with each lockout. The state lives
//! in the `users` table, so it survives restarts and every instance shares
//! it; it is per account, so no `X-Forwarded-For` trick escapes it.
//!
//! Each attempt is counted as it starts, beside the password hash, not
//! after the verdict: parallel guesses cannot slip past the limit while
//! their hashes run (the race that beats counters bumped after the check),
//! and the count's write hides behind the hash, so a wrong password takes as
//! long as an unknown e-mail (AUTH-04). The price: more than five logins to
//! one account in flight at once are refused until one succeeds; machines
//! sharing an identity should call with an application key instead.
use std::time::Duration;

use uuid::Uuid;

use crate::db::{self, Db};

pub const MAX_FAILURES: i32 = 5;
/// The longest lockout, however often it repeats.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone, Copy)]
pub struct Jail {
    /// The first lockout's length; each later one doubles it.
    pub base: Duration,
}

/// What the jail makes of one login attempt, before its password is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Within the limit: the password decides.
    Open,
    /// The last attempt allowed: the account is now locked for this long,
    /// unless this attempt's password is right (`record_success` reopens it).
    Locking(Duration),
    /// The account is locked, or the limit is spent: refused whatever the
    /// password.
    Refused,
}

impl Jail {
    /// Counts a login attempt on `user`'s account. Attempts while the
    /// account is locked are not counted, so the next window starts afresh.
    pub async fn attempt(&self, db: &Db, user: Uuid) -> sqlx::Result<Attempt> {
        let now = db::now();
        let counted: Option<(i32, i32)> = sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1 \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
             RETURNING failed_logins, lockouts",
        )
        .bind(user)
        .bind(now)
        .fetch_optional(db)
        .await?;
        let Some((attempts, lockouts)) = counted else {
            return Ok(Attempt::Refused);
        };
        if attempts < MAX_FAILURES {
            return Ok(Attempt::Open);
        }
        if attempts > MAX_FAILURES {
            return Ok(Attempt::Refused);
        }
        // Only the attempt that reached the limit locks; the guard keeps a
        // lock set meanwhile from being set twice.
        let window = self.window(lockouts);
        let locked = sqlx::query(
            "UPDATE users SET failed_logins = 0, lockouts = lockouts + 1, locked_until = $2 \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $3)",
        )
        .bind(user)
        .bind(now + window)
        .bind(now)
        .execute(db)
        .await?;
        Ok(if locked.rows_affected() == 1 {
            Attempt::Locking(window)
        } else {
            Attempt::Refused
        })
    }

    /// A successful login clears the record, in the login's transaction.
    pub async fn record_success(
        tx: &mut sqlx::Transaction<'_, db::Database>,
        user: Uuid,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(user)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// `base`, doubled for each earlier lockout, at most a day.
    fn window(&self, earlier_lockouts: i32) -> Duration {
        let doublings = u32::try_from(earlier_lockouts.clamp(0, 16)).unwrap_or(16);
        self.base.saturating_mul(1 << doublings).min(MAX_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // AUTH-03: each lockout doubles the window, up to a day.
    #[test]
    fn auth_03_lockout_window_doubles() {
        let jail = Jail {
            base: Duration::from_secs(300),
        };
        assert_eq!(jail.window(0), Duration::from_secs(300));
        assert_eq!(jail.window(1), Duration::from_secs(600));
        assert_eq!(jail.window(3), Duration::from_secs(2400));
        assert_eq!(jail.window(40), MAX_WINDOW);
    }
}
