//! Builds the application: database, state, routers, and the two listeners.
use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::{Router, routing::get};
use tokio::net::TcpListener;

use crate::{
    auth::{Passwords, Tokens},
    config::Settings,
    db::{self, Db},
    http, routes,
    state::AppState,
};

pub struct Application {
    api: TcpListener,
    admin: TcpListener,
    api_router: Router,
    admin_router: Router,
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
            tokens: Arc::new(Tokens::new(&settings.jwt)),
            passwords: Passwords::new(settings.password_hash_concurrency).await?,
        };
        let (api_router, api_doc) = routes::router(state, &settings.http).split_for_parts();
        let api_router = http::layers(api_router.fallback(fallback), &settings.http);
        let document = Arc::new(api_doc);
        // Non-production endpoints live on the admin listener only (OPS-04).
        let admin_router = Router::new()
            .route(
                "/openapi.json",
                get(move || async move { axum::Json(document.as_ref().clone()) }),
            )
            .route("/metrics", get(http::render_metrics));
        http::metrics_handle();
        Ok(Self {
            api: TcpListener::bind(settings.listen_addr).await?,
            admin: TcpListener::bind(settings.admin_addr).await?,
            api_router,
            admin_router,
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
        let (stop, stopped) = tokio::sync::watch::channel(());
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(event = "shutdown_started");
            let _ = stop.send(());
        });
        let wait = |mut rx: tokio::sync::watch::Receiver<()>| async move {
            let _ = rx.changed().await;
        };
        tracing::info!(event = "listening", api = %self.api.local_addr()?, admin = %self.admin.local_addr()?);
        let api = axum::serve(
            self.api,
            self.api_router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(wait(stopped.clone()));
        let admin =
            axum::serve(self.admin, self.admin_router).with_graceful_shutdown(wait(stopped));
        tokio::try_join!(async { api.await }, async { admin.await })?;
        Ok(())
    }
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
