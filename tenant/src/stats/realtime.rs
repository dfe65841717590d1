//! Realtime: who is on the site in the last minutes, and the current date in a time zone.
//!
//! Both take `now` from the caller's [`crate::Clock`] (bound as a parameter, not the database's
//! `now()`), so a test decides what "now" is.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Today {
    #[diesel(sql_type = diesel::sql_types::Date)]
    today: NaiveDate,
}

/// The date of `now` in `timezone`, by PostgreSQL's time zone data (the same the queries use).
pub async fn today(
    conn: &mut AsyncPgConnection,
    timezone: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<NaiveDate> {
    let row: Today = diesel::sql_query("SELECT ($2::timestamptz AT TIME ZONE $1)::date AS today")
        .bind::<Text, _>(timezone)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await?;
    Ok(row.today)
}

/// Visitors on a page in the last minutes.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CurrentPage {
    /// Path.
    #[diesel(sql_type = Text)]
    pub page: String,
    /// Distinct visitors whose latest event was on it.
    #[diesel(sql_type = BigInt)]
    pub visitors: i64,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Window that counts as "now".
pub const REALTIME_MINUTES: i32 = 5;

/// Distinct visitors in the five minutes before `now`, and the pages they are on (each visitor
/// counted on the page of their latest event), most visited first.
pub async fn realtime(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    pages: i64,
    now: DateTime<Utc>,
) -> diesel::QueryResult<(i64, Vec<CurrentPage>)> {
    let visitors: Count = diesel::sql_query(
        "SELECT count(DISTINCT visitor_id) AS n FROM events \
         WHERE project_id = $1 AND ts > $3 - make_interval(mins => $2)",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    let current: Vec<CurrentPage> = diesel::sql_query(
        "SELECT pathname AS page, count(*) AS visitors FROM (\
             SELECT DISTINCT ON (visitor_id) visitor_id, pathname FROM events \
             WHERE project_id = $1 AND ts > $4 - make_interval(mins => $2) \
             ORDER BY visitor_id, ts DESC) latest \
         GROUP BY pathname ORDER BY visitors DESC, page LIMIT $3",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .bind::<BigInt, _>(pages)
    .bind::<Timestamptz, _>(now)
    .load(conn)
    .await?;
    Ok((visitors.n, current))
}
