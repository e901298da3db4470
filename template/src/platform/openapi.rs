//! The OpenAPI 3.1 document: the inventory of every route (OPS-04, OPS-07).
//! Title, version and description come from Cargo.toml.
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, ResponseBuilder,
        path::{Operation, PathItem},
        security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        },
    },
};

use crate::error::PROBLEM_JSON;

#[derive(OpenApi)]
#[openapi(
    components(schemas(crate::error::Problem)),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "Key of the calling application, when the service requires one (AUTH-08)",
            ))),
        );
    }
}

/// The operations of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// When application keys are required, every operation outside `keyless`
/// also needs the `api_key` scheme, on top of any token it needs (AUTH-08).
pub fn require_api_key(doc: &mut utoipa::openapi::OpenApi, keyless: &[&str]) {
    let key = || SecurityRequirement::new("api_key", Vec::<String>::new());
    for (path, item) in doc.paths.paths.iter_mut() {
        if keyless.contains(&path.as_str()) {
            continue;
        }
        for operation in operations(item) {
            let security = operation.security.take().unwrap_or_default();
            operation.security = Some(if security.is_empty() {
                vec![key()]
            } else {
                security
                    .into_iter()
                    .map(|need| need.add("api_key", Vec::<String>::new()))
                    .collect()
            });
        }
    }
}

/// Statuses that the layers in `http` can give on any route, whatever the
/// handler does; each is a problem document.
const LAYER_RESPONSES: &[(&str, &str)] = &[
    ("400", "Malformed request: no single valid Host header"),
    (
        "401",
        "Missing or invalid credentials, or credentials in the query string",
    ),
    (
        "403",
        "Refused: the client network is not allowed, or a scope is missing",
    ),
    ("406", "The Accept header allows no JSON type"),
    ("408", "The request took longer than the request deadline"),
    ("429", "Rate limit exceeded; see Retry-After"),
    (
        "503",
        "At capacity, or the database is unavailable; see Retry-After",
    ),
    (
        "500",
        "Unexpected error; details are in the service's logs only",
    ),
];

/// Adds the layers' statuses to every operation (and 413 to every operation
/// with a body), so the document lists every status a route can return (OPS-07).
pub fn document_layer_responses(doc: &mut utoipa::openapi::OpenApi) {
    let problem = || {
        ResponseBuilder::new().content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
    };
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            for (status, description) in LAYER_RESPONSES {
                responses
                    .entry((*status).to_owned())
                    .or_insert_with(|| problem().description(*description).build().into());
            }
            if operation.request_body.is_some() {
                responses.entry("413".to_owned()).or_insert_with(|| {
                    problem()
                        .description("The body is larger than the limit")
                        .build()
                        .into()
                });
            }
        }
    }
}
