//! What an alert watches and when it breaches: the metric, its filters and window, the
//! condition (a value above or below thresholds, or a percent change against a baseline), the
//! warning, critical and resolve thresholds and the timing. [`AlertSpec::validate`] refuses
//! every inconsistent rule with a clear reason before anything is stored.

use chrono::Duration;
use serde_json::{Value, json};

use super::anomaly::Sensitivity;
use super::state::Thresholds;
use crate::problem::{Invalid, ProblemKind};
use crate::stats::query::{Filter, Metric};

/// A metric an alert can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertMetric {
    /// A Stats API metric (visitors, pageviews, bounce rate, a goal's conversion rate, …).
    Stats(Metric),
    /// Error events received.
    ErrorEvents,
    /// Error issues first seen.
    NewErrorIssues,
    /// The 75th percentile of a Web Vital (`LCP`, `INP`, `CLS`, `FCP`, `TTFB`).
    VitalP75(&'static str),
}

/// Every metric name, in the order the API documents them.
pub const METRIC_NAMES: &[&str] = &[
    "visitors",
    "visits",
    "pageviews",
    "events",
    "bounce_rate",
    "visit_duration",
    "views_per_visit",
    "conversion_rate",
    "error_events",
    "new_error_issues",
    "lcp_p75",
    "inp_p75",
    "cls_p75",
    "fcp_p75",
    "ttfb_p75",
];

impl AlertMetric {
    /// Parses a metric name ([`METRIC_NAMES`]).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "visitors" => Self::Stats(Metric::Visitors),
            "visits" => Self::Stats(Metric::Visits),
            "pageviews" => Self::Stats(Metric::Pageviews),
            "events" => Self::Stats(Metric::Events),
            "bounce_rate" => Self::Stats(Metric::BounceRate),
            "visit_duration" => Self::Stats(Metric::VisitDuration),
            "views_per_visit" => Self::Stats(Metric::ViewsPerVisit),
            "conversion_rate" => Self::Stats(Metric::ConversionRate),
            "error_events" => Self::ErrorEvents,
            "new_error_issues" => Self::NewErrorIssues,
            "lcp_p75" => Self::VitalP75("LCP"),
            "inp_p75" => Self::VitalP75("INP"),
            "cls_p75" => Self::VitalP75("CLS"),
            "fcp_p75" => Self::VitalP75("FCP"),
            "ttfb_p75" => Self::VitalP75("TTFB"),
            _ => return None,
        })
    }

    /// Whether the Stats API's filters apply (the analytics metrics).
    pub fn takes_filters(self) -> bool {
        matches!(self, Self::Stats(_))
    }

    /// Whether the metric counts things (visitors, pageviews, events, errors): its hourly
    /// values vary at least as much as Poisson noise, which an anomaly band must allow for.
    pub fn is_count(self) -> bool {
        matches!(
            self,
            Self::Stats(Metric::Visitors | Metric::Visits | Metric::Pageviews | Metric::Events)
                | Self::ErrorEvents
                | Self::NewErrorIssues
        )
    }

    /// The unit shown next to a value: `%`, `s`, `ms`, or none.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Stats(Metric::BounceRate | Metric::ConversionRate) => "%",
            Self::Stats(Metric::VisitDuration) => "s",
            Self::VitalP75("CLS") => "",
            Self::VitalP75(_) => "ms",
            _ => "",
        }
    }
}

/// How the watched value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// The metric is above the thresholds.
    Above,
    /// The metric is below the thresholds.
    Below,
    /// The metric rose by more than the thresholds, in percent of the baseline.
    IncreasePct,
    /// The metric fell by more than the thresholds, in percent of the baseline.
    DecreasePct,
    /// The last complete hour is outside the band a seasonal model of the metric's history
    /// expects ([`super::anomaly`]).
    Anomaly,
}

impl Condition {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Above => "above",
            Self::Below => "below",
            Self::IncreasePct => "increase_pct",
            Self::DecreasePct => "decrease_pct",
            Self::Anomaly => "anomaly",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "above" => Self::Above,
            "below" => Self::Below,
            "increase_pct" => Self::IncreasePct,
            "decrease_pct" => Self::DecreasePct,
            "anomaly" => Self::Anomaly,
            _ => return None,
        })
    }

    /// Whether the condition compares against a baseline.
    pub fn is_change(self) -> bool {
        matches!(self, Self::IncreasePct | Self::DecreasePct)
    }
}

/// What a percent change is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The window just before.
    PreviousPeriod,
    /// The same window seven days earlier.
    LastWeek,
}

impl Baseline {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::PreviousPeriod => "previous_period",
            Self::LastWeek => "last_week",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "previous_period" => Some(Self::PreviousPeriod),
            "last_week" => Some(Self::LastWeek),
            _ => None,
        }
    }

    /// How far before the window the baseline window ends.
    pub fn offset(self, window: Duration) -> Duration {
        match self {
            Self::PreviousPeriod => window,
            Self::LastWeek => Duration::days(7),
        }
    }
}

/// Shortest window.
pub const MIN_WINDOW_MINUTES: i32 = 5;
/// Longest window (a week).
pub const MAX_WINDOW_MINUTES: i32 = 10_080;
/// Longest pending period (a day).
pub const MAX_PENDING_MINUTES: i32 = 1_440;
/// How often an anomaly rule is evaluated, whatever is asked: once per hour, on the hour.
pub const ANOMALY_EVERY_MINUTES: i32 = 60;
/// Most channels one alert notifies.
pub const MAX_CHANNELS: usize = 20;

/// An alert rule as asked, before validation.
#[derive(Debug, Clone)]
pub struct AlertInput<'a> {
    /// Metric name.
    pub metric: &'a str,
    /// Stats API filters (a JSON array).
    pub filters: &'a Value,
    /// Window length.
    pub window_minutes: i32,
    /// Condition name.
    pub condition: &'a str,
    /// Baseline name (percent changes only).
    pub baseline: Option<&'a str>,
    /// Sensitivity name (anomaly rules only; default `medium`).
    pub sensitivity: Option<&'a str>,
    /// Warning threshold.
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// Resolve threshold; defaults to the lower level's threshold.
    pub resolve: Option<f64>,
    /// Pending period.
    pub pending_minutes: i32,
    /// How often it is evaluated.
    pub every_minutes: i32,
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct AlertSpec {
    /// Metric.
    pub metric: AlertMetric,
    /// Stored metric name.
    pub metric_name: String,
    /// Filters as given (stored, echoed).
    pub filters: Value,
    /// Parsed filters.
    pub filter: Filter,
    /// Window length.
    pub window_minutes: i32,
    /// Condition.
    pub condition: Condition,
    /// Baseline of a percent change.
    pub baseline: Option<Baseline>,
    /// Band width of an anomaly rule.
    pub sensitivity: Option<Sensitivity>,
    /// Warning threshold.
    pub warning: Option<f64>,
    /// Critical threshold.
    pub critical: Option<f64>,
    /// Resolve threshold.
    pub resolve: f64,
    /// Pending period.
    pub pending_minutes: i32,
    /// Evaluation interval.
    pub every_minutes: i32,
}

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidAlert, detail)
}

/// The Stats API's reading of `filters` for `metric`, with its refusals (unknown dimension,
/// a conversion rate without a goal filter, …): one meaning of a filter everywhere.
pub fn parse_filters(metric: AlertMetric, name: &str, filters: &Value) -> Result<Filter, Invalid> {
    let empty = filters.as_array().is_some_and(Vec::is_empty);
    if !filters.is_array() {
        return Err(invalid("`filters` is a list of Stats API filters"));
    }
    if !metric.takes_filters() {
        return if empty {
            Ok(Filter::And(vec![]))
        } else {
            Err(invalid(format!("{name:?} takes no filters")))
        };
    }
    let body =
        json!({"site_id": "alert", "metrics": [name], "date_range": "day", "filters": filters});
    crate::stats::request::parse(&body).map(|request| request.filter)
}

impl AlertSpec {
    /// Validates `input`.
    pub fn validate(input: &AlertInput<'_>) -> Result<Self, Invalid> {
        let metric = AlertMetric::parse(input.metric).ok_or_else(|| {
            invalid(format!(
                "unknown metric {:?}: use one of {}",
                input.metric,
                METRIC_NAMES.join(", ")
            ))
        })?;
        let filter = parse_filters(metric, input.metric, input.filters)?;
        if !(MIN_WINDOW_MINUTES..=MAX_WINDOW_MINUTES).contains(&input.window_minutes) {
            return Err(invalid(format!(
                "`window_minutes` is {MIN_WINDOW_MINUTES} to {MAX_WINDOW_MINUTES} (a week)"
            )));
        }
        if !(1..=1_440).contains(&input.every_minutes) {
            return Err(invalid("`every_minutes` is 1 to 1,440"));
        }
        if !(0..=MAX_PENDING_MINUTES).contains(&input.pending_minutes) {
            return Err(invalid(format!(
                "`pending_minutes` is 0 to {MAX_PENDING_MINUTES}"
            )));
        }
        let condition = Condition::parse(input.condition).ok_or_else(|| {
            invalid("`condition` is above, below, increase_pct, decrease_pct or anomaly")
        })?;
        if condition == Condition::Anomaly {
            return Self::validate_anomaly(input, metric, filter);
        }
        if input.sensitivity.is_some() {
            return Err(invalid("`sensitivity` applies to anomaly rules only"));
        }
        let baseline = match (condition.is_change(), input.baseline) {
            (true, Some(name)) => Some(
                Baseline::parse(name)
                    .ok_or_else(|| invalid("`baseline` is previous_period or last_week"))?,
            ),
            (true, None) => {
                return Err(invalid(
                    "a percent change needs a `baseline`: previous_period or last_week",
                ));
            }
            (false, Some(_)) => {
                return Err(invalid(
                    "`baseline` applies to increase_pct and decrease_pct only",
                ));
            }
            (false, None) => None,
        };
        let (warning, critical) = (input.warning, input.critical);
        let values = [warning, critical, input.resolve];
        if values.iter().flatten().any(|v| !v.is_finite()) {
            return Err(invalid("thresholds are finite numbers"));
        }
        if warning.is_none() && critical.is_none() {
            return Err(invalid("set `warning`, `critical` or both"));
        }
        if condition.is_change() && values.iter().flatten().any(|v| *v < 0.0) {
            return Err(invalid(
                "percent-change thresholds are positive: 20 means a change of 20 %",
            ));
        }
        let above = condition != Condition::Below;
        // The lower level's threshold: a breach of it is the first to happen.
        let first = warning.or(critical);
        if let (Some(w), Some(c)) = (warning, critical)
            && (if above { c < w } else { c > w })
        {
            return Err(invalid(if above {
                "`critical` must be at or above `warning`"
            } else {
                "`critical` must be at or below `warning`"
            }));
        }
        let first = first.unwrap_or_default();
        let resolve = input.resolve.unwrap_or(first);
        if above && resolve > first {
            return Err(invalid(
                "`resolve` must be at or below the warning threshold",
            ));
        }
        if !above && resolve < first {
            return Err(invalid(
                "`resolve` must be at or above the warning threshold",
            ));
        }
        Ok(Self {
            metric,
            metric_name: input.metric.to_owned(),
            filters: input.filters.clone(),
            filter,
            window_minutes: input.window_minutes,
            condition,
            baseline,
            sensitivity: None,
            warning,
            critical,
            resolve,
            pending_minutes: input.pending_minutes,
            every_minutes: input.every_minutes,
        })
    }

    /// An anomaly rule: the last complete hour against the model's band, so a one-hour window
    /// and no thresholds; its value is the deviation in half-widths of the band (1 is the
    /// edge), which breaches above 1 and resolves back within it.
    fn validate_anomaly(
        input: &AlertInput<'_>,
        metric: AlertMetric,
        filter: Filter,
    ) -> Result<Self, Invalid> {
        if input.window_minutes != 60 {
            return Err(invalid(
                "an anomaly rule compares the last complete hour: `window_minutes` is 60",
            ));
        }
        if input.baseline.is_some()
            || input.warning.is_some()
            || input.critical.is_some()
            || input.resolve.is_some()
        {
            return Err(invalid(
                "an anomaly rule takes a `sensitivity` (low, medium, high), not thresholds or a baseline",
            ));
        }
        let sensitivity = match input.sensitivity {
            None => Sensitivity::Medium,
            Some(name) => Sensitivity::parse(name)
                .ok_or_else(|| invalid("`sensitivity` is low, medium or high"))?,
        };
        Ok(Self {
            metric,
            metric_name: input.metric.to_owned(),
            filters: input.filters.clone(),
            filter,
            window_minutes: input.window_minutes,
            condition: Condition::Anomaly,
            baseline: None,
            sensitivity: Some(sensitivity),
            warning: Some(1.0),
            critical: None,
            resolve: 1.0,
            pending_minutes: input.pending_minutes,
            // The compared hour changes once an hour, and a fit costs tens of milliseconds.
            every_minutes: ANOMALY_EVERY_MINUTES,
        })
    }

    /// The thresholds the state machine compares with.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            above: self.condition != Condition::Below,
            warning: self.warning,
            critical: self.critical,
            resolve: self.resolve,
            pending: Duration::minutes(i64::from(self.pending_minutes)),
        }
    }
}

/// The value a change condition compares: the rise (`increase_pct`) or fall (`decrease_pct`)
/// in percent of `baseline`; `None` when the baseline is zero (no percentage of nothing).
pub fn percent_change(condition: Condition, current: f64, baseline: f64) -> Option<f64> {
    if baseline == 0.0 {
        return None;
    }
    let change = (current - baseline) / baseline * 100.0;
    Some(match condition {
        Condition::DecreasePct => -change,
        _ => change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(metric: &'a str, filters: &'a Value) -> AlertInput<'a> {
        AlertInput {
            metric,
            filters,
            window_minutes: 60,
            condition: "below",
            baseline: None,
            warning: Some(100.0),
            critical: Some(50.0),
            resolve: None,
            pending_minutes: 10,
            every_minutes: 5,
            sensitivity: None,
        }
    }

    #[test]
    fn a_consistent_rule_is_accepted_with_its_default_resolve_threshold() {
        let none = json!([]);
        let spec = AlertSpec::validate(&input("visitors", &none)).unwrap();
        assert_eq!(spec.resolve, 100.0);
        assert!(!spec.thresholds().above);
        let filters = json!([["is", "visit:country", ["DE"]]]);
        let spec = AlertSpec::validate(&input("pageviews", &filters)).unwrap();
        assert_ne!(spec.filter, Filter::And(vec![]));
    }

    #[test]
    fn inconsistent_rules_are_refused_with_the_reason() {
        let none = json!([]);
        let cases: Vec<(AlertInput<'_>, &str)> = vec![
            (
                AlertInput {
                    critical: Some(150.0),
                    ..input("visitors", &none)
                },
                "at or below `warning`",
            ),
            (
                AlertInput {
                    resolve: Some(90.0),
                    ..input("visitors", &none)
                },
                "`resolve`",
            ),
            (
                AlertInput {
                    warning: None,
                    critical: None,
                    ..input("visitors", &none)
                },
                "set `warning`",
            ),
            (
                AlertInput {
                    condition: "decrease_pct",
                    ..input("visitors", &none)
                },
                "needs a `baseline`",
            ),
            (
                AlertInput {
                    window_minutes: 1,
                    ..input("visitors", &none)
                },
                "window_minutes",
            ),
            (input("revenue", &none), "unknown metric"),
            (
                AlertInput {
                    warning: Some(f64::NAN),
                    ..input("visitors", &none)
                },
                "finite",
            ),
        ];
        for (case, reason) in cases {
            let error = AlertSpec::validate(&case).unwrap_err();
            assert!(error.detail.contains(reason), "{reason}: {}", error.detail);
            assert_eq!(error.kind, ProblemKind::InvalidAlert);
        }
        let country = json!([["is", "visit:country", ["DE"]]]);
        let error = AlertSpec::validate(&input("error_events", &country)).unwrap_err();
        assert!(
            error.detail.contains("takes no filters"),
            "{}",
            error.detail
        );
        // The Stats API's own refusals come through (its kind, its words).
        let error = AlertSpec::validate(&input("conversion_rate", &none)).unwrap_err();
        assert!(error.detail.contains("event:goal"), "{}", error.detail);
    }

    #[test]
    fn anomaly_rules_take_a_sensitivity_and_no_thresholds() {
        let none = json!([]);
        let anomaly = AlertInput {
            condition: "anomaly",
            warning: None,
            critical: None,
            ..input("visitors", &none)
        };
        let spec = AlertSpec::validate(&anomaly).unwrap();
        assert_eq!(spec.sensitivity, Some(Sensitivity::Medium));
        assert_eq!((spec.warning, spec.resolve), (Some(1.0), 1.0));
        for (case, reason) in [
            (
                AlertInput {
                    warning: Some(3.0),
                    ..anomaly.clone()
                },
                "not thresholds",
            ),
            (
                AlertInput {
                    window_minutes: 15,
                    ..anomaly.clone()
                },
                "last complete hour",
            ),
            (
                AlertInput {
                    sensitivity: Some("extreme"),
                    ..anomaly.clone()
                },
                "low, medium or high",
            ),
            (
                AlertInput {
                    sensitivity: Some("high"),
                    ..input("visitors", &none)
                },
                "anomaly rules only",
            ),
        ] {
            let error = AlertSpec::validate(&case).unwrap_err();
            assert!(error.detail.contains(reason), "{reason}: {}", error.detail);
        }
    }

    #[test]
    fn percent_changes_follow_the_condition() {
        assert_eq!(
            percent_change(Condition::DecreasePct, 50.0, 200.0),
            Some(75.0)
        );
        assert_eq!(
            percent_change(Condition::IncreasePct, 300.0, 200.0),
            Some(50.0)
        );
        assert_eq!(percent_change(Condition::IncreasePct, 3.0, 0.0), None);
    }
}
