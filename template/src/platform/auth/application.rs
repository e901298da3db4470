//! Calling applications (AUTH-08). With `APP_REQUIRE_API_KEY=true`, every
//! route but the health checks needs an application key in the `X-Api-Key`
//! header, never in the URL. The key's application bounds what may be called:
//! every route needs a scope (`auth` to register, log in and refresh), and one
//! the application was not given answers 403, whoever the user is. Keys are
//! created and revoked with the `app` subcommand.
use anyhow::{Context, bail};
use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use uuid::Uuid;

use super::{
    grants,
    opaque::OpaqueToken,
    scope::{self, Scope},
};
use crate::{
    db::{self, Db},
    error::ApiError,
    platform::store::applications,
    state::AppState,
};

/// The header that carries an application key.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The application behind a request's key, with the scopes it may use.
#[derive(Debug, Clone)]
pub struct CallingApp {
    pub id: Uuid,
    scopes: String,
}

impl CallingApp {
    /// Refuses with 403 unless the application was given scope `name`.
    pub fn require(&self, name: &'static str) -> Result<(), ApiError> {
        if scope::includes(&self.scopes, name) {
            return Ok(());
        }
        tracing::warn!(event = "authz.denied", application_id = %self.id, scope = name);
        Err(ApiError::Forbidden(name))
    }
}

/// For routes that act for no signed-in user yet (register, login, refresh),
/// layered behind `require_api_key`: the calling application must hold `S`.
/// Routes for a signed-in user check the application in `Authorized<S>`.
pub async fn require_app_scope<S: Scope>(
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let app = request
        .extensions()
        .get::<CallingApp>()
        .ok_or(ApiError::UnknownApplication)?;
    app.require(S::NAME)?;
    Ok(next.run(request).await)
}

/// Admits only requests with the key of a live application, looked up on
/// every request so that a revoke or a disable applies to the next one.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = request
        .headers()
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::UnknownApplication)?;
    let app = applications::by_key(&state.db, &OpaqueToken::hash(key)).await?;
    let Some((id, scopes)) = app else {
        tracing::warn!(event = "auth.api_key_rejected");
        return Err(ApiError::UnknownApplication);
    };
    request.extensions_mut().insert(CallingApp { id, scopes });
    Ok(next.run(request).await)
}

/// A newly issued key; `key` is shown once and never stored.
pub struct IssuedKey {
    pub id: Uuid,
    pub key: String,
}

/// Creates application `name` allowed `scopes`, or gives an existing one a
/// new key and these scopes (its old key stops working, and it is enabled
/// again): creating is also how a key is rotated.
pub async fn issue_key(pool: &Db, name: &str, scopes: &[String]) -> anyhow::Result<IssuedKey> {
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        bail!("the application name must be 1 to 100 printable characters");
    }
    if scopes.is_empty() {
        bail!(
            "give the application at least one scope: {}",
            grants::all().collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(unknown) = scopes
        .iter()
        .find(|s| !grants::all().any(|known| known == s.as_str()))
    {
        bail!(
            "unknown scope {unknown:?}: use {}",
            grants::all().collect::<Vec<_>>().join(", ")
        );
    }
    let token = OpaqueToken::generate()?;
    let id = applications::upsert(pool, name, &token.hash, &scopes.join(" "), db::now())
        .await
        .context("storing the application")?;
    Ok(IssuedKey {
        id,
        key: token.value,
    })
}

/// Revokes the key of application `name`; its requests fail from the next one on.
pub async fn revoke_key(pool: &Db, name: &str) -> anyhow::Result<()> {
    if !applications::revoke(pool, name, db::now()).await? {
        bail!("no application {name:?} with a live key");
    }
    Ok(())
}

/// One line per application: id, name, scopes and state, for `app list`.
pub async fn list(pool: &Db) -> anyhow::Result<Vec<String>> {
    Ok(applications::all(pool)
        .await?
        .into_iter()
        .map(|(id, name, scopes, disabled, revoked)| {
            let state = match (revoked, disabled) {
                (true, _) => "revoked",
                (false, true) => "disabled",
                (false, false) => "active",
            };
            format!("{id}  {name}  [{scopes}]  {state}")
        })
        .collect())
}
