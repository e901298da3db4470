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

/// Query parameter names that carry credentials in the wild, normalised as
/// `normalise_name` does: tokens, keys, passwords, session ids, and the
/// signatures of presigned URLs. Ordinary names (`limit`, `cursor`) are not here.
const CREDENTIAL_PARAMS: &[&str] = &[
    "accesstoken",
    "apikey",
    "auth",
    "authorization",
    "authtoken",
    "awsaccesskeyid",
    "bearer",
    "clientsecret",
    "credential",
    "credentials",
    "idtoken",
    "jsessionid",
    "jwt",
    "key",
    "passwd",
    "password",
    "phpsessid",
    "refreshtoken",
    "secret",
    "session",
    "sessionid",
    "sessiontoken",
    "sig",
    "signature",
    "token",
    "xamzcredential",
    "xamzsecuritytoken",
    "xamzsignature",
    "xapikey",
    "xgoogcredential",
    "xgoogsignature",
];

/// Refuses credentials in the query string with 401 (IN-05), whatever the
/// spelling of the parameter's name. The query is never logged (the request
/// span records the path only).
pub async fn refuse_credentials_in_query(request: Request, next: Next) -> Response {
    if request.uri().query().is_some_and(carries_credential) {
        tracing::warn!(event = "input.rejected", reason = "credential_in_query");
        return ApiError::Unauthorized.into_response();
    }
    next.run(request).await
}

/// Whether a parameter of `query` has a credential's name.
fn carries_credential(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = normalise_name(pair.split('=').next().unwrap_or_default());
        CREDENTIAL_PARAMS.contains(&name.as_str())
    })
}

/// A parameter name as the query extractor reads it (percent-decoded, `+` a
/// space), then lower-cased with all but ASCII letters and digits dropped, so
/// that `Access-Token`, `access%5Ftoken` and `accessToken` are one name.
fn normalise_name(raw: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
    let bytes = raw.as_bytes();
    let (mut name, mut i) = (String::with_capacity(bytes.len()), 0);
    while i < bytes.len() {
        let mut byte = bytes[i];
        if byte == b'%'
            && let (Some(high), Some(low)) = (hex(bytes.get(i + 1)), hex(bytes.get(i + 2)))
        {
            byte = u8::try_from(high * 16 + low).unwrap_or(byte);
            i += 2;
        }
        i += 1;
        if byte.is_ascii_alphanumeric() {
            name.push(char::from(byte.to_ascii_lowercase()));
        }
    }
    name
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

    // IN-05: names are read as the query extractor reads them, then compared
    // without case, separators or anything but letters and digits.
    #[test]
    fn in_05_parameter_names_are_normalised() {
        for (raw, name) in [
            ("access_token", "accesstoken"),
            ("Access-Token", "accesstoken"),
            ("access%5Ftoken", "accesstoken"),
            ("%61pi_key", "apikey"),
            ("%41PI%5fKEY", "apikey"),
            ("x-api-key", "xapikey"),
            ("access+token", "accesstoken"),
            ("%2561pi_key", "61pikey"), // decoded once, as the extractor does
            ("%", ""),
            ("%4", "4"),
            ("%zz", "zz"),
            ("%+1", "1"),
            ("t%C3%B6ken", "tken"),
        ] {
            assert_eq!(normalise_name(raw), name, "{raw}");
        }
        assert!(CREDENTIAL_PARAMS.iter().all(|c| normalise_name(c) == *c));
    }

    // IN-05: a credential's name anywhere in the query is found, ordinary
    // parameters pass.
    #[test]
    fn in_05_credential_names_in_queries() {
        for query in [
            "access%5Ftoken=x",
            "limit=5&%61pi_key=x",
            "X-Api-Key=x",
            "bearer",
            "cursor=abc&client_secret=x&limit=1",
            "id_token=x",
            "X-Amz-Signature=abc",
            "sessionId=1",
        ] {
            assert!(carries_credential(query), "{query}");
        }
        for query in [
            "",
            "limit=5",
            "limit=5&cursor=abc",
            "q=token",
            "sort_key=created",
            "keys=1",
            "tokenizer=x",
            "status=open&=token",
        ] {
            assert!(!carries_credential(query), "{query}");
        }
    }

    // IN-05: every listed name, spelled in random mixes of case, separators
    // and percent-encoding, is found. Seeded, so a failure reproduces.
    #[test]
    fn in_05_every_spelling_of_every_name_is_found() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for round in 0..2_000 {
            for name in CREDENTIAL_PARAMS {
                let mut spelled = String::new();
                for c in name.chars() {
                    if next(4) == 0 {
                        spelled.push_str(["-", "_", "+", "%5F", "%2d", "."][next(6) as usize]);
                    }
                    let c = if next(2) == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    };
                    match next(3) {
                        0 => spelled.push_str(&format!("%{:02X}", u32::from(c))),
                        1 => spelled.push_str(&format!("%{:02x}", u32::from(c))),
                        _ => spelled.push(c),
                    }
                }
                let query = format!("limit={round}&{spelled}=secret&cursor=x");
                assert!(carries_credential(&query), "{query}");
            }
        }
    }

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

#[cfg(test)]
mod proptests {
    use axum::{body::Body, http::HeaderValue};
    use proptest::prelude::*;

    use super::*;

    /// Runs the guard on a request with these `X-Request-Id` lines.
    fn guarded(ids: &[HeaderValue]) -> Request {
        let mut request = Request::new(Body::empty());
        for id in ids {
            request.headers_mut().append(REQUEST_ID, id.clone());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(drop_malformed_request_id(request))
    }

    fn id() -> impl Strategy<Value = HeaderValue> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..100)
                .prop_filter_map("not a field value", |b| HeaderValue::from_bytes(&b).ok()),
            "[a-zA-Z0-9._ -]{0,70}"
                .prop_filter_map("not a field value", |s| { HeaderValue::from_str(&s).ok() }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        // IN-08: whatever request ids arrive, at most one is kept, and only
        // a single well-formed one, unchanged.
        #[test]
        fn in_08_only_one_well_formed_request_id_survives(
            ids in proptest::collection::vec(id(), 0..3)
        ) {
            let request = guarded(&ids);
            let kept: Vec<_> = request.headers().get_all(REQUEST_ID).iter().collect();
            let well_formed = |v: &HeaderValue| {
                (1..=MAX_REQUEST_ID_LEN).contains(&v.len())
                    && v.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
            };
            match ids.as_slice() {
                [only] if well_formed(only) => prop_assert_eq!(kept, vec![only]),
                _ => prop_assert!(kept.is_empty(), "kept {kept:?} of {ids:?}"),
            }
        }
    }
}
