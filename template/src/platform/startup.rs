//! Builds the application: database, state, routers, and the two listeners.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, routing::get};
use axum_server::{Handle, Server, tls_rustls::RustlsConfig};

use crate::{
    auth::{Jail, Passwords, Tokens},
    config::Settings,
    db::{self, Db},
    encryption::FieldCipher,
    http, openapi,
    platform::{routes, state::PlatformState},
    state::AppState,
};

pub struct Application {
    api: std::net::TcpListener,
    admin: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    api_router: Router,
    admin_router: Router,
    request_timeout: Duration,
    header_read_timeout: Duration,
}

impl Application {
    /// Connects to the database, applies migrations and binds both listeners
    /// (port 0 picks a free port, as the tests do).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::connect(&settings.database_url).await?;
        db::migrate(&pool).await?;
        Self::build_with_pool(settings, pool).await
    }

    pub async fn build_with_pool(settings: Settings, db: Db) -> anyhow::Result<Self> {
        let platform = PlatformState {
            db,
            tokens: Arc::new(Tokens::new(&settings.jwt)?),
            passwords: Passwords::new(settings.password_hash_concurrency).await?,
            jail: Jail {
                base: settings.login_lockout,
            },
            cipher: Arc::new(FieldCipher::new(&settings.data_keys)?),
            mailer: crate::mail::mailer(&settings)?,
        };
        let state = AppState::build(platform, &settings).await?;
        let (api_router, mut api_doc) = routes::router(state, &settings.http).split_for_parts();
        openapi::document_problem_responses(&mut api_doc);
        openapi::describe_inlined_fields(&mut api_doc);
        if settings.http.require_api_key {
            openapi::require_api_key(&mut api_doc, routes::KEYLESS_PATHS);
        }
        let api_router = http::layers(api_router.fallback(fallback), &settings.http);
        let document = Arc::new(api_doc);
        // Non-production endpoints live on the admin listener only (OPS-04),
        // behind its bearer token when one is configured.
        let admin_router = Router::new()
            .route(
                "/openapi.json",
                get(move || async move { axum::Json(document.as_ref().clone()) }),
            )
            .route("/metrics", get(http::render_metrics));
        let admin_router = http::admin_layers(admin_router, settings.admin_token);
        // rustls speaks TLS 1.2 and 1.3 only, with forward-secret AEAD suites (ACC-02).
        let tls = match &settings.tls {
            Some(files) => {
                let tls = RustlsConfig::from_pem_file(&files.cert, &files.key)
                    .await
                    .with_context(|| {
                        format!(
                            "loading TLS files {} and {}",
                            files.cert.display(),
                            files.key.display()
                        )
                    })?;
                // Offer HTTP/1.1 alone in ALPN, as the listener serves nothing else (`guarded`).
                let mut config = (*tls.get_inner()).clone();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                tls.reload_from_config(Arc::new(config));
                Some(tls)
            }
            None => None,
        };
        Ok(Self {
            api: bind(settings.listen_addr)?,
            admin: bind(settings.admin_addr)?,
            tls,
            api_router,
            admin_router,
            request_timeout: settings.http.request_timeout,
            header_read_timeout: settings.http.header_read_timeout,
        })
    }

    pub fn api_addr(&self) -> std::io::Result<SocketAddr> {
        self.api.local_addr()
    }

    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin.local_addr()
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting and drains
    /// in-flight requests (each bounded by the request timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (handle, admin_handle) = (Handle::new(), Handle::new());
        let drain = self.request_timeout;
        let handles = [handle.clone(), admin_handle.clone()];
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(event = "shutdown_started");
            for handle in handles {
                handle.graceful_shutdown(Some(drain));
            }
        });
        tracing::info!(
            event = "listening",
            api = %self.api.local_addr()?,
            tls = self.tls.is_some(),
            admin = %self.admin.local_addr()?
        );
        let service = self
            .api_router
            .into_make_service_with_connect_info::<SocketAddr>();
        let api = async {
            match self.tls {
                Some(tls) => {
                    let server = axum_server::from_tcp_rustls(self.api, tls)?;
                    guarded(server, handle, self.header_read_timeout)
                        .serve(service)
                        .await
                }
                None => {
                    let server = axum_server::from_tcp(self.api)?;
                    guarded(server, handle, self.header_read_timeout)
                        .serve(service)
                        .await
                }
            }
        };
        // The admin listener gets the API's transport limits (IN-04).
        let admin = guarded(
            axum_server::from_tcp(self.admin)?,
            admin_handle,
            self.header_read_timeout,
        )
        .serve(
            self.admin_router
                .into_make_service_with_connect_info::<SocketAddr>(),
        );
        tokio::try_join!(api, admin)?;
        Ok(())
    }
}

/// Largest request head (request line and headers) a connection may buffer;
/// a longer one is answered 431 and the connection closed (IN-04). hyper's
/// default, about 400 kB, let unfinished heads hold that much each until the
/// header deadline.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A listening socket for `axum_server`, which wants it non-blocking.
fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// HTTP/1.1 only, with a deadline on every request's line and headers and a
/// bound on their size, so slow-loris connections cannot pile up (IN-04). No
/// HTTP/2: once its first request is in, an HTTP/2 connection has no such
/// deadline, and its stream machinery is attack surface an API does not
/// need; a proxy in front can still offer HTTP/2 to clients.
fn guarded<A>(
    server: Server<SocketAddr, A>,
    handle: Handle<SocketAddr>,
    header_read_timeout: Duration,
) -> Server<SocketAddr, A> {
    let mut server = server.http1_only();
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    server
        .first_request_timeout(header_read_timeout)
        .handle(handle)
}

async fn fallback() -> crate::error::ApiError {
    crate::error::ApiError::NotFound
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
