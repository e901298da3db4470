//! Builds the application: database, state, routers, and the two listeners.
use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::{Router, routing::get};
use axum_server::{Handle, Server, tls_rustls::RustlsConfig};
use tokio::net::TcpListener;

use crate::{
    auth::{Jail, Passwords, Tokens},
    config::Settings,
    db::{self, Db},
    encryption::FieldCipher,
    http, openapi, routes,
    state::AppState,
};

pub struct Application {
    api: std::net::TcpListener,
    admin: TcpListener,
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
        let state = AppState {
            db,
            tokens: Arc::new(Tokens::new(&settings.jwt)?),
            passwords: Passwords::new(settings.password_hash_concurrency).await?,
            jail: Jail {
                base: settings.login_lockout,
            },
            cipher: Arc::new(FieldCipher::new(&settings.data_keys)?),
        };
        let (api_router, mut api_doc) = routes::router(state, &settings.http).split_for_parts();
        openapi::document_layer_responses(&mut api_doc);
        if settings.http.require_api_key {
            openapi::require_api_key(&mut api_doc, routes::KEYLESS_PATHS);
        }
        let api_router = http::layers(api_router.fallback(fallback), &settings.http);
        let document = Arc::new(api_doc);
        // Non-production endpoints live on the admin listener only (OPS-04).
        let admin_router = Router::new()
            .route(
                "/openapi.json",
                get(move || async move { axum::Json(document.as_ref().clone()) }),
            )
            .route("/metrics", get(http::render_metrics));
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
        let api = std::net::TcpListener::bind(settings.listen_addr)
            .with_context(|| format!("binding {}", settings.listen_addr))?;
        api.set_nonblocking(true)?;
        Ok(Self {
            api,
            admin: TcpListener::bind(settings.admin_addr)
                .await
                .with_context(|| format!("binding {}", settings.admin_addr))?,
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
        let handle = Handle::new();
        let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        let drain = self.request_timeout;
        let api_handle = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(event = "shutdown_started");
            api_handle.graceful_shutdown(Some(drain));
            let _ = stop_admin.send(());
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
        let admin = axum::serve(self.admin, self.admin_router).with_graceful_shutdown(async {
            let _ = admin_stopped.await;
        });
        tokio::try_join!(api, async { admin.await })?;
        Ok(())
    }
}

/// HTTP/1.1 only, with a deadline on every request's line and headers, so
/// slow-loris connections cannot pile up (IN-04). No HTTP/2: once its first
/// request is in, an HTTP/2 connection has no such deadline, and its stream
/// machinery is attack surface an API does not need; a proxy in front can
/// still offer HTTP/2 to clients.
fn guarded<A>(
    server: Server<SocketAddr, A>,
    handle: Handle<SocketAddr>,
    header_read_timeout: Duration,
) -> Server<SocketAddr, A> {
    let mut server = server.http1_only();
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_read_timeout);
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
