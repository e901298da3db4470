//! Structured JSON logs on stdout, filtered by `APP_LOG` (or `RUST_LOG`).
use tracing_subscriber::{EnvFilter, fmt};

/// Installs the global subscriber. Secrets never reach it: `Authorization`
/// is marked sensitive and passwords are `SecretString`s (OUT-10).
pub fn init() {
    let filter = std::env::var("APP_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
        });
    // Ignore a second init (tests build several apps in one process).
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
}
