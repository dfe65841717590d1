//! One uploaded chunk of a recording: decoded under a cap (gzip from the browser's
//! `CompressionStream`, or plain JSON), checked to be rrweb events, and summarized into what
//! the list and the player's timeline show without reading the body again: its time span,
//! whether it holds a full snapshot, the pages seen, clicks (rage and dead ones counted) and
//! custom events. The stored body is always gzip.

use std::io::Write;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ingest::body::{self, BodyError};
use crate::problem::{Invalid, ProblemKind};

/// Largest decoded chunk (its JSON), in bytes.
pub const MAX_DECODED_BYTES: usize = 8 * 1024 * 1024;
/// Most events in one chunk.
pub const MAX_EVENTS: usize = 50_000;
/// Most timeline markers kept per chunk (clicks beyond it are still counted).
const MAX_MARKERS: usize = 200;
/// Most timeline markers kept per recording: a recording's later chunks keep none once it has
/// this many (the player reads them all at once).
pub const MAX_RECORDING_MARKERS: usize = 2_000;
/// How far a recording's clock may be behind the server's.
const MAX_AGE: Duration = Duration::hours(24);
/// How far ahead of the server's clock it may be.
const MAX_AHEAD: Duration = Duration::minutes(10);

// rrweb's event types and incremental sources (rrweb's `EventType` and `IncrementalSource`).
const FULL_SNAPSHOT: i64 = 2;
const INCREMENTAL: i64 = 3;
const META: i64 = 4;
const CUSTOM: i64 = 5;
const SOURCE_MUTATION: i64 = 0;
const SOURCE_MOUSE_INTERACTION: i64 = 2;
const INTERACTION_CLICK: i64 = 2;

/// Clicks on one element within this many milliseconds, at least [`RAGE_CLICKS`] of them, are
/// a rage click.
const RAGE_WINDOW_MS: i64 = 1_000;
const RAGE_CLICKS: usize = 3;
/// A click the page does not answer with any DOM change within this many milliseconds is a
/// dead click.
const DEAD_AFTER_MS: i64 = 500;

/// A point on the player's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Marker {
    /// Milliseconds since the Unix epoch (the recording's clock).
    pub t: i64,
    /// `page`, `click` or `custom`.
    pub kind: String,
    /// The page's path, or the custom event's tag; empty for a click.
    pub label: String,
}

/// What a chunk holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Its first event's time.
    pub started_at: DateTime<Utc>,
    /// Its last event's time.
    pub ended_at: DateTime<Utc>,
    /// Events in it.
    pub events: usize,
    /// Whether it holds a full snapshot (a chunk a player can start from).
    pub has_snapshot: bool,
    /// Paths of the pages seen, in order, each once.
    pub pages: Vec<String>,
    /// Clicks.
    pub clicks: u32,
    /// Rage clicks (bursts of clicks on one element).
    pub rage_clicks: u32,
    /// Clicks the page did not react to.
    pub dead_clicks: u32,
    /// Timeline markers.
    pub markers: Vec<Marker>,
}

/// A chunk ready to store: its summary and its body, gzip-compressed.
#[derive(Debug)]
pub struct Chunk {
    /// What it holds.
    pub summary: Summary,
    /// The gzip body (as uploaded when it was gzip).
    pub gzip: Vec<u8>,
}

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidReplay, detail)
}

/// Decodes, checks and summarizes an uploaded chunk received at `now`.
pub fn parse(wire: &[u8], now: DateTime<Utc>) -> Result<Chunk, Invalid> {
    let gzipped = wire.starts_with(&[0x1f, 0x8b]);
    let json = if gzipped {
        body::decode(Some("gzip"), wire, MAX_DECODED_BYTES).map_err(|error| match error {
            BodyError::TooLarge(max) => Invalid::new(
                ProblemKind::PayloadTooLarge,
                format!("the chunk decompresses to more than {max} bytes"),
            ),
            BodyError::Corrupt(why) => invalid(format!("the chunk's gzip is corrupt: {why}")),
            BodyError::UnsupportedEncoding(name) => invalid(format!("unsupported encoding {name}")),
        })?
    } else {
        if wire.len() > MAX_DECODED_BYTES {
            return Err(Invalid::new(
                ProblemKind::PayloadTooLarge,
                format!("the chunk is over {MAX_DECODED_BYTES} bytes"),
            ));
        }
        wire.to_vec()
    };
    let summary = summarize(&json, now)?;
    let gzip = if gzipped {
        wire.to_vec()
    } else {
        compress(&json)
    };
    Ok(Chunk { summary, gzip })
}

fn compress(json: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(json);
    encoder.finish().unwrap_or_default()
}

fn time(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The path of a URL (what pages are listed by), or `None` when it is not an http(s) URL.
fn path_of(href: &str) -> Option<String> {
    let url = url::Url::parse(href).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| {
        let mut path = url.path().to_owned();
        path.truncate(path.floor_char_boundary(500));
        path
    })
}

/// An rrweb event as the summary reads it. Every field stays a reference into the body until
/// the event's type says which of them matter, so a chunk never becomes a tree of values: an
/// 8 MiB body of tiny events would make one of hundreds of megabytes, and reading it this
/// way costs a few dozen bytes per event.
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

/// A chunk's events, read one by one and refused past [`MAX_EVENTS`] without reading further:
/// even a reference per event is 48 bytes, and 8 MiB of `{}` is 2.8 million of them.
struct Events<'a>(Vec<Event<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Events<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Capped<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Capped<'a> {
            type Value = Events<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a JSON array of at most {MAX_EVENTS} rrweb events")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1_024));
                while let Some(event) = seq.next_element::<Event<'de>>()? {
                    if events.len() == MAX_EVENTS {
                        return Err(serde::de::Error::custom(format!(
                            "a chunk holds 1 to {MAX_EVENTS} events, this one more"
                        )));
                    }
                    events.push(event);
                }
                Ok(Events(events))
            }
        }
        deserializer.deserialize_seq(Capped(std::marker::PhantomData))
    }
}

/// The fields of an event's `data` the summary uses (the rest is skipped unread).
#[derive(Deserialize, Default)]
struct Data<'a> {
    #[serde(borrow, default)]
    href: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tag: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(borrow, default)]
    source: Option<&'a RawValue>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

impl<'a> Data<'a> {
    /// `raw`'s fields, or none when it is not an object.
    fn of(raw: Option<&'a RawValue>) -> Self {
        raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default()
    }
}

/// `raw` as a string, when it is one.
fn text(raw: Option<&RawValue>) -> Option<String> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}

/// `raw` as a whole number, when it is one.
fn whole(raw: Option<&RawValue>) -> Option<i64> {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
}

/// Checks every event of `json` (a chunk's decoded body) for its shape and time, and gathers
/// what the summary says.
pub fn summarize(json: &[u8], now: DateTime<Utc>) -> Result<Summary, Invalid> {
    let Events(events) = serde_json::from_slice(json).map_err(|e| {
        invalid(format!(
            "the chunk is not a JSON array of rrweb events: {e}"
        ))
    })?;
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(invalid(format!(
            "a chunk holds 1 to {MAX_EVENTS} events, this one {}",
            events.len()
        )));
    }
    let (earliest, latest) = (now - MAX_AGE, now + MAX_AHEAD);
    let mut first = i64::MAX;
    let mut last = i64::MIN;
    let mut has_snapshot = false;
    let mut pages: Vec<String> = Vec::new();
    let mut markers = Vec::new();
    let mut clicks: Vec<(i64, i64)> = Vec::new();
    let mut mutations: Vec<i64> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let kind = whole(event.kind);
        let at = event
            .timestamp
            .and_then(|raw| serde_json::from_str::<f64>(raw.get()).ok())
            .map(|t| t as i64);
        let (Some(kind @ 0..=6), Some(at)) = (kind, at) else {
            return Err(invalid(format!(
                "event {index} is not an rrweb event (an object with a `type` 0 to 6 and a numeric `timestamp`)"
            )));
        };
        match time(at) {
            Some(when) if when >= earliest && when <= latest => {}
            _ => {
                return Err(invalid(format!(
                    "event {index}'s timestamp is not within the last 24 hours"
                )));
            }
        }
        first = first.min(at);
        last = last.max(at);
        let mut page = |href: Option<&RawValue>, markers: &mut Vec<Marker>| {
            if let Some(path) = text(href).as_deref().and_then(path_of) {
                if pages.len() < 50 && !pages.contains(&path) {
                    pages.push(path.clone());
                }
                markers.push(Marker {
                    t: at,
                    kind: "page".into(),
                    label: path,
                });
            }
        };
        match kind {
            FULL_SNAPSHOT => has_snapshot = true,
            META => page(Data::of(event.data).href, &mut markers),
            CUSTOM => {
                let data = Data::of(event.data);
                let tag = text(data.tag).unwrap_or_default();
                if tag.chars().any(char::is_control) {
                    return Err(invalid(format!(
                        "event {index}'s custom tag holds a control character"
                    )));
                }
                if tag == "pageview" {
                    page(Data::of(data.payload).href, &mut markers);
                } else if !tag.is_empty() {
                    let mut label = tag;
                    label.truncate(label.floor_char_boundary(100));
                    markers.push(Marker {
                        t: at,
                        kind: "custom".into(),
                        label,
                    });
                }
            }
            INCREMENTAL => match Data::of(event.data) {
                data if whole(data.source) == Some(SOURCE_MUTATION) => mutations.push(at),
                data if whole(data.source) == Some(SOURCE_MOUSE_INTERACTION)
                    && whole(data.kind) == Some(INTERACTION_CLICK) =>
                {
                    let target = whole(data.id).unwrap_or(-1);
                    clicks.push((at, target));
                    markers.push(Marker {
                        t: at,
                        kind: "click".into(),
                        label: String::new(),
                    });
                }
                _ => {}
            },
            _ => {}
        }
    }
    markers.sort_by_key(|marker| marker.t);
    markers.truncate(MAX_MARKERS);
    mutations.sort_unstable();
    clicks.sort_unstable();
    let (started_at, ended_at) = (time(first), time(last));
    let (Some(started_at), Some(ended_at)) = (started_at, ended_at) else {
        return Err(invalid("the chunk's timestamps are out of range"));
    };
    Ok(Summary {
        started_at,
        ended_at,
        events: events.len(),
        has_snapshot,
        pages,
        clicks: clicks.len() as u32,
        rage_clicks: rage_clicks(&clicks),
        dead_clicks: dead_clicks(&clicks, &mutations, last),
        markers,
    })
}

/// Bursts of at least [`RAGE_CLICKS`] clicks on one element, each within [`RAGE_WINDOW_MS`] of
/// the burst's first; a burst counts once however long it goes on. Each element's clicks are
/// walked once (sorted by element, then time), so a hostile chunk of many clicks costs
/// O(n log n), not O(n²).
fn rage_clicks(clicks: &[(i64, i64)]) -> u32 {
    let mut by_target: Vec<(i64, i64)> = clicks.iter().map(|(at, id)| (*id, *at)).collect();
    by_target.sort_unstable();
    let mut bursts = 0;
    let mut start = 0;
    while start < by_target.len() {
        let (target, at) = by_target[start];
        let mut end = start;
        while end < by_target.len()
            && by_target[end].0 == target
            && by_target[end].1 - at <= RAGE_WINDOW_MS
        {
            end += 1;
        }
        if end - start >= RAGE_CLICKS {
            bursts += 1;
            start = end;
        } else {
            start += 1;
        }
    }
    bursts
}

/// Clicks not followed by a DOM mutation within [`DEAD_AFTER_MS`]. A click too close to the
/// chunk's end to tell is not counted. Both slices are sorted.
fn dead_clicks(clicks: &[(i64, i64)], mutations: &[i64], last: i64) -> u32 {
    clicks
        .iter()
        .filter(|(at, _)| at + DEAD_AFTER_MS <= last)
        .filter(|(at, _)| {
            let after = mutations.partition_point(|m| m < at);
            mutations.get(after).is_none_or(|m| m - at > DEAD_AFTER_MS)
        })
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn summary_of(events: &[Value]) -> Result<Summary, Invalid> {
        summarize(&serde_json::to_vec(events).unwrap(), now())
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000).unwrap()
    }

    fn click(t: i64, id: i64) -> Value {
        json!({"type": 3, "timestamp": t, "data": {"source": 2, "type": 2, "id": id, "x": 1, "y": 2}})
    }

    fn mutation(t: i64) -> Value {
        json!({"type": 3, "timestamp": t, "data": {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": []}})
    }

    #[test]
    fn summarizes_pages_clicks_and_snapshots() {
        let t = 1_800_000_000_000 - 60_000;
        let events = vec![
            json!({"type": 4, "timestamp": t, "data": {"href": "https://shop.example/cart?x=1", "width": 800, "height": 600}}),
            json!({"type": 2, "timestamp": t + 1, "data": {"node": {}, "initialOffset": {"top": 0, "left": 0}}}),
            click(t + 100, 7),
            mutation(t + 200),
            json!({"type": 5, "timestamp": t + 300, "data": {"tag": "pageview", "payload": {"href": "https://shop.example/pay"}}}),
            json!({"type": 5, "timestamp": t + 400, "data": {"tag": "signup", "payload": {}}}),
            click(t + 1_000, 9),
            mutation(t + 5_000),
        ];
        let summary = summary_of(&events).unwrap();
        assert_eq!(summary.events, 8);
        assert!(summary.has_snapshot);
        assert_eq!(summary.pages, ["/cart", "/pay"]);
        assert_eq!(summary.clicks, 2);
        assert_eq!(summary.rage_clicks, 0);
        // The first click changed the page within 100 ms; the second changed nothing for 4 s.
        assert_eq!(summary.dead_clicks, 1);
        assert_eq!(summary.started_at.timestamp_millis(), t);
        assert_eq!(summary.ended_at.timestamp_millis(), t + 5_000);
        let kinds: Vec<&str> = summary.markers.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["page", "click", "page", "custom", "click"]);
        assert_eq!(summary.markers[3].label, "signup");
    }

    #[test]
    fn rage_clicks_are_bursts_on_one_element() {
        let t = 1_800_000_000_000 - 60_000;
        let mut events: Vec<Value> = (0..5).map(|i| click(t + i * 100, 3)).collect();
        // Three quick clicks on three different elements are not rage.
        events.extend((0..3).map(|i| click(t + 10_000 + i * 100, 10 + i)));
        // A second burst, later.
        events.extend((0..3).map(|i| click(t + 20_000 + i * 200, 4)));
        events.push(mutation(t + 30_000));
        let summary = summary_of(&events).unwrap();
        assert_eq!(summary.clicks, 11);
        assert_eq!(summary.rage_clicks, 2);
    }

    #[test]
    fn many_clicks_on_many_elements_at_one_moment_are_no_rage() {
        let t = 1_800_000_000_000 - 60_000;
        let events: Vec<Value> = (0..MAX_EVENTS as i64).map(|id| click(t, id)).collect();
        let summary = summary_of(&events).unwrap();
        assert_eq!(summary.rage_clicks, 0);
        assert_eq!(summary.clicks, MAX_EVENTS as u32);
        // Three of them on one element among the crowd are one burst.
        let mut events = events;
        events.truncate(MAX_EVENTS - 3);
        events.extend((0..3).map(|i| click(t + i, -7)));
        assert_eq!(summary_of(&events).unwrap().rage_clicks, 1);
    }

    #[test]
    fn refuses_what_is_not_a_recent_rrweb_chunk() {
        let t: i64 = 1_800_000_000_000;
        for (events, why) in [
            (json!([]), "1 to"),
            (json!([{"type": 9, "timestamp": t}]), "not an rrweb event"),
            (json!([{"type": 2}]), "not an rrweb event"),
            (
                json!([{"type": 2, "timestamp": t - 2 * 86_400_000}]),
                "24 hours",
            ),
            (json!([{"type": 2, "timestamp": t + 3_600_000}]), "24 hours"),
            (
                json!([{"type": 5, "timestamp": t, "data": {"tag": "a\u{0}b"}}]),
                "control",
            ),
        ] {
            let wire = serde_json::to_vec(&events).unwrap();
            let error = parse(&wire, now()).unwrap_err();
            assert_eq!(error.kind, ProblemKind::InvalidReplay);
            assert!(error.detail.contains(why), "{}", error.detail);
        }
        // One event over the cap is refused while reading (the cap itself is accepted in
        // `many_clicks_on_many_elements_at_one_moment_are_no_rage`).
        let over = vec![json!({"type": 2, "timestamp": t - 1_000}); MAX_EVENTS + 1];
        let error = parse(&serde_json::to_vec(&over).unwrap(), now()).unwrap_err();
        assert!(
            error.detail.contains("1 to 50000 events"),
            "{}",
            error.detail
        );
        let error = parse(b"{\"not\": \"an array\"}", now()).unwrap_err();
        assert!(error.detail.contains("JSON array"), "{}", error.detail);
        // Corrupt gzip: the magic bytes, then garbage.
        let error = parse(&[0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6], now()).unwrap_err();
        assert!(error.detail.contains("corrupt"), "{}", error.detail);
    }

    #[test]
    fn stores_gzip_whichever_way_it_came() {
        let t: i64 = 1_800_000_000_000 - 1_000;
        let json = serde_json::to_vec(&json!([{"type": 2, "timestamp": t, "data": {}}])).unwrap();
        let plain = parse(&json, now()).unwrap();
        let gzipped = parse(&plain.gzip, now()).unwrap();
        assert_eq!(plain.summary, gzipped.summary);
        // A gzip upload is stored as it came.
        assert_eq!(gzipped.gzip, plain.gzip);
        let back = body::decode(Some("gzip"), &plain.gzip, 1 << 20).unwrap();
        assert_eq!(back, json);
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let zeros = vec![b' '; MAX_DECODED_BYTES + 10];
        let bomb = compress(&zeros);
        assert!(bomb.len() < 100_000);
        let error = parse(&bomb, now()).unwrap_err();
        assert_eq!(error.kind, ProblemKind::PayloadTooLarge);
    }
}
