//! SCIM PATCH (RFC 7644 §3.5.2) over a resource kept as JSON: `add`, `replace` and `remove`
//! with an attribute path (`active`, `name.givenName`, a schema-qualified name), a value filter
//! (`emails[type eq "work"].value`, `members[value eq "…"]`), or no path at all — in the shapes
//! identity providers really send: Entra ID capitalises operations (`"Replace"`), sends
//! booleans as strings (`"False"`) and dotted keys in a path-less value; Okta replaces with a
//! path-less object (`{"active": false}`).

use serde_json::{Map, Value};

use crate::scim::ScimError;

/// The core schemas' URNs, which a path may start with.
const SCHEMA_PREFIXES: &[&str] = &[
    "urn:ietf:params:scim:schemas:core:2.0:User:",
    "urn:ietf:params:scim:schemas:core:2.0:Group:",
];

/// Most operations in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;

/// An operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// A parsed path: `attribute[sub eq "value"].sub_attribute`.
#[derive(Debug, Clone, PartialEq)]
struct PathExpr {
    attribute: String,
    filter: Option<(String, String)>,
    sub: Option<String>,
}

/// Applies the `Operations` of a PATCH body to `resource`.
pub fn apply(resource: &mut Map<String, Value>, body: &Value) -> Result<(), ScimError> {
    let operations = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::invalid_syntax("a PATCH body needs an Operations list"))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_syntax(format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    for operation in operations {
        let op = match operation
            .get("op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => {
                return Err(ScimError::invalid_syntax(
                    "each operation's op is add, replace or remove",
                ));
            }
        };
        let value = operation.get("value").cloned();
        match operation.get("path").and_then(Value::as_str) {
            Some(path) if !path.trim().is_empty() => {
                let path = parse_path(path)?;
                apply_at(resource, op, &path, value)?;
            }
            _ => match (op, value) {
                (Op::Remove, _) => {
                    return Err(ScimError::no_target("a remove operation needs a path"));
                }
                (_, Some(Value::Object(values))) => {
                    for (key, value) in values {
                        let path = parse_path(&key)?;
                        apply_at(resource, op, &path, Some(value))?;
                    }
                }
                _ => {
                    return Err(ScimError::invalid_value(
                        "an operation without a path needs an object value",
                    ));
                }
            },
        }
    }
    Ok(())
}

fn parse_path(raw: &str) -> Result<PathExpr, ScimError> {
    let mut path = raw.trim();
    for prefix in SCHEMA_PREFIXES {
        if path.len() > prefix.len() && path[..prefix.len()].eq_ignore_ascii_case(prefix) {
            path = &path[prefix.len()..];
        }
    }
    let bad = || ScimError::invalid_path(format!("cannot read the path {raw:?}"));
    let (attribute, filter, rest) = match path.find('[') {
        Some(open) => {
            let close = path
                .rfind(']')
                .filter(|close| *close > open)
                .ok_or_else(bad)?;
            let filter = parse_filter(&path[open + 1..close]).ok_or_else(bad)?;
            (&path[..open], Some(filter), &path[close + 1..])
        }
        None => match path.split_once('.') {
            Some((attribute, _)) => (attribute, None, &path[attribute.len()..]),
            None => (path, None, ""),
        },
    };
    let sub = match rest {
        "" => None,
        rest => Some(rest.strip_prefix('.').ok_or_else(bad)?.to_owned()),
    };
    let valid = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$' || c == '-')
    };
    if !valid(attribute) || sub.as_deref().is_some_and(|s| !valid(s)) {
        return Err(bad());
    }
    Ok(PathExpr {
        attribute: attribute.to_owned(),
        filter,
        sub,
    })
}

/// `sub eq "value"` (the one filter operator paths need).
pub(crate) fn parse_filter(raw: &str) -> Option<(String, String)> {
    let mut parts = raw.trim().splitn(3, ' ');
    let attribute = parts.next()?.trim();
    let operator = parts.next()?;
    let value = parts.next()?.trim();
    if !operator.eq_ignore_ascii_case("eq") {
        return None;
    }
    let value = serde_json::from_str::<Value>(value).ok()?;
    let value = match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    Some((attribute.to_owned(), value))
}

/// The key of `map` naming `attribute`, whatever its case.
fn key_of(map: &Map<String, Value>, attribute: &str) -> String {
    map.keys()
        .find(|key| key.eq_ignore_ascii_case(attribute))
        .cloned()
        .unwrap_or_else(|| attribute.to_owned())
}

fn matches(element: &Value, (attribute, expected): &(String, String)) -> bool {
    element.as_object().is_some_and(|object| {
        object.iter().any(|(key, value)| {
            key.eq_ignore_ascii_case(attribute)
                && match value {
                    Value::String(text) => text.eq_ignore_ascii_case(expected),
                    other => other.to_string().eq_ignore_ascii_case(expected),
                }
        })
    })
}

fn apply_at(
    resource: &mut Map<String, Value>,
    op: Op,
    path: &PathExpr,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let key = key_of(resource, &path.attribute);
    if let Some(filter) = &path.filter {
        let Some(Value::Array(elements)) = resource.get_mut(&key) else {
            return match op {
                Op::Remove => Ok(()),
                _ => {
                    // A filtered add or replace where nothing matches yet creates the element
                    // (Entra ID sets `emails[type eq "work"].value` on users without one).
                    let mut element = Map::new();
                    element.insert(filter.0.clone(), Value::String(filter.1.clone()));
                    set_in(&mut element, path, value)?;
                    resource.insert(key, Value::Array(vec![Value::Object(element)]));
                    Ok(())
                }
            };
        };
        match op {
            Op::Remove => match &path.sub {
                None => elements.retain(|element| !matches(element, filter)),
                Some(sub) => {
                    for element in elements.iter_mut().filter(|e| matches(e, filter)) {
                        if let Some(object) = element.as_object_mut() {
                            let sub = key_of(object, sub);
                            object.remove(&sub);
                        }
                    }
                }
            },
            Op::Add | Op::Replace => {
                let mut found = false;
                for element in elements.iter_mut().filter(|e| matches(e, filter)) {
                    found = true;
                    if let Some(object) = element.as_object_mut() {
                        set_in(object, path, value.clone())?;
                    }
                }
                if !found {
                    let mut element = Map::new();
                    element.insert(filter.0.clone(), Value::String(filter.1.clone()));
                    set_in(&mut element, path, value)?;
                    elements.push(Value::Object(element));
                }
            }
        }
        return Ok(());
    }
    match (&path.sub, op) {
        (Some(sub), Op::Remove) => {
            if let Some(Value::Object(object)) = resource.get_mut(&key) {
                let sub = key_of(object, sub);
                object.remove(&sub);
            }
        }
        (Some(sub), _) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
            let entry = resource
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            let object = entry.as_object_mut().ok_or_else(|| {
                ScimError::invalid_path(format!("{} has no sub-attributes", path.attribute))
            })?;
            let sub = key_of(object, sub);
            object.insert(sub, value);
        }
        (None, Op::Remove) => match (value, resource.get_mut(&key)) {
            // Entra ID removes group members by listing them as the value.
            (Some(Value::Array(gone)), Some(Value::Array(elements))) => {
                elements.retain(|element| !gone.iter().any(|g| same_member(g, element)));
            }
            _ => {
                resource.remove(&key);
            }
        },
        (None, Op::Add) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
            match (resource.get_mut(&key), value) {
                (Some(Value::Array(elements)), Value::Array(more)) => {
                    for element in more {
                        if !elements.iter().any(|e| same_member(e, &element)) {
                            elements.push(element);
                        }
                    }
                }
                (Some(Value::Object(object)), Value::Object(more)) => {
                    for (sub, value) in more {
                        let sub = key_of(object, &sub);
                        object.insert(sub, value);
                    }
                }
                (_, value) => {
                    resource.insert(key, value);
                }
            }
        }
        (None, Op::Replace) => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
            match (resource.get_mut(&key), value) {
                (Some(Value::Object(object)), Value::Object(more)) => {
                    for (sub, value) in more {
                        let sub = key_of(object, &sub);
                        object.insert(sub, value);
                    }
                }
                (_, value) => {
                    resource.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

/// Sets the sub-attribute of `path` (or merges an object value) in one filtered element.
fn set_in(
    element: &mut Map<String, Value>,
    path: &PathExpr,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let value = value.ok_or_else(|| ScimError::invalid_value("the operation has no value"))?;
    match (&path.sub, value) {
        (Some(sub), value) => {
            let sub = key_of(element, sub);
            element.insert(sub, value);
        }
        (None, Value::Object(more)) => {
            for (sub, value) in more {
                let sub = key_of(element, &sub);
                element.insert(sub, value);
            }
        }
        (None, _) => {
            return Err(ScimError::invalid_value(
                "a filtered path without a sub-attribute needs an object value",
            ));
        }
    }
    Ok(())
}

/// Two multi-valued elements are the same when their `value`s are (members, emails), else when
/// they are equal.
fn same_member(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patched(resource: Value, body: Value) -> Value {
        let mut map = resource.as_object().unwrap().clone();
        apply(&mut map, &body).unwrap();
        Value::Object(map)
    }

    #[test]
    fn entra_shapes_apply() {
        let user = json!({"userName": "a@x.test", "active": true,
            "emails": [{"type": "work", "value": "a@x.test", "primary": true}]});
        let out = patched(
            user,
            json!({"Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "name.givenName", "value": "Ann"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ann@x.test"},
                {"op": "replace", "value": {"name.familyName": "Lee", "displayName": "Ann Lee"}},
            ]}),
        );
        assert_eq!(
            out["active"], "False",
            "booleans are coerced after the patch"
        );
        assert_eq!(
            out["name"],
            json!({"givenName": "Ann", "familyName": "Lee"})
        );
        assert_eq!(out["emails"][0]["value"], "ann@x.test");
        assert_eq!(out["displayName"], "Ann Lee");
    }

    #[test]
    fn okta_and_member_shapes_apply() {
        let out = patched(
            json!({"userName": "a", "active": true}),
            json!({"Operations": [{"op": "replace", "value": {"active": false}}]}),
        );
        assert_eq!(out["active"], false);
        let group = json!({"displayName": "ops", "members": [{"value": "1"}, {"value": "2"}]});
        let out = patched(
            group.clone(),
            json!({"Operations": [
                {"op": "add", "path": "members", "value": [{"value": "3"}, {"value": "1"}]},
                {"op": "remove", "path": "members[value eq \"2\"]"},
            ]}),
        );
        assert_eq!(out["members"], json!([{"value": "1"}, {"value": "3"}]));
        let out = patched(
            group,
            json!({"Operations": [{"op": "Remove", "path": "members", "value": [{"value": "1"}]}]}),
        );
        assert_eq!(out["members"], json!([{"value": "2"}]));
    }

    #[test]
    fn bad_operations_are_refused() {
        let mut map = json!({"userName": "a"}).as_object().unwrap().clone();
        for body in [
            json!({}),
            json!({"Operations": [{"op": "move", "path": "a"}]}),
            json!({"Operations": [{"op": "remove"}]}),
            json!({"Operations": [{"op": "add", "path": "a[b ne 1]", "value": 1}]}),
            json!({"Operations": [{"op": "add", "path": "a b", "value": 1}]}),
            json!({"Operations": [{"op": "replace", "value": 3}]}),
        ] {
            assert!(apply(&mut map, &body).is_err(), "{body}");
        }
        // Positive control: a good operation on the same resource applies.
        apply(
            &mut map,
            &json!({"Operations": [{"op": "add", "path": "nickName", "value": "x"}]}),
        )
        .unwrap();
        assert_eq!(map["nickName"], "x");
    }

    #[test]
    fn schema_qualified_paths_name_the_attribute() {
        let out = patched(
            json!({"userName": "a"}),
            json!({"Operations": [{"op": "add",
                "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "A"}]}),
        );
        assert_eq!(out["displayName"], "A");
    }
}
