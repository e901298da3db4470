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
//!
//! Counting and locking are one statement, so no failure between two writes
//! can leave an account at the limit without a lock (refused for good); the
//! login handler settles each counted attempt in a task of its own, so a
//! client that gives up cannot leave a right password counted as a failure.
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
    /// The account is locked: refused whatever the password.
    Refused,
}

impl Jail {
    /// Counts a login attempt on `user`'s account; the attempt that reaches
    /// the limit locks the account in the same statement, for the first
    /// window. Attempts while it is locked are not counted, so the next
    /// window starts afresh.
    pub async fn attempt(&self, db: &Db, user: Uuid) -> sqlx::Result<Attempt> {
        let now = db::now();
        let counted: Option<(i32, Option<time::OffsetDateTime>)> = sqlx::query_as(
            "UPDATE users SET \
               failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END, \
               lockouts = CASE WHEN failed_logins + 1 >= $3 THEN lockouts + 1 ELSE lockouts END, \
               locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE NULL END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) \
             RETURNING lockouts, locked_until",
        )
        .bind(user)
        .bind(now)
        .bind(MAX_FAILURES)
        .bind(now + self.base)
        .fetch_optional(db)
        .await?;
        match counted {
            None => Ok(Attempt::Refused),
            Some((_, None)) => Ok(Attempt::Open),
            Some((lockouts, Some(_))) => {
                Ok(Attempt::Locking(self.lengthen(db, user, lockouts).await))
            }
        }
    }

    /// Stretches the lock just set (the account's `lockouts`-th) to its
    /// doubled window. Best effort: if this write fails the first window
    /// still stands, and a lock set since is left alone.
    async fn lengthen(&self, db: &Db, user: Uuid, lockouts: i32) -> Duration {
        let window = self.window(lockouts - 1);
        if window == self.base {
            return window;
        }
        let lengthened = sqlx::query(
            "UPDATE users SET locked_until = $3 WHERE id = $1 AND lockouts = $2 AND locked_until IS NOT NULL",
        )
        .bind(user)
        .bind(lockouts)
        .bind(db::now() + window)
        .execute(db)
        .await;
        match lengthened {
            Ok(_) => window,
            Err(error) => {
                tracing::error!(event = "auth.jail_failed", user_id = %user, %error);
                self.base
            }
        }
    }

    /// A right password reopens the account: the attempts it made count for
    /// nothing, and the next lockout starts from the first window.
    pub async fn record_success(db: &Db, user: Uuid) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL WHERE id = $1",
        )
        .bind(user)
        .execute(db)
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
