//! The OpenAPI 3.1 document: the inventory of every route (OPS-04, OPS-07).
//! Title, version and description come from Cargo.toml.
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr, ResponseBuilder, Schema,
        path::{Operation, Parameter, ParameterIn, PathItem},
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

/// Adds every problem status an operation can give (OPS-07): first those
/// that follow from what it declares (`derived`), then those the layers in
/// `http` can give on any route. A status the route documents itself keeps
/// the route's description.
pub fn document_problem_responses(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let derived = derived(operation);
            let responses = &mut operation.responses.responses;
            let layers = LAYER_RESPONSES
                .iter()
                .map(|(s, d)| ((*s).to_owned(), (*d).to_owned()));
            for (status, description) in derived.into_iter().chain(layers) {
                responses
                    .entry(status)
                    .or_insert_with(|| problem(&description).into());
            }
            // A route names its own error statuses by description alone;
            // every error is a problem document (OUT-08).
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(response) = response
                    && status.starts_with(['4', '5'])
                    && response.content.is_empty()
                {
                    *response = problem(&response.description);
                }
            }
        }
    }
}

/// utoipa describes an inlined field that has a doc comment as `allOf`
/// of its schema and `{type: object, description}`, which no value of the
/// field satisfies; the description goes onto the schema itself instead.
pub fn describe_inlined_fields(doc: &mut utoipa::openapi::OpenApi) {
    let schemas = doc
        .components
        .iter_mut()
        .flat_map(|c| c.schemas.values_mut());
    for schema in schemas {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        for property in object.properties.values_mut() {
            let RefOr::T(Schema::AllOf(all)) = property else {
                continue;
            };
            if let [
                RefOr::T(Schema::Object(field)),
                RefOr::T(Schema::Object(said)),
            ] = all.items.as_slice()
                && said.properties.is_empty()
                && said.description.is_some()
            {
                let mut field = field.clone();
                field.description.clone_from(&said.description);
                *property = RefOr::T(Schema::Object(field));
            }
        }
    }
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// The problems an operation gives because of its security (a token, its
/// scopes), its body and its path parameters.
fn derived(operation: &Operation) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut add =
        |status: &str, description: String| problems.push((status.to_owned(), description));
    let scopes: Vec<String> = operation
        .security
        .iter()
        .flatten()
        .filter_map(|need| serde_json::to_value(need).ok())
        .filter_map(|need| need.get("bearer").cloned())
        .filter_map(|scopes| serde_json::from_value::<Vec<String>>(scopes).ok())
        .flatten()
        .collect();
    if !scopes.is_empty() {
        add("401", "Missing or invalid token".into());
        let scopes = scopes.join(", ");
        add(
            "403",
            format!(
                "The token or the calling application lacks the {scopes} scope, or the client network is not allowed"
            ),
        );
    }
    if let Some(RefOr::T(body)) = &operation.request_body {
        let xml = body.content.keys().any(|media| media.ends_with("xml"));
        add(
            "400",
            if xml {
                "Malformed body, or XML with a DOCTYPE"
            } else {
                "Malformed body"
            }
            .into(),
        );
        add("413", "The body is larger than the limit".into());
        add(
            "415",
            if xml {
                "Neither JSON nor XML"
            } else {
                "Not JSON"
            }
            .into(),
        );
        add("422", "Invalid field".into());
    }
    let in_path =
        |p: &RefOr<Parameter>| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path);
    if operation.parameters.iter().flatten().any(in_path) {
        add(
            "400",
            "Malformed path parameter, or no single valid Host header".into(),
        );
        add("404", "No such resource, or not the caller's".into());
    }
    problems
}
