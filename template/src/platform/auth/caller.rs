//! The authenticated caller. `require_auth` guards every route that is not on
//! the public list (PROC-01); handlers then take an `Authorized<S>` argument,
//! or a plain `Caller`, which needs the `account` scope.
use std::marker::PhantomData;

use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header, request::Parts},
    middleware::Next,
    response::Response,
};
use uuid::Uuid;

use super::{
    CallingApp,
    scope::{self, Account, Scope},
};

use crate::{db, error::ApiError, platform::store::sessions, state::AppState};

/// Who is calling, established from a valid access token and a live session.
/// As a handler argument it stands for `Authorized<Account>`: a route acting
/// on the caller's own account, which the token and the calling application
/// must both allow, like any other scope.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub session_id: Uuid,
    scopes: String,
}

/// A caller whose token carries scope `S`. As a handler argument it declares
/// the route's scope, and, being extracted from the request head, it is
/// checked before the body is even read or any logic runs (PROC-09): a
/// missing scope, the user's or the calling application's, is 403, unlike a
/// bad credential's 401.
pub struct Authorized<S>(pub Caller, pub PhantomData<S>);

impl<S: Scope, St: Send + Sync> FromRequestParts<St> for Authorized<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        // Present only behind `require_auth`; a public route asking for it is a bug
        // that must fail closed.
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthorized)?;
        if !scope::includes(&caller.scopes, S::NAME) {
            tracing::warn!(event = "authz.denied", user_id = %caller.user_id, scope = S::NAME);
            return Err(ApiError::Forbidden(S::NAME));
        }
        // The calling application, when keys are required, bounds the user's scopes (AUTH-08).
        if let Some(app) = parts.extensions.get::<CallingApp>() {
            app.require(S::NAME)?;
        }
        Ok(Self(caller, PhantomData))
    }
}

/// Accepts only `Authorization: Bearer <jwt>` (AUTH-01); Basic and every
/// other scheme are just bad credentials. The session is looked up on every
/// request, so logout and disabling take effect at once (AUTH-07).
pub async fn require_auth(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let Some(claims) = state.tokens.verify(token) else {
        tracing::warn!(event = "auth.token_rejected", reason = "invalid_token");
        return Err(ApiError::Unauthorized);
    };
    if !sessions::is_live(&state.db, claims.sid, claims.sub, db::now()).await? {
        tracing::warn!(event = "auth.token_rejected", reason = "session_ended", session_id = %claims.sid);
        return Err(ApiError::Unauthorized);
    }
    request.extensions_mut().insert(Caller {
        user_id: claims.sub,
        session_id: claims.sid,
        scopes: claims.scope,
    });
    Ok(next.run(request).await)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Authorized(caller, _) = Authorized::<Account>::from_request_parts(parts, state).await?;
        Ok(caller)
    }
}
