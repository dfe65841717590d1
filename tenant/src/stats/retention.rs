//! Weekly retention cohorts: visitors grouped by the week they were first seen in the range,
//! and how many of them came back in each later week.
//!
//! Beacon recognizes a returning visitor only while their salted visitor id stays the same,
//! that is within one salt rotation period (`projects.salt_rotation_hours`, 24 hours by
//! default). Retention across weeks therefore needs a rotation period of weeks, which the
//! project owner chooses knowingly (docs/privacy.md); the API reports the period beside the
//! cohorts so nobody reads a privacy limit as churn.

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Date, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::query::DayRange;

/// One cell of the cohort table.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CohortCell {
    /// Monday of the cohort's first week (project time zone).
    #[diesel(sql_type = Date)]
    pub cohort: NaiveDate,
    /// Weeks after the cohort week (0: the cohort week itself).
    #[diesel(sql_type = Integer)]
    pub week: i32,
    /// Cohort visitors seen in that week.
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

/// The cells of every cohort whose first week starts in `range`, ordered by cohort and week.
/// `range.from` should be a Monday.
pub async fn weekly(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    range: &DayRange<'_>,
) -> diesel::QueryResult<Vec<CohortCell>> {
    diesel::sql_query(
        "WITH seen AS (SELECT visitor_id, date_trunc('week', ts AT TIME ZONE $2)::date AS week \
                       FROM events WHERE project_id = $1 \
                         AND ts >= ($3::date::timestamp AT TIME ZONE $2) \
                         AND ts < (($4::date + 1)::timestamp AT TIME ZONE $2) \
                       GROUP BY 1, 2), \
              first AS (SELECT visitor_id, min(week) AS cohort FROM seen GROUP BY visitor_id) \
         SELECT f.cohort, ((s.week - f.cohort) / 7)::int AS week, count(*) AS visitors \
         FROM seen s JOIN first f USING (visitor_id) \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<Text, _>(range.timezone)
    .bind::<Text, _>(range.from.to_string())
    .bind::<Text, _>(range.to.to_string())
    .load(conn)
    .await
}
