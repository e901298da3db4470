//! Checks on the request line and headers that run before any route: a
//! malformed request id is replaced, credentials in the URL and unacceptable
//! `Accept` headers are refused.
use axum::{
    extract::Request,
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";
/// Longest client request id kept (IN-08); a UUID is 36 characters.
const MAX_REQUEST_ID_LEN: usize = 64;

/// Drops a client `X-Request-Id` that is too long or holds anything but
/// letters, digits, `-`, `_` and `.`, so that a fresh one is generated
/// (OPS-01, IN-08) and log lines cannot be forged through it.
pub async fn drop_malformed_request_id(mut request: Request) -> Request {
    let well_formed = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_LEN
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    let headers = request.headers_mut();
    if headers.get_all(REQUEST_ID).iter().count() > 1
        || headers.get(REQUEST_ID).is_some_and(|v| !well_formed(v))
    {
        headers.remove(REQUEST_ID);
    }
    request
}

/// Query parameters that carry credentials in the wild.
const CREDENTIAL_PARAMS: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "jwt",
    "key",
    "password",
    "refresh_token",
    "token",
];

/// Refuses credentials in the query string with 401 (IN-05). The query is
/// never logged (the request span records the path only).
pub async fn refuse_credentials_in_query(request: Request, next: Next) -> Response {
    let carries_credential = request.uri().query().is_some_and(|query| {
        query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            CREDENTIAL_PARAMS
                .iter()
                .any(|c| name.eq_ignore_ascii_case(c))
        })
    });
    if carries_credential {
        tracing::warn!(event = "input.rejected", reason = "credential_in_query");
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

/// Answers 406 when the client accepts none of the JSON types the API
/// produces (IN-02). A missing `Accept` means anything.
pub async fn require_acceptable(request: Request, next: Next) -> Response {
    let acceptable = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .all(|value| value.to_str().is_ok_and(accepts_json));
    if !acceptable {
        tracing::warn!(event = "input.rejected", reason = "not_acceptable");
        return ApiError::NotAcceptable.into_response();
    }
    next.run(request).await
}

/// True when one media range of an `Accept` value matches JSON or problem+json
/// with a non-zero quality.
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
            && matches!(
                media.as_str(),
                "*/*" | "application/*" | "application/json" | "application/problem+json"
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // IN-02: JSON, wildcards and lists with JSON are acceptable; others are not.
    #[test]
    fn in_02_accept_header_matching() {
        for ok in [
            "*/*",
            "application/json",
            "text/html, application/*;q=0.5",
            "application/problem+json",
        ] {
            assert!(accepts_json(ok), "{ok}");
        }
        for refused in [
            "text/html",
            "application/xml",
            "application/json;q=0",
            "image/*",
        ] {
            assert!(!accepts_json(refused), "{refused}");
        }
    }
}
