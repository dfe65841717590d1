//! Corrections to the OpenAPI document poem-openapi generates, where it cannot say what the
//! server does: a field that is `null` when absent is `nullable`, and a union of non-objects
//! is not also `type: object`. Applied once, to the spec the server serves and the one checked
//! in, so generated clients and Schemathesis see the server's real contract.

use serde_json::{Map, Value};

/// `spec` (poem-openapi's JSON) corrected, pretty-printed with a final newline.
pub fn corrected(spec: &str) -> Result<String, serde_json::Error> {
    let mut spec: Value = serde_json::from_str(spec)?;
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            if let Some(schema) = schema.as_object_mut() {
                union_is_not_an_object(schema);
                optional_fields_are_nullable(schema);
            }
        }
    }
    for (pointer, key, value) in constraints() {
        if let Some(Value::Object(target)) = spec.pointer_mut(&pointer) {
            target.insert(key.to_owned(), value);
        }
    }
    constrain_parameters(&mut spec);
    event_streams_describe_their_events(&mut spec);
    let mut text = serde_json::to_string_pretty(&spec)?;
    text.push('\n');
    Ok(text)
}

/// poem-openapi describes a server-sent event stream as an array of its items. A stream is a
/// sequence of events whose `data` is one item as JSON, which is what SSE clients (and
/// Schemathesis) read, so each such response describes its event instead.
fn event_streams_describe_their_events(spec: &mut Value) {
    let Some(paths) = spec.pointer_mut("/paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| {
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
        })
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(stream) = response
            .pointer_mut("/content/text~1event-stream")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let Some(item) = stream.get("schema").and_then(|s| s.get("items")).cloned() else {
            continue;
        };
        stream.insert(
            "schema".to_owned(),
            serde_json::json!({
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": item,
                    },
                    "event": {"type": "string"},
                    "id": {"type": "string"},
                    "retry": {"type": "integer"},
                },
            }),
        );
    }
}

/// A host name as [`tenant::hostname::normalize`] accepts it (before trimming and lower-casing).
const HOST_NAME: &str = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$";

/// Limits the handlers check themselves (so their problem `type`s stay stable) that the spec
/// must state too: (JSON pointer, keyword, value).
fn constraints() -> Vec<(String, &'static str, Value)> {
    let schema =
        |name: &str, property: &str| format!("/components/schemas/{name}/properties/{property}");
    let mut out = vec![
        (
            schema("CredentialsIn", "password"),
            "minLength",
            Value::from(8),
        ),
        (
            schema("PasswordResetIn", "password"),
            "minLength",
            Value::from(8),
        ),
        (schema("StatsQuery", "metrics"), "minItems", Value::from(1)),
        (schema("StatsQuery", "metrics"), "maxItems", Value::from(10)),
    ];
    // The audit export answers CSV or JSON Lines by its `format`; poem-openapi keeps only one
    // content type per status.
    out.push((
        "/paths/~1api~1v1~1orgs~1{org_id}~1audit-log~1export/get/responses/200/content".to_owned(),
        "text/csv; charset=utf-8",
        serde_json::json!({"schema": {"type": "string", "format": "binary"}}),
    ));
    // The file exports answer CSV or one JSON document by their `format` (the JSON is an
    // object, not a string of bytes).
    for path in [
        "/paths/~1api~1v2~1query~1export/post/responses/200/content",
        "/paths/~1api~1v1~1orgs~1{org_id}~1projects~1{project_id}~1issues~1export/get/responses/200/content",
    ] {
        out.push((
            path.to_owned(),
            "text/csv; charset=utf-8",
            serde_json::json!({"schema": {"type": "string", "format": "binary"}}),
        ));
        out.push((
            path.to_owned(),
            "application/json",
            serde_json::json!({"schema": {"type": "object"}}),
        ));
    }
    for name in ["ProjectIn", "ProjectPatch"] {
        let items = format!("{}/items", schema(name, "domains"));
        out.push((items.clone(), "pattern", Value::from(HOST_NAME)));
        out.push((items, "maxLength", Value::from(tenant::hostname::MAX_LEN)));
    }
    out
}

/// Limits on query parameters, as [`constraints`]: (path, method, parameter, keyword, value).
const PARAMETER_CONSTRAINTS: &[(&str, &str, &str, &str, i64)] = &[
    (RETENTION, "get", "weeks", "minimum", 1),
    (RETENTION, "get", "weeks", "maximum", 26),
];
const RETENTION: &str = "/api/v1/orgs/{org_id}/projects/{project_id}/retention";

fn constrain_parameters(spec: &mut Value) {
    for (path, method, name, key, value) in PARAMETER_CONSTRAINTS {
        let parameters = spec
            .get_mut("paths")
            .and_then(|paths| paths.get_mut(*path))
            .and_then(|operations| operations.get_mut(*method))
            .and_then(|operation| operation.get_mut("parameters"))
            .and_then(Value::as_array_mut);
        let schema = parameters.into_iter().flatten().find_map(|parameter| {
            if parameter.get("name").and_then(Value::as_str) == Some(*name) {
                parameter.get_mut("schema").and_then(Value::as_object_mut)
            } else {
                None
            }
        });
        if let Some(schema) = schema {
            schema.insert((*key).to_owned(), Value::from(*value));
        }
    }
}

/// poem-openapi gives a union of a string and an array (`StatsDateRange`) `type: object` too,
/// which no value satisfies.
fn union_is_not_an_object(schema: &mut Map<String, Value>) {
    let alternatives = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array);
    let no_object = alternatives.is_some_and(|alternatives| {
        alternatives
            .iter()
            .all(|alternative| alternative.get("type").is_some_and(|t| t != "object"))
    });
    if no_object && schema.get("type").is_some_and(|t| t == "object") {
        schema.remove("type");
    }
}

/// An `Option` field the server serializes as `null` (every optional field of a response:
/// `next_cursor`, `revoked_at`, `currency`, …) must say `nullable: true`; a reference is
/// wrapped in `allOf`, since OpenAPI 3.0 ignores siblings of `$ref`. Requests may send `null`
/// for an optional field too: the server reads it as absent.
fn optional_fields_are_nullable(schema: &mut Map<String, Value>) {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if required.contains(name) {
            continue;
        }
        let Some(property) = property.as_object_mut() else {
            continue;
        };
        if let Some(reference) = property.remove("$ref") {
            property.insert(
                "allOf".into(),
                Value::Array(vec![Value::Object(Map::from_iter([(
                    "$ref".to_owned(),
                    reference,
                )]))]),
            );
        }
        property.insert("nullable".into(), Value::Bool(true));
    }
}

/// The methods the spec lists for `path` (a concrete request path), as an `Allow` header value,
/// for 405 answers; `None` when no documented path matches.
pub fn allowed_methods(path: &str) -> Option<String> {
    static ROUTES: std::sync::OnceLock<Vec<(Vec<String>, Vec<String>)>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| {
        let spec: Value = serde_json::from_str(&crate::app::openapi_json()).unwrap_or_default();
        let mut routes: Vec<(Vec<String>, Vec<String>)> = spec
            .get("paths")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(template, operations)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods = operations
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(method, _)| method.to_ascii_uppercase())
                    .collect();
                (segments, methods)
            })
            .collect();
        // Sentry's ingestion endpoints are routed outside the spec.
        for template in ["/api/{ingest_id}/envelope/", "/api/{ingest_id}/envelope"] {
            routes.push((
                template.split('/').map(str::to_owned).collect(),
                vec!["POST".to_owned()],
            ));
        }
        routes
    });
    let segments: Vec<&str> = path.split('/').collect();
    routes
        .iter()
        .find(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(part, segment)| {
                    part == segment || (part.starts_with('{') && !segment.is_empty())
                })
        })
        .map(|(_, methods)| methods.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_fields_become_nullable_and_unions_lose_type_object() {
        let spec = json!({"components": {"schemas": {
            "List": {"type": "object", "required": ["items"], "properties": {
                "items": {"type": "array", "items": {"type": "string"}},
                "next_cursor": {"type": "string"},
                "total": {"$ref": "#/components/schemas/Row"}
            }},
            "Range": {"type": "object", "anyOf": [{"type": "string"}, {"type": "array"}]},
            "Either": {"type": "object", "anyOf": [{"type": "object"}, {"type": "string"}]}
        }}});
        let fixed: Value = serde_json::from_str(&corrected(&spec.to_string()).unwrap()).unwrap();
        let schemas = &fixed["components"]["schemas"];
        assert_eq!(schemas["List"]["properties"]["items"].get("nullable"), None);
        assert_eq!(
            schemas["List"]["properties"]["next_cursor"]["nullable"],
            true
        );
        assert_eq!(
            schemas["List"]["properties"]["total"],
            json!({"allOf": [{"$ref": "#/components/schemas/Row"}], "nullable": true})
        );
        assert_eq!(schemas["Range"].get("type"), None);
        assert_eq!(
            schemas["Either"]["type"], "object",
            "a union with an object keeps it"
        );
    }

    #[test]
    fn every_constraint_lands_on_the_real_spec() {
        let generated: Value = serde_json::from_str(&crate::app::api_service().spec()).unwrap();
        for (pointer, _, _) in constraints() {
            assert!(
                generated.pointer(&pointer).is_some(),
                "{pointer} is not in the spec"
            );
        }
        let spec: Value = serde_json::from_str(&crate::app::openapi_json()).unwrap();
        let schemas = &spec["components"]["schemas"];
        assert_eq!(
            schemas["CredentialsIn"]["properties"]["password"]["minLength"],
            8
        );
        assert_eq!(
            schemas["ProjectIn"]["properties"]["domains"]["items"]["pattern"],
            HOST_NAME
        );
        assert_eq!(schemas["StatsDateRange"].get("type"), None);
        assert_eq!(
            schemas["Page_OrganizationOut"]["properties"]["next_cursor"]["nullable"],
            true
        );
        let weeks = spec["paths"][RETENTION]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "weeks")
            .unwrap();
        assert_eq!(
            (
                weeks["schema"]["minimum"].clone(),
                weeks["schema"]["maximum"].clone()
            ),
            (json!(1), json!(26))
        );
    }

    #[test]
    fn the_allow_header_lists_the_documented_methods() {
        assert_eq!(
            allowed_methods("/api/v1/orgs/0192/projects/abc").as_deref(),
            Some("DELETE, GET, PATCH")
        );
        assert_eq!(
            allowed_methods("/api/12/envelope/").as_deref(),
            Some("POST")
        );
        assert_eq!(allowed_methods("/api/v1/nothing"), None);
    }
}
