//! Per-client rate limits (ACC-01), keyed on the address `client::identify`
//! resolved, so a forged `X-Forwarded-For` cannot spread one client over many
//! keys. Over the limit: 429 with `Retry-After` and a problem body.
use std::{net::IpAddr, sync::Arc, time::Duration};

use axum::{body::Body, http::Request, response::IntoResponse, response::Response};
use governor::{clock::QuantaInstant, middleware::NoOpMiddleware};
use tower_governor::{
    GovernorError, GovernorLayer, governor::GovernorConfigBuilder, key_extractor::KeyExtractor,
};

use super::client::ClientAddr;
use crate::error::ApiError;

pub type RateLimitLayer = GovernorLayer<ClientKey, NoOpMiddleware<QuantaInstant>, Body>;

/// Allows `per_minute` requests a minute per client, in bursts of up to as many.
pub fn per_minute(per_minute: u32) -> RateLimitLayer {
    let config = GovernorConfigBuilder::default()
        .key_extractor(ClientKey)
        .period(Duration::from_secs(60) / per_minute.max(1))
        .burst_size(per_minute.max(1))
        .finish()
        .expect("period and burst are non-zero");
    // Forget idle clients now and then, so the table cannot grow without bound;
    // the task ends when the limiter is dropped.
    let limiter = Arc::downgrade(config.limiter());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            match limiter.upgrade() {
                Some(limiter) => limiter.retain_recent(),
                None => break,
            }
        }
    });
    GovernorLayer::new(config).error_handler(too_many_requests)
}

/// Keys the limiter on the client address.
#[derive(Debug, Clone, Copy)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        request
            .extensions()
            .get::<ClientAddr>()
            .map(|ClientAddr(ip)| *ip)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

fn too_many_requests(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            tracing::warn!(event = "ratelimit.exceeded", retry_after = wait_time);
            metrics::counter!("rate_limited_total").increment(1);
            ApiError::TooManyRequests(wait_time.max(1)).into_response()
        }
        other => ApiError::Internal(anyhow::anyhow!("rate limiter: {other}")).into_response(),
    }
}
