//! Parsing a Stats API v2 request body (Plausible's documented shape) into a query, with a
//! clear refusal ([`Invalid`], a 400 in the API) for every field that is wrong.

use crate::problem::ProblemKind;
use chrono::{Datelike, Days, Months, NaiveDate};
use serde_json::Value;

use super::query::{Dimension, Filter, Metric, Operator, OrderKey};
use crate::problem::Invalid;

/// The request, validated; dates still relative.
#[derive(Debug, Clone)]
pub struct StatsRequest {
    /// Domain of the site.
    pub site_id: String,
    /// Metrics, in the order asked.
    pub metrics: Vec<Metric>,
    /// Metric names as asked (echoed).
    pub metric_names: Vec<String>,
    /// The range.
    pub date_range: DateRange,
    /// Grouping.
    pub dimensions: Vec<Dimension>,
    /// Dimension names as asked (echoed).
    pub dimension_names: Vec<String>,
    /// Filters.
    pub filter: Filter,
    /// Order.
    pub order_by: Vec<(OrderKey, bool)>,
    /// Page size.
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
    /// Compare with the previous period.
    pub compare_previous: bool,
}

/// A date range as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateRange {
    /// Today.
    Day,
    /// The last n days, today included.
    LastDays(u64),
    /// This calendar month.
    Month,
    /// The last n calendar months, this one included.
    LastMonths(u32),
    /// Since the project was created.
    All,
    /// Fixed days, inclusive.
    Custom(NaiveDate, NaiveDate),
}

impl DateRange {
    /// The inclusive days, given today and the project's first day.
    pub fn resolve(&self, today: NaiveDate, first_day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let month_start = |date: NaiveDate| date.with_day(1).unwrap_or(date);
        match self {
            Self::Day => (today, today),
            Self::LastDays(n) => (today - Days::new(n.saturating_sub(1)), today),
            Self::Month => (month_start(today), today),
            Self::LastMonths(n) => (month_start(today) - Months::new(n.saturating_sub(1)), today),
            Self::All => (first_day.min(today), today),
            Self::Custom(from, to) => (*from, *to),
        }
    }
}

fn bad(kind: ProblemKind, detail: impl Into<String>) -> Invalid {
    Invalid::new(kind, detail)
}

fn parse_metric(name: &str) -> Result<Metric, Invalid> {
    Ok(match name {
        "visitors" => Metric::Visitors,
        "visits" => Metric::Visits,
        "pageviews" => Metric::Pageviews,
        "views_per_visit" => Metric::ViewsPerVisit,
        "bounce_rate" => Metric::BounceRate,
        "visit_duration" => Metric::VisitDuration,
        "events" => Metric::Events,
        "conversion_rate" => Metric::ConversionRate,
        "total_revenue" => Metric::TotalRevenue,
        "average_revenue" => Metric::AverageRevenue,
        "group_conversion_rate" | "percentage" => {
            return Err(bad(
                ProblemKind::UnsupportedMetric,
                format!("the metric {name:?} is not available"),
            ));
        }
        other => {
            return Err(bad(
                ProblemKind::InvalidMetric,
                format!("unknown metric {other:?}"),
            ));
        }
    })
}

fn parse_dimension(name: &str) -> Result<Dimension, Invalid> {
    Dimension::parse(name).ok_or_else(|| {
        bad(
            ProblemKind::InvalidDimension,
            format!("unknown dimension {name:?}"),
        )
    })
}

fn parse_date(value: &Value) -> Result<NaiveDate, Invalid> {
    value
        .as_str()
        .and_then(|text| NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok())
        .ok_or_else(|| bad(ProblemKind::InvalidDateRange, "dates must be YYYY-MM-DD"))
}

/// Parses a `date_range` value (a name such as `7d`, or `[from, to]`).
pub fn parse_date_range(value: Option<&Value>) -> Result<DateRange, Invalid> {
    let Some(value) = value else {
        return Err(bad(
            ProblemKind::InvalidDateRange,
            "`date_range` is required",
        ));
    };
    if let Some(pair) = value.as_array() {
        let [from, to] = pair.as_slice() else {
            return Err(bad(
                ProblemKind::InvalidDateRange,
                "a custom `date_range` is [from, to]",
            ));
        };
        let (from, to) = (parse_date(from)?, parse_date(to)?);
        if from > to || (to - from).num_days() > 3660 {
            return Err(bad(
                ProblemKind::InvalidDateRange,
                "`date_range` must run forwards, at most ten years",
            ));
        }
        return Ok(DateRange::Custom(from, to));
    }
    Ok(match value.as_str().unwrap_or_default() {
        "day" => DateRange::Day,
        "7d" => DateRange::LastDays(7),
        "28d" => DateRange::LastDays(28),
        "30d" => DateRange::LastDays(30),
        "91d" => DateRange::LastDays(91),
        "month" => DateRange::Month,
        "6mo" => DateRange::LastMonths(6),
        "12mo" => DateRange::LastMonths(12),
        "year" => DateRange::LastMonths(12),
        "all" => DateRange::All,
        other => {
            return Err(bad(
                ProblemKind::InvalidDateRange,
                format!(
                    "unknown date_range {other:?}: use day, 7d, 30d, month, 6mo, 12mo, all or [from, to]"
                ),
            ));
        }
    })
}

/// Parses a `period` query parameter: a `date_range` name (`day`, `7d`, `30d`, `month`, `6mo`,
/// `12mo`, `all`) or `YYYY-MM-DD,YYYY-MM-DD`; `30d` when absent or empty (`?period=`).
pub fn parse_period(period: Option<&str>) -> Result<DateRange, Invalid> {
    let period = period.filter(|period| !period.is_empty()).unwrap_or("30d");
    let value = match period.split_once(',') {
        Some((from, to)) => {
            Value::Array(vec![Value::String(from.into()), Value::String(to.into())])
        }
        None => Value::String(period.into()),
    };
    parse_date_range(Some(&value))
}

/// Most comparisons (`is`, `contains`, …) in one query's filters, however they are nested.
pub const MAX_FILTER_COMPARISONS: usize = 30;
/// Most values compared against in one query's filters, all comparisons together.
pub const MAX_FILTER_VALUES: usize = 200;
/// Deepest nesting of `and`/`or`/`not` (a top-level filter is at depth 1).
pub const MAX_FILTER_DEPTH: usize = 5;

/// What the filters of one query have used of the bounds above: the cost of a query grows
/// with every comparison and value, so the bound is on the whole tree, not on each list.
#[derive(Default)]
struct FilterBudget {
    comparisons: usize,
    values: usize,
}

fn parse_filter(value: &Value, depth: usize, budget: &mut FilterBudget) -> Result<Filter, Invalid> {
    let invalid = |detail: &str| bad(ProblemKind::InvalidFilter, detail.to_owned());
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(&format!(
            "filters nest at most {MAX_FILTER_DEPTH} levels deep"
        )));
    }
    let items = value
        .as_array()
        .ok_or_else(|| invalid("a filter is an array"))?;
    let operator = items
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a filter starts with its operator"))?;
    match operator {
        "and" | "or" => {
            let parts = items
                .get(1)
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("`and`/`or` take a list of filters"))?
                .iter()
                .map(|part| parse_filter(part, depth + 1, budget))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if operator == "and" {
                Filter::And(parts)
            } else {
                Filter::Or(parts)
            })
        }
        "not" => Ok(Filter::Not(Box::new(parse_filter(
            items
                .get(1)
                .ok_or_else(|| invalid("`not` takes a filter"))?,
            depth + 1,
            budget,
        )?))),
        "is" | "is_not" | "contains" | "contains_not" => {
            let dimension =
                parse_dimension(items.get(1).and_then(Value::as_str).unwrap_or_default())?;
            if dimension.is_time() {
                return Err(invalid(
                    "time dimensions cannot be filtered; use date_range",
                ));
            }
            let values: Vec<String> = items
                .get(2)
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("a comparison takes a list of values"))?
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.contains('\0') && s.len() <= 2000 => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err(invalid("filter values are strings of at most 2,000 bytes")),
                })
                .collect::<Result<_, _>>()?;
            if values.is_empty() || values.len() > 100 {
                return Err(invalid("a comparison takes 1 to 100 values"));
            }
            budget.comparisons += 1;
            budget.values += values.len();
            if budget.comparisons > MAX_FILTER_COMPARISONS {
                return Err(invalid(&format!(
                    "filters make at most {MAX_FILTER_COMPARISONS} comparisons in all"
                )));
            }
            if budget.values > MAX_FILTER_VALUES {
                return Err(invalid(&format!(
                    "filters compare against at most {MAX_FILTER_VALUES} values in all"
                )));
            }
            let operator = match operator {
                "is" => Operator::Is,
                "is_not" => Operator::IsNot,
                "contains" => Operator::Contains,
                _ => Operator::ContainsNot,
            };
            Ok(Filter::Compare(operator, dimension, values))
        }
        other => Err(invalid(&format!("unknown filter operator {other:?}"))),
    }
}

/// The body's `site_id` (the site's domain), trimmed and lower-cased.
pub fn site_id(body: &Value) -> Result<String, Invalid> {
    body.get("site_id")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty() && s.len() <= 253)
        .ok_or_else(|| {
            bad(
                ProblemKind::InvalidSite,
                "`site_id` (the site's domain) is required",
            )
        })
}

/// Parses and validates the body.
pub fn parse(body: &Value) -> Result<StatsRequest, Invalid> {
    let object = body.as_object().ok_or_else(|| {
        bad(
            ProblemKind::InvalidRequest,
            "the body must be a JSON object",
        )
    })?;
    let site_id = site_id(body)?;
    let metric_names: Vec<String> = object
        .get("metrics")
        .and_then(Value::as_array)
        .filter(|list| !list.is_empty() && list.len() <= 10)
        .ok_or_else(|| {
            bad(
                ProblemKind::InvalidMetric,
                "`metrics` is a list of 1 to 10 metric names",
            )
        })?
        .iter()
        .map(|m| {
            m.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(ProblemKind::InvalidMetric, "metric names are strings"))
        })
        .collect::<Result<_, _>>()?;
    let metrics = metric_names
        .iter()
        .map(|m| parse_metric(m))
        .collect::<Result<Vec<_>, _>>()?;
    let dimension_names: Vec<String> = match object.get("dimensions") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(list)) if list.len() <= 5 => list
            .iter()
            .map(|d| {
                d.as_str().map(str::to_owned).ok_or_else(|| {
                    bad(ProblemKind::InvalidDimension, "dimension names are strings")
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(bad(
                ProblemKind::InvalidDimension,
                "`dimensions` is a list of at most 5 names",
            ));
        }
    };
    let dimensions = dimension_names
        .iter()
        .map(|d| parse_dimension(d))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = match object.get("filters") {
        None | Some(Value::Null) => Filter::And(vec![]),
        Some(Value::Array(list)) if list.len() <= MAX_FILTER_COMPARISONS => {
            let mut budget = FilterBudget::default();
            Filter::And(
                list.iter()
                    .map(|f| parse_filter(f, 1, &mut budget))
                    .collect::<Result<_, _>>()?,
            )
        }
        Some(_) => {
            return Err(bad(
                ProblemKind::InvalidFilter,
                "`filters` is a list of at most 30 filters",
            ));
        }
    };
    let order_by = match object.get("order_by") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(list)) => list
            .iter()
            .map(|item| {
                let pair = item.as_array().filter(|p| p.len() == 2).ok_or_else(|| {
                    bad(
                        ProblemKind::InvalidOrderBy,
                        "order_by items are [name, \"asc\"|\"desc\"]",
                    )
                })?;
                let name = pair[0].as_str().unwrap_or_default();
                let descending = match pair[1].as_str() {
                    Some("desc") => true,
                    Some("asc") => false,
                    _ => {
                        return Err(bad(
                            ProblemKind::InvalidOrderBy,
                            "direction is \"asc\" or \"desc\"",
                        ));
                    }
                };
                let key = if let Some(i) = dimension_names.iter().position(|d| d == name) {
                    OrderKey::Dimension(i)
                } else if let Some(i) = metric_names.iter().position(|m| m == name) {
                    OrderKey::Metric(metrics[i])
                } else {
                    return Err(bad(
                        ProblemKind::InvalidOrderBy,
                        format!("{name:?} is neither a requested metric nor dimension"),
                    ));
                };
                Ok((key, descending))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(bad(ProblemKind::InvalidOrderBy, "`order_by` is a list")),
    };
    let pagination = object.get("pagination");
    let limit = match pagination.and_then(|p| p.get("limit")) {
        None => 10_000,
        Some(v) => v
            .as_i64()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| bad(ProblemKind::InvalidPagination, "limit is 1 to 10,000"))?,
    };
    let offset = match pagination.and_then(|p| p.get("offset")) {
        None => 0,
        Some(v) => v
            .as_i64()
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad(ProblemKind::InvalidPagination, "offset is 0 or more"))?,
    };
    let compare_previous = match object.get("include").and_then(|i| i.get("comparisons")) {
        None | Some(Value::Null) => false,
        Some(c) if c.get("mode").and_then(Value::as_str) == Some("previous_period") => true,
        Some(_) => {
            return Err(bad(
                ProblemKind::InvalidInclude,
                "comparisons support {\"mode\": \"previous_period\"}",
            ));
        }
    };
    let goal_filter = match &filter {
        Filter::And(parts) => {
            let nested = parts.iter().any(|part| {
                part.mentions_goal() && !matches!(part, Filter::Compare(_, Dimension::Goal, _))
            });
            if nested {
                return Err(bad(
                    ProblemKind::InvalidFilter,
                    "`event:goal` filters go at the top level, not inside and/or/not",
                ));
            }
            parts.iter().any(Filter::mentions_goal)
        }
        _ => false,
    };
    let by_goal = dimensions.contains(&Dimension::Goal);
    if let Some(metric) = metric_names
        .iter()
        .zip(&metrics)
        .find_map(|(name, metric)| {
            matches!(
                metric,
                Metric::ConversionRate | Metric::TotalRevenue | Metric::AverageRevenue
            )
            .then_some(name)
        })
        && !(by_goal || goal_filter)
    {
        return Err(bad(
            ProblemKind::InvalidMetric,
            format!("{metric:?} needs an `event:goal` filter or dimension"),
        ));
    }
    Ok(StatsRequest {
        site_id,
        metrics,
        metric_names,
        date_range: parse_date_range(object.get("date_range"))?,
        dimensions,
        dimension_names,
        filter,
        order_by,
        limit,
        offset,
        compare_previous,
    })
}
