//! Realtime: who is on the site in the last minutes, and the current date in a time zone.

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Today {
    #[diesel(sql_type = diesel::sql_types::Date)]
    today: NaiveDate,
}

/// Today's date in `timezone`, by PostgreSQL's time zone data (the same the queries use).
pub async fn today(conn: &mut AsyncPgConnection, timezone: &str) -> diesel::QueryResult<NaiveDate> {
    let row: Today = diesel::sql_query("SELECT (now() AT TIME ZONE $1)::date AS today")
        .bind::<Text, _>(timezone)
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

/// Distinct visitors in the last five minutes, and the pages they are on (each visitor counted
/// on the page of their latest event), most visited first.
pub async fn realtime(
    conn: &mut AsyncPgConnection,
    project_id: Uuid,
    pages: i64,
) -> diesel::QueryResult<(i64, Vec<CurrentPage>)> {
    let visitors: Count = diesel::sql_query(
        "SELECT count(DISTINCT visitor_id) AS n FROM events \
         WHERE project_id = $1 AND ts > now() - make_interval(mins => $2)",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .get_result(conn)
    .await?;
    let current: Vec<CurrentPage> = diesel::sql_query(
        "SELECT pathname AS page, count(*) AS visitors FROM (\
             SELECT DISTINCT ON (visitor_id) visitor_id, pathname FROM events \
             WHERE project_id = $1 AND ts > now() - make_interval(mins => $2) \
             ORDER BY visitor_id, ts DESC) latest \
         GROUP BY pathname ORDER BY visitors DESC, page LIMIT $3",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<diesel::sql_types::Integer, _>(REALTIME_MINUTES)
    .bind::<BigInt, _>(pages)
    .load(conn)
    .await?;
    Ok((visitors.n, current))
}
