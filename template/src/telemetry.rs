//! Structured JSON logs, filtered by `APP_LOG` (or `RUST_LOG`). Security
//! events carry a stable `event` name (`auth.login_failed`, `authz.denied`,
//! `ratelimit.exceeded`, `input.rejected`...) and, through the request span,
//! the request id (OPS-01, OPS-02).
use tracing_subscriber::{EnvFilter, fmt, fmt::MakeWriter};

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
    let filter = std::env::var("APP_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
        });
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .try_init();
}
