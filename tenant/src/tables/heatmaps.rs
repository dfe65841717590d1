//! `heatmap_clicks` and `heatmap_scroll`: a project's heatmaps, added up per page, viewport
//! width class and day (in the project's time zone) as reports arrive ([`record`]), and read back over a range of days:
//! the clicks per element and cell, the most clicked elements, and the share of pageviews that
//! reached each tenth of the page.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Int2, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::replay::heatmap::Report;
use crate::{OrgId, ProjectId};

/// Adds one report received at `now` to the totals of that day in the project's time zone (the
/// days the dashboard's ranges name): each (element, cell)'s clicks and rage clicks, and the
/// pageview with how far it scrolled. One statement per table; rows are taken in key order, so
/// two reports of one page lock them in the same order and cannot deadlock.
pub async fn record(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    now: DateTime<Utc>,
    report: &Report,
) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct LocalDay {
        #[diesel(sql_type = Date)]
        day: NaiveDate,
    }
    let LocalDay { day } = diesel::sql_query(
        "SELECT ($1::timestamptz AT TIME ZONE timezone)::date AS day FROM projects \
         WHERE org_id = $2 AND project_id = $3",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .get_result(conn)
    .await?;
    let device = report.device.as_str();
    if !report.clicks.is_empty() {
        let selectors: Vec<&str> = report.clicks.iter().map(|c| c.selector.as_str()).collect();
        let cells: Vec<i16> = report.clicks.iter().map(|c| c.cell).collect();
        let rage: Vec<i32> = report.clicks.iter().map(|c| i32::from(c.rage)).collect();
        diesel::sql_query(
            "INSERT INTO heatmap_clicks (org_id, project_id, day, page, device, selector, cell, \
                                         clicks, rage_clicks) \
             SELECT $1, $2, $3, $4, $5, selector, cell, count(*), sum(rage) \
             FROM unnest($6::text[], $7::smallint[], $8::integer[]) AS c(selector, cell, rage) \
             GROUP BY selector, cell ORDER BY selector, cell \
             ON CONFLICT (org_id, project_id, page, device, day, selector, cell) DO UPDATE SET \
                 clicks = heatmap_clicks.clicks + excluded.clicks, \
                 rage_clicks = heatmap_clicks.rage_clicks + excluded.rage_clicks",
        )
        .bind::<SqlUuid, _>(org.uuid())
        .bind::<SqlUuid, _>(project.uuid())
        .bind::<Date, _>(day)
        .bind::<Text, _>(&report.page)
        .bind::<Text, _>(device)
        .bind::<Array<Text>, _>(&selectors)
        .bind::<Array<Int2>, _>(&cells)
        .bind::<Array<Integer>, _>(&rage)
        .execute(conn)
        .await?;
    }
    // reached[i] counts the pageviews that saw at least (i + 1) tenths of the page; a follow-up
    // report adds only the bands past the depth it told before, and no pageview.
    let told = report.told.unwrap_or(-1.0);
    let reaches = |depth: f64, tenth: i32| depth + 1e-9 >= f64::from(tenth) / 10.0;
    let reached: Vec<i32> = (1..=10)
        .map(|tenth| i32::from(reaches(report.depth, tenth) && !reaches(told, tenth)))
        .collect();
    let pageviews = i32::from(report.told.is_none());
    diesel::sql_query(
        "INSERT INTO heatmap_scroll (org_id, project_id, day, page, device, pageviews, reached) \
         VALUES ($1, $2, $3, $4, $5, $7, $6) \
         ON CONFLICT (org_id, project_id, page, device, day) DO UPDATE SET \
             pageviews = heatmap_scroll.pageviews + excluded.pageviews, \
             reached = ARRAY(SELECT a + b FROM unnest(heatmap_scroll.reached, excluded.reached) \
                                 WITH ORDINALITY AS r(a, b, i) ORDER BY i)",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Date, _>(day)
    .bind::<Text, _>(&report.page)
    .bind::<Text, _>(device)
    .bind::<Array<Integer>, _>(&reached)
    .bind::<Integer, _>(pageviews)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A page with heatmap data.
#[derive(Debug, Clone, QueryableByName)]
pub struct PageTotals {
    /// Its path.
    #[diesel(sql_type = Text)]
    pub page: String,
    /// Clicks on it.
    #[diesel(sql_type = BigInt)]
    pub clicks: i64,
    /// Pageviews reported.
    #[diesel(sql_type = BigInt)]
    pub pageviews: i64,
}

/// The pages of `project` with heatmap data on `device` (any, when `None`) in `from..=to`,
/// most clicked first, at most `limit`.
pub async fn pages(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    device: Option<&str>,
    (from, to): (NaiveDate, NaiveDate),
    limit: i64,
) -> QueryResult<Vec<PageTotals>> {
    diesel::sql_query(
        "SELECT page, sum(clicks)::bigint AS clicks, sum(pageviews)::bigint AS pageviews FROM ( \
             SELECT page, clicks, 0 AS pageviews FROM heatmap_clicks \
             WHERE org_id = $1 AND project_id = $2 AND day BETWEEN $3 AND $4 \
               AND ($5::text IS NULL OR device = $5) \
             UNION ALL \
             SELECT page, 0, pageviews FROM heatmap_scroll \
             WHERE org_id = $1 AND project_id = $2 AND day BETWEEN $3 AND $4 \
               AND ($5::text IS NULL OR device = $5)) AS both_tables \
         GROUP BY page ORDER BY clicks DESC, pageviews DESC, page LIMIT $6",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Nullable<Text>, _>(device)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Clicks on one (element, cell) over a range.
#[derive(Debug, Clone, QueryableByName)]
pub struct CellClicks {
    /// The element's selector path.
    #[diesel(sql_type = Text)]
    pub selector: String,
    /// The cell (column + 10 × row).
    #[diesel(sql_type = Int2)]
    pub cell: i16,
    /// Clicks.
    #[diesel(sql_type = BigInt)]
    pub clicks: i64,
    /// Rage clicks.
    #[diesel(sql_type = BigInt)]
    pub rage_clicks: i64,
}

/// Every (element, cell) clicked on `page` and `device` in `from..=to`, most clicked first, at
/// most `limit`.
pub async fn cells(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    page: &str,
    device: &str,
    (from, to): (NaiveDate, NaiveDate),
    limit: i64,
) -> QueryResult<Vec<CellClicks>> {
    diesel::sql_query(
        "SELECT selector, cell, sum(clicks)::bigint AS clicks, \
                sum(rage_clicks)::bigint AS rage_clicks \
         FROM heatmap_clicks \
         WHERE org_id = $1 AND project_id = $2 AND page = $3 AND device = $4 \
           AND day BETWEEN $5 AND $6 \
         GROUP BY selector, cell ORDER BY clicks DESC, selector, cell LIMIT $7",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Text, _>(page)
    .bind::<Text, _>(device)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// An element's clicks over a range, with the page's totals (every element's, not only the
/// listed ones).
#[derive(Debug, Clone, QueryableByName)]
pub struct ElementClicks {
    /// Its selector path.
    #[diesel(sql_type = Text)]
    pub selector: String,
    /// Clicks on it.
    #[diesel(sql_type = BigInt)]
    pub clicks: i64,
    /// Rage clicks on it.
    #[diesel(sql_type = BigInt)]
    pub rage_clicks: i64,
    /// Clicks on the page.
    #[diesel(sql_type = BigInt)]
    pub total_clicks: i64,
    /// Rage clicks on the page.
    #[diesel(sql_type = BigInt)]
    pub total_rage_clicks: i64,
}

/// The `limit` most clicked elements of `page` on `device` in `from..=to`, each row with the
/// page's totals.
pub async fn elements(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    page: &str,
    device: &str,
    (from, to): (NaiveDate, NaiveDate),
    limit: i64,
) -> QueryResult<Vec<ElementClicks>> {
    diesel::sql_query(
        "SELECT selector, sum(clicks)::bigint AS clicks, sum(rage_clicks)::bigint AS rage_clicks, \
                (sum(sum(clicks)) OVER ())::bigint AS total_clicks, \
                (sum(sum(rage_clicks)) OVER ())::bigint AS total_rage_clicks \
         FROM heatmap_clicks \
         WHERE org_id = $1 AND project_id = $2 AND page = $3 AND device = $4 \
           AND day BETWEEN $5 AND $6 \
         GROUP BY selector ORDER BY clicks DESC, selector LIMIT $7",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Text, _>(page)
    .bind::<Text, _>(device)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Pageviews of `page` on `device` in `from..=to`, and how many reached each tenth.
#[derive(Debug, Clone, QueryableByName)]
pub struct Scroll {
    /// Pageviews reported.
    #[diesel(sql_type = BigInt)]
    pub pageviews: i64,
    /// `reached[i]`: pageviews that saw at least (i + 1) tenths of the page.
    #[diesel(sql_type = Array<BigInt>)]
    pub reached: Vec<i64>,
}

/// The scroll depth of `page` on `device` in `from..=to`.
pub async fn scroll(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    page: &str,
    device: &str,
    (from, to): (NaiveDate, NaiveDate),
) -> QueryResult<Scroll> {
    diesel::sql_query(
        "WITH days AS (SELECT pageviews, reached FROM heatmap_scroll \
                       WHERE org_id = $1 AND project_id = $2 AND page = $3 AND device = $4 \
                         AND day BETWEEN $5 AND $6) \
         SELECT (SELECT coalesce(sum(pageviews), 0) FROM days)::bigint AS pageviews, \
                ARRAY(SELECT coalesce(sum(band.n), 0)::bigint \
                      FROM generate_series(1, 10) AS tenth(i) \
                      LEFT JOIN (SELECT u.n, u.i FROM days, \
                                 unnest(days.reached) WITH ORDINALITY AS u(n, i)) AS band \
                        ON band.i = tenth.i \
                      GROUP BY tenth.i ORDER BY tenth.i) AS reached",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Text, _>(page)
    .bind::<Text, _>(device)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .get_result(conn)
    .await
}

/// A recording a heatmap is drawn over.
#[derive(Debug, Clone, QueryableByName)]
pub struct Snapshot {
    /// The recording.
    #[diesel(sql_type = SqlUuid)]
    pub replay_id: Uuid,
    /// When it started.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// How long it lasted, in seconds.
    #[diesel(sql_type = BigInt)]
    pub duration_s: i64,
    /// Clicks in it.
    #[diesel(sql_type = Integer)]
    pub clicks: i32,
}

/// How many of a page's newest recordings [`snapshot`] chooses among.
const SNAPSHOT_CANDIDATES: i64 = 50;

/// A recording to draw a heatmap over: of `page` on `device` (as the replay's device class
/// names it), with its full snapshot in chunk 0, that entered on the page. Among the newest
/// [`SNAPSHOT_CANDIDATES`], one a visitor used (clicked in, for 5 seconds or more) is chosen
/// first, then the newest: anyone can upload a recording for a site, and a made-up one that
/// nobody used is the least likely to be chosen. The page says which recording it shows.
/// `None` when there is none.
pub async fn snapshot(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    page: &str,
    replay_device: &str,
) -> QueryResult<Option<Snapshot>> {
    diesel::sql_query(
        "SELECT replay_id, started_at, duration_s, clicks FROM ( \
           SELECT r.replay_id, r.started_at, r.clicks, \
                  extract(epoch FROM r.ended_at - r.started_at)::bigint AS duration_s \
           FROM replay_sessions r \
           WHERE r.org_id = $1 AND r.project_id = $2 AND r.has_snapshot AND r.device = $4 \
             AND r.entry_page = $3 \
             AND EXISTS (SELECT 1 FROM replay_chunks c WHERE c.org_id = r.org_id \
                         AND c.replay_id = r.replay_id AND c.seq = 0) \
           ORDER BY r.started_at DESC LIMIT $5) AS newest \
         ORDER BY (clicks > 0 AND duration_s >= 5) DESC, started_at DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(org.uuid())
    .bind::<SqlUuid, _>(project.uuid())
    .bind::<Text, _>(page)
    .bind::<Text, _>(replay_device)
    .bind::<BigInt, _>(SNAPSHOT_CANDIDATES)
    .get_result(conn)
    .await
    .optional()
}
