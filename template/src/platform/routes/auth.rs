//! Registration, login, token refresh and logout.
use std::net::IpAddr;

use axum::{Extension, extract::State, http::StatusCode};
use serde::{Deserialize, Serialize};
use tracing::Instrument;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::{
    auth::{
        Caller, Jail, OpaqueToken, grants,
        jail::{Attempt, Budget},
        registration,
    },
    db,
    error::{ApiError, ApiResult},
    extract::Json,
    http::ClientAddr,
    input::{AccountEmail, Password, TypedPassword},
    platform::store::{sessions, users},
    state::AppState,
};

pub fn public_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(confirm))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logout))
}

/// E-mail and password of a new account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The account's e-mail address (case-insensitive).
    #[schema(value_type = String, format = Email, min_length = 3, max_length = 254)]
    email: AccountEmail,
    /// At least 8 characters, not one of the commonest passwords; long
    /// passphrases welcome.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    password: Password,
}

/// E-mail and password to log in with.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginCredentials {
    /// The account's e-mail address (case-insensitive).
    #[schema(value_type = String, format = Email, min_length = 3, max_length = 254)]
    email: AccountEmail,
    /// The account's password.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 1024)]
    password: TypedPassword,
}

/// The answer to every registration, whether or not the e-mail was taken.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// What happens next.
    #[schema(max_length = 200)]
    message: &'static str,
}

/// A fresh token pair.
#[derive(Serialize, ToSchema)]
pub struct TokenPair {
    /// Short-lived bearer token for the `Authorization` header.
    #[schema(max_length = 1024)]
    access_token: String,
    /// Always `Bearer`.
    #[schema(pattern = "^Bearer$", max_length = 6)]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(minimum = 1)]
    expires_in: u64,
    /// Opaque single-use token for `/v1/auth/refresh`.
    #[schema(min_length = 43, max_length = 43)]
    refresh_token: String,
}

/// A refresh token to exchange for a new pair.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(min_length = 1, max_length = 128)]
    refresh_token: String,
}

/// A token mailed to confirm an address.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The token from the confirmation mail.
    #[schema(min_length = 1, max_length = 128)]
    token: String,
}

const REGISTERED: &str =
    "If this address can be registered, its account is ready; log in to continue.";
const CONFIRM_SENT: &str =
    "If this address can be registered, a confirmation has been mailed to it.";

/// Creates an account, or, when addresses are confirmed
/// (`APP_VERIFY_EMAIL`), mails a token that creates it. The answer is the
/// same whether or not the e-mail is already registered, so it cannot be
/// used to find accounts (AUTH-04).
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = Credentials,
    responses(
        (status = 202, description = "Registration accepted", body = Accepted),
    ))]
async fn register(
    State(state): State<AppState>,
    Json(body): Json<Credentials>,
) -> ApiResult<(StatusCode, axum::Json<Accepted>)> {
    // A place to hash, or shed (503); then hash first in every case, so
    // both outcomes take the same time.
    let ticket = state.passwords.ticket()?;
    let hash = state.passwords.hash(ticket, body.password).await?;
    let message = match state.mailer.clone() {
        None => {
            registration::create(&state.db, &body.email, hash).await?;
            REGISTERED
        }
        Some(mailer) => {
            // After the answer: what it does depends on whether the address
            // is taken, and its time must not tell.
            tokio::spawn(
                async move {
                    registration::request(state.db.clone(), mailer.as_ref(), body.email, hash)
                        .await;
                }
                .instrument(tracing::Span::current()),
            );
            CONFIRM_SENT
        }
    };
    Ok((StatusCode::ACCEPTED, axum::Json(Accepted { message })))
}

/// Confirms an address with the token mailed to it, creating the account
/// with the password it was registered with.
#[utoipa::path(post, path = "/v1/auth/confirm", tag = "auth", request_body = ConfirmRequest,
    responses(
        (status = 204, description = "Account created; log in to continue"),
        (status = 401, description = "Unknown, used or expired token"),
    ))]
async fn confirm(
    State(state): State<AppState>,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<StatusCode> {
    if registration::confirm(&state.db, &body.token).await? {
        tracing::info!(event = "auth.registration_confirmed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        tracing::warn!(
            event = "auth.token_rejected",
            reason = "unknown_confirmation_token"
        );
        Err(ApiError::Unauthorized)
    }
}

/// Exchanges e-mail and password for a token pair, starting a new session.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginCredentials,
    responses(
        (status = 200, description = "Logged in", body = TokenPair),
        (status = 401, description = "Wrong credentials"),
    ))]
async fn login(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Json(body): Json<LoginCredentials>,
) -> ApiResult<axum::Json<TokenPair>> {
    let TypedPassword(password) = body.password;
    // Before any other work: a flood is shed here (503), before it takes
    // database connections from other routes or counts against the jail.
    let ticket = state.passwords.ticket()?;
    let user = users::for_login(&state.db, body.email.as_str()).await?;
    // The password is checked in every case, so that unknown, wrong, locked
    // and disabled all take the same time and look the same (AUTH-04).
    let Some(account) = user else {
        state.passwords.verify(ticket, password, None).await?;
        tracing::warn!(event = "auth.login_failed", reason = "unknown");
        return Err(ApiError::Unauthorized);
    };
    let verifying = state
        .passwords
        .verify(ticket, password, Some(account.password_hash));
    // Judged in a task of its own (logging in the request's span): a
    // request cut short (timeout, client gone) still settles the attempt
    // the jail counted.
    let login = Attempting {
        user_id: account.id,
        disabled: account.disabled,
        client,
        budget: Budget::of(client, account.known_network.as_deref()),
    };
    let judging =
        tokio::spawn(judge(state.clone(), login, verifying).instrument(tracing::Span::current()));
    let admitted = judging.await.map_err(anyhow::Error::from)??;
    if !admitted {
        return Err(ApiError::Unauthorized);
    }
    let (user_id, is_admin) = (account.id, account.is_admin);
    let refresh = OpaqueToken::generate()?;
    let session_id = start_session(&state, user_id, &refresh).await?;
    tracing::info!(event = "auth.login_succeeded", %user_id, %session_id);
    let scope = grants::granted(is_admin);
    token_pair(&state, user_id, session_id, scope, refresh)
}

/// A login attempt on an account, as the jail judges it.
#[derive(Clone, Copy)]
struct Attempting {
    user_id: Uuid,
    disabled: bool,
    client: IpAddr,
    budget: Budget,
}

/// Counts the attempt in its budget of the jail while the password is
/// checked; true when the account may log in, whose budget is then reopened.
async fn judge(
    state: AppState,
    login: Attempting,
    verifying: impl Future<Output = anyhow::Result<bool>>,
) -> ApiResult<bool> {
    let Attempting {
        user_id,
        disabled,
        client,
        budget,
    } = login;
    let counting = state.jail.attempt(&state.db, user_id, budget);
    let (password_ok, attempt) = tokio::join!(verifying, counting);
    let password_ok = password_ok?;
    let attempt = match attempt {
        Ok(attempt) => attempt,
        // The right password may hear of the failure; anyone else gets the
        // same 401 as every failure, and the jail fails closed.
        Err(error) if password_ok => return Err(error.into()),
        Err(error) => {
            tracing::error!(event = "auth.jail_failed", %user_id, %error);
            Attempt::Refused
        }
    };
    let reason = match (attempt, password_ok, disabled) {
        (Attempt::Refused, _, _) => "locked",
        (Attempt::Locking(window), false, _) => {
            let (budget, seconds) = (budget.name(), window.as_secs());
            tracing::warn!(event = "auth.locked", %user_id, budget, seconds);
            crate::telemetry::Counter::AuthLockouts.increment();
            "password"
        }
        (_, false, _) => "password",
        (_, true, true) => "disabled",
        (_, true, false) => {
            Jail::record_success(&state.db, user_id, client, budget).await?;
            return Ok(true);
        }
    };
    tracing::warn!(event = "auth.login_failed", reason, %user_id);
    Ok(false)
}

/// Live sessions one account may hold; a login past this ends the oldest,
/// so that no one can pile up sessions (and refresh tokens) without bound.
pub const MAX_SESSIONS: i64 = 10;

/// Starts a session holding `refresh`, ending the account's oldest live
/// sessions beyond `MAX_SESSIONS`.
async fn start_session(state: &AppState, user_id: Uuid, refresh: &OpaqueToken) -> ApiResult<Uuid> {
    let session_id = Uuid::new_v4();
    let now = db::now();
    let mut tx = state.db.begin().await?;
    let expires_at = now + state.tokens.refresh_ttl();
    sessions::start(&mut *tx, session_id, user_id, now, expires_at).await?;
    sessions::add_refresh_token(&mut *tx, &refresh.hash, session_id, now).await?;
    let ended =
        sessions::end_all_but_newest(&mut *tx, user_id, session_id, MAX_SESSIONS - 1, now).await?;
    tx.commit().await?;
    if ended > 0 {
        tracing::info!(event = "auth.sessions_ended", %user_id, count = ended, reason = "limit");
    }
    Ok(session_id)
}

/// Rotates a refresh token: the old one is spent, a new pair is issued. A
/// spent token presented again revokes its whole session (JWT-03).
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenPair),
        (status = 401, description = "Unknown, spent or expired refresh token"),
    ))]
async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<axum::Json<TokenPair>> {
    let hash = OpaqueToken::hash(&body.refresh_token);
    let now = db::now();
    // It reads, then writes: two refreshes racing with one token must wait
    // for each other, so the loser sees the token spent (JWT-03).
    let mut tx = db::begin_write(&state.db).await?;
    let found = sessions::by_refresh_token(&mut *tx, &hash, now).await?;
    let Some(sessions::Refreshing {
        session_id,
        user_id,
        is_admin,
    }) = found
    else {
        tracing::warn!(
            event = "auth.token_rejected",
            reason = "unknown_refresh_token"
        );
        return Err(ApiError::Unauthorized);
    };
    // A spent token presented again is a reuse: its session ends.
    if !sessions::spend_refresh_token(&mut *tx, &hash, now).await? {
        sessions::end(&mut *tx, session_id, now).await?;
        tx.commit().await?;
        tracing::warn!(event = "auth.refresh_reused", %session_id);
        return Err(ApiError::Unauthorized);
    }
    let next = OpaqueToken::generate()?;
    sessions::add_refresh_token(&mut *tx, &next.hash, session_id, now).await?;
    tx.commit().await?;
    let scope = grants::granted(is_admin);
    token_pair(&state, user_id, session_id, scope, next)
}

/// Ends the caller's session; its tokens stop working on the next request.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = ["account"])),
    responses(
        (status = 204, description = "Logged out"),
    ))]
async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    sessions::end(&state.db, caller.session_id, db::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_pair(
    state: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    scope: &str,
    refresh: OpaqueToken,
) -> ApiResult<axum::Json<TokenPair>> {
    Ok(axum::Json(TokenPair {
        access_token: state.tokens.issue(user_id, session_id, scope)?,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl().as_secs(),
        refresh_token: refresh.value,
    }))
}
