//! What Beacon's SCIM service offers (RFC 7643 §5–7): its configuration, its two resource
//! types and their schemas. The schemas list exactly the attributes Beacon keeps and gives
//! back; the provider's other attributes are stored as sent but not promised.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use crate::scim::{LIST_URN, MAX_RESULTS, ScimError, authenticate, scim_json};

/// The User schema's id.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group schema's id.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn attribute(name: &str, kind: &str, description: &str) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": false, "description": description,
        "required": false, "caseExact": false, "mutability": "readWrite",
        "returned": "default", "uniqueness": "none",
    })
}

fn read_only(mut value: Value) -> Value {
    value["mutability"] = "readOnly".into();
    value
}

fn complex(name: &str, multi: bool, description: &str, subs: Vec<Value>) -> Value {
    let mut value = attribute(name, "complex", description);
    value["multiValued"] = multi.into();
    value["subAttributes"] = Value::Array(subs);
    value
}

fn user_schema() -> Value {
    let mut user_name = attribute(
        "userName",
        "string",
        "Unique identifier; an e-mail address when the person has no emails.",
    );
    user_name["required"] = true.into();
    user_name["uniqueness"] = "server".into();
    let mut email_type = attribute("type", "string", "work, home or other.");
    email_type["canonicalValues"] = json!(["work", "home", "other"]);
    let mut groups = complex(
        "groups",
        true,
        "The groups the person is in (set through Groups).",
        vec![
            attribute("value", "string", "The group's id."),
            json!({"name": "$ref", "type": "reference", "referenceTypes": ["Group"],
                "multiValued": false, "description": "The group's URI.", "required": false,
                "caseExact": false, "mutability": "readOnly", "returned": "default", "uniqueness": "none"}),
            attribute("display", "string", "The group's name."),
        ],
    );
    groups["mutability"] = "readOnly".into();
    for sub in groups["subAttributes"].as_array_mut().into_iter().flatten() {
        sub["mutability"] = "readOnly".into();
    }
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A person in the organization.",
        "attributes": [
            user_name,
            complex("name", false, "The person's name.", vec![
                attribute("formatted", "string", "The full name."),
                attribute("familyName", "string", "Family name."),
                attribute("givenName", "string", "Given name."),
            ]),
            attribute("displayName", "string", "The name to show."),
            attribute("active", "boolean", "false removes the person from the organization."),
            complex("emails", true, "E-mail addresses; the primary one is the account's.", vec![
                attribute("value", "string", "The address."),
                email_type,
                attribute("primary", "boolean", "The account's address."),
            ]),
            groups,
        ],
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{USER_SCHEMA}")},
    })
}

fn group_schema() -> Value {
    let mut display_name = attribute(
        "displayName",
        "string",
        "The group's name; mapped to a role by the SSO group mapping.",
    );
    display_name["required"] = true.into();
    display_name["uniqueness"] = "server".into();
    let mut value = attribute("value", "string", "The member's user id.");
    value["mutability"] = "immutable".into();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A group of people.",
        "attributes": [
            display_name,
            complex("members", true, "The people in the group.", vec![
                value,
                json!({"name": "$ref", "type": "reference", "referenceTypes": ["User"],
                    "multiValued": false, "description": "The member's URI.", "required": false,
                    "caseExact": false, "mutability": "immutable", "returned": "default", "uniqueness": "none"}),
                read_only(attribute("display", "string", "The member's user name.")),
                read_only(attribute("type", "string", "User.")),
            ]),
        ],
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{GROUP_SCHEMA}")},
    })
}

fn resource_type(name: &str, endpoint: &str, schema_id: &str, base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name, "name": name, "endpoint": endpoint,
        "description": format!("{name}s of the organization"),
        "schema": schema_id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_URN],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn with_base(mut value: Value, base: &str) -> Value {
    if let Some(location) = value["meta"]["location"].as_str() {
        value["meta"]["location"] = format!("{base}{location}").into();
    }
    value
}

/// `GET /ServiceProviderConfig`.
#[handler]
pub async fn service_provider_config(req: &Request) -> Result<Response, ScimError> {
    let (_, client) = authenticate(req).await?;
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://beacon.dev/docs/scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken", "name": "Bearer token",
                "description": "A SCIM token an owner creates in Beacon (scim_…).",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", client.base)},
        }),
    ))
}

fn resource_types_of(base: &str) -> Vec<Value> {
    vec![
        resource_type("User", "/Users", USER_SCHEMA, base),
        resource_type("Group", "/Groups", GROUP_SCHEMA, base),
    ]
}

/// `GET /ResourceTypes`.
#[handler]
pub async fn resource_types(req: &Request) -> Result<Response, ScimError> {
    let (_, client) = authenticate(req).await?;
    Ok(scim_json(
        StatusCode::OK,
        &list(resource_types_of(&client.base)),
    ))
}

/// `GET /ResourceTypes/{name}`.
#[handler]
pub async fn resource_type_one(
    req: &Request,
    Path(name): Path<String>,
) -> Result<Response, ScimError> {
    let (_, client) = authenticate(req).await?;
    resource_types_of(&client.base)
        .into_iter()
        .find(|t| t["id"] == name.as_str())
        .map(|t| scim_json(StatusCode::OK, &t))
        .ok_or_else(|| ScimError::not_found("resource type"))
}

/// `GET /Schemas`.
#[handler]
pub async fn schemas(req: &Request) -> Result<Response, ScimError> {
    let (_, client) = authenticate(req).await?;
    let all = vec![
        with_base(user_schema(), &client.base),
        with_base(group_schema(), &client.base),
    ];
    Ok(scim_json(StatusCode::OK, &list(all)))
}

/// `GET /Schemas/{id}`.
#[handler]
pub async fn schema_one(req: &Request, Path(id): Path<String>) -> Result<Response, ScimError> {
    let (_, client) = authenticate(req).await?;
    [user_schema(), group_schema()]
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim_json(StatusCode::OK, &with_base(s, &client.base)))
        .ok_or_else(|| ScimError::not_found("schema"))
}
