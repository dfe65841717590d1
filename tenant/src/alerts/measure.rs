//! Measuring an alert's metric over a window of instants (the last 15 minutes, the last hour):
//! analytics metrics through the Stats API's own planner ([`crate::stats::sql`], so an alert's
//! "visitors" is the dashboard's), error counts and Web Vitals percentiles from their tables.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::rule::AlertMetric;
use crate::stats::query::{Filter, StatsQuery};
use crate::tables::projects::Project;

/// Half-open `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First instant.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window of `length` ending at `end`.
    pub fn ending(end: DateTime<Utc>, length: chrono::Duration) -> Self {
        Self {
            start: end - length,
            end,
        }
    }

    /// The same window moved `by` earlier.
    pub fn earlier(self, by: chrono::Duration) -> Self {
        Self {
            start: self.start - by,
            end: self.end - by,
        }
    }
}

#[derive(QueryableByName)]
struct Measured {
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
}

/// The value of `metric` over `window` for `project` (in its organization's scope); `None`
/// when there is nothing to measure (no Web Vitals samples).
pub async fn measure(
    conn: &mut AsyncPgConnection,
    project: &Project,
    metric: AlertMetric,
    filter: &Filter,
    window: Window,
) -> diesel::QueryResult<Option<f64>> {
    let sql = match metric {
        AlertMetric::Stats(metric) => {
            let local = |at: DateTime<Utc>| at.naive_utc().date();
            let query = StatsQuery {
                project_id: project.project_id,
                timezone: project.timezone.clone(),
                from: local(window.start),
                to: local(window.end),
                instants: Some((window.start, window.end)),
                dimensions: vec![],
                filter: filter.clone(),
                metrics: vec![metric],
                order_by: vec![],
                limit: 1,
                offset: 0,
            };
            let rows = crate::stats::sql::run(conn, &query).await?;
            return Ok(Some(
                rows.into_iter()
                    .next()
                    .map_or(0.0, |row| row.metric(metric)),
            ));
        }
        AlertMetric::ErrorEvents => {
            "SELECT count(*)::float8 AS value FROM error_events \
             WHERE project_id = $1 AND ts >= $2 AND ts < $3 AND $4 = $4"
        }
        AlertMetric::NewErrorIssues => {
            "SELECT count(*)::float8 AS value FROM error_issues \
             WHERE project_id = $1 AND first_seen >= $2 AND first_seen < $3 AND $4 = $4"
        }
        AlertMetric::VitalP75(_) => {
            "SELECT percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS value FROM web_vitals \
             WHERE project_id = $1 AND ts >= $2 AND ts < $3 AND metric = $4"
        }
    };
    let vital = match metric {
        AlertMetric::VitalP75(name) => name,
        _ => "",
    };
    let measured: Measured = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(project.project_id)
        .bind::<Timestamptz, _>(window.start)
        .bind::<Timestamptz, _>(window.end)
        .bind::<Text, _>(vital)
        .get_result(conn)
        .await?;
    Ok(measured.value)
}

#[derive(QueryableByName)]
struct HourValue {
    #[diesel(sql_type = Timestamptz)]
    hour: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Double>)]
    value: Option<f64>,
}

/// The value of `metric` in each of the `hours` whole UTC hours before `end` (an hour
/// boundary), oldest first: what anomaly detection learns from. An hour without data is 0 for
/// counts and `None` for rates and percentiles (nothing to measure). Analytics metrics come
/// from the Stats API's planner by UTC hour, so rollups answer them where they can.
pub async fn hourly(
    conn: &mut AsyncPgConnection,
    project: &Project,
    metric: AlertMetric,
    filter: &Filter,
    end: DateTime<Utc>,
    hours: usize,
) -> diesel::QueryResult<Vec<Option<f64>>> {
    let start = end - chrono::Duration::hours(hours as i64);
    let index = |at: DateTime<Utc>| usize::try_from((at - start).num_hours()).ok();
    let mut values: Vec<Option<f64>> = vec![None; hours];
    let counts = matches!(
        metric,
        AlertMetric::ErrorEvents
            | AlertMetric::NewErrorIssues
            | AlertMetric::Stats(
                crate::stats::query::Metric::Visitors
                    | crate::stats::query::Metric::Visits
                    | crate::stats::query::Metric::Pageviews
                    | crate::stats::query::Metric::Events
            )
    );
    if counts {
        values.iter_mut().for_each(|v| *v = Some(0.0));
    }
    let sql = match metric {
        AlertMetric::Stats(stat) => {
            let query = StatsQuery {
                project_id: project.project_id,
                timezone: "UTC".to_owned(),
                from: start.date_naive(),
                to: (end - chrono::Duration::seconds(1)).date_naive(),
                instants: None,
                dimensions: vec![crate::stats::query::Dimension::Hour],
                filter: filter.clone(),
                metrics: vec![stat],
                order_by: vec![],
                limit: 10_000,
                offset: 0,
            };
            for row in crate::stats::sql::run(conn, &query).await? {
                let value = row.metric(stat);
                let label = row
                    .dimensions
                    .into_iter()
                    .next()
                    .flatten()
                    .unwrap_or_default();
                let at = chrono::NaiveDateTime::parse_from_str(&label, "%Y-%m-%d %H:%M:%S")
                    .ok()
                    .map(|naive| naive.and_utc());
                if let Some(slot) = at.filter(|at| *at >= start && *at < end).and_then(index)
                    && let Some(slot_value) = values.get_mut(slot)
                {
                    *slot_value = Some(value);
                }
            }
            return Ok(values);
        }
        AlertMetric::ErrorEvents => {
            "SELECT date_trunc('hour', ts) AS hour, count(*)::float8 AS value FROM error_events \
             WHERE project_id = $1 AND ts >= $2 AND ts < $3 AND $4 = $4 GROUP BY 1"
        }
        AlertMetric::NewErrorIssues => {
            "SELECT date_trunc('hour', first_seen) AS hour, count(*)::float8 AS value FROM error_issues \
             WHERE project_id = $1 AND first_seen >= $2 AND first_seen < $3 AND $4 = $4 GROUP BY 1"
        }
        AlertMetric::VitalP75(_) => {
            "SELECT date_trunc('hour', ts) AS hour, \
                    percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS value FROM web_vitals \
             WHERE project_id = $1 AND ts >= $2 AND ts < $3 AND metric = $4 GROUP BY 1"
        }
    };
    let vital = match metric {
        AlertMetric::VitalP75(name) => name,
        _ => "",
    };
    let rows: Vec<HourValue> = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(project.project_id)
        .bind::<Timestamptz, _>(start)
        .bind::<Timestamptz, _>(end)
        .bind::<Text, _>(vital)
        .load(conn)
        .await?;
    for row in rows {
        if let Some(value) = index(row.hour).and_then(|slot| values.get_mut(slot)) {
            *value = row.value;
        }
    }
    Ok(values)
}
