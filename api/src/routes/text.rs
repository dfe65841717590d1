//! `Text`: a request field that must be a JSON string. poem-openapi's `String` also takes a
//! number or a boolean and reads it as its text (`{"name": false}` named a thing "false"),
//! which the spec does not allow; every string field of a request body is a `Text` instead.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;
use tenant::problem::ProblemKind;

use crate::error::{ApiError, ApiResult};

/// A string from a request body; anything but a JSON string is refused (400).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.0
    }
}

/// `text` trimmed, if it has `min` to `max` characters and no NUL; otherwise 422
/// `invalid_value` saying `refusal`. The one check for free text (comments, tasks, columns).
pub fn trimmed(text: &str, (min, max): (usize, usize), refusal: &str) -> ApiResult<String> {
    let kept = text.trim();
    let chars = kept.chars().count();
    if chars < min || chars > max || kept.contains('\0') {
        return Err(ApiError::invalid(ProblemKind::InvalidValue, refusal));
    }
    Ok(kept.to_owned())
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn register(registry: &mut Registry) {
        String::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_json_strings_are_text() {
        assert_eq!(
            Text::parse_from_json(Some(json!("a"))).unwrap(),
            Text("a".into())
        );
        for value in [json!(false), json!(1), json!(null), json!(["a"]), json!({})] {
            assert!(
                Text::parse_from_json(Some(value.clone())).is_err(),
                "{value}"
            );
        }
        assert_eq!(
            <String as ParseFromJSON>::parse_from_json(Some(json!(false))).unwrap(),
            "false",
            "poem-openapi's own String is the lenient one this replaces"
        );
    }
}
