//! Per-client rate limits (ACC-01), keyed on the address `client::identify`
//! resolved, so a forged `X-Forwarded-For` cannot spread one client over many
//! keys. Over the limit: 429 with `Retry-After` and a problem body.
//!
//! The algorithm is GCRA: each client has a theoretical arrival time (TAT),
//! which every allowed request pushes one interval later; a request is refused
//! while the TAT is more than a burst ahead of now. One integer per client,
//! behind one of a few locks.
use std::{
    collections::HashMap,
    future::Future,
    hash::{BuildHasher, RandomState},
    net::IpAddr,
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

/// Requests allowed per client: `per_minute` a minute, in bursts of up to as many.
pub struct Limiter {
    /// Time between two requests at the sustained rate, in nanoseconds.
    interval: u64,
    /// How far ahead of now a client's TAT may run: the burst, in nanoseconds.
    burst: u64,
    start: Instant,
    /// Each client's TAT, in nanoseconds since `start`.
    shards: [Mutex<HashMap<IpAddr, u64>>; SHARDS],
    /// Keyed at random, so that no one can aim many addresses at one shard.
    shard_of: RandomState,
}

impl Limiter {
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = u64::from(per_minute.max(1));
        let interval = 60_000_000_000 / per_minute;
        Self {
            interval,
            burst: interval * per_minute,
            start: Instant::now(),
            shards: std::array::from_fn(|_| Mutex::default()),
            shard_of: RandomState::new(),
        }
    }

    /// Counts a request from `client`; `Err` holds the wait before the next
    /// one would be allowed.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.check_at(client, self.now())
    }

    /// Forgets clients whose TAT has passed: they are back to a full burst,
    /// exactly as if they had never called.
    pub fn forget_idle(&self) {
        self.forget_idle_at(self.now());
    }

    fn forget_idle_at(&self, now: u64) {
        for shard in &self.shards {
            lock(shard).retain(|_, tat| *tat > now);
        }
    }

    fn check_at(&self, client: IpAddr, now: u64) -> Result<(), Duration> {
        let shard = self.shard_of.hash_one(client) as usize % SHARDS;
        let mut tats = lock(&self.shards[shard]);
        let tat = tats.get(&client).map_or(now, |&tat| tat.max(now));
        let next = tat + self.interval;
        if next - now > self.burst {
            return Err(Duration::from_nanos(next - self.burst - now));
        }
        tats.insert(client, next);
        Ok(())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX / 2)
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
    let limiter = Arc::new(Limiter::per_minute(per_minute));
    // Forget idle clients now and then, so the table cannot grow without bound;
    // the task ends when the limiter is dropped.
    let idle = Arc::downgrade(&limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match idle.upgrade() {
                Some(limiter) => limiter.forget_idle(),
                None => break,
            }
        }
    });
    from_fn_with_state(limiter, check as Check)
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
        match limiter.check(client) {
            Ok(()) => next.run(request).await,
            Err(wait) => {
                // Whole seconds, rounded up: retrying sooner would be refused.
                let wait = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                tracing::warn!(event = "ratelimit.exceeded", retry_after = wait);
                super::Counter::RateLimited.increment();
                ApiError::TooManyRequests(wait.max(1)).into_response()
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
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
            Err(Duration::from_secs(6))
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
        assert!(
            limiter
                .check_at("2001:db8::1".parse().unwrap(), now)
                .is_ok()
        );
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

    // The table forgets clients whose budget is whole again, and only those.
    #[test]
    fn forget_idle_keeps_clients_still_limited() {
        let limiter = Limiter::per_minute(60);
        let remembered = || -> usize { limiter.shards.iter().map(|s| lock(s).len()).sum() };
        limiter.check_at(ip(1), 0).unwrap();
        for _ in 0..60 {
            limiter.check_at(ip(2), 0).unwrap();
        }
        assert_eq!(remembered(), 2);
        limiter.forget_idle_at(SECOND);
        assert_eq!(remembered(), 1, "ip(2) is 59 s ahead and must be kept");
        // Kept, so still limited: one second earned back one request, no more.
        assert!(limiter.check_at(ip(2), SECOND).is_ok());
        assert!(limiter.check_at(ip(2), SECOND).is_err());
    }
}
