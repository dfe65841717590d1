//! Removing personal and secret data from error events before anything is stored.
//!
//! Built-in rules, always on:
//! - values under keys named like a secret (`password`, `secret`, `token`, `api_key`,
//!   `authorization`, `cookie`, `session`, `csrf`, `credential`, `private_key`, …) become
//!   `[Filtered]`, whatever their type;
//! - inside every string: e-mail addresses become `[email]`; IPv4 and IPv6 addresses `[ip]`
//!   (not version numbers after a `/` or a letter, as in `Chrome/131.0.0.0`); card-like
//!   numbers that pass the Luhn check `[card]`; and `name=value` pairs (URL query parameters,
//!   log lines) whose name looks like a secret `name=[Filtered]`.
//!
//! A project adds key names of its own (`scrub_fields`), matched like the built-in ones.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

/// What replaces a value under a secret-looking key.
pub const FILTERED: &str = "[Filtered]";

/// Parts of key names that mark a secret (compared without `-`, `_` and case).
const SECRET_KEY_PARTS: [&str; 14] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "credential",
    "privatekey",
    "creditcard",
    "cardnumber",
];

/// Whole key names that mark a secret.
const SECRET_KEYS: [&str; 5] = ["auth", "pwd", "cvv", "ssn", "passphrase"];

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
});
static CARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\d(?:[ \-]?\d){12,18}\b").unwrap_or_else(|_| unreachable!("a constant pattern"))
});
static SECRET_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)((?:^|[?&;,\s])[^=&#\s]*(?:password|passwd|secret|token|api_?key|auth|session|signature)[^=&#\s]*=)[^&#\s]*")
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
});
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
});
/// What a secret parameter's value and a credential after `Bearer`/`Basic` become (made once:
/// every string of every error event is scrubbed).
static PARAM_REPLACEMENT: LazyLock<String> = LazyLock::new(|| format!("${{1}}{FILTERED}"));
static BEARER_REPLACEMENT: LazyLock<String> = LazyLock::new(|| format!("${{1}} {FILTERED}"));
static IP_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")
        .unwrap_or_else(|_| unreachable!("a constant pattern"))
});

/// A project's scrubbing rules.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    extra_keys: Vec<String>,
}

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '-' && *c != '_' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether a string of digits (separators allowed) passes the Luhn check.
fn luhn(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_ip(candidate: &str) -> bool {
    let trimmed = candidate.trim_matches(|c| c == '.' || c == ':');
    if trimmed.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    // `10.0.0.5:5432`: an IPv4 address with a port.
    if let Some((host, port)) = trimmed.rsplit_once(':')
        && host.parse::<Ipv4Addr>().is_ok()
        && port.parse::<u16>().is_ok()
    {
        return true;
    }
    trimmed.matches(':').count() >= 2 && trimmed.parse::<Ipv6Addr>().is_ok()
}

/// Whether the candidate at `start` of `text` is a version number (`Chrome/131.0.0.0`,
/// `v1.2.3.4`) rather than an address: right after a letter, or after `/` that follows a
/// letter. An address in a URL (`http://10.0.0.5/`) or after `host:` is still an address.
fn is_version(text: &str, start: usize, found: &str) -> bool {
    // Where the digits begin (a match may start with the `:` or `.` before them).
    let lead = found.len() - found.trim_start_matches([':', '.']).len();
    if lead > 0 {
        return false;
    }
    let mut before = text[..start].chars().rev();
    match before.next() {
        Some(c) if c.is_alphabetic() => true,
        Some('/') => before.next().is_some_and(char::is_alphabetic),
        _ => false,
    }
}

/// `text` with e-mail addresses, IP addresses, card numbers and secret URL parameters
/// replaced.
pub fn scrub_text(text: &str) -> String {
    // Each rule runs only where its pattern can match at all (one pass over the bytes instead
    // of five regex searches on every string): an address needs `@`, a parameter `=`, a card
    // 13 digits, an IP address three dots (IPv4) or two colons (IPv6). Replacements only take
    // these characters away, so the counts of the original text bound every later stage.
    let (mut at, mut equals, mut digits, mut dots, mut colons) = (false, false, 0, 0, 0);
    for byte in text.bytes() {
        match byte {
            b'@' => at = true,
            b'=' => equals = true,
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            b':' => colons += 1,
            _ => {}
        }
    }
    let mut text = Cow::Borrowed(text);
    if at {
        text = step(text, |t| EMAIL.replace_all(t, "[email]"));
    }
    if equals {
        text = step(text, |t| {
            SECRET_PARAM.replace_all(t, PARAM_REPLACEMENT.as_str())
        });
    }
    text = step(text, |t| BEARER.replace_all(t, BEARER_REPLACEMENT.as_str()));
    if digits >= 13 {
        text = step(text, |t| {
            CARD.replace_all(t, |caps: &regex::Captures<'_>| {
                if luhn(&caps[0]) {
                    "[card]".to_owned()
                } else {
                    caps[0].to_owned()
                }
            })
        });
    }
    if dots >= 3 || colons >= 2 {
        text = step(text, |t| {
            IP_CANDIDATE.replace_all(t, |caps: &regex::Captures<'_>| {
                let found = &caps[0];
                let start = caps.get(0).map_or(0, |m| m.start());
                if !is_version(t, start, found) && is_ip(found) {
                    let trimmed = found.trim_matches(|c| c == '.' || c == ':');
                    found.replacen(trimmed, "[ip]", 1)
                } else {
                    found.to_owned()
                }
            })
        });
    }
    text.into_owned()
}

/// `text` after `replace`, copied only when `replace` changed it.
fn step<'t>(text: Cow<'t, str>, replace: impl FnOnce(&str) -> Cow<'_, str>) -> Cow<'t, str> {
    let changed = match replace(&text) {
        Cow::Owned(changed) => Some(changed),
        Cow::Borrowed(_) => None,
    };
    changed.map_or(text, Cow::Owned)
}

impl Scrubber {
    /// The built-in rules plus `extra_keys` (the project's `scrub_fields`).
    pub fn new(extra_keys: &[String]) -> Self {
        Self {
            extra_keys: extra_keys
                .iter()
                .map(|k| normalize_key(k))
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    /// Whether values under `key` are removed.
    pub fn is_secret_key(&self, key: &str) -> bool {
        let key = normalize_key(key);
        SECRET_KEYS.contains(&key.as_str())
            || SECRET_KEY_PARTS.iter().any(|part| key.contains(part))
            || self.extra_keys.contains(&key)
    }

    /// Scrubs `value` in place, recursively.
    pub fn scrub(&self, value: &mut Value) {
        match value {
            Value::String(text) => {
                // JSON sent as a string (the Node SDK sends request bodies so): scrubbed as
                // data, so secret-named keys inside it are filtered too.
                let trimmed = text.trim_start();
                if (trimmed.starts_with('{') || trimmed.starts_with('['))
                    && let Ok(mut inner) = serde_json::from_str::<Value>(text)
                    && (inner.is_object() || inner.is_array())
                {
                    self.scrub(&mut inner);
                    *text = inner.to_string();
                    return;
                }
                let scrubbed = scrub_text(text);
                if scrubbed != *text {
                    *text = scrubbed;
                }
            }
            Value::Array(items) => {
                // `[key, value]` pairs (headers, tags, query strings sent as lists).
                if let [Value::String(key), second] = items.as_mut_slice()
                    && self.is_secret_key(key)
                {
                    *second = Value::String(FILTERED.to_owned());
                    return;
                }
                items.iter_mut().for_each(|item| self.scrub(item));
            }
            Value::Object(map) => {
                // Keys can carry personal data too (an e-mail as a tag key, say).
                if map.keys().any(|key| scrub_text(key) != *key) {
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(key, item)| (scrub_text(&key), item))
                        .collect();
                }
                for (key, item) in map.iter_mut() {
                    if self.is_secret_key(key) && !item.is_null() {
                        *item = Value::String(FILTERED.to_owned());
                    } else {
                        self.scrub(item);
                    }
                }
            }
            Value::Number(number) => {
                // A card number sent as a JSON number.
                let text = number.to_string();
                if luhn(&text) && text.chars().all(|c| c.is_ascii_digit()) {
                    *value = Value::String("[card]".to_owned());
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn personal_data_in_text_is_replaced() {
        assert_eq!(
            scrub_text("mail jane.doe+x@example.co.uk now"),
            "mail [email] now"
        );
        assert_eq!(
            scrub_text("from 203.0.113.9 and 2001:db8::1"),
            "from [ip] and [ip]"
        );
        assert_eq!(scrub_text("card 4111 1111 1111 1111."), "card [card].");
        assert_eq!(scrub_text("card 4111-1111-1111-1111"), "card [card]");
        assert_eq!(
            scrub_text("https://x.test/cb?code=1&access_token=abc&page=2"),
            "https://x.test/cb?code=1&access_token=[Filtered]&page=2"
        );
        assert_eq!(
            scrub_text("login with token=abc123 ok"),
            "login with token=[Filtered] ok"
        );
        assert_eq!(
            scrub_text("connect ECONNREFUSED 10.0.0.5:5432"),
            "connect ECONNREFUSED [ip]"
        );
        assert_eq!(
            scrub_text("GET http://192.168.1.10/api"),
            "GET http://[ip]/api"
        );
        assert_eq!(scrub_text("host:10.0.0.1 down"), "host:[ip] down");
        assert_eq!(
            scrub_text("Authorization: Bearer eyJhbGciOi.x.y"),
            "Authorization: Bearer [Filtered]"
        );
    }

    #[test]
    fn look_alikes_are_kept() {
        for kept in [
            "order 1234567890123 shipped", // 13 digits, fails Luhn
            "at 12:30:45 on 2026-11-22",   // a time, not an IPv6 address
            "version 1.2.3",               // not four octets
            "app.min.js:1:99",
            "Mozilla/5.0 (X11) Chrome/131.0.0.0 Safari/537.36", // versions, not addresses
            "TypeError: x is undefined",
        ] {
            assert_eq!(scrub_text(kept), kept);
        }
    }

    #[test]
    fn secret_keys_are_filtered_at_any_depth_and_in_pairs() {
        let scrubber = Scrubber::new(&["customerNumber".to_owned()]);
        let mut value = json!({
            "request": {
                "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k", "Accept": "text/html"},
                "cookies": "sid=1",
                "data": {"user": {"password": 12345, "name": "n"}, "customer_number": "C-7"}
            },
            "headers_as_pairs": [["Cookie", "a=b"], ["Accept", "x"]],
            "extra": {"card": 4111111111111111u64, "auth": {"nested": true}}
        });
        scrubber.scrub(&mut value);
        let mut body = json!({"data": "{\"email\":\"a@b.example\",\"password\":\"hunter2\"}", "jane@x.example": "tag"});
        scrubber.scrub(&mut body);
        assert_eq!(
            body["data"],
            r#"{"email":"[email]","password":"[Filtered]"}"#
        );
        assert_eq!(body["[email]"], "tag", "keys are scrubbed too");
        assert_eq!(value["request"]["headers"]["Authorization"], FILTERED);
        assert_eq!(value["request"]["headers"]["X-Api-Key"], FILTERED);
        assert_eq!(value["request"]["headers"]["Accept"], "text/html");
        assert_eq!(value["request"]["cookies"], FILTERED);
        assert_eq!(value["request"]["data"]["user"]["password"], FILTERED);
        assert_eq!(value["request"]["data"]["user"]["name"], "n");
        assert_eq!(value["request"]["data"]["customer_number"], FILTERED);
        assert_eq!(value["headers_as_pairs"][0][1], FILTERED);
        assert_eq!(value["headers_as_pairs"][1][1], "x");
        assert_eq!(value["extra"]["card"], "[card]");
        assert_eq!(value["extra"]["auth"], FILTERED);
    }
}
