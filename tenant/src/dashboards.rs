//! What a custom dashboard holds and when it is valid: widgets on a 12-column grid, each a
//! kind with what that kind needs (a stats query, a funnel, a Markdown note), and the
//! dashboard's own period and filters.
//!
//! A widget's query is a Stats API v2 body without `site_id` and `date_range` (the dashboard
//! adds the project and the period), checked by the same parser as the Stats API, segments
//! included: what is saved is what the Stats API will answer. Rows are
//! [`crate::tables::dashboards`].

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::problem::{Invalid, ProblemKind};
use crate::stats::Dimension;
use crate::stats::request::parse_period;
use crate::stats::segments::{self, Lookup};

/// Columns of the grid.
pub const COLUMNS: i32 = 12;
/// Most widgets on one dashboard.
pub const MAX_WIDGETS: usize = 50;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Lowest row a widget may start on.
pub const MAX_ROW: i32 = 1_000;
/// Tallest widget, in rows.
pub const MAX_HEIGHT: i32 = 24;

/// What a widget shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WidgetKind {
    /// One or more metrics with the change against the previous period.
    Metric,
    /// A metric over time (`time:*` dimension).
    TimeSeries,
    /// Rows of one dimension.
    Breakdown,
    /// A funnel of the project.
    Funnel,
    /// Weekly retention.
    Retention,
    /// The project's open error issues.
    Errors,
    /// Web Vitals at the 75th percentile.
    Vitals,
    /// A Markdown note.
    Note,
}

impl WidgetKind {
    /// Every kind.
    pub const ALL: [WidgetKind; 8] = [
        Self::Metric,
        Self::TimeSeries,
        Self::Breakdown,
        Self::Funnel,
        Self::Retention,
        Self::Errors,
        Self::Vitals,
        Self::Note,
    ];

    /// Whether this kind reads a stats query.
    pub fn has_query(self) -> bool {
        matches!(self, Self::Metric | Self::TimeSeries | Self::Breakdown)
    }
}

/// A widget as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widget {
    /// Stable id within the dashboard (letters, digits, `-`, `_`; at most 40).
    pub id: String,
    /// Kind.
    pub kind: WidgetKind,
    /// Title (at most 100 characters; may be empty).
    pub title: String,
    /// Column of the left edge, `0..12`.
    pub x: i32,
    /// Row of the top edge.
    pub y: i32,
    /// Width in columns.
    pub w: i32,
    /// Height in rows.
    pub h: i32,
    /// The stats query (metric, time series, breakdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Value>,
    /// Its own period instead of the dashboard's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The note's Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The funnel shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funnel_id: Option<Uuid>,
}

fn invalid(detail: impl Into<String>) -> Invalid {
    Invalid::new(ProblemKind::InvalidDashboard, detail)
}

/// Checks a period name or `YYYY-MM-DD,YYYY-MM-DD` range.
pub fn validate_period(period: &str) -> Result<(), Invalid> {
    parse_period(Some(period)).map(|_| ())
}

/// Checks a dashboard's filter bar: Stats API filter expressions (the segments `shared`
/// knows allowed).
pub fn validate_filters(filters: &Value, shared: Lookup<'_>) -> Result<(), Invalid> {
    segments::parse_with(
        &json!({
            "site_id": "dashboard.check",
            "metrics": ["visitors"],
            "date_range": "30d",
            "filters": filters,
        }),
        shared,
    )
    .map(|_| ())
}

fn validate_query(widget: &Widget, shared: Lookup<'_>) -> Result<(), Invalid> {
    let Some(query) = widget.query.as_ref().filter(|_| widget.kind.has_query()) else {
        return if widget.kind.has_query() {
            Err(invalid(format!(
                "widget {}: a {:?} widget needs a query",
                widget.id, widget.kind
            )))
        } else if widget.query.is_some() {
            Err(invalid(format!(
                "widget {}: this kind takes no query",
                widget.id
            )))
        } else {
            Ok(())
        };
    };
    let mut body = query
        .as_object()
        .cloned()
        .ok_or_else(|| invalid(format!("widget {}: the query is an object", widget.id)))?;
    if body.contains_key("site_id") || body.contains_key("date_range") {
        return Err(invalid(format!(
            "widget {}: the query names neither site_id nor date_range (the dashboard gives them)",
            widget.id
        )));
    }
    body.insert("site_id".into(), json!("dashboard.check"));
    body.insert("date_range".into(), json!("30d"));
    let parsed = segments::parse_with(&Value::Object(body), shared).map_err(|refused| {
        Invalid::new(
            refused.kind,
            format!("widget {}: {}", widget.id, refused.detail),
        )
    })?;
    let time = parsed.dimensions.iter().filter(|d| d.is_time()).count();
    let plain: Vec<&Dimension> = parsed.dimensions.iter().filter(|d| !d.is_time()).collect();
    let fits = match widget.kind {
        WidgetKind::Metric => parsed.dimensions.is_empty(),
        WidgetKind::TimeSeries => time == 1 && plain.is_empty() && parsed.metrics.len() == 1,
        WidgetKind::Breakdown => time == 0 && plain.len() == 1,
        _ => true,
    };
    if !fits {
        return Err(invalid(format!(
            "widget {}: a metric widget has no dimension, a time series one time:* dimension and one metric, a breakdown one other dimension",
            widget.id
        )));
    }
    Ok(())
}

fn validate_widget(widget: &Widget, shared: Lookup<'_>) -> Result<(), Invalid> {
    let id_ok = (1..=40).contains(&widget.id.len())
        && widget
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        return Err(invalid(
            "widget ids are 1 to 40 letters, digits, '-' or '_'",
        ));
    }
    if widget.title.chars().count() > 100 || widget.title.chars().any(char::is_control) {
        return Err(invalid(format!(
            "widget {}: the title is at most 100 characters, without control characters",
            widget.id
        )));
    }
    let placed = (0..COLUMNS).contains(&widget.x)
        && (1..=COLUMNS).contains(&widget.w)
        && widget.x + widget.w <= COLUMNS
        && (0..=MAX_ROW).contains(&widget.y)
        && (1..=MAX_HEIGHT).contains(&widget.h);
    if !placed {
        return Err(invalid(format!(
            "widget {}: x 0-11, w 1-12 with x + w at most 12, y 0-{MAX_ROW}, h 1-{MAX_HEIGHT}",
            widget.id
        )));
    }
    if let Some(period) = &widget.period {
        validate_period(period).map_err(|refused| {
            Invalid::new(
                refused.kind,
                format!("widget {}: {}", widget.id, refused.detail),
            )
        })?;
    }
    match (widget.kind, &widget.text) {
        (WidgetKind::Note, Some(text)) if text.chars().count() <= MAX_NOTE_CHARS => {}
        (WidgetKind::Note, _) => {
            return Err(invalid(format!(
                "widget {}: a note has text of at most {MAX_NOTE_CHARS} characters",
                widget.id
            )));
        }
        (_, Some(_)) => {
            return Err(invalid(format!(
                "widget {}: only a note has text",
                widget.id
            )));
        }
        _ => {}
    }
    match (widget.kind, widget.funnel_id) {
        (WidgetKind::Funnel, None) => {
            return Err(invalid(format!(
                "widget {}: a funnel widget names its funnel",
                widget.id
            )));
        }
        (kind, Some(_)) if kind != WidgetKind::Funnel => {
            return Err(invalid(format!(
                "widget {}: only a funnel widget names a funnel",
                widget.id
            )));
        }
        _ => {}
    }
    validate_query(widget, shared)
}

/// Checks every widget (at most [`MAX_WIDGETS`], ids unique; segments in queries from
/// `shared`) and answers them as the JSON stored. Funnels are checked against the project by
/// the caller ([`funnel_ids`]).
pub fn validate_widgets(widgets: &[Widget], shared: Lookup<'_>) -> Result<Value, Invalid> {
    if widgets.len() > MAX_WIDGETS {
        return Err(invalid(format!(
            "a dashboard holds at most {MAX_WIDGETS} widgets"
        )));
    }
    let mut ids: Vec<&str> = widgets.iter().map(|w| w.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(invalid(format!("two widgets have the id {}", pair[0])));
    }
    widgets
        .iter()
        .try_for_each(|widget| validate_widget(widget, shared))?;
    serde_json::to_value(widgets).map_err(|error| invalid(error.to_string()))
}

/// The funnels the widgets show, to check they are the project's.
pub fn funnel_ids(widgets: &[Widget]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = widgets.iter().filter_map(|w| w.funnel_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Reads stored widgets back (a row the API wrote; `[]` if it were ever unreadable).
pub fn widgets_of(stored: &Value) -> Vec<Widget> {
    serde_json::from_value(stored.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(kind: WidgetKind, query: Option<Value>) -> Widget {
        Widget {
            id: "w1".into(),
            kind,
            title: "Visitors".into(),
            x: 0,
            y: 0,
            w: 6,
            h: 4,
            query,
            period: None,
            text: None,
            funnel_id: None,
        }
    }

    #[test]
    fn each_kind_takes_the_query_it_can_show() {
        let metric = widget(
            WidgetKind::Metric,
            Some(json!({"metrics": ["visitors", "pageviews"]})),
        );
        assert!(validate_widgets(&[metric], &|_| None).is_ok());
        let series = widget(
            WidgetKind::TimeSeries,
            Some(json!({"metrics": ["visitors"], "dimensions": ["time:day"]})),
        );
        assert!(validate_widgets(&[series], &|_| None).is_ok());
        let breakdown = widget(
            WidgetKind::Breakdown,
            Some(
                json!({"metrics": ["visitors"], "dimensions": ["visit:country"], "filters": [["is", "visit:device", ["Mobile"]]]}),
            ),
        );
        assert!(validate_widgets(&[breakdown], &|_| None).is_ok());
        let wrong = widget(
            WidgetKind::Breakdown,
            Some(json!({"metrics": ["visitors"], "dimensions": ["time:day"]})),
        );
        assert!(validate_widgets(&[wrong], &|_| None).is_err());
        assert!(validate_widgets(&[widget(WidgetKind::Metric, None)], &|_| None).is_err());
        let bad_metric = widget(WidgetKind::Metric, Some(json!({"metrics": ["hugs"]})));
        let refused = validate_widgets(&[bad_metric], &|_| None).unwrap_err();
        assert_eq!(refused.kind, ProblemKind::InvalidMetric);
        assert!(
            refused.detail.starts_with("widget w1:"),
            "{}",
            refused.detail
        );
        let with_site = widget(
            WidgetKind::Metric,
            Some(json!({"metrics": ["visitors"], "site_id": "other.example"})),
        );
        assert!(validate_widgets(&[with_site], &|_| None).is_err());
    }

    #[test]
    fn notes_funnels_and_the_grid_are_checked() {
        let mut note = widget(WidgetKind::Note, None);
        assert!(validate_widgets(&[note.clone()], &|_| None).is_err());
        note.text = Some("**Launch** week".into());
        assert!(validate_widgets(&[note.clone()], &|_| None).is_ok());
        note.x = 8;
        assert!(
            validate_widgets(&[note.clone()], &|_| None).is_err(),
            "x + w over 12"
        );
        note.x = 0;
        let twin = note.clone();
        assert!(
            validate_widgets(&[note, twin], &|_| None).is_err(),
            "duplicate ids"
        );
        let funnel = widget(WidgetKind::Funnel, None);
        assert!(validate_widgets(&[funnel], &|_| None).is_err());
        let mut errors = widget(WidgetKind::Errors, None);
        errors.period = Some("decade".into());
        assert!(validate_widgets(&[errors], &|_| None).is_err());
    }

    #[test]
    fn stored_widgets_read_back_unchanged() {
        let series = widget(
            WidgetKind::TimeSeries,
            Some(json!({"metrics": ["visitors"], "dimensions": ["time:day"]})),
        );
        let stored = validate_widgets(std::slice::from_ref(&series), &|_| None).unwrap();
        assert_eq!(widgets_of(&stored), vec![series]);
        assert_eq!(stored[0]["kind"], "time_series");
    }
}
