//! One error type for every handler, rendered as RFC 9457 problem details
//! (OUT-08). Internal causes are logged, never sent.
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: what went wrong, without internal detail.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` means the status says it all.
    #[schema(example = "about:blank", max_length = 200)]
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    #[schema(max_length = 200)]
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What the caller can change to make the request succeed, when that helps.
    #[schema(max_length = 1000)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Longest `detail`, in characters, as the contract states. A detail may
/// quote the input (an unknown field's name), so it is cut to fit.
const DETAIL_MAX_CHARS: usize = 1000;

impl Problem {
    pub fn new(status: StatusCode, detail: Option<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail: detail.map(|d| match d.char_indices().nth(DETAIL_MAX_CHARS) {
                Some((end, _)) => d[..end].to_owned(),
                None => d,
            }),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request (syntax, parameters); the detail says what to fix.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Well-formed but invalid input; the detail names the field.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Missing or bad credentials; deliberately says nothing more.
    #[error("unauthorized")]
    Unauthorized,
    /// Application keys are required and the request has no valid one (AUTH-08).
    #[error("unknown application")]
    UnknownApplication,
    /// Authenticated, but the token or the application lacks the scope the route needs.
    #[error("forbidden: missing scope {0}")]
    Forbidden(&'static str),
    /// The client's network is not on the allow-list (ACC-05).
    #[error("client network not allowed")]
    ClientNotAllowed,
    /// Missing, or owned by someone else: the two are indistinguishable (PROC-02).
    #[error("not found")]
    NotFound,
    /// The client accepts no media type the route produces (IN-02).
    #[error("not acceptable")]
    NotAcceptable,
    /// The body exceeds the limit (IN-04).
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// Over the rate limit; retry after this many seconds (ACC-01).
    #[error("too many requests")]
    TooManyRequests(u64),
    /// The database is unreachable or saturated; worth retrying.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bounded queue is full (password hashing): shed at once, not queued.
    #[error("at capacity")]
    AtCapacity,
    /// A refusal of the service's own (409 Conflict, 410 Gone, ...) with a
    /// detail for the client: the seam for errors the variants above do not
    /// name. Built by `ApiError::client`, so it is always a 4xx.
    #[error("{1}")]
    Client(ClientStatus, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A 4xx status; only `ApiError::client` makes one.
#[derive(Debug, Clone, Copy)]
pub struct ClientStatus(StatusCode);

impl ApiError {
    /// Refuses the request with `status` and `detail`, which the client
    /// sees. A status that is not a client error becomes an opaque 500,
    /// its detail logged only: a server's failure never explains itself.
    pub fn client(status: StatusCode, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        match status.is_client_error() {
            true => Self::Client(ClientStatus(status), detail),
            false => Self::Internal(anyhow::anyhow!("{status} used as a client error: {detail}")),
        }
    }
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized | Self::UnknownApplication => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::ClientNotAllowed => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::AtCapacity => StatusCode::SERVICE_UNAVAILABLE,
            Self::Client(status, _) => status.0,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::auth::Busy> for ApiError {
    fn from(_: crate::auth::Busy) -> Self {
        Self::AtCapacity
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Self::Unavailable(err.to_string())
            }
            other => Self::Internal(other.into()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            Self::BadRequest(detail)
            | Self::Invalid(detail)
            | Self::UnsupportedMediaType(detail) => {
                // The detail may quote the input, so only the status is logged.
                tracing::warn!(event = "input.rejected", status = status.as_u16());
                Some(detail.clone())
            }
            Self::Forbidden(scope) => Some(format!("this operation needs the `{scope}` scope")),
            Self::Unavailable(cause) => {
                tracing::warn!(event = "dependency_unavailable", %cause);
                Some("a dependency is unavailable; retry later".into())
            }
            Self::Internal(cause) => {
                tracing::error!(event = "internal_error", cause = format!("{cause:#}"));
                None
            }
            Self::NotAcceptable => Some("this API answers with application/json".into()),
            Self::Unauthorized => {
                crate::telemetry::Counter::AuthFailures.increment();
                None
            }
            Self::UnknownApplication => {
                crate::telemetry::Counter::AuthFailures.increment();
                Some("send a valid application key in the X-Api-Key header".into())
            }
            Self::TooManyRequests(_) => {
                Some("slow down and retry after the time in Retry-After".into())
            }
            Self::AtCapacity => {
                tracing::warn!(event = "load.shed");
                crate::telemetry::Counter::Shed.increment();
                Some("the service is at capacity; retry after the time in Retry-After".into())
            }
            Self::Client(status, detail) => {
                tracing::info!(event = "request.refused", status = status.0.as_u16());
                Some(detail.clone())
            }
            Self::ClientNotAllowed | Self::NotFound | Self::PayloadTooLarge => None,
        };
        let mut response = Problem::new(status, detail).into_response();
        match self {
            Self::TooManyRequests(seconds) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.into());
            }
            // A full queue drains within about a second.
            Self::Unavailable(_) | Self::AtCapacity => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::UnknownApplication => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("ApiKey header=\"X-Api-Key\""),
                );
            }
            _ => {}
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    // OUT-08/OPS-07: a detail quoting a huge input still fits the contract's bound.
    #[test]
    fn out_08_problem_detail_stays_within_its_bound() {
        let long = "é".repeat(DETAIL_MAX_CHARS + 50);
        let problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, Some(long));
        assert_eq!(problem.detail.unwrap().chars().count(), DETAIL_MAX_CHARS);
        let short = Problem::new(StatusCode::BAD_REQUEST, Some("fix it".into()));
        assert_eq!(short.detail.as_deref(), Some("fix it"));
    }

    // OUT-08: a service's own refusal keeps its 4xx and detail; anything
    // else passed off as one is an opaque 500.
    #[tokio::test]
    async fn out_08_client_errors_stay_client_errors() {
        let body = |response: Response| async {
            let bytes = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let conflict = ApiError::client(StatusCode::CONFLICT, "the name is taken").into_response();
        assert_eq!(conflict.status(), StatusCode::CONFLICT);
        assert_eq!(body(conflict).await["detail"], "the name is taken");
        for status in [StatusCode::OK, StatusCode::FOUND, StatusCode::BAD_GATEWAY] {
            let response = ApiError::client(status, "secret internals").into_response();
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(body(response).await.get("detail").is_none());
        }
    }
}
