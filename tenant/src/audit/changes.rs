//! The changed fields of an audited action: `{"field": {"before": …, "after": …}}`.
//!
//! A created target has only `after`, a deleted one only `before`. Secrets (key material,
//! tokens, webhook secrets) are never written: [`Changes::secret`] records only that the field
//! changed.

use serde_json::{Map, Value, json};

/// The changed fields of one audit record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes(Map<String, Value>);

impl Changes {
    /// Every field of `fields` (an object) as newly set.
    pub fn created(fields: Value) -> Self {
        Self::each(fields, |value| json!({ "after": value }))
    }

    /// Every field of `fields` (an object) as removed.
    pub fn deleted(fields: Value) -> Self {
        Self::each(fields, |value| json!({ "before": value }))
    }

    /// The fields whose values differ between `before` and `after` (objects); a field missing
    /// on one side counts as `null` there.
    pub fn diff(before: &Value, after: &Value) -> Self {
        let empty = Map::new();
        let before = before.as_object().unwrap_or(&empty);
        let after = after.as_object().unwrap_or(&empty);
        let mut changes = Map::new();
        for key in before.keys().chain(after.keys()) {
            let old = before.get(key).unwrap_or(&Value::Null);
            let new = after.get(key).unwrap_or(&Value::Null);
            if old != new && !changes.contains_key(key) {
                changes.insert(key.clone(), json!({ "before": old, "after": new }));
            }
        }
        Self(changes)
    }

    /// Adds one field's change.
    pub fn set(mut self, field: &str, before: Value, after: Value) -> Self {
        self.0.insert(
            field.to_owned(),
            json!({ "before": before, "after": after }),
        );
        self
    }

    /// Records that the secret `field` changed, without its value.
    pub fn secret(mut self, field: &str) -> Self {
        self.0.insert(field.to_owned(), json!({ "changed": true }));
        self
    }

    /// Whether no field changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The JSON stored in the record.
    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }

    fn each(fields: Value, wrap: impl Fn(Value) -> Value) -> Self {
        match fields {
            Value::Object(map) => Self(map.into_iter().map(|(k, v)| (k, wrap(v))).collect()),
            _ => Self::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_holds_only_what_changed() {
        let before = json!({"name": "a", "retention_days": 30, "same": true});
        let after = json!({"name": "b", "retention_days": 30, "same": true, "new": 1});
        assert_eq!(
            Changes::diff(&before, &after).into_value(),
            json!({
                "name": {"before": "a", "after": "b"},
                "new": {"before": null, "after": 1},
            })
        );
        assert!(Changes::diff(&before, &before).is_empty());
    }

    #[test]
    fn secrets_are_only_marked() {
        let value = Changes::created(json!({"name": "k"}))
            .secret("secret")
            .into_value();
        assert_eq!(
            value,
            json!({"name": {"after": "k"}, "secret": {"changed": true}})
        );
    }
}
