//! The Events API payload, as Plausible documents it (`name`/`n`, `url`/`u`, `domain`/`d`,
//! `referrer`/`r`, `props`/`p`, `revenue`/`$`, `interactive`/`i`), validated field by field so
//! one bad event in a batch is refused with its reason while the others are kept.

use crate::problem::ProblemKind;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use url::Url;

/// Most properties per event.
pub const MAX_PROPS: usize = 30;
/// Longest property key.
pub const MAX_PROP_KEY: usize = 300;
/// Longest property value.
pub const MAX_PROP_VALUE: usize = 2000;
/// Longest event name.
pub const MAX_NAME: usize = 120;
/// Longest URL or referrer.
pub const MAX_URL: usize = 2000;
/// Most domains one event may name.
pub const MAX_DOMAINS: usize = 10;

/// A validated event, before enrichment.
#[derive(Debug, Clone, PartialEq)]
pub struct EventIn {
    /// Event name (`pageview` or custom).
    pub name: String,
    /// The page.
    pub url: Url,
    /// Domains (projects) it is for.
    pub domains: Vec<String>,
    /// Referrer URL, if any.
    pub referrer: Option<String>,
    /// Properties, values as strings.
    pub props: Map<String, Value>,
    /// Revenue: amount as a decimal string, and currency.
    pub revenue: Option<(String, String)>,
    /// Whether it counts for bounce rate.
    pub interactive: bool,
    /// When it happened, if the sender says (`timestamp`: RFC 3339 or Unix seconds); checked
    /// against the clock by [`check_timestamp`]. Without it, the arrival time.
    pub timestamp: Option<DateTime<Utc>>,
    /// The page: the URL's path, plus its `#fragment` when the tracker runs in hash mode
    /// (`h`/`hashMode`), so `#/pricing` and `#/docs` are different pages.
    pub pathname: String,
}

pub use crate::problem::Invalid;

fn invalid(kind: ProblemKind, detail: impl Into<String>) -> Invalid {
    Invalid::new(kind, detail)
}

/// PostgreSQL cannot store U+0000 in text or jsonb: a string carrying it is refused here, with
/// the field named, before the event is queued (where it would fail its whole batch).
fn refuse_nul(kind: ProblemKind, what: &str, text: &str) -> Result<(), Invalid> {
    if text.contains('\0') {
        return Err(invalid(
            kind,
            format!("{what} contains a NUL character (U+0000)"),
        ));
    }
    Ok(())
}

fn field<'a>(event: &'a Map<String, Value>, long: &str, short: &str) -> Option<&'a Value> {
    event
        .get(long)
        .or_else(|| event.get(short))
        .filter(|value| !value.is_null())
}

fn required_string<'a>(
    event: &'a Map<String, Value>,
    long: &str,
    short: &str,
) -> Result<&'a str, Invalid> {
    match field(event, long, short) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text.trim()),
        Some(Value::String(_)) | None => Err(invalid(
            ProblemKind::MissingField,
            format!("`{long}` is required"),
        )),
        Some(_) => Err(invalid(
            ProblemKind::InvalidField,
            format!("`{long}` must be a string"),
        )),
    }
}

fn parse_props(value: Option<&Value>) -> Result<Map<String, Value>, Invalid> {
    let props = match value {
        None => return Ok(Map::new()),
        Some(Value::Object(map)) => map.clone(),
        // The tracker may send props as a JSON-encoded string.
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(invalid(
                    ProblemKind::InvalidProps,
                    "`props` must be an object",
                ));
            }
        },
        Some(_) => {
            return Err(invalid(
                ProblemKind::InvalidProps,
                "`props` must be an object",
            ));
        }
    };
    if props.len() > MAX_PROPS {
        return Err(invalid(
            ProblemKind::InvalidProps,
            format!("at most {MAX_PROPS} props per event"),
        ));
    }
    let mut out = Map::new();
    for (key, value) in props {
        refuse_nul(ProblemKind::InvalidProps, "a prop key", &key)?;
        if key.is_empty() || key.chars().count() > MAX_PROP_KEY {
            return Err(invalid(
                ProblemKind::InvalidProps,
                format!("prop keys must have 1 to {MAX_PROP_KEY} characters"),
            ));
        }
        let text = match value {
            Value::String(text) => text,
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null => continue,
            _ => {
                return Err(invalid(
                    ProblemKind::InvalidProps,
                    format!("prop {key:?} must be a string, number or boolean"),
                ));
            }
        };
        refuse_nul(ProblemKind::InvalidProps, &format!("prop {key:?}"), &text)?;
        if text.chars().count() > MAX_PROP_VALUE {
            return Err(invalid(
                ProblemKind::InvalidProps,
                format!("prop {key:?} is longer than {MAX_PROP_VALUE} characters"),
            ));
        }
        out.insert(key, Value::String(text));
    }
    Ok(out)
}

fn parse_revenue(value: Option<&Value>) -> Result<Option<(String, String)>, Invalid> {
    let Some(value) = value else {
        return Ok(None);
    };
    let bad = || {
        invalid(
            ProblemKind::InvalidRevenue,
            "`revenue` must be {\"amount\": number, \"currency\": \"EUR\"}",
        )
    };
    let object = value.as_object().ok_or_else(bad)?;
    let amount = match object.get("amount") {
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) => text.trim().to_owned(),
        _ => return Err(bad()),
    };
    let (whole, fraction) = amount.split_once('.').unwrap_or((&amount, ""));
    let digits = whole.strip_prefix('-').unwrap_or(whole);
    let valid_amount = !digits.is_empty()
        && digits.len() <= 14
        && fraction.len() <= 4
        && digits.chars().all(|c| c.is_ascii_digit())
        && fraction.chars().all(|c| c.is_ascii_digit());
    if !valid_amount {
        return Err(invalid(
            ProblemKind::InvalidRevenue,
            "revenue amount must be a decimal with at most 14 digits and 4 decimals",
        ));
    }
    let currency = object
        .get("currency")
        .and_then(Value::as_str)
        .map(str::to_uppercase)
        .filter(|code| code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()))
        .ok_or_else(|| {
            invalid(
                ProblemKind::InvalidRevenue,
                "revenue currency must be an ISO 4217 code",
            )
        })?;
    Ok(Some((amount, currency)))
}

/// Validates one event object.
pub fn parse_event(value: &Value) -> Result<EventIn, Invalid> {
    let event = value
        .as_object()
        .ok_or_else(|| invalid(ProblemKind::InvalidEvent, "an event must be a JSON object"))?;
    let name = required_string(event, "name", "n")?;
    refuse_nul(ProblemKind::InvalidField, "`name`", name)?;
    if name.chars().count() > MAX_NAME {
        return Err(invalid(
            ProblemKind::InvalidField,
            format!("`name` is longer than {MAX_NAME} characters"),
        ));
    }
    let raw_url = required_string(event, "url", "u")?;
    refuse_nul(ProblemKind::InvalidUrl, "`url`", raw_url)?;
    if raw_url.len() > MAX_URL {
        return Err(invalid(
            ProblemKind::InvalidUrl,
            format!("`url` is longer than {MAX_URL} bytes"),
        ));
    }
    let url = Url::parse(raw_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| {
            invalid(
                ProblemKind::InvalidUrl,
                "`url` must be an absolute http(s) URL",
            )
        })?;
    let named: Vec<&str> = required_string(event, "domain", "d")?
        .split(',')
        .filter(|domain| !domain.trim().is_empty())
        .collect();
    if named.is_empty() || named.len() > MAX_DOMAINS {
        return Err(invalid(
            ProblemKind::InvalidField,
            format!("`domain` must name 1 to {MAX_DOMAINS} sites"),
        ));
    }
    let domains = named
        .iter()
        .map(|domain| {
            crate::hostname::normalize(domain).ok_or_else(|| {
                invalid(
                    ProblemKind::InvalidDomain,
                    "`domain` must be host names such as example.com (at most 253 bytes)",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let referrer = match field(event, "referrer", "r") {
        None => None,
        Some(Value::String(text)) if text.len() <= MAX_URL => {
            refuse_nul(ProblemKind::InvalidField, "`referrer`", text)?;
            Some(text.trim().to_owned()).filter(|text| !text.is_empty())
        }
        Some(_) => {
            return Err(invalid(
                ProblemKind::InvalidField,
                format!("`referrer` must be a string of at most {MAX_URL} bytes"),
            ));
        }
    };
    let props = parse_props(field(event, "props", "p"))?;
    let revenue = parse_revenue(field(event, "revenue", "$"))?;
    let interactive = match field(event, "interactive", "i") {
        None => true,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(invalid(
                ProblemKind::InvalidField,
                "`interactive` must be a boolean",
            ));
        }
    };
    let hash_mode = match field(event, "hashMode", "h") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(Value::Number(number)) => number.as_u64() == Some(1),
        Some(_) => {
            return Err(invalid(
                ProblemKind::InvalidField,
                "`h` must be 1 or a boolean",
            ));
        }
    };
    let timestamp = match field(event, "timestamp", "ts") {
        None => None,
        Some(Value::String(text)) => Some(
            DateTime::parse_from_rfc3339(text.trim())
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| {
                    invalid(
                        ProblemKind::InvalidTimestamp,
                        "`timestamp` must be RFC 3339 (2026-11-22T10:00:00Z) or Unix seconds",
                    )
                })?,
        ),
        Some(Value::Number(number)) => Some(
            number
                .as_f64()
                .filter(|secs| secs.is_finite() && secs.abs() < 1e11)
                .and_then(|secs| DateTime::from_timestamp_millis((secs * 1000.0) as i64))
                .ok_or_else(|| {
                    invalid(
                        ProblemKind::InvalidTimestamp,
                        "`timestamp` is not a valid time",
                    )
                })?,
        ),
        Some(_) => {
            return Err(invalid(
                ProblemKind::InvalidTimestamp,
                "`timestamp` must be RFC 3339 or Unix seconds",
            ));
        }
    };
    let mut pathname: String = url.path().chars().take(MAX_URL).collect();
    if let Some(fragment) = url.fragment().filter(|f| hash_mode && !f.is_empty()) {
        pathname = format!("{pathname}#{fragment}")
            .chars()
            .take(MAX_URL)
            .collect();
    }
    Ok(EventIn {
        timestamp,
        name: name.to_owned(),
        pathname,
        url,
        domains,
        referrer,
        props,
        revenue,
        interactive,
    })
}

/// The time to record `event` at: its own `timestamp` if it is within
/// [`crate::stats::rollups::MAX_EVENT_SKEW_MINUTES`] of `now` either way, else a refusal. Later than
/// that would be a clock error; earlier could land in hours whose rollups are already final.
pub fn check_timestamp(event: &EventIn, now: DateTime<Utc>) -> Result<DateTime<Utc>, Invalid> {
    let Some(at) = event.timestamp else {
        return Ok(now);
    };
    let skew = Duration::minutes(i64::from(crate::stats::rollups::MAX_EVENT_SKEW_MINUTES));
    if at > now + skew {
        return Err(invalid(
            ProblemKind::InvalidTimestamp,
            format!(
                "`timestamp` is more than {} minutes in the future",
                skew.num_minutes()
            ),
        ));
    }
    if at < now - skew {
        return Err(invalid(
            ProblemKind::InvalidTimestamp,
            format!(
                "`timestamp` is more than {} minutes in the past; Beacon records events as they happen",
                skew.num_minutes()
            ),
        ));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_long_and_short_field_names() {
        let long = parse_event(&json!({"name": "pageview", "url": "https://a.example/x?utm_source=n", "domain": "a.example"})).unwrap();
        let short = parse_event(
            &json!({"n": "pageview", "u": "https://a.example/x?utm_source=n", "d": "a.example"}),
        )
        .unwrap();
        assert_eq!(long, short);
        assert!(long.interactive);
        assert_eq!(long.pathname, "/x");
    }

    #[test]
    fn timestamps_must_be_close_to_now() {
        let now = Utc::now();
        let at = |offset: Duration| {
            parse_event(
                &json!({"n": "pageview", "u": "https://a.example/", "d": "a.example",
                                "timestamp": (now + offset).to_rfc3339()}),
            )
            .unwrap()
        };
        let event = at(Duration::minutes(-2));
        assert_eq!(
            check_timestamp(&event, now).unwrap(),
            event.timestamp.unwrap()
        );
        for far in [
            Duration::hours(24 * 365),
            Duration::minutes(6),
            Duration::minutes(-6),
        ] {
            assert_eq!(
                check_timestamp(&at(far), now).unwrap_err().kind,
                "invalid_timestamp"
            );
        }
        let unix = parse_event(
            &json!({"n": "pageview", "u": "https://a.example/", "d": "a.example",
                                       "timestamp": now.timestamp()}),
        )
        .unwrap();
        assert_eq!(unix.timestamp.unwrap().timestamp(), now.timestamp());
        let none =
            parse_event(&json!({"n": "pageview", "u": "https://a.example/", "d": "a.example"}))
                .unwrap();
        assert_eq!(check_timestamp(&none, now).unwrap(), now);
    }

    #[test]
    fn hash_mode_keeps_the_fragment_in_the_page() {
        let url = "https://a.example/app?x=1#/settings/profile";
        let plain = parse_event(&json!({"n": "pageview", "u": url, "d": "a.example"})).unwrap();
        assert_eq!(plain.pathname, "/app");
        let hashed =
            parse_event(&json!({"n": "pageview", "u": url, "d": "a.example", "h": 1})).unwrap();
        assert_eq!(hashed.pathname, "/app#/settings/profile");
        let bad = parse_event(&json!({"n": "pageview", "u": url, "d": "a.example", "h": "yes"}));
        assert_eq!(bad.unwrap_err().kind, "invalid_field");
    }

    #[test]
    fn parses_props_revenue_and_domain_lists() {
        let event = parse_event(&json!({
            "name": "Purchase", "url": "https://shop.example/checkout", "domain": "Shop.example, other.example",
            "props": "{\"plan\":\"pro\",\"seats\":3,\"trial\":false}",
            "revenue": {"amount": 19.99, "currency": "eur"}, "interactive": false
        }))
        .unwrap();
        assert_eq!(event.domains, vec!["shop.example", "other.example"]);
        assert_eq!(event.props["seats"], "3");
        assert_eq!(event.revenue, Some(("19.99".into(), "EUR".into())));
        assert!(!event.interactive);
    }

    #[test]
    fn refuses_bad_events_with_reasons() {
        let cases = [
            (
                json!({"url": "https://a.example", "domain": "a.example"}),
                "missing_field",
            ),
            (
                json!({"name": "x", "url": "not a url", "domain": "a.example"}),
                "invalid_url",
            ),
            (
                json!({"name": "x", "url": "ftp://a.example/", "domain": "a.example"}),
                "invalid_url",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": ""}),
                "missing_field",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "props": [1]}),
                "invalid_props",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "props": {"k": {"nested": 1}}}),
                "invalid_props",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "props": {"k": "v".repeat(2001)}}),
                "invalid_props",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "revenue": {"amount": "1e9", "currency": "EUR"}}),
                "invalid_revenue",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "revenue": {"amount": 1, "currency": "EURO"}}),
                "invalid_revenue",
            ),
            (json!(42), "invalid_event"),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "timestamp": "tomorrow"}),
                "invalid_timestamp",
            ),
            (
                json!({"name": "x", "url": "https://a.example", "domain": "a.example", "timestamp": 1e300}),
                "invalid_timestamp",
            ),
        ];
        for (event, kind) in cases {
            assert_eq!(parse_event(&event).unwrap_err().kind, kind, "{event}");
        }
        let many: serde_json::Map<String, Value> =
            (0..31).map(|i| (format!("k{i}"), json!("v"))).collect();
        let event =
            json!({"name": "x", "url": "https://a.example", "domain": "a.example", "props": many});
        assert_eq!(parse_event(&event).unwrap_err().kind, "invalid_props");
    }

    #[test]
    fn refuses_nul_in_every_string_field_with_its_own_reason() {
        let good = json!({"name": "x", "url": "https://a.example/p", "domain": "a.example",
            "referrer": "https://r.example/", "props": {"k": "v"}});
        assert!(parse_event(&good).is_ok(), "the control event is valid");
        let cases = [
            (
                "name",
                json!("sign\u{0}up"),
                "invalid_field",
                "`name` contains a NUL",
            ),
            (
                "url",
                json!("https://a.example/\u{0}"),
                "invalid_url",
                "`url` contains a NUL",
            ),
            (
                "domain",
                json!("a.exam\u{0}ple"),
                "invalid_domain",
                "host names",
            ),
            (
                "referrer",
                json!("https://r.example/\u{0}"),
                "invalid_field",
                "`referrer` contains a NUL",
            ),
            (
                "props",
                json!({"k\u{0}": "v"}),
                "invalid_props",
                "a prop key contains a NUL",
            ),
            (
                "props",
                json!({"k": "v\u{0}"}),
                "invalid_props",
                "prop \"k\" contains a NUL",
            ),
        ];
        for (field, value, kind, detail) in cases {
            let mut event = good.clone();
            event[field] = value;
            let refusal = parse_event(&event).unwrap_err();
            assert_eq!(refusal.kind, kind, "{event}");
            assert!(
                refusal.detail.contains(detail),
                "{event}: {}",
                refusal.detail
            );
        }
    }

    #[test]
    fn refuses_domains_that_are_not_host_names_before_any_lookup() {
        for domain in [
            "a".repeat(60_000),
            "a.example/path".into(),
            "a.example:80".into(),
        ] {
            let event = json!({"name": "x", "url": "https://a.example", "domain": domain});
            assert_eq!(parse_event(&event).unwrap_err().kind, "invalid_domain");
        }
        let event = json!({"name": "x", "url": "https://a.example", "domain": "A.Example."});
        assert_eq!(parse_event(&event).unwrap().domains, vec!["a.example"]);
    }
}
