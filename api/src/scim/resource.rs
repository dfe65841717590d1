//! SCIM resources as Beacon keeps and answers them: what a provider sends is cleaned (read-only
//! attributes dropped, Entra ID's string booleans made booleans) and kept as sent; answers add
//! the id, `schemas`, `meta` and the read-only side (a user's groups, a group's members).
//! Also the list parameters: `filter` (`attribute eq "value"`), `startIndex`, `count`,
//! `attributes` and `excludedAttributes`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tenant::tables::scim::{ScimGroup, ScimUser};
use uuid::Uuid;

use crate::scim::discovery::{GROUP_SCHEMA, USER_SCHEMA};
use crate::scim::{LIST_URN, MAX_RESULTS, ScimError};

/// Attributes the server sets, never taken from a request.
const SERVER_SET: &[&str] = &["id", "meta", "schemas", "groups"];

/// A list request's parameters.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    /// `attribute eq "value"`, the attribute lower-cased.
    pub filter: Option<(String, String)>,
    /// Rows to skip (SCIM's `startIndex` − 1).
    pub offset: i64,
    /// Most rows to answer.
    pub count: i64,
    /// `attributes`.
    pub attributes: Vec<String>,
    /// `excludedAttributes`.
    pub excluded: Vec<String>,
}

fn names(raw: Option<&str>) -> Vec<String> {
    raw.map(|list| {
        list.split(',')
            .map(|name| strip_schema(name.trim()).to_ascii_lowercase())
            .filter(|name| !name.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn strip_schema(name: &str) -> &str {
    for schema in [USER_SCHEMA, GROUP_SCHEMA] {
        if name.len() > schema.len() + 1 && name[..schema.len()].eq_ignore_ascii_case(schema) {
            return &name[schema.len() + 1..];
        }
    }
    name
}

impl ListParams {
    fn build(
        filter: Option<&str>,
        start: Option<i64>,
        count: Option<i64>,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(raw) => {
                let (attribute, value) =
                    crate::scim::patch::parse_filter(raw).ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "only `attribute eq \"value\"` filters are supported, not {raw:?}"
                        ))
                    })?;
                Some((strip_schema(&attribute).to_ascii_lowercase(), value))
            }
        };
        Ok(Self {
            filter,
            offset: start.unwrap_or(1).max(1) - 1,
            count: count.unwrap_or(MAX_RESULTS).clamp(0, MAX_RESULTS),
            attributes: names(attributes),
            excluded: names(excluded),
        })
    }

    /// From a GET's query.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Self, ScimError> {
        let number = |name: &str| -> Result<Option<i64>, ScimError> {
            query
                .get(name)
                .map(|raw| {
                    raw.trim()
                        .parse::<i64>()
                        .map_err(|_| ScimError::invalid_value(format!("{name} must be a number")))
                })
                .transpose()
        };
        Self::build(
            query.get("filter").map(String::as_str),
            number("startIndex")?,
            number("count")?,
            query.get("attributes").map(String::as_str),
            query.get("excludedAttributes").map(String::as_str),
        )
    }

    /// From a `.search` body.
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let list = |name: &str| match body.get(name) {
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        Self::build(
            body.get("filter").and_then(Value::as_str),
            body.get("startIndex").and_then(Value::as_i64),
            body.get("count").and_then(Value::as_i64),
            list("attributes").as_deref(),
            list("excludedAttributes").as_deref(),
        )
    }

    /// The filter's value when it names `attribute` (lower-case); 400 when it names another.
    pub fn filter_on<'a>(
        &'a self,
        allowed: &[&str],
    ) -> Result<Option<(&'a str, &'a str)>, ScimError> {
        match &self.filter {
            None => Ok(None),
            Some((attribute, value)) if allowed.contains(&attribute.as_str()) => {
                Ok(Some((attribute.as_str(), value.as_str())))
            }
            Some((attribute, _)) => Err(ScimError::invalid_filter(format!(
                "filtering on {attribute} is not supported (use one of {})",
                allowed.join(", ")
            ))),
        }
    }

    /// `resource` with only the asked-for attributes (`id` and `schemas` always).
    pub fn project(&self, mut resource: Value) -> Value {
        let Some(object) = resource.as_object_mut() else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let wanted = |key: &str| {
                let key = key.to_ascii_lowercase();
                key == "id"
                    || key == "schemas"
                    || self
                        .attributes
                        .iter()
                        .any(|a| *a == key || a.split('.').next() == Some(key.as_str()))
            };
            object.retain(|key, _| wanted(key));
            let parents: std::collections::BTreeSet<&str> = self
                .attributes
                .iter()
                .filter_map(|a| a.split_once('.').map(|(parent, _)| parent))
                .collect();
            for parent in parents {
                if self.attributes.iter().any(|a| a == parent) {
                    continue;
                }
                let children: Vec<&str> = self
                    .attributes
                    .iter()
                    .filter_map(|a| a.strip_prefix(parent)?.strip_prefix('.'))
                    .collect();
                if let Some((_, value)) = object
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case(parent))
                {
                    keep_children(value, &children);
                }
            }
        }
        for attribute in &self.excluded {
            if attribute == "id" || attribute == "schemas" {
                continue;
            }
            match attribute.split_once('.') {
                None => object.retain(|key, _| !key.eq_ignore_ascii_case(attribute)),
                Some((parent, child)) => {
                    if let Some((_, value)) = object
                        .iter_mut()
                        .find(|(k, _)| k.eq_ignore_ascii_case(parent))
                    {
                        drop_child(value, child);
                    }
                }
            }
        }
        resource
    }

    /// A ListResponse of `resources` (already this page), `total` in all.
    pub fn list_response(&self, resources: Vec<Value>, total: i64) -> Value {
        let resources: Vec<Value> = resources.into_iter().map(|r| self.project(r)).collect();
        json!({
            "schemas": [LIST_URN],
            "totalResults": total,
            "startIndex": self.offset + 1,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        })
    }
}

fn keep_children(value: &mut Value, children: &[&str]) {
    let keep = |object: &mut Map<String, Value>| {
        object.retain(|key, _| children.iter().any(|c| c.eq_ignore_ascii_case(key)));
    };
    match value {
        Value::Object(object) => keep(object),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(keep),
        _ => {}
    }
}

fn drop_child(value: &mut Value, child: &str) {
    let drop =
        |object: &mut Map<String, Value>| object.retain(|key, _| !key.eq_ignore_ascii_case(child));
    match value {
        Value::Object(object) => drop(object),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(drop),
        _ => {}
    }
}

/// A boolean as SCIM clients send it (Entra ID: `"True"`, `"False"`).
fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The value of `attribute` in `object`, whatever its case.
fn get_ci<'a>(object: &'a Map<String, Value>, attribute: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(attribute))
        .map(|(_, value)| value)
}

/// Drops server-set attributes and makes string booleans booleans.
fn clean(body: Value) -> Result<Map<String, Value>, ScimError> {
    let Value::Object(mut object) = body else {
        return Err(ScimError::invalid_syntax("a resource is a JSON object"));
    };
    object.retain(|key, _| !SERVER_SET.iter().any(|s| s.eq_ignore_ascii_case(key)));
    for (key, value) in object.iter_mut() {
        if key.eq_ignore_ascii_case("active") {
            *value = Value::Bool(
                boolean(value).ok_or_else(|| ScimError::invalid_value("active is a boolean"))?,
            );
        }
        if key.eq_ignore_ascii_case("emails")
            && let Value::Array(emails) = value
        {
            for email in emails.iter_mut().filter_map(Value::as_object_mut) {
                if let Some(primary) = email.get_mut("primary") {
                    *primary = Value::Bool(boolean(primary).unwrap_or(false));
                }
            }
        }
    }
    Ok(object)
}

fn text(
    object: &Map<String, Value>,
    attribute: &str,
    max: usize,
) -> Result<Option<String>, ScimError> {
    match get_ci(object, attribute) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() && text.len() <= max => {
            Ok(Some(text.trim().to_owned()))
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "{attribute} must be a non-empty string of at most {max} bytes"
        ))),
    }
}

/// A user as a provider sent it, checked.
#[derive(Debug, Clone)]
pub struct UserInput {
    /// What is kept.
    pub resource: Value,
    /// `userName`.
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `active` (default true).
    pub active: bool,
    /// The address the account is found or created by: the primary e-mail, the first, or the
    /// user name when it is one; none when there is no address (no account is linked yet).
    pub email: Option<String>,
}

/// Checks a user resource.
pub fn user_input(body: Value) -> Result<UserInput, ScimError> {
    let mut object = clean(body)?;
    let user_name = text(&object, "userName", 256)?
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let external_id = text(&object, "externalId", 256)?;
    let active = get_ci(&object, "active")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let emails: Vec<&Map<String, Value>> = get_ci(&object, "emails")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or(emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str);
    let email = primary
        .and_then(|address| crate::routes::auth::normalize_email(address).ok())
        .or_else(|| crate::routes::auth::normalize_email(&user_name).ok());
    object
        .retain(|key, _| !["username", "externalid"].contains(&key.to_ascii_lowercase().as_str()));
    Ok(UserInput {
        resource: Value::Object(object),
        user_name,
        external_id,
        active,
        email,
    })
}

/// A user as answered.
pub fn user_out(row: &ScimUser, groups: &[(Uuid, String)], base: &str) -> Value {
    let mut out = match &row.resource {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    out.insert("schemas".into(), json!([USER_SCHEMA]));
    out.insert("id".into(), row.scim_id.to_string().into());
    out.insert("userName".into(), row.user_name.clone().into());
    if let Some((key, _)) = out
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("active"))
    {
        let key = key.clone();
        out.insert(key, row.active.into());
    }
    if let Some(external) = &row.external_id {
        out.insert("externalId".into(), external.clone().into());
    }
    if !groups.is_empty() {
        out.insert(
            "groups".into(),
            groups
                .iter()
                .map(|(id, name)| json!({"value": id.to_string(), "display": name, "$ref": format!("{base}/Groups/{id}")}))
                .collect(),
        );
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": row.created_at.to_rfc3339(),
            "lastModified": row.updated_at.to_rfc3339(),
            "location": format!("{base}/Users/{}", row.scim_id),
        }),
    );
    Value::Object(out)
}

/// A group as a provider sent it, checked.
#[derive(Debug, Clone)]
pub struct GroupInput {
    /// What is kept (without members).
    pub resource: Value,
    /// `displayName`.
    pub display_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// Members (SCIM ids of users).
    pub members: Vec<Uuid>,
}

/// Checks a group resource.
pub fn group_input(body: Value) -> Result<GroupInput, ScimError> {
    let mut object = clean(body)?;
    let display_name = text(&object, "displayName", 256)?
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let external_id = text(&object, "externalId", 256)?;
    let members = match get_ci(&object, "members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|m| {
                m.get("value")
                    .and_then(Value::as_str)
                    .and_then(|v| Uuid::try_parse(v).ok())
                    .ok_or_else(|| ScimError::invalid_value("each member's value is a user id"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ScimError::invalid_value("members is a list")),
    };
    object.retain(|key, _| {
        !["displayname", "externalid", "members"].contains(&key.to_ascii_lowercase().as_str())
    });
    Ok(GroupInput {
        resource: Value::Object(object),
        display_name,
        external_id,
        members,
    })
}

/// A group as answered.
pub fn group_out(row: &ScimGroup, members: &[(Uuid, String)], base: &str) -> Value {
    let mut out = match &row.resource {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), row.group_id.to_string().into());
    out.insert("displayName".into(), row.display_name.clone().into());
    if let Some(external) = &row.external_id {
        out.insert("externalId".into(), external.clone().into());
    }
    out.insert(
        "members".into(),
        members
            .iter()
            .map(|(id, _)| json!({"value": id.to_string(), "$ref": format!("{base}/Users/{id}")}))
            .collect(),
    );
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": row.created_at.to_rfc3339(),
            "lastModified": row.updated_at.to_rfc3339(),
            "location": format!("{base}/Groups/{}", row.group_id),
        }),
    );
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_booleans_and_server_attributes_are_cleaned() {
        let input = user_input(
            json!({"userName": "Ann@X.test", "active": "False", "id": "forged",
            "groups": [{"value": "g"}], "emails": [{"value": "ann@x.test", "primary": "True"}]}),
        )
        .unwrap();
        assert!(!input.active);
        assert_eq!(input.email.as_deref(), Some("ann@x.test"));
        assert!(input.resource.get("id").is_none() && input.resource.get("groups").is_none());
        assert_eq!(input.resource["emails"][0]["primary"], true);
        assert_eq!(
            user_input(json!({"userName": "not-an-address"}))
                .unwrap()
                .email,
            None
        );
        assert!(user_input(json!({"active": true})).is_err());
    }

    #[test]
    fn projections_keep_and_drop_what_was_asked() {
        let params = ListParams {
            attributes: vec!["username".into(), "name.givenname".into()],
            ..Default::default()
        };
        let out = params.project(json!({"id": "1", "schemas": [], "userName": "a",
            "name": {"givenName": "A", "familyName": "B"}, "active": true}));
        assert_eq!(
            out,
            json!({"id": "1", "schemas": [], "userName": "a", "name": {"givenName": "A"}})
        );
        let params = ListParams {
            excluded: vec!["active".into(), "name.familyname".into(), "id".into()],
            ..Default::default()
        };
        let out = params.project(json!({"id": "1", "userName": "a",
            "name": {"givenName": "A", "familyName": "B"}, "active": true}));
        assert_eq!(
            out,
            json!({"id": "1", "userName": "a", "name": {"givenName": "A"}})
        );
    }
}
