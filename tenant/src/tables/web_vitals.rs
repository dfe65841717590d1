//! `web_vitals`: Core Web Vitals samples, and their percentiles and ratings by page, device,
//! country or day.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ProjectId;

use crate::schema::web_vitals;

/// A sample to store.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = web_vitals)]
pub struct NewVital {
    /// Organization.
    pub org_id: Uuid,
    /// Project.
    pub project_id: Uuid,
    /// Id.
    pub vital_id: Uuid,
    /// When it was received.
    pub ts: DateTime<Utc>,
    /// `LCP`, `INP`, `CLS`, `FCP` or `TTFB`.
    pub metric: String,
    /// Milliseconds (CLS: unitless).
    pub value: f64,
    /// `good`, `needs-improvement` or `poor`.
    pub rating: String,
    /// Page path.
    pub pathname: String,
    /// Device class.
    pub device: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// `navigate`, `reload`, `back-forward`, …
    pub navigation_type: Option<String>,
    /// web-vitals' attribution (scalar fields only).
    pub attribution: serde_json::Value,
}

/// Stores samples.
pub async fn insert(conn: &mut AsyncPgConnection, samples: &[NewVital]) -> QueryResult<usize> {
    diesel::insert_into(web_vitals::table)
        .values(samples)
        .execute(conn)
        .await
}

/// What summaries are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VitalsGroup {
    /// Page path.
    Page,
    /// Device class.
    Device,
    /// Country.
    Country,
    /// Day (in the project's time zone).
    Day,
    /// Everything together: one row.
    All,
}

/// Percentiles and ratings of one metric for one group.
#[derive(Debug, Clone, QueryableByName)]
pub struct VitalsRow {
    /// The group's value (`None`: unknown device or country).
    #[diesel(sql_type = Nullable<Text>)]
    pub key: Option<String>,
    /// Samples.
    #[diesel(sql_type = BigInt)]
    pub samples: i64,
    /// Median.
    #[diesel(sql_type = Double)]
    pub p50: f64,
    /// 75th percentile (what Google's assessment uses).
    #[diesel(sql_type = Double)]
    pub p75: f64,
    /// 95th percentile.
    #[diesel(sql_type = Double)]
    pub p95: f64,
    /// Samples rated good.
    #[diesel(sql_type = BigInt)]
    pub good: i64,
    /// Samples rated needs improvement.
    #[diesel(sql_type = BigInt)]
    pub needs_improvement: i64,
    /// Samples rated poor.
    #[diesel(sql_type = BigInt)]
    pub poor: i64,
}

/// `metric` from `from` to `to` (days in `timezone`), grouped, most samples first (by day:
/// in date order).
#[allow(clippy::too_many_arguments)] // the query's parameters
pub async fn summary(
    conn: &mut AsyncPgConnection,
    project_id: ProjectId,
    timezone: &str,
    metric: &str,
    from: NaiveDate,
    to: NaiveDate,
    group: VitalsGroup,
    limit: i64,
) -> QueryResult<Vec<VitalsRow>> {
    let (key, order) = match group {
        VitalsGroup::Page => ("pathname", "samples DESC, key"),
        VitalsGroup::Device => ("device", "samples DESC, key"),
        VitalsGroup::Country => ("country", "samples DESC, key"),
        VitalsGroup::Day => ("to_char((ts AT TIME ZONE $2)::date, 'YYYY-MM-DD')", "key"),
        VitalsGroup::All => ("NULL::text", "key"),
    };
    let sql = format!(
        "SELECT {key} AS key, count(*) AS samples, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS p50, \
                percentile_cont(0.75) WITHIN GROUP (ORDER BY value) AS p75, \
                percentile_cont(0.95) WITHIN GROUP (ORDER BY value) AS p95, \
                count(*) FILTER (WHERE rating = 'good') AS good, \
                count(*) FILTER (WHERE rating = 'needs-improvement') AS needs_improvement, \
                count(*) FILTER (WHERE rating = 'poor') AS poor \
         FROM web_vitals \
         WHERE project_id = $1 AND metric = $3 \
           AND ts >= ($4::date::timestamp AT TIME ZONE $2) \
           AND ts < (($5::date + 1)::timestamp AT TIME ZONE $2) \
         GROUP BY 1 HAVING count(*) > 0 ORDER BY {order} LIMIT $6"
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Uuid, _>(project_id)
        .bind::<Text, _>(timezone)
        .bind::<Text, _>(metric)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

/// What web-vitals' attribution says about the slow samples of a page: the most frequent values
/// of each text field (the element, the resource, the interaction) and the median of each
/// numeric field (the phases, in ms).
#[derive(Debug, Clone, QueryableByName)]
pub struct AttributionRow {
    /// The attribution field (`target`, `resourceLoadDuration`).
    #[diesel(sql_type = Text)]
    pub field: String,
    /// A text field's value; none for a numeric field.
    #[diesel(sql_type = Nullable<Text>)]
    pub value: Option<String>,
    /// Samples with it.
    #[diesel(sql_type = BigInt)]
    pub samples: i64,
    /// A numeric field's median; none for a text field.
    #[diesel(sql_type = Nullable<Double>)]
    pub median: Option<f64>,
}

/// The attribution of `metric`'s samples on `page` not rated good, from `from` to `to` (days in
/// `timezone`): the top 2 values of each text field, the median of each numeric field.
#[allow(clippy::too_many_arguments)] // the query's parameters
pub async fn slow_attribution(
    conn: &mut AsyncPgConnection,
    project_id: ProjectId,
    timezone: &str,
    metric: &str,
    page: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<AttributionRow>> {
    diesel::sql_query(
        "WITH slow AS (SELECT attribution FROM web_vitals \
                       WHERE project_id = $1 AND metric = $3 AND pathname = $4 AND rating <> 'good' \
                         AND ts >= ($5::date::timestamp AT TIME ZONE $2) \
                         AND ts < (($6::date + 1)::timestamp AT TIME ZONE $2)), \
              fields AS (SELECT f.key, f.value FROM slow, jsonb_each(slow.attribution) AS f), \
              texts AS (SELECT key AS field, value #>> '{}' AS value, count(*) AS samples, \
                               row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, value #>> '{}') AS rank \
                        FROM fields WHERE jsonb_typeof(value) = 'string' GROUP BY key, value #>> '{}') \
         SELECT field, value, samples, NULL::float8 AS median FROM texts WHERE rank <= 2 \
         UNION ALL \
         SELECT key, NULL, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY (value #>> '{}')::float8) \
         FROM fields WHERE jsonb_typeof(value) = 'number' GROUP BY key \
         ORDER BY 1, 3 DESC, 2",
    )
    .bind::<diesel::sql_types::Uuid, _>(project_id)
    .bind::<Text, _>(timezone)
    .bind::<Text, _>(metric)
    .bind::<Text, _>(page)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .load(conn)
    .await
}
