//! Per-client rate limits (ACC-01), keyed on the address `client::identify`
//! resolved, so a forged `X-Forwarded-For` cannot spread one client over many
//! keys. Over the limit: 429 with `Retry-After` and a problem body.
use std::{future::Future, net::IpAddr, num::NonZeroU32, pin::Pin, sync::Arc, time::Duration};

use axum::{
    extract::{Request, State},
    middleware::{FromFnLayer, Next, from_fn_with_state},
    response::{IntoResponse, Response},
};
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock};

use super::client::ClientAddr;
use crate::error::ApiError;

type Limiter = DefaultKeyedRateLimiter<IpAddr>;
// A fn pointer returning a boxed future, so that the layer's type has a name.
type Check =
    fn(State<Arc<Limiter>>, Request, Next) -> Pin<Box<dyn Future<Output = Response> + Send>>;
pub type RateLimitLayer = FromFnLayer<Check, Arc<Limiter>, (State<Arc<Limiter>>, Request)>;

/// Allows `per_minute` requests a minute per client, in bursts of up to as many.
pub fn per_minute(per_minute: u32) -> RateLimitLayer {
    let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
    let limiter = Arc::new(Limiter::keyed(quota));
    // Forget idle clients now and then, so the table cannot grow without bound;
    // the task ends when the limiter is dropped.
    let idle = Arc::downgrade(&limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match idle.upgrade() {
                Some(limiter) => limiter.retain_recent(),
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
        match limiter.check_key(&client) {
            Ok(()) => next.run(request).await,
            Err(not_until) => {
                let wait = not_until
                    .wait_time_from(limiter.clock().now())
                    .as_secs()
                    .max(1);
                tracing::warn!(event = "ratelimit.exceeded", retry_after = wait);
                super::Counter::RateLimited.increment();
                ApiError::TooManyRequests(wait).into_response()
            }
        }
    })
}
