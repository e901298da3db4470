//! Per-client rate limits (ACC-01), keyed on the address `client::identify`
//! resolved, so a forged `X-Forwarded-For` cannot spread one client over many
//! keys. An IPv6 client is counted by its /64, the block one host is commonly
//! given, so it cannot draw fresh budgets from its own addresses. Over the
//! limit: 429 with `Retry-After` and a problem body.
//!
//! The algorithm is GCRA: each client has a theoretical arrival time (TAT),
//! which every allowed request pushes one interval later; a request is refused
//! while the TAT is more than a burst ahead of now. One integer per client,
//! behind one of a few locks, in tables of fixed capacity: a client whose TAT
//! has passed has a full burst again and is forgotten when room is needed; when
//! every slot holds a client still being limited, a new client is refused
//! rather than the table grown, so memory is bounded whatever the traffic.
use std::{
    collections::HashMap,
    future::Future,
    hash::{BuildHasher, RandomState},
    net::{IpAddr, Ipv6Addr},
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    extract::{Request, State},
    middleware::{FromFnLayer, Next, from_fn_with_state},
    response::{IntoResponse, Response},
};

use super::client::ClientAddr;
use crate::error::ApiError;

/// Independent locks, so that concurrent clients seldom wait for each other.
const SHARDS: usize = 16;
/// Clients tracked per shard: 32,768 in all, about 2 MiB per limiter at most.
/// Only clients with budget still to earn back take a slot for long: one
/// request holds a slot for one interval.
const SHARD_CAPACITY: usize = 2_048;

/// Requests allowed per client: `per_minute` a minute, in bursts of up to as many.
pub struct Limiter {
    /// Time between two requests at the sustained rate, in nanoseconds.
    interval: u64,
    /// How far ahead of now a client's TAT may run: the burst, in nanoseconds.
    burst: u64,
    start: Instant,
    /// Each client's TAT, in nanoseconds since `start`, by `key`.
    shards: [Mutex<HashMap<IpAddr, u64>>; SHARDS],
    /// Most clients a shard tracks.
    capacity: usize,
    /// Keyed at random, so that no one can aim many addresses at one shard.
    shard_of: RandomState,
}

/// Why a request was refused, with the wait before a retry can pass.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client is over its own limit.
    Limited(Duration),
    /// The client is new and its shard is full of clients still being
    /// limited: it is shed until the first of them is forgotten.
    Full(Duration),
}

impl Limiter {
    pub fn per_minute(per_minute: u32) -> Self {
        Self::with_capacity(per_minute, SHARD_CAPACITY)
    }

    fn with_capacity(per_minute: u32, capacity: usize) -> Self {
        let per_minute = u64::from(per_minute.max(1));
        let interval = 60_000_000_000 / per_minute;
        Self {
            interval,
            burst: interval * per_minute,
            start: Instant::now(),
            shards: std::array::from_fn(|_| Mutex::default()),
            capacity: capacity.max(1),
            shard_of: RandomState::new(),
        }
    }

    /// Counts a request from `client`.
    pub fn check(&self, client: IpAddr) -> Result<(), Refusal> {
        self.check_at(client, self.now())
    }

    fn check_at(&self, client: IpAddr, now: u64) -> Result<(), Refusal> {
        let key = key(client);
        let shard = self.shard_of.hash_one(key) as usize % SHARDS;
        let mut tats = lock(&self.shards[shard]);
        let known = tats.get(&key).copied();
        let next = known.map_or(now, |tat| tat.max(now)) + self.interval;
        if next - now > self.burst {
            return Err(Refusal::Limited(Duration::from_nanos(
                next - self.burst - now,
            )));
        }
        if known.is_none() && tats.len() >= self.capacity {
            // Clients whose TAT has passed are back to a full burst: exactly
            // as if they had never called, so forgetting them loses nothing.
            tats.retain(|_, tat| *tat > now);
            if tats.len() >= self.capacity {
                let first_free = tats.values().min().copied().unwrap_or(now);
                return Err(Refusal::Full(Duration::from_nanos(first_free - now)));
            }
        }
        tats.insert(key, next);
        Ok(())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX / 2)
    }
}

/// What `client` is counted under: an IPv4 address as itself (also when it
/// arrives IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64.
fn key(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
    }
}

/// The maps hold plain integers, whole after any panic: a poisoned lock is safe to use.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// A fn pointer returning a boxed future, so that the layer's type has a name.
type Check =
    fn(State<Arc<Limiter>>, Request, Next) -> Pin<Box<dyn Future<Output = Response> + Send>>;
pub type RateLimitLayer = FromFnLayer<Check, Arc<Limiter>, (State<Arc<Limiter>>, Request)>;

/// Allows `per_minute` requests a minute per client, in bursts of up to as many.
pub fn per_minute(per_minute: u32) -> RateLimitLayer {
    from_fn_with_state(Arc::new(Limiter::per_minute(per_minute)), check as Check)
}

fn check(
    State(limiter): State<Arc<Limiter>>,
    request: Request,
    next: Next,
) -> Pin<Box<dyn Future<Output = Response> + Send>> {
    Box::pin(async move {
        let Some(ClientAddr(client)) = request.extensions().get::<ClientAddr>().copied() else {
            // Behind `client::identify` it is always there: fail closed.
            return ApiError::Internal(anyhow::anyhow!("rate limit: no client address"))
                .into_response();
        };
        let (event, wait) = match limiter.check(client) {
            Ok(()) => return next.run(request).await,
            Err(Refusal::Limited(wait)) => ("ratelimit.exceeded", wait),
            Err(Refusal::Full(wait)) => ("ratelimit.shed", wait),
        };
        // Whole seconds, rounded up: retrying sooner would be refused.
        let wait = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        tracing::warn!(event, retry_after = wait);
        crate::telemetry::Counter::RateLimited.increment();
        ApiError::TooManyRequests(wait.max(1)).into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn v6(address: &str) -> IpAddr {
        address.parse().unwrap()
    }

    fn tracked(limiter: &Limiter) -> usize {
        limiter.shards.iter().map(|s| lock(s).len()).sum()
    }

    // ACC-01: a full burst passes, the next request is refused with the wait
    // until one interval has been earned back, and it passes after that wait.
    #[test]
    fn acc_01_burst_then_one_per_interval() {
        let limiter = Limiter::per_minute(6); // one every 10 s, bursts of 6
        let start = 1_000 * SECOND;
        for n in 0..6 {
            assert_eq!(limiter.check_at(ip(1), start), Ok(()), "request {n}");
        }
        assert_eq!(
            limiter.check_at(ip(1), start + 4 * SECOND),
            Err(Refusal::Limited(Duration::from_secs(6)))
        );
        assert!(limiter.check_at(ip(1), start + 10 * SECOND - 1).is_err());
        assert_eq!(limiter.check_at(ip(1), start + 10 * SECOND), Ok(()));
        assert!(limiter.check_at(ip(1), start + 10 * SECOND).is_err());
        // A refused request earns nothing: the next slot is still 10 s later.
        assert_eq!(limiter.check_at(ip(1), start + 20 * SECOND), Ok(()));
    }

    // ACC-01: each client has its own budget.
    #[test]
    fn acc_01_clients_are_counted_apart() {
        let limiter = Limiter::per_minute(2);
        let now = 60 * SECOND;
        assert!(limiter.check_at(ip(1), now).is_ok());
        assert!(limiter.check_at(ip(1), now).is_ok());
        assert!(limiter.check_at(ip(1), now).is_err());
        assert!(limiter.check_at(ip(2), now).is_ok());
        assert!(limiter.check_at(v6("2001:db8::1"), now).is_ok());
        assert!(limiter.check_at(v6("2001:db8:0:1::1"), now).is_ok());
    }

    // ACC-01: an IPv6 client is counted by its /64, an IPv4-mapped address as
    // the IPv4 address it maps; IPv4 addresses stay whole.
    #[test]
    fn acc_01_clients_are_keyed_on_their_64() {
        for (address, counted_as) in [
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
            ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"),
            ("2001:db8:1:3::1", "2001:db8:1:3::"),
            ("fe80::1", "fe80::"),
            ("::1", "::"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            ("198.51.100.7", "198.51.100.7"),
            ("198.51.100.8", "198.51.100.8"),
        ] {
            assert_eq!(key(v6(address)), v6(counted_as), "{address}");
        }
        let limiter = Limiter::per_minute(2);
        assert!(limiter.check_at(v6("2001:db8:1:2::1"), 0).is_ok());
        assert!(limiter.check_at(v6("2001:db8:1:2::2"), 0).is_ok());
        assert!(limiter.check_at(v6("2001:db8:1:2:a:b:c:d"), 0).is_err());
        assert!(limiter.check_at(v6("::ffff:192.0.2.9"), 0).is_ok());
        assert!(limiter.check_at(v6("192.0.2.9"), 0).is_ok());
        assert!(limiter.check_at(v6("::ffff:192.0.2.9"), 0).is_err());
    }

    // A long pause restores a full burst, never more.
    #[test]
    fn idle_time_restores_the_burst_only() {
        let limiter = Limiter::per_minute(3);
        for _ in 0..3 {
            assert!(limiter.check_at(ip(1), 0).is_ok());
        }
        let later = 3_600 * SECOND;
        for _ in 0..3 {
            assert!(limiter.check_at(ip(1), later).is_ok());
        }
        assert!(limiter.check_at(ip(1), later).is_err());
    }

    // ACC-01: however many clients call, the table never tracks more than its
    // capacity: clients whose budget is whole again make room, and when all
    // are still limited a new client is shed, with the wait until a slot frees.
    #[test]
    fn acc_01_the_client_table_is_bounded() {
        let limiter = Limiter::with_capacity(60, 4); // one a second; 64 clients in all
        let cap = 4 * SHARDS;
        let client = |n: u32| {
            IpAddr::V6(Ipv6Addr::from(
                (0x2001_0db8_u128 << 96) | (u128::from(n) << 64),
            ))
        };
        let (mut admitted, mut shed) = (0, 0);
        for n in 0..10_000 {
            match limiter.check_at(client(n), 0) {
                Ok(()) => admitted += 1,
                Err(Refusal::Full(wait)) => {
                    assert_eq!(wait, Duration::from_secs(1));
                    shed += 1;
                }
                Err(other) => panic!("client {n}: {other:?}"),
            }
            assert!(tracked(&limiter) <= cap);
        }
        assert_eq!((admitted, shed), (cap, 10_000 - cap));
        // Once their TATs have passed, tracked clients make room for new ones.
        for n in 10_000..20_000 {
            let _ = limiter.check_at(client(n), SECOND);
            assert!(tracked(&limiter) <= cap);
        }
        assert!(limiter.check_at(client(20_000), 2 * SECOND).is_ok());
    }

    // ACC-01: a client already tracked is limited exactly as before while the
    // table is full: never shed, never given a fresh budget.
    #[test]
    fn acc_01_a_full_table_still_limits_its_clients() {
        let limiter = Limiter::with_capacity(3, 1); // one every 20 s, bursts of 3
        let mut known: Vec<IpAddr> = Vec::new();
        for n in 0..=255 {
            if limiter.check_at(ip(n), 0).is_ok() {
                known.push(ip(n));
            }
        }
        assert_eq!(known.len(), SHARDS, "one client a shard");
        for &client in &known {
            assert_eq!(limiter.check_at(client, 0), Ok(()));
            assert_eq!(limiter.check_at(client, 0), Ok(()));
            assert_eq!(
                limiter.check_at(client, 0),
                Err(Refusal::Limited(Duration::from_secs(20)))
            );
            assert_eq!(limiter.check_at(client, 20 * SECOND), Ok(()));
            assert!(limiter.check_at(client, 20 * SECOND).is_err());
        }
        assert_eq!(tracked(&limiter), SHARDS);
    }
}
