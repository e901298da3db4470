//! Structured JSON logs, filtered by `APP_LOG` (or `RUST_LOG`). Security
//! events carry a stable `event` name (`auth.login_failed`, `authz.denied`,
//! `ratelimit.exceeded`, `input.rejected`...) and, through the request span,
//! the request id and the client's address, as resolved behind trusted
//! proxies (OPS-01, OPS-02).
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_subscriber::{filter::Targets, fmt, fmt::MakeWriter, prelude::*};

/// Security events counted outside the request layer, rendered with the
/// request metrics on the admin listener (OPS-03).
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    AuthFailures,
    AuthLockouts,
    RateLimited,
    Shed,
}

impl Counter {
    pub const ALL: [(Self, &'static str, &'static str); 4] = [
        (
            Self::AuthFailures,
            "auth_failures_total",
            "Requests refused for a missing or bad credential.",
        ),
        (
            Self::AuthLockouts,
            "auth_lockouts_total",
            "Accounts locked after repeated failed logins.",
        ),
        (
            Self::RateLimited,
            "rate_limited_total",
            "Requests refused by a rate limit.",
        ),
        (
            Self::Shed,
            "shed_total",
            "Requests shed with 503 because a bounded queue was full.",
        ),
    ];

    pub fn increment(self) {
        COUNTERS[self as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn value(self) -> u64 {
        COUNTERS[self as usize].load(Ordering::Relaxed)
    }
}

static COUNTERS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// Logs to stdout.
pub fn init() {
    init_with(std::io::stdout);
}

/// Logs to `writer`. Secrets never reach it: no header is logged, the query
/// string is left out of the request span, and passwords are `SecretString`s
/// (OUT-10). A second call does nothing (tests build many apps in one process).
pub fn init_with<W>(writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // `target=level` directives, e.g. `info,sqlx=warn`; an invalid one falls back to `info`.
    let filter = ["APP_LOG", "RUST_LOG"]
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let logs = fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer);
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .try_init();
}
