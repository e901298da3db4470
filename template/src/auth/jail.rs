//! Login jail (AUTH-03): after `MAX_FAILURES` failed logins an account is
//! refused, even with the right password, for a window that doubles with
//! each lockout. The state lives in the `users` table, so it survives
//! restarts and every instance shares it; it is per account, so no
//! `X-Forwarded-For` trick escapes it.
use std::time::Duration;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    db::{self, Db},
    error::ApiResult,
};

pub const MAX_FAILURES: i32 = 5;
/// The longest lockout, however often it repeats.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone, Copy)]
pub struct Jail {
    /// The first lockout's length; each later one doubles it.
    pub base: Duration,
}

impl Jail {
    pub fn is_locked(locked_until: Option<OffsetDateTime>) -> bool {
        locked_until.is_some_and(|until| until > OffsetDateTime::now_utc())
    }

    /// Counts a failed login; the fifth in a row locks the account.
    pub async fn record_failure(&self, db: &Db, user: Uuid) -> ApiResult<()> {
        let (failures, lockouts): (i32, i32) = sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 \
             RETURNING failed_logins, lockouts",
        )
        .bind(user)
        .fetch_one(db)
        .await?;
        if failures >= MAX_FAILURES {
            let window = self.window(lockouts);
            sqlx::query(
                "UPDATE users SET failed_logins = 0, lockouts = lockouts + 1, locked_until = $2 \
                 WHERE id = $1",
            )
            .bind(user)
            .bind(db::now() + window)
            .execute(db)
            .await?;
            tracing::warn!(event = "auth.locked", user_id = %user, seconds = window.as_secs());
            crate::http::Counter::AuthLockouts.increment();
        }
        Ok(())
    }

    /// A successful login clears the record.
    pub async fn record_success(db: &Db, user: Uuid) -> ApiResult<()> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, lockouts = 0, locked_until = NULL \
             WHERE id = $1 AND (failed_logins > 0 OR lockouts > 0)",
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
