//! Which events are the same problem: the fingerprint of an event, and the title and culprit
//! its issue shows. Documented in docs/errors.md ("Grouping"); the rules, in order:
//!
//! 1. An SDK fingerprint (`fingerprint: [...]`) wins; `{{ default }}` in it stands for the
//!    default fingerprint below, so `["{{ default }}", "checkout"]` splits a group further.
//! 2. An exception with a stack trace: the primary exception's type plus, for its frames
//!    closest to the crash (at most 5, application frames only when there are any), the
//!    module or file name (without directories, query or case) and the function name (without
//!    its `Object.` prefixes). Line and column numbers and the message never count, so a
//!    deploy that moves code, or a message with an id in it, stays in one issue.
//! 3. An exception without frames: its type and its message with numbers, hex ids and quoted
//!    strings masked.
//! 4. A message: its template (before parameters), masked the same way.
//!
//! Frames are grouped after source maps are applied, so minified names do not split issues
//! between builds.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

use super::event::{Event, Exception, Frame, truncate};

/// Frames of the crash end that count.
const GROUPING_FRAMES: usize = 5;

static VARIABLE_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?x)
        [0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}  # uuids
        | \b0x[0-9a-fA-F]+\b | \b[0-9a-fA-F]{12,}\b                                     # hex ids
        | https?://\S+                                                                 # urls
        | "[^"]*" | '[^']*'                                                            # quoted
        | \d+(?:\.\d+)?                                                                # numbers
    "#,
    )
    .unwrap_or_else(|_| unreachable!("a constant pattern"))
});

/// `message` with its variable parts masked, for grouping.
pub fn mask(message: &str) -> String {
    let masked = VARIABLE_PARTS.replace_all(message.trim(), "<*>");
    truncate(&masked, 200)
}

/// Whether a frame belongs to the SDK or the runtime, not the application.
fn is_noise(frame: &Frame) -> bool {
    let path = frame
        .abs_path
        .as_deref()
        .or(frame.filename.as_deref())
        .unwrap_or("");
    path.contains("/@sentry/")
        || path.contains("node_modules/")
        || path.starts_with("node:")
        || path == "<anonymous>"
        || path == "[native code]"
        || frame.function.as_deref() == Some("eval")
}

fn file_key(frame: &Frame) -> Option<String> {
    if let Some(module) = frame.module.as_deref().filter(|m| !m.is_empty()) {
        return Some(module.to_owned());
    }
    let path = frame.abs_path.as_deref().or(frame.filename.as_deref())?;
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_lowercase();
    (!name.is_empty()).then_some(name)
}

fn function_key(frame: &Frame) -> Option<String> {
    let function = frame.function.as_deref()?.trim();
    let function = function.strip_prefix("async ").unwrap_or(function);
    let name = function.rsplit('.').next().unwrap_or(function);
    (!matches!(name, "" | "?" | "<anonymous>" | "Anonymous function")).then(|| name.to_owned())
}

/// The frames that count for grouping, each as `file:function`.
fn frame_keys(exception: &Exception) -> Vec<String> {
    let candidates: Vec<&Frame> = exception.frames.iter().filter(|f| !is_noise(f)).collect();
    let in_app: Vec<&Frame> = candidates
        .iter()
        .copied()
        .filter(|f| f.in_app == Some(true))
        .collect();
    let chosen = if in_app.is_empty() {
        candidates
    } else {
        in_app
    };
    let skip = chosen.len().saturating_sub(GROUPING_FRAMES);
    chosen
        .into_iter()
        .skip(skip)
        .filter_map(|frame| match (file_key(frame), function_key(frame)) {
            (None, None) => None,
            (file, function) => Some(format!(
                "{}:{}",
                file.unwrap_or_default(),
                function.unwrap_or_default()
            )),
        })
        .collect()
}

/// The exception the issue is about: the outermost real (not synthetic) one.
pub fn primary(event: &Event) -> Option<&Exception> {
    event.exceptions.iter().rev().find(|e| !e.synthetic)
}

fn hash(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

fn default_parts(event: &Event) -> Vec<String> {
    if let Some(exception) = primary(event) {
        let kind = exception.kind.clone().unwrap_or_else(|| "Error".to_owned());
        let frames = frame_keys(exception);
        if !frames.is_empty() {
            let mut parts = vec!["exception".to_owned(), kind];
            parts.extend(frames);
            return parts;
        }
        return vec![
            "exception".to_owned(),
            kind,
            mask(exception.value.as_deref().unwrap_or("")),
        ];
    }
    let message = event
        .message_template
        .as_deref()
        .or(event.message.as_deref())
        .unwrap_or("");
    vec!["message".to_owned(), mask(message)]
}

/// The event's fingerprint: 64 hex characters.
pub fn fingerprint(event: &Event) -> String {
    if event.fingerprint.is_empty() {
        return hash(&default_parts(event));
    }
    let mut parts = vec!["custom".to_owned()];
    for part in &event.fingerprint {
        if matches!(part.as_str(), "{{ default }}" | "{{default}}") {
            parts.push(hash(&default_parts(event)));
        } else {
            parts.push(part.clone());
        }
    }
    hash(&parts)
}

/// The issue's title: `Type: message`, or the message.
pub fn title(event: &Event) -> String {
    let title = match primary(event) {
        Some(exception) => match (&exception.kind, &exception.value) {
            (Some(kind), Some(value)) => format!("{kind}: {value}"),
            (Some(kind), None) => kind.clone(),
            (None, Some(value)) => value.clone(),
            (None, None) => "Error".to_owned(),
        },
        None => event
            .message
            .clone()
            .unwrap_or_else(|| "Message".to_owned()),
    };
    let first_line = title.lines().next().unwrap_or("").trim();
    truncate(
        if first_line.is_empty() {
            "Error"
        } else {
            first_line
        },
        300,
    )
}

/// Where it happened: the crash's application frame, as `function (file)`.
pub fn culprit(event: &Event) -> Option<String> {
    let exception = primary(event)?;
    let frame = exception
        .frames
        .iter()
        .rev()
        .find(|f| f.in_app == Some(true) && !is_noise(f))
        .or_else(|| exception.frames.last())?;
    let file = frame
        .abs_path
        .as_deref()
        .or(frame.filename.as_deref())
        .map(|path| {
            let path = path.split(['?', '#']).next().unwrap_or(path);
            path.rsplit('/').next().unwrap_or(path).to_owned()
        });
    match (function_key(frame), file) {
        (Some(function), Some(file)) => Some(format!("{function} ({file})")),
        (None, Some(file)) => Some(file),
        (Some(function), None) => Some(function),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::super::event::normalize;
    use super::*;

    fn event(json: serde_json::Value) -> Event {
        normalize(json.to_string().as_bytes(), None, Utc::now()).unwrap()
    }

    fn error(kind: &str, value: &str, frames: &[(&str, &str, u32)]) -> serde_json::Value {
        let frames: Vec<_> = frames
            .iter()
            .map(|(file, function, line)| serde_json::json!({"filename": file, "function": function, "lineno": line, "colno": 7, "in_app": true}))
            .collect();
        serde_json::json!({"exception": {"values": [{"type": kind, "value": value, "stacktrace": {"frames": frames}}]}})
    }

    #[test]
    fn same_code_path_merges_across_lines_messages_and_hosts() {
        let a = event(error(
            "TypeError",
            "x of user 17 is undefined",
            &[
                ("https://a.example/app.js?v=1", "Object.checkout", 10),
                ("https://a.example/cart.js", "total", 20),
            ],
        ));
        let b = event(error(
            "TypeError",
            "x of user 99 is undefined",
            &[
                ("https://b.example/app.js?v=2", "checkout", 11),
                ("https://b.example/cart.js", "total", 25),
            ],
        ));
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(title(&a), "TypeError: x of user 17 is undefined");
        assert_eq!(culprit(&a).as_deref(), Some("total (cart.js)"));
    }

    #[test]
    fn different_types_functions_or_files_split() {
        let base = fingerprint(&event(error(
            "TypeError",
            "m",
            &[("app.js", "checkout", 1)],
        )));
        for other in [
            error("RangeError", "m", &[("app.js", "checkout", 1)]),
            error("TypeError", "m", &[("app.js", "pay", 1)]),
            error("TypeError", "m", &[("other.js", "checkout", 1)]),
        ] {
            assert_ne!(fingerprint(&event(other)), base);
        }
    }

    #[test]
    fn sdk_and_library_frames_do_not_count_when_app_frames_exist() {
        let mut with_noise = error("E", "m", &[("app.js", "run", 1)]);
        with_noise["exception"]["values"][0]["stacktrace"]["frames"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"filename": "/srv/node_modules/@sentry/core/x.js", "function": "wrap", "in_app": false}));
        assert_eq!(
            fingerprint(&event(with_noise)),
            fingerprint(&event(error("E", "m", &[("app.js", "run", 1)])))
        );
    }

    #[test]
    fn without_frames_the_masked_message_counts() {
        let a = event(
            serde_json::json!({"exception": {"values": [{"type": "Error", "value": "order 123 failed"}]}}),
        );
        let b = event(
            serde_json::json!({"exception": {"values": [{"type": "Error", "value": "order 456 failed"}]}}),
        );
        let c = event(
            serde_json::json!({"exception": {"values": [{"type": "Error", "value": "payment failed"}]}}),
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn messages_group_by_template_and_ignore_their_synthetic_stack() {
        let a = event(
            serde_json::json!({"logentry": {"message": "user %s failed", "formatted": "user a failed"},
            "exception": {"values": [{"value": "user a failed", "mechanism": {"type": "generic", "synthetic": true},
              "stacktrace": {"frames": [{"filename": "a.js", "function": "f"}]}}]}}),
        );
        let b = event(
            serde_json::json!({"logentry": {"message": "user %s failed", "formatted": "user b failed"}}),
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(title(&a), "user a failed");
        assert_eq!(
            mask("took 153 ms for id 0xdeadbeef in \"cart\""),
            "took <*> ms for id <*> in <*>"
        );
    }

    #[test]
    fn sdk_fingerprints_replace_or_extend_the_default() {
        let plain = error("E", "m", &[("app.js", "run", 1)]);
        let mut custom = plain.clone();
        custom["fingerprint"] = serde_json::json!(["payments"]);
        let mut other_custom = error("Other", "x", &[("b.js", "g", 2)]);
        other_custom["fingerprint"] = serde_json::json!(["payments"]);
        assert_eq!(
            fingerprint(&event(custom.clone())),
            fingerprint(&event(other_custom))
        );
        assert_ne!(
            fingerprint(&event(custom)),
            fingerprint(&event(plain.clone()))
        );
        let mut split_a = plain.clone();
        split_a["fingerprint"] = serde_json::json!(["{{ default }}", "tenant-a"]);
        let mut split_b = plain.clone();
        split_b["fingerprint"] = serde_json::json!(["{{ default }}", "tenant-b"]);
        assert_ne!(fingerprint(&event(split_a)), fingerprint(&event(split_b)));
    }
}
