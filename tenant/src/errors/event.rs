//! An error event as SDKs send it (Sentry's event payload), normalized into what Beacon keeps:
//! bounded in size, with one shape for fields SDKs may send in several (`message` string or
//! object, `breadcrumbs` array or `{values}`, tags object or pairs, float or RFC 3339
//! timestamps). The user is reduced to a keyed hash; the IP address is never kept.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Exceptions kept from a chain (the outermost last).
const MAX_EXCEPTIONS: usize = 10;
/// Frames kept per stack trace: the ones closest to the crash.
const MAX_FRAMES: usize = 250;
/// Breadcrumbs kept: the latest.
const MAX_BREADCRUMBS: usize = 100;
/// Tags kept.
const MAX_TAGS: usize = 100;
/// Characters kept of any string.
const MAX_STRING: usize = 8_192;
/// Characters kept of a tag key and value.
const MAX_TAG_KEY: usize = 32;
const MAX_TAG_VALUE: usize = 200;

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidEvent(pub String);

/// A stack frame, oldest first in its trace (the crashing frame is the last).
/// Stored as JSON in `error_events.data` (written by [`Frame::to_json`], read back by serde):
/// absent fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Frame {
    /// File name or URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Absolute path or URL (browser frames send it as `filename` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// Function name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Module (Node derives it from the path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineno: Option<u32>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colno: Option<u32>,
    /// Whether the SDK considers it the application's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_app: Option<bool>,
    /// Lines before the line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_context: Vec<String>,
    /// The line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_line: Option<String>,
    /// Lines after the line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_context: Vec<String>,
    /// Where the frame pointed before source maps (`abs_path:line:column function`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minified: Option<String>,
}

/// One exception of a chain.
/// Stored as JSON in `error_events.data` (every field, `type` for the kind), read back by serde.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Exception {
    /// `TypeError`, `Error`, … (absent on a message's synthetic stack).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The message.
    pub value: Option<String>,
    /// Module of the type.
    pub module: Option<String>,
    /// How it was caught: `generic`, `onunhandledrejection`, …
    pub mechanism: Option<String>,
    /// Whether the application handled it.
    pub handled: Option<bool>,
    /// A stack attached to a message, not a real exception.
    pub synthetic: bool,
    /// Frames, oldest first.
    pub frames: Vec<Frame>,
}

/// A normalized event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id (from the payload, or the envelope, or new).
    pub event_id: uuid::Uuid,
    /// When it happened.
    pub ts: DateTime<Utc>,
    /// `fatal`, `error`, `warning`, `info` or `debug`.
    pub level: String,
    /// `javascript`, `node`, …
    pub platform: Option<String>,
    /// Release.
    pub release: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// The message (from `logentry` or `message`).
    pub message: Option<String>,
    /// The message's template before parameters, for grouping.
    pub message_template: Option<String>,
    /// Exceptions, the outermost last.
    pub exceptions: Vec<Exception>,
    /// SDK fingerprint, if any.
    pub fingerprint: Vec<String>,
    /// The user's identity (id, else e-mail, else username), to be hashed; never stored.
    pub user_identity: Option<String>,
    /// The salted visitor id of the browser that sent it (set by the endpoint from the
    /// request, never read from the SDK's payload): how an error finds its session recording.
    pub visitor_id: Option<i64>,
    /// Everything else kept: tags, contexts, breadcrumbs, request, extra, sdk, user id.
    pub rest: Map<String, Value>,
}

fn text(value: Option<&Value>) -> Option<String> {
    let text = match value? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    let text = text.replace('\0', "");
    let text = text.trim();
    (!text.is_empty()).then(|| truncate(text, MAX_STRING))
}

/// `text` cut to `max` characters.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// Every string in `value` cut to the limit (nested data such as `extra` and contexts).
/// Every string in `value` cut to the limit, without NUL characters (PostgreSQL's jsonb refuses
/// them), in values and in keys.
fn bound(value: &mut Value, depth: usize) {
    match value {
        Value::String(s) => {
            if s.contains('\0') {
                *s = s.replace('\0', "");
            }
            if s.chars().count() > MAX_STRING {
                *s = truncate(s, MAX_STRING);
            }
        }
        Value::Array(items) => {
            if depth > 8 {
                *value = Value::String("[too deep]".into());
                return;
            }
            items.truncate(200);
            items.iter_mut().for_each(|v| bound(v, depth + 1));
        }
        Value::Object(map) => {
            if depth > 8 {
                *value = Value::String("[too deep]".into());
                return;
            }
            if map
                .keys()
                .any(|k| k.contains('\0') || k.chars().count() > 200)
            {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(k, v)| (truncate(&k.replace('\0', ""), 200), v))
                    .collect();
            }
            map.values_mut().for_each(|v| bound(v, depth + 1));
        }
        _ => {}
    }
}

fn timestamp(value: Option<&Value>) -> Option<DateTime<Utc>> {
    match value? {
        Value::Number(n) => {
            let secs = n.as_f64()?;
            if !secs.is_finite() || secs < 0.0 {
                return None;
            }
            Utc.timestamp_millis_opt((secs * 1000.0) as i64).single()
        }
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .and_then(|secs| Utc.timestamp_millis_opt((secs * 1000.0) as i64).single())
            }),
        _ => None,
    }
}

/// A source line as sent: indentation kept, only the line end removed.
fn source_line(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(|line| {
        truncate(
            &line.trim_end_matches(['\r', '\n']).replace('\0', ""),
            MAX_STRING,
        )
    })
}

fn source_lines(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| source_line(Some(v)))
            .take(50)
            .collect(),
        _ => Vec::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| text(Some(v)))
            .take(50)
            .collect(),
        _ => Vec::new(),
    }
}

fn frame(value: &Value) -> Frame {
    let number = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Frame {
        filename: text(value.get("filename")),
        abs_path: text(value.get("abs_path")).or_else(|| text(value.get("filename"))),
        function: text(value.get("function")),
        module: text(value.get("module")),
        lineno: number("lineno"),
        colno: number("colno"),
        in_app: value.get("in_app").and_then(Value::as_bool),
        pre_context: source_lines(value.get("pre_context")),
        context_line: source_line(value.get("context_line")),
        post_context: source_lines(value.get("post_context")),
        minified: None,
    }
}

fn exception(value: &Value) -> Exception {
    let frames = value
        .get("stacktrace")
        .and_then(|s| s.get("frames"))
        .and_then(Value::as_array)
        .map(|frames| {
            let skip = frames.len().saturating_sub(MAX_FRAMES);
            frames.iter().skip(skip).map(frame).collect()
        })
        .unwrap_or_default();
    let mechanism = value.get("mechanism");
    Exception {
        kind: text(value.get("type")),
        value: text(value.get("value")),
        module: text(value.get("module")),
        mechanism: mechanism.and_then(|m| text(m.get("type"))),
        handled: mechanism
            .and_then(|m| m.get("handled"))
            .and_then(Value::as_bool),
        synthetic: mechanism
            .and_then(|m| m.get("synthetic"))
            .and_then(Value::as_bool)
            .unwrap_or(false),
        frames,
    }
}

/// `["a", "b"]` pairs or an object, as an object of strings.
fn pairs_or_object(
    value: Option<&Value>,
    max: usize,
    key_len: usize,
    value_len: usize,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut put = |key: Option<String>, value: Option<String>| {
        if let (Some(key), Some(value)) = (key, value)
            && out.len() < max
        {
            out.insert(
                truncate(&key, key_len),
                Value::String(truncate(&value, value_len)),
            );
        }
    };
    match value {
        Some(Value::Object(map)) => map
            .iter()
            .for_each(|(k, v)| put(Some(k.clone()), text(Some(v)))),
        Some(Value::Array(items)) => items.iter().for_each(|pair| {
            if let Some([k, v]) = pair.as_array().map(Vec::as_slice) {
                put(text(Some(k)), text(Some(v)));
            }
        }),
        _ => {}
    }
    out
}

fn event_id(value: Option<&Value>) -> Option<uuid::Uuid> {
    value
        .and_then(Value::as_str)
        .and_then(|s| uuid::Uuid::try_parse(s).ok())
}

/// Normalizes an event payload. `envelope_event_id` is the envelope header's, used when the
/// payload has none; `received` is when Beacon got it.
pub fn normalize(
    payload: &[u8],
    envelope_event_id: Option<&Value>,
    received: DateTime<Utc>,
) -> Result<Event, InvalidEvent> {
    let text_payload = std::str::from_utf8(payload)
        .map_err(|e| InvalidEvent(format!("the event is not valid UTF-8 ({e})")))?;
    let value: Value = serde_json::from_str(text_payload)
        .map_err(|e| InvalidEvent(format!("the event is not valid JSON: {e}")))?;
    let Value::Object(event) = value else {
        return Err(InvalidEvent("the event is not a JSON object".into()));
    };
    let exceptions: Vec<Exception> = match event.get("exception") {
        Some(Value::Object(e)) => e
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        Some(Value::Array(values)) => values.clone(),
        _ => Vec::new(),
    }
    .iter()
    .rev()
    .take(MAX_EXCEPTIONS)
    .rev()
    .map(exception)
    .collect();
    let logentry = event.get("logentry");
    let (message, message_template) = match event.get("message") {
        Some(Value::Object(m)) => (
            text(m.get("formatted")).or_else(|| text(m.get("message"))),
            text(m.get("message")),
        ),
        other => {
            let message = logentry
                .and_then(|l| text(l.get("formatted")))
                .or_else(|| text(other))
                .or_else(|| logentry.and_then(|l| text(l.get("message"))));
            (
                message.clone(),
                logentry.and_then(|l| text(l.get("message"))).or(message),
            )
        }
    };
    if exceptions.is_empty() && message.is_none() {
        return Err(InvalidEvent(
            "the event has neither an exception nor a message".into(),
        ));
    }
    let level = match text(event.get("level")).as_deref() {
        Some(level @ ("fatal" | "error" | "warning" | "info" | "debug")) => level.to_owned(),
        Some("warn") => "warning".to_owned(),
        Some("critical") => "fatal".to_owned(),
        _ => if exceptions.iter().any(|e| !e.synthetic) {
            "error"
        } else {
            "info"
        }
        .to_owned(),
    };
    let user = event.get("user");
    let user_identity = user.and_then(|u| {
        text(u.get("id"))
            .map(|id| format!("id:{id}"))
            .or_else(|| text(u.get("email")).map(|e| format!("email:{}", e.to_lowercase())))
            .or_else(|| text(u.get("username")).map(|n| format!("username:{n}")))
    });
    let mut rest = Map::new();
    let tags = pairs_or_object(event.get("tags"), MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE);
    if !tags.is_empty() {
        rest.insert("tags".into(), Value::Object(tags));
    }
    let breadcrumbs: Vec<Value> = match event.get("breadcrumbs") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(b)) => b
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    if !breadcrumbs.is_empty() {
        let skip = breadcrumbs.len().saturating_sub(MAX_BREADCRUMBS);
        rest.insert(
            "breadcrumbs".into(),
            Value::Array(breadcrumbs.into_iter().skip(skip).collect()),
        );
    }
    for key in [
        "contexts",
        "extra",
        "sdk",
        "request",
        "server_name",
        "transaction",
        "dist",
        "logger",
    ] {
        if let Some(value) = event.get(key).filter(|v| !v.is_null()) {
            rest.insert(key.into(), value.clone());
        }
    }
    if let Some(Value::Object(request)) = rest.get_mut("request") {
        // Cookies are never kept, whatever their form; headers and query go through scrubbing.
        request.remove("cookies");
        request.remove("env");
    }
    if let Some(id) = user.and_then(|u| text(u.get("id"))) {
        rest.insert("user".into(), json!({ "id": id }));
    }
    for value in rest.values_mut() {
        bound(value, 0);
    }
    let ts = timestamp(event.get("timestamp"))
        // A clock far ahead, or far behind, is not trusted: the event happened when it arrived.
        .filter(|ts| {
            *ts <= received + chrono::Duration::minutes(5)
                && *ts >= received - chrono::Duration::days(90)
        })
        .unwrap_or(received);
    Ok(Event {
        event_id: event_id(event.get("event_id"))
            .or_else(|| event_id(envelope_event_id))
            .unwrap_or_else(uuid::Uuid::new_v4),
        ts,
        level,
        platform: text(event.get("platform")),
        release: text(event.get("release")).map(|r| truncate(&r, 200)),
        environment: text(event.get("environment")).map(|e| truncate(&e, 64)),
        message,
        message_template,
        exceptions,
        fingerprint: strings(event.get("fingerprint")),
        user_identity,
        visitor_id: None,
        rest,
    })
}

/// The keyed hash that counts a user without naming them: 16 hex characters of
/// SHA-256(key ‖ identity).
pub fn user_hash(key: &[u8], identity: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key);
    hasher.update(identity.as_bytes());
    hex::encode(&hasher.finalize()[..8])
}

impl Frame {
    /// The frame as stored.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Exception {
    /// The exception as stored.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    /// The exceptions stored in an event's `data.exceptions` (empty when unreadable).
    pub fn stored(data: &Value) -> Vec<Self> {
        data.get("exceptions")
            .cloned()
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_exceptions_read_back_as_written() {
        let exception = Exception {
            kind: Some("TypeError".into()),
            value: Some("x is undefined".into()),
            module: None,
            mechanism: Some("generic".into()),
            handled: Some(false),
            synthetic: false,
            frames: vec![Frame {
                filename: Some("app.js".into()),
                lineno: Some(3),
                colno: Some(7),
                pre_context: vec!["a".into()],
                context_line: Some("b".into()),
                ..Frame::default()
            }],
        };
        let stored = json!({"exceptions": [exception.to_json()]});
        // The stored shape: `type`, nulls kept on the exception, absent fields left out of frames.
        assert_eq!(stored["exceptions"][0]["type"], "TypeError");
        assert!(stored["exceptions"][0]["module"].is_null());
        assert!(
            stored["exceptions"][0]["frames"][0]
                .get("abs_path")
                .is_none()
        );
        assert!(
            stored["exceptions"][0]["frames"][0]
                .get("post_context")
                .is_none()
        );
        assert_eq!(Exception::stored(&stored), vec![exception]);
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap()
    }

    #[test]
    fn an_sdk_exception_event_is_normalized() {
        let payload = br#"{"event_id":"a0410ea6dbce435c8df2531e719cada3","timestamp":1795334400.5,
            "platform":"node","level":"error","release":"shop@1.0.0","environment":"test",
            "exception":{"values":[{"type":"TypeError","value":"boom","mechanism":{"type":"generic","handled":true},
              "stacktrace":{"frames":[{"filename":"/app/a.js","function":"outer","lineno":3,"colno":5,"in_app":true},
                                      {"filename":"/app/b.js","function":"inner","lineno":9,"colno":1,"in_app":true,"context_line":"    throw x\n"}]}}]},
            "tags":[["page","checkout"],["n",3]],"breadcrumbs":{"values":[{"message":"clicked"}]},
            "user":{"id":"u-1","email":"a@b.example","ip_address":"{{auto}}"},
            "request":{"url":"https://shop.example/cart","cookies":"sid=1","headers":{"Cookie":"sid=1"}}}"#;
        let event = normalize(payload, None, now()).unwrap();
        assert_eq!(
            event.event_id.simple().to_string(),
            "a0410ea6dbce435c8df2531e719cada3"
        );
        assert_eq!(event.level, "error");
        assert_eq!(event.release.as_deref(), Some("shop@1.0.0"));
        assert_eq!(event.exceptions[0].kind.as_deref(), Some("TypeError"));
        assert_eq!(
            event.exceptions[0].frames[1].function.as_deref(),
            Some("inner")
        );
        assert_eq!(
            event.exceptions[0].frames[1].abs_path.as_deref(),
            Some("/app/b.js")
        );
        assert_eq!(event.rest["tags"], json!({"page": "checkout", "n": "3"}));
        assert_eq!(event.rest["breadcrumbs"], json!([{"message": "clicked"}]));
        assert_eq!(event.rest["user"], json!({"id": "u-1"}), "no e-mail, no IP");
        assert!(event.rest["request"].get("cookies").is_none());
        assert_eq!(event.user_identity.as_deref(), Some("id:u-1"));
        assert_eq!(event.ts.timestamp(), 1_795_334_400);
    }

    #[test]
    fn messages_in_each_form() {
        let plain = normalize(br#"{"message":"hello"}"#, None, now()).unwrap();
        assert_eq!(plain.message.as_deref(), Some("hello"));
        assert_eq!(plain.level, "info");
        let logentry = normalize(br#"{"logentry":{"message":"user %s failed","params":["x"],"formatted":"user x failed"}}"#, None, now()).unwrap();
        assert_eq!(logentry.message.as_deref(), Some("user x failed"));
        assert_eq!(logentry.message_template.as_deref(), Some("user %s failed"));
        let object = normalize(
            br#"{"message":{"formatted":"a 1","message":"a %d"},"level":"warning"}"#,
            None,
            now(),
        )
        .unwrap();
        assert_eq!(
            (object.message.as_deref(), object.level.as_str()),
            (Some("a 1"), "warning")
        );
    }

    #[test]
    fn bad_payloads_are_refused_with_a_reason() {
        for (payload, reason) in [
            (&b"\xff\xfe{}"[..], "UTF-8"),
            (b"{\"message\":", "JSON"),
            (b"[1]", "object"),
            (b"{\"level\":\"error\"}", "neither"),
        ] {
            let error = normalize(payload, None, now()).unwrap_err();
            assert!(error.0.contains(reason), "{error}");
        }
    }

    #[test]
    fn sizes_are_bounded() {
        let frames: Vec<Value> = (0..1000)
            .map(|i| json!({"function": format!("f{i}"), "lineno": i}))
            .collect();
        let long = "x".repeat(100_000);
        let payload = json!({"exception": {"values": [{"type": "E", "value": long, "stacktrace": {"frames": frames}}]}}).to_string();
        let event = normalize(payload.as_bytes(), None, now()).unwrap();
        assert_eq!(event.exceptions[0].frames.len(), MAX_FRAMES);
        assert_eq!(
            event.exceptions[0]
                .frames
                .last()
                .unwrap()
                .function
                .as_deref(),
            Some("f999"),
            "the crash end is kept"
        );
        assert_eq!(
            event.exceptions[0].value.as_ref().unwrap().len(),
            MAX_STRING
        );
    }

    #[test]
    fn nul_characters_and_ancient_times_never_reach_the_database() {
        let event = normalize(
            br#"{"message":"a\u0000b","timestamp":"-300000000000","extra":{"k\u0000":"v\u0000"}}"#,
            None,
            now(),
        )
        .unwrap();
        assert_eq!(event.message.as_deref(), Some("ab"));
        assert_eq!(event.ts, now());
        assert_eq!(event.rest["extra"], json!({"k": "v"}));
    }

    #[test]
    fn future_timestamps_are_not_trusted() {
        let event = normalize(
            br#"{"message":"m","timestamp":"2030-01-01T00:00:00Z"}"#,
            None,
            now(),
        )
        .unwrap();
        assert_eq!(event.ts, now());
    }
}
