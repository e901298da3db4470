//! Login jail (AUTH-03): an account allows `MAX_FAILURES` login attempts
//! without a success; the last of them locks it, even against the right
//! password, for a window that doubles with each lockout. The state lives
//! in the `users` table, so it survives restarts and every instance shares
//! it; it is per account, so no `X-Forwarded-For` trick escapes it.
//!
//! An account has two budgets: one for the network of its last successful
//! login (its owner's home or office, most likely) and one for everywhere
//! else. Strangers who know the address can keep it locked everywhere else,
//! but not on its owner's network, and a guesser gets each budget once.
//!
//! Each attempt is counted as it starts, beside the password hash, not
//! after the verdict: parallel guesses cannot slip past the limit while
//! their hashes run (the race that beats counters bumped after the check),
//! and the count's write hides behind the hash, so a wrong password takes as
//! long as an unknown e-mail (AUTH-04). The price: more than five logins to
//! one account in flight at once are refused until one succeeds; machines
//! sharing an identity should call with an application key instead.
//!
//! Counting and locking are one statement (`platform/store/jail.rs`), so no
//! failure between two writes can leave an account at the limit without a
//! lock (refused for good); the login handler settles each counted attempt
//! in a task of its own, so a client that gives up cannot leave a right
//! password counted as a failure.
use std::{net::IpAddr, time::Duration};

use ipnet::IpNet;
use uuid::Uuid;

use crate::{
    db::{self, Db},
    platform::store::jail::{self, Counters},
};

pub const MAX_FAILURES: i32 = 5;
/// The longest lockout, however often it repeats.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// How much of a client's address names its network: a typical IPv4
/// office or home block, and the IPv6 block a home or site is given.
const V4_NETWORK: u8 = 24;
const V6_NETWORK: u8 = 56;

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

/// Which of an account's two budgets an attempt counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// From the network of the account's last successful login.
    Known,
    /// From anywhere else, or before any login succeeded.
    Elsewhere,
}

impl Budget {
    /// The budget of an attempt from `client` on an account whose last
    /// successful login came from `known_network`.
    pub fn of(client: IpAddr, known_network: Option<&str>) -> Self {
        if known_network == Some(network(client).as_str()) {
            Self::Known
        } else {
            Self::Elsewhere
        }
    }

    /// How logs name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Known => "known_network",
            Self::Elsewhere => "elsewhere",
        }
    }

    /// Its counters in the store.
    fn counters(self) -> Counters {
        match self {
            Self::Known => Counters::Known,
            Self::Elsewhere => Counters::Elsewhere,
        }
    }
}

/// The network `client` belongs to, as stored in `known_network`.
pub fn network(client: IpAddr) -> String {
    let prefix = match client.to_canonical() {
        IpAddr::V4(_) => V4_NETWORK,
        IpAddr::V6(_) => V6_NETWORK,
    };
    IpNet::new(client.to_canonical(), prefix)
        .map(|net| net.trunc().to_string())
        .unwrap_or_else(|_| client.to_string())
}

impl Jail {
    /// Counts a login attempt against `budget` of `user`'s account; the
    /// attempt that reaches the limit locks that budget in the same
    /// statement, for the first window. Attempts while it is locked are not
    /// counted, so the next window starts afresh.
    pub async fn attempt(&self, db: &Db, user: Uuid, budget: Budget) -> sqlx::Result<Attempt> {
        let now = db::now();
        let counters = budget.counters();
        let counted = jail::count(db, user, counters, MAX_FAILURES, now, now + self.base).await?;
        match counted {
            None => Ok(Attempt::Refused),
            Some((_, None)) => Ok(Attempt::Open),
            Some((lockouts, Some(_))) => Ok(Attempt::Locking(
                self.lengthen(db, user, budget, lockouts).await,
            )),
        }
    }

    /// Stretches the lock just set (the budget's `lockouts`-th) to its
    /// doubled window. Best effort: if this write fails the first window
    /// still stands, and a lock set since is left alone.
    async fn lengthen(&self, db: &Db, user: Uuid, budget: Budget, lockouts: i32) -> Duration {
        let window = self.window(lockouts - 1);
        if window == self.base {
            return window;
        }
        let until = db::now() + window;
        match jail::lengthen(db, user, budget.counters(), lockouts, until).await {
            Ok(_) => window,
            Err(error) => {
                tracing::error!(event = "auth.jail_failed", user_id = %user, %error);
                self.base
            }
        }
    }

    /// A right password reopens the budget it was counted against, and its
    /// network becomes the account's known one. From a new network, that
    /// network starts with a fresh budget; the known network's lock, set by
    /// whoever guessed there, does not bind everywhere else.
    pub async fn record_success(
        db: &Db,
        user: Uuid,
        client: IpAddr,
        budget: Budget,
    ) -> sqlx::Result<()> {
        jail::reset(db, user, budget.counters(), &network(client)).await
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

    // AUTH-03: a network is an IPv4 /24 or an IPv6 /56, IPv4-mapped
    // addresses counted as IPv4, so one home or office shares one budget.
    #[test]
    fn auth_03_networks_group_a_site() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(network(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network(ip("::ffff:203.0.113.77")), "203.0.113.0/24");
        assert_eq!(network(ip("2001:db8:1:2ff:1::9")), "2001:db8:1:200::/56");
        let known = Some("203.0.113.0/24");
        assert_eq!(Budget::of(ip("203.0.113.5"), known), Budget::Known);
        assert_eq!(Budget::of(ip("203.0.114.5"), known), Budget::Elsewhere);
        assert_eq!(Budget::of(ip("203.0.113.5"), None), Budget::Elsewhere);
    }

    proptest::proptest! {
        // AUTH-03: every address falls in the network it is stored under,
        // and an address of another network never spends the known budget.
        #[test]
        fn auth_03_an_address_is_known_only_on_its_network(
            one in proptest::prelude::any::<IpAddr>(),
            other in proptest::prelude::any::<IpAddr>(),
        ) {
            let known = network(one);
            let net: IpNet = known.parse().unwrap();
            proptest::prop_assert!(net.contains(&one.to_canonical()));
            proptest::prop_assert_eq!(Budget::of(one, Some(&known)), Budget::Known);
            let same = net.contains(&other.to_canonical());
            proptest::prop_assert_eq!(Budget::of(other, Some(&known)) == Budget::Known, same);
        }
    }
}
