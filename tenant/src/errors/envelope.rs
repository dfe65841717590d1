//! Sentry's envelope format: a JSON header line, then items, each a JSON header line and a
//! payload. A payload is `length` bytes when the item header says so, else it runs to the
//! next newline. Parsing is strict about what would mean lost or misattributed data (a
//! truncated payload, a length that lies, a header that is not a JSON object) and lenient about
//! the rest (unknown item types and header keys, the optional trailing newline).

use serde_json::{Map, Value};

/// Items in one envelope, at most.
pub const MAX_ITEMS: usize = 100;

/// A parsed envelope, borrowing its payloads from the body.
#[derive(Debug)]
pub struct Envelope<'a> {
    /// The envelope header (`event_id`, `dsn`, `sent_at`, `sdk`, …).
    pub header: Map<String, Value>,
    /// The items, in order.
    pub items: Vec<Item<'a>>,
}

/// One item.
#[derive(Debug)]
pub struct Item<'a> {
    /// `type` from the item header (`event`, `session`, `client_report`, …).
    pub kind: String,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// Why an envelope was refused; the message is shown to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn malformed(message: impl Into<String>) -> Malformed {
    Malformed(message.into())
}

/// The line starting at `at` (without its newline) and where the next one starts.
fn line(body: &[u8], at: usize) -> (&[u8], usize) {
    match body[at..].iter().position(|&b| b == b'\n') {
        Some(end) => (&body[at..at + end], at + end + 1),
        None => (&body[at..], body.len()),
    }
}

fn header_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, Malformed> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| malformed(format!("the {what} is not UTF-8")))?;
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(format!("the {what} is not a JSON object"))),
        Err(error) => Err(malformed(format!("the {what} is not valid JSON: {error}"))),
    }
}

/// Parses `body` as an envelope.
pub fn parse(body: &[u8]) -> Result<Envelope<'_>, Malformed> {
    if body.is_empty() {
        return Err(malformed("the envelope is empty"));
    }
    let (first, mut at) = line(body, 0);
    let header = header_object(first, "envelope header")?;
    let mut items = Vec::new();
    while at < body.len() {
        let (item_line, after_header) = line(body, at);
        if item_line.is_empty() && after_header >= body.len() {
            break; // the optional trailing newline
        }
        let item_header = header_object(item_line, "item header")?;
        let kind = match item_header.get("type") {
            Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
            _ => return Err(malformed("an item header has no `type`")),
        };
        let (payload, next) = match item_header.get("length") {
            None | Some(Value::Null) => line(body, after_header),
            Some(length) => {
                let length = length
                    .as_u64()
                    .ok_or_else(|| malformed("an item `length` is not a non-negative integer"))?;
                let end = usize::try_from(length)
                    .ok()
                    .and_then(|length| after_header.checked_add(length))
                    .filter(|end| *end <= body.len())
                    .ok_or_else(|| {
                        malformed(format!(
                            "an item of type {kind} declares {length} bytes, but the envelope ends first"
                        ))
                    })?;
                match body.get(end) {
                    None => (&body[after_header..end], end),
                    Some(b'\n') => (&body[after_header..end], end + 1),
                    Some(_) => {
                        return Err(malformed(format!(
                            "an item of type {kind} is longer than its declared {length} bytes"
                        )));
                    }
                }
            }
        };
        items.push(Item { kind, payload });
        if items.len() > MAX_ITEMS {
            return Err(malformed(format!(
                "an envelope may carry at most {MAX_ITEMS} items"
            )));
        }
        at = next;
    }
    Ok(Envelope { header, items })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds<'a>(envelope: &'a Envelope<'a>) -> Vec<(&'a str, &'a [u8])> {
        envelope
            .items
            .iter()
            .map(|i| (i.kind.as_str(), i.payload))
            .collect()
    }

    #[test]
    fn items_without_length_end_at_the_newline() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\"}\n{\"message\":\"hi\"}\n{\"type\":\"session\"}\n{\"status\":\"ok\"}";
        let envelope = parse(body).unwrap();
        assert_eq!(
            envelope.header["event_id"],
            "9ec79c33ec9942ab8353589fcb2e04dc"
        );
        assert_eq!(
            kinds(&envelope),
            [
                ("event", &b"{\"message\":\"hi\"}"[..]),
                ("session", &b"{\"status\":\"ok\"}"[..])
            ]
        );
    }

    #[test]
    fn items_with_length_may_hold_newlines_and_end_the_body() {
        let body = b"{}\n{\"type\":\"attachment\",\"length\":7}\nab\ncd\ne\n{\"type\":\"event\",\"length\":2}\n{}";
        let envelope = parse(body).unwrap();
        assert_eq!(
            kinds(&envelope),
            [("attachment", &b"ab\ncd\ne"[..]), ("event", &b"{}"[..])]
        );
        // A trailing newline is allowed; an empty envelope is valid.
        assert_eq!(
            parse(b"{}\n{\"type\":\"event\"}\n{}\n")
                .unwrap()
                .items
                .len(),
            1
        );
        assert!(parse(b"{}").unwrap().items.is_empty());
        assert!(parse(b"{}\n").unwrap().items.is_empty());
    }

    #[test]
    fn lies_and_truncations_are_refused() {
        let cases: [&[u8]; 9] = [
            b"",
            b"{\"event_id\":",
            b"[1,2]\n{\"type\":\"event\"}\n{}",
            b"{}\n{\"type\":\"event\",\"length\":50}\n{}",
            b"{}\n{\"type\":\"event\",\"length\":1}\n{}",
            b"{}\n{\"type\":\"event\",\"length\":-1}\n{}",
            b"{}\n{\"length\":2}\n{}",
            b"{}\nnot json\n{}",
            b"\xff\xfe\n{\"type\":\"event\"}\n{}",
        ];
        for body in cases {
            assert!(parse(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn unknown_item_types_are_kept_for_counting() {
        let body =
            b"{}\n{\"type\":\"client_report\"}\n{}\n{\"type\":\"something_new\",\"x\":1}\n{}";
        let envelope = parse(body).unwrap();
        assert_eq!(
            kinds(&envelope).iter().map(|k| k.0).collect::<Vec<_>>(),
            ["client_report", "something_new"]
        );
    }

    #[test]
    fn too_many_items_are_refused() {
        let mut body = b"{}".to_vec();
        for _ in 0..=MAX_ITEMS {
            body.extend_from_slice(b"\n{\"type\":\"session\"}\n{}");
        }
        assert!(parse(&body).is_err());
    }
}
