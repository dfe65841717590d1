//! Answering a Stats API request: the one service the HTTP API and the worker (alerts, reports,
//! summaries) both call, so a number means the same wherever it is shown.
//!
//! [`answer`] resolves the request's relative dates in the project's time zone, runs the query
//! and, when asked, the previous period, and shapes Plausible's v2 response (`results`, `meta`,
//! `query`), all on the caller's connection: one tenant-scoped transaction.

use crate::problem::ProblemKind;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use super::query::{Dimension, Filter, Metric, Operator, StatsQuery, StatsRow};
use super::request::StatsRequest;
use super::{realtime, sql};
use crate::DbError;
use crate::problem::Invalid;
use crate::tables::goals::{self, Goal};
use crate::tables::projects::Project;

/// Why a request could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The request asks for something invalid (a 400).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for StatsError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(error))
    }
}

/// Answers `request` for `project` on `conn`, which must be in the project's organization
/// scope, with relative dates (`day`, `7d`, …) counted back from `now`. `filters` is the
/// request's `filters` value, echoed in `query`.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    project: &Project,
    request: &StatsRequest,
    filters: Value,
    now: DateTime<Utc>,
) -> Result<Value, StatsError> {
    let timezone = project.timezone.clone();
    let wants_revenue = request
        .metrics
        .iter()
        .any(|m| matches!(m, Metric::TotalRevenue | Metric::AverageRevenue));
    let today = realtime::today(conn, &timezone, now).await?;
    let goals = if wants_revenue {
        goals::list(
            conn,
            crate::OrgId::from_uuid(project.org_id),
            crate::ProjectId::from_uuid(project.project_id),
        )
        .await?
    } else {
        Vec::new()
    };
    let currencies = if wants_revenue {
        revenue_currencies(request, &goals)?
    } else {
        BTreeMap::new()
    };
    let query = query_for(project, request, today);
    let (from, to) = (query.from, query.to);
    let days = (to - from).num_days() + 1;
    let previous = request.compare_previous.then(|| StatsQuery {
        from: from - chrono::Days::new(days as u64),
        to: from - chrono::Days::new(1),
        offset: 0,
        limit: 10_000,
        ..query.clone()
    });
    let rows = sql::run(conn, &query).await?;
    let previous_rows = match &previous {
        Some(previous) => Some(sql::run(conn, previous).await?),
        None => None,
    };
    let has_time = request.dimensions.iter().any(|d| d.is_time());
    let results: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(index, row)| {
                let mut result = json!({
                    "dimensions": row.dimensions,
                    "metrics": metric_values(row, &request.metrics),
                });
                if let Some(previous_rows) = &previous_rows {
                    let matched = if has_time {
                        previous_rows.get(index + request.offset as usize)
                    } else {
                        previous_rows.iter().find(|p| p.dimensions == row.dimensions)
                    };
                    let empty = StatsRow {
                        dimensions: row.dimensions.clone(),
                        visitors: 0,
                        visits: 0,
                        pageviews: 0,
                        events: 0,
                        bounce_rate: 0.0,
                        visit_duration: 0.0,
                        views_per_visit: 0.0,
                        conversion_rate: 0.0,
                        total_revenue: 0.0,
                        average_revenue: 0.0,
                        total_rows: 0,
                    };
                    let before = matched.unwrap_or(&empty);
                    result["comparison"] = json!({
                        "dimensions": before.dimensions,
                        "metrics": metric_values(before, &request.metrics),
                        "change": request.metrics.iter().map(|m| change(*m, row.metric(*m), before.metric(*m))).collect::<Vec<_>>(),
                    });
                }
                result
            })
            .collect();
    let total_rows = rows.first().map_or(0, |row| row.total_rows);
    Ok(json!({
        "results": results,
        "meta": meta(total_rows, &project.timezone, &currencies, request),
        "query": {
            "site_id": request.site_id,
            "metrics": request.metric_names,
            "date_range": [from.to_string(), to.to_string()],
            "dimensions": request.dimension_names,
            "filters": filters,
            "pagination": {"limit": request.limit, "offset": request.offset},
            "comparison_date_range": previous.as_ref().map(|p| vec![p.from.to_string(), p.to.to_string()]),
        }
    }))
}

/// The query that answers `request` for `project` when today (in its time zone) is `today`:
/// relative dates resolved, the request's page.
pub fn query_for(
    project: &Project,
    request: &StatsRequest,
    today: chrono::NaiveDate,
) -> StatsQuery {
    let first_day = project.created_at.date_naive();
    let (from, to) = request.date_range.resolve(today, first_day);
    StatsQuery {
        project_id: project.project_id,
        timezone: project.timezone.clone(),
        from,
        to,
        instants: None,
        dimensions: request.dimensions.clone(),
        filter: request.filter.clone(),
        metrics: request.metrics.clone(),
        order_by: request.order_by.clone(),
        limit: request.limit,
        offset: request.offset,
    }
}

/// A row's values of `metrics`, as the API answers them (counts and durations whole, revenue
/// to the cent).
pub fn metric_values(row: &StatsRow, metrics: &[Metric]) -> Vec<Value> {
    metrics
        .iter()
        .map(|metric| match metric {
            Metric::Visitors
            | Metric::Visits
            | Metric::Pageviews
            | Metric::Events
            | Metric::VisitDuration => {
                json!(row.metric(*metric).round() as i64)
            }
            Metric::TotalRevenue | Metric::AverageRevenue => {
                json!((row.metric(*metric) * 100.0).round() / 100.0)
            }
            _ => json!(row.metric(*metric)),
        })
        .collect()
}

/// Change from `previous` to `current`: percent for counts, points for the bounce rate.
fn change(metric: Metric, current: f64, previous: f64) -> Value {
    match metric {
        Metric::BounceRate => json!(((current - previous) * 10.0).round() / 10.0),
        _ if previous == 0.0 && current == 0.0 => json!(0),
        _ if previous == 0.0 => json!(100),
        _ => json!(((current - previous) / previous * 100.0).round() as i64),
    }
}

/// Whether the goal `name` passes every top-level `event:goal` comparison of `filter`.
fn goal_selected(filter: &Filter, name: &str) -> bool {
    let Filter::And(parts) = filter else {
        return true;
    };
    parts.iter().all(|part| match part {
        Filter::Compare(operator, Dimension::Goal, values) => {
            let lower = name.to_lowercase();
            let contains = || values.iter().any(|v| lower.contains(&v.to_lowercase()));
            match operator {
                Operator::Is => values.iter().any(|v| v == name),
                Operator::IsNot => !values.iter().any(|v| v == name),
                Operator::Contains => contains(),
                Operator::ContainsNot => !contains(),
            }
        }
        _ => true,
    })
}

/// The currencies revenue is reported in: goal name → currency for the revenue goals the
/// query selects. Without an `event:goal` dimension, one sum cannot mix currencies.
fn revenue_currencies(
    request: &StatsRequest,
    goals: &[Goal],
) -> Result<BTreeMap<String, String>, Invalid> {
    let currencies: BTreeMap<String, String> = goals
        .iter()
        .filter(|goal| goal_selected(&request.filter, &goal.name))
        .filter_map(|goal| Some((goal.name.clone(), goal.currency.clone()?)))
        .collect();
    let distinct: BTreeSet<&String> = currencies.values().collect();
    if distinct.len() > 1 && !request.dimensions.contains(&Dimension::Goal) {
        return Err(Invalid::new(
            ProblemKind::MixedCurrencies,
            format!(
                "the selected revenue goals use several currencies ({}): filter by one goal or group by event:goal",
                distinct.into_iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(currencies)
}

fn meta(
    total_rows: i64,
    timezone: &str,
    currencies: &BTreeMap<String, String>,
    request: &StatsRequest,
) -> Value {
    let mut meta = json!({"total_rows": total_rows, "time_zone": timezone});
    if !currencies.is_empty() {
        if request.dimensions.contains(&Dimension::Goal) {
            meta["currencies"] = json!(currencies);
        } else if let Some(currency) = currencies.values().next() {
            meta["currency"] = json!(currency);
        }
    }
    meta
}
