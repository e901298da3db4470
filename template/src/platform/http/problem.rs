//! Turns error responses that carry no problem body (framework rejections,
//! fallbacks, timeouts, panics) into RFC 9457 problems (OUT-08).
use std::any::Any;

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

use crate::error::{PROBLEM_JSON, Problem};

/// Replaces the body of any 4xx/5xx response that is not already a problem,
/// keeping its status and headers (`Allow`, `Retry-After`...).
pub async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let problem = Problem::new(status, None).into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.extend(problem_parts.headers);
    Response::from_parts(parts, body)
}

/// A handler panic becomes an opaque 500; the server keeps serving.
pub fn panic_to_problem(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(event = "handler_panic", %message);
    Problem::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, None).into_response()
}
