//! Request extractors whose rejections are problem+json with a useful detail,
//! instead of axum's plain-text ones.
use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::{error::ApiError, xml};

/// Deepest JSON nesting accepted; request types need one level.
pub const MAX_JSON_DEPTH: usize = 16;

/// A JSON body bound to a request type (IN-04, IN-06), refused with 400 when
/// nested deeper than `MAX_JSON_DEPTH` before any parsing.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media = media_type(&req);
        if media != "application/json" && !media.ends_with("+json") {
            return Err(ApiError::UnsupportedMediaType(
                "send application/json".into(),
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| rejection(e.status(), e.body_text()))?;
        check_json_depth(&body)?;
        check_utf8(&body)?;
        // Binding stops at the first fault, so a document that binds is
        // well-formed; only when it fails is the whole of it read again, for
        // a syntax error beyond the first invalid field (400, not 422).
        axum::Json::<T>::from_bytes(&body)
            .map(|axum::Json(value)| Self(value))
            .map_err(|rejection| {
                check_json_syntax(&body)
                    .err()
                    .unwrap_or_else(|| json_rejection(rejection))
            })
    }
}

/// The media type of the body, lower-cased, without parameters.
fn media_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Counts bracket nesting outside strings: deep documents are refused
/// without building them.
fn check_json_depth(body: &[u8]) -> Result<(), ApiError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ApiError::BadRequest(format!(
                        "JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// JSON is UTF-8 (RFC 8259), which serde_json does not check in the parts
/// it skips.
fn check_utf8(body: &[u8]) -> Result<(), ApiError> {
    std::str::from_utf8(body)
        .map(drop)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8 text".into()))
}

/// Reads the whole document without building it, so that a syntax error is a
/// 400 even where binding would first have stopped at an invalid field (a
/// 422): a document that is not JSON is malformed, whatever it holds.
fn check_json_syntax(body: &[u8]) -> Result<(), ApiError> {
    check_utf8(body)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(drop)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// A body that may be JSON or XML, chosen by `Content-Type`; XML goes through
/// the DOCTYPE-refusing parser (PROC-04).
pub struct JsonOrXml<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonOrXml<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match media_type(&req).as_str() {
            "application/json" => Json::<T>::from_request(req, state)
                .await
                .map(|Json(v)| Self(v)),
            "application/xml" | "text/xml" => {
                let body = String::from_request(req, state)
                    .await
                    .map_err(|e| rejection(e.status(), e.body_text()))?;
                xml::from_str(&body).map(Self)
            }
            _ => Err(ApiError::UnsupportedMediaType(
                "send application/json or application/xml".into(),
            )),
        }
    }
}

/// Query parameters bound to a type; a bad one is a 400 naming it.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// Path parameters; a malformed id is answered like a missing resource.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::NotFound)
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("send application/json".into())
        }
        // Syntax errors and schema errors both name the place or field at
        // fault. A syntax error here is one only binding sees (a lone
        // surrogate in a string): the whole document was read after binding failed.
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::JsonDataError(e) => ApiError::Invalid(e.body_text()),
        other => self::rejection(other.status(), other.body_text()),
    }
}

fn rejection(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
        _ => ApiError::BadRequest(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IN-04: nesting is counted outside strings only, and bounded.
    #[test]
    fn in_04_json_depth_is_bounded() {
        let deep = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH + 1),
            "]".repeat(MAX_JSON_DEPTH + 1)
        );
        assert!(check_json_depth(deep.as_bytes()).is_err());
        let fine = format!(
            "{}{}",
            "[".repeat(MAX_JSON_DEPTH),
            "]".repeat(MAX_JSON_DEPTH)
        );
        assert!(check_json_depth(fine.as_bytes()).is_ok());
        // {"note": "[[[…\" [[["} holds brackets only inside its string.
        let in_string = [r#"{"note": ""#, &"[".repeat(100), r#"\" [[["}"#].concat();
        assert!(check_json_depth(in_string.as_bytes()).is_ok());
    }

    // IN-04: syntax is judged on the whole document, before any field.
    #[test]
    fn in_04_json_syntax_is_checked_whole() {
        for bad in [
            &br#"{"email":"a@example.com","password":"x",}"#[..],
            br#"{"email":"a@example.com","#,
            br#"{"email":"x",,"password":"y"}"#,
            br#"{"email":"\q"}"#,
            br#"{"email":"a"} trailing"#,
            b"{\"email\":\"\xff\"}",
            b"",
        ] {
            assert!(
                check_json_syntax(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(check_json_syntax(br#"{"email":"x","n":[1,2.5e3,null,true]}"#).is_ok());
    }
}
