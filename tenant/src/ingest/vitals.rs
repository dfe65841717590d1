//! Core Web Vitals samples: Google's thresholds, the rating Beacon gives each value (it rates
//! itself rather than trusting the sender), and the validation of one sample of the tracker's
//! extension (`/js/vitals.js`). Samples carry no visitor id: a vital describes a page load.

use crate::problem::ProblemKind;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::enrich::Device;
use super::router::Target;
use crate::errors::event::truncate;
use crate::errors::scrub::scrub_text;
use crate::problem::Invalid;
use crate::tables::web_vitals::NewVital;

/// A metric, with Google's thresholds: good up to the first, poor above the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vital {
    /// Largest Contentful Paint (ms): 2500 / 4000.
    Lcp,
    /// Interaction to Next Paint (ms): 200 / 500.
    Inp,
    /// Cumulative Layout Shift (unitless): 0.1 / 0.25.
    Cls,
    /// First Contentful Paint (ms): 1800 / 3000.
    Fcp,
    /// Time to First Byte (ms): 800 / 1800.
    Ttfb,
}

impl Vital {
    /// The metric web-vitals names `name` (`LCP`, `INP`, `CLS`, `FCP`, `TTFB`).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "LCP" => Self::Lcp,
            "INP" => Self::Inp,
            "CLS" => Self::Cls,
            "FCP" => Self::Fcp,
            "TTFB" => Self::Ttfb,
            _ => return None,
        })
    }

    /// The name web-vitals uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lcp => "LCP",
            Self::Inp => "INP",
            Self::Cls => "CLS",
            Self::Fcp => "FCP",
            Self::Ttfb => "TTFB",
        }
    }

    /// Google's thresholds (good ≤ first, needs improvement ≤ second, poor above).
    pub fn thresholds(self) -> (f64, f64) {
        match self {
            Self::Lcp => (2500.0, 4000.0),
            Self::Inp => (200.0, 500.0),
            Self::Cls => (0.1, 0.25),
            Self::Fcp => (1800.0, 3000.0),
            Self::Ttfb => (800.0, 1800.0),
        }
    }

    /// The rating of `value`. Beacon rates itself rather than trusting the sender.
    pub fn rate(self, value: f64) -> &'static str {
        let (good, poor) = self.thresholds();
        if value <= good {
            "good"
        } else if value <= poor {
            "needs-improvement"
        } else {
            "poor"
        }
    }

    /// Largest value accepted (beyond it a sample is a measurement error).
    pub fn max(self) -> f64 {
        match self {
            Self::Cls => 100.0,
            _ => 600_000.0,
        }
    }
}

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidVitals, detail)
}

/// The stored row of one sample (`{"n": "LCP", "v": 1234, "t": "navigate", "a": {…}}`) for a
/// page `path` of `target`.
pub fn sample_row(
    sample: &Value,
    target: &Target,
    path: &str,
    device: &Device,
    country: Option<String>,
    now: DateTime<Utc>,
) -> Result<NewVital, Invalid> {
    let metric = sample
        .get("n")
        .and_then(Value::as_str)
        .and_then(Vital::parse)
        .ok_or_else(|| invalid("`n` must be LCP, INP, CLS, FCP or TTFB"))?;
    let value = sample
        .get("v")
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= metric.max())
        .ok_or_else(|| {
            invalid(format!(
                "the {} value is missing or out of range",
                metric.name()
            ))
        })?;
    if let Some(nul) = nul_in(sample) {
        return Err(invalid(format!("{nul} contains a NUL character (U+0000)")));
    }
    Ok(NewVital {
        org_id: target.org_id,
        project_id: target.project_id,
        vital_id: Uuid::now_v7(),
        ts: now,
        metric: metric.name().to_owned(),
        value,
        rating: metric.rate(value).to_owned(),
        pathname: truncate(path, 2000),
        device: device.device.clone(),
        country,
        navigation_type: sample
            .get("t")
            .and_then(Value::as_str)
            .map(|t| truncate(t, 32)),
        attribution: attribution(sample.get("a")),
    })
}

/// The first string of a sample (its navigation type, or an attribution key or value) that
/// carries U+0000, which PostgreSQL cannot store: such a sample is refused before it is queued.
fn nul_in(sample: &Value) -> Option<String> {
    if sample
        .get("t")
        .and_then(Value::as_str)
        .is_some_and(|t| t.contains('\0'))
    {
        return Some("`t`".to_owned());
    }
    let Some(Value::Object(attribution)) = sample.get("a") else {
        return None;
    };
    attribution.iter().find_map(|(key, value)| {
        if key.contains('\0') {
            Some("an attribution key".to_owned())
        } else if value.as_str().is_some_and(|text| text.contains('\0')) {
            Some(format!("attribution {key:?}"))
        } else {
            None
        }
    })
}

/// What web-vitals' attribution says (resource URLs, selectors, timings), bounded and scrubbed
/// like error events (tokens in queries).
fn attribution(value: Option<&Value>) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(map)) = value {
        for (key, value) in map.iter().take(30) {
            let kept = match value {
                // Resource URLs and selectors: scrubbed like error events (tokens in queries).
                Value::String(s) => Value::String(truncate(&scrub_text(s), 200)),
                Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => value.clone(),
                _ => continue,
            };
            out.insert(truncate(key, 64), kept);
        }
    }
    Value::Object(out)
}
