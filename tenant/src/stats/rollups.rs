//! Hourly rollups: what makes a dashboard's cost grow with its date range, not its traffic.
//!
//! `rollups_hourly` holds, per project, hour and dimension value, the visits that *started* in
//! that hour (visits, bounces, summed duration, their pageviews and events) and a HyperLogLog
//! sketch of their visitor ids. Each dimension the dashboards break down by is a `kind`; kind 0
//! is the total. Rows are built from the same visit derivation the raw queries use
//! ([`super::visits::visits_cte`]), so a rollup row equals the raw answer for its hour, except
//! unique visitors, which are a sketch estimate (HLL with 2^11 registers: standard error
//! 1.04/√2048 ≈ 2.3%, exact while a sketch holds few values).
//!
//! A project's rollups reach `rollup_state.rolled_until`, [`WATERMARK_LAG_MINUTES`] (7) behind
//! the clock: visits that started earlier are in the rollups, later ones are read from raw
//! events (the *tail*, which every rolled-up query derives visits from, so its length sets much
//! of their cost). A visit still going on across the watermark has its start hour rebuilt on
//! each job run until it ends, so its newest events (at most one job period old, a minute) may
//! be missing from the dashboards for that long; everything else is exact. The watermark moves
//! to the minute; the hour it falls in holds the visits up to it and is rebuilt whole on the
//! next step.
//! [`advance`] moves the watermark forward; the Stats API answers the hours before it from
//! rollups and the visits after it from raw events ([`usable_until`]). Queries with filters
//! (but on their own breakdown dimension), property or goal dimensions, or goal metrics read
//! raw events.
//!
//! `rollups_daily` holds each complete UTC day's hourly rows merged, and `rollups_weekly` each
//! complete UTC week's daily rows, so a month's breakdown merges about 10 rows per value rather
//! than 720: the same step that moves the watermark past a midnight merges the day before it,
//! and the week before it on a Monday ([`rows`] picks the layers a query reads).

use chrono::{DateTime, Duration, DurationRound, Utc};
use diesel::sql_types::{Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::params::{Params, Placeholder, Statement};
use super::query::{DIRECT_SOURCE, Dimension, Filter, Metric, StatsQuery};
use super::visits::{VISIT_GAP_MINUTES, VisitScan, visits_cte};

/// The dimensions rollups hold, by kind number (0 is the total, with value '').
const KINDS: [(i16, Dimension); 17] = [
    (1, Dimension::Page),
    (2, Dimension::EntryPage),
    (3, Dimension::ExitPage),
    (4, Dimension::Source),
    (5, Dimension::Referrer),
    (6, Dimension::UtmSource),
    (7, Dimension::UtmMedium),
    (8, Dimension::UtmCampaign),
    (9, Dimension::UtmContent),
    (10, Dimension::UtmTerm),
    (11, Dimension::Country),
    (12, Dimension::Region),
    (13, Dimension::City),
    (14, Dimension::Device),
    (15, Dimension::Browser),
    (16, Dimension::Os),
    (17, Dimension::Name),
];

/// The kind of the pages of pageviews alone (no dimension of its own): what a page goal
/// counts. Kind 1 holds the page of every event, so its sketches also hold visitors whose only
/// event on a page was a custom event, who have not completed the page's goals.
const PAGEVIEW_PAGES: i16 = 18;

/// How far an event's own timestamp may be from the server's clock (either way): part of the
/// watermark's lag ([`WATERMARK_LAG_MINUTES`]).
pub const MAX_EVENT_SKEW_MINUTES: i32 = 5;

/// Extra minutes for events to become visible (at their batch's commit) and for API servers'
/// clocks that differ a little from the worker's.
pub const SETTLE_MARGIN_MINUTES: i32 = 2;

/// How far behind the clock the watermark stays: no event stamped before it can still arrive
/// (an event may be [`MAX_EVENT_SKEW_MINUTES`] old, plus the settle margin), so whether an event
/// starts a visit before the watermark is final. Visits still going on are rolled up as they
/// are and rebuilt while they grow ([`advance`]); waiting for them to end (30 more minutes)
/// would only make the raw tail four times as long.
pub const WATERMARK_LAG_MINUTES: i32 = MAX_EVENT_SKEW_MINUTES + SETTLE_MARGIN_MINUTES;

/// Most hours one build step covers (the first build of a project with history takes several).
const CHUNK_HOURS: i64 = 24;

/// The Stats API name of a rollup kind's dimension (`event:page`); `total` for kind 0.
pub fn kind_name(kind: i16) -> Option<&'static str> {
    if kind == 0 {
        return Some("total");
    }
    if kind == PAGEVIEW_PAGES {
        return Some("event:page of pageviews");
    }
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, dimension)| dimension.name())
}

fn kind_of(dimension: &Dimension) -> Option<i16> {
    KINDS
        .iter()
        .find(|(_, known)| known == dimension)
        .map(|(kind, _)| *kind)
}

/// The value of a rolled-up `dimension` over a rollup row, as the raw path's
/// [`Dimension::column`] gives it for a `visits_ev` row (`''` stores none).
pub(crate) fn value_sql(dimension: &Dimension) -> String {
    if *dimension == Dimension::Source {
        format!("coalesce(nullif(value, ''), '{DIRECT_SOURCE}')")
    } else {
        "nullif(value, '')".to_owned()
    }
}

/// The rollup kind a query reads and its dimension columns over `rollups_hourly` rows
/// (`… AS d0, … AS d1, `), time buckets in the zone bound at `timezone`. Only for queries
/// [`usable_until`] accepted.
pub(crate) fn dimension_columns(dimensions: &[Dimension], timezone: Placeholder) -> (i16, String) {
    let mut kind = 0;
    let mut columns = String::new();
    let local = format!("(hour AT TIME ZONE {timezone})");
    for (i, dimension) in dimensions.iter().enumerate() {
        let sql = match dimension.time_sql(&local) {
            Some(sql) => sql,
            None => {
                kind = kind_of(dimension).unwrap_or(0);
                value_sql(dimension)
            }
        };
        columns.push_str(&format!("{sql} AS d{i}, "));
    }
    (kind, columns)
}

/// The rollup rows of `kind` whose value passes `kept` (the query's filter on its own
/// dimension, `true` without one) that answer `query`'s visits that started in `[lo, hi)` and
/// before the watermark (SQL expressions; the watermarks are read in the statement), as a
/// `FROM` item with the columns of `rollups_hourly` the planner reads (`hour`, `value`, the
/// sketch and the sums).
///
/// The coarsest layers that answer exactly: a query without time buckets reads the whole UTC
/// weeks inside the range from `rollups_weekly` (up to `rollup_state.weekly_until`), the
/// other whole UTC days from `rollups_daily` (up to `daily_until`) and only the hours at
/// either end from `rollups_hourly`. Merging a sketch costs about the same whatever it holds,
/// so a 30-day breakdown merges about 10 rows per value (four weeks, the days and hours at its
/// ends) instead of 720. Time buckets are local hours or days, which UTC days do not divide,
/// so they read hours only.
pub(crate) fn rows(
    query: &StatsQuery,
    project: Placeholder,
    kind: i16,
    kept: &str,
    lo: &str,
    hi: &str,
) -> String {
    let columns = "value, visitors, visits, bounces, duration_sum, pageviews, events";
    // Each bound that depends on the watermarks is one scalar subquery over the state row, so
    // the index scans get a plain parameter as their bound (an expression of several made
    // PostgreSQL scan every hour of the kind and filter).
    let state = |expression: String| {
        format!("(SELECT {expression} FROM rollup_state WHERE project_id = {project})")
    };
    let hours_end = state(format!("least({hi}, rolled_until)"));
    if query.dimensions.iter().any(Dimension::is_time) {
        return format!(
            "(SELECT hour, {columns} FROM rollups_hourly WHERE project_id = {project} AND kind = {kind} \
               AND hour >= {lo} AND hour < {hours_end} AND {kept}) AS hours"
        );
    }
    // The whole UTC days in the range (empty when none: `day_hi` = `day_lo`).
    let day_lo =
        format!("date_trunc('day', {lo} + interval '1 day' - interval '1 microsecond', 'UTC')");
    let day_hi = format!(
        "greatest({day_lo}, date_trunc('day', least({hi}, rolled_until, daily_until), 'UTC'))"
    );
    // The whole UTC weeks among those days (empty when none: `week_hi` = `week_lo`, which may
    // lie after `day_hi`); the days before and after them are read one by one.
    let week_lo = format!(
        "date_trunc('week', {day_lo} + interval '7 days' - interval '1 microsecond', 'UTC')"
    );
    let week_hi =
        format!("greatest({week_lo}, date_trunc('week', least({day_hi}, weekly_until), 'UTC'))");
    let weeks_end = state(week_hi.clone());
    let first_days_end = state(format!("least({week_lo}, {day_hi})"));
    let last_days_start = state(format!("greatest({day_lo}, {week_hi})"));
    let days_end = state(day_hi.clone());
    let first_hours_end = state(format!("least({hi}, rolled_until, {day_lo})"));
    let last_hours_start = state(format!("greatest({lo}, {day_hi})"));
    format!(
        "(SELECT NULL::timestamptz AS hour, {columns} FROM rollups_weekly WHERE project_id = {project} \
            AND kind = {kind} AND week >= {week_lo} AND week < {weeks_end} AND {kept} \
          UNION ALL \
          SELECT NULL::timestamptz, {columns} FROM rollups_daily WHERE project_id = {project} \
            AND kind = {kind} AND day >= {day_lo} AND day < {first_days_end} AND {kept} \
          UNION ALL \
          SELECT NULL::timestamptz, {columns} FROM rollups_daily WHERE project_id = {project} \
            AND kind = {kind} AND day >= {last_days_start} AND day < {days_end} AND {kept} \
          UNION ALL \
          SELECT hour, {columns} FROM rollups_hourly WHERE project_id = {project} AND kind = {kind} \
            AND hour >= {lo} AND hour < {first_hours_end} AND {kept} \
          UNION ALL \
          SELECT hour, {columns} FROM rollups_hourly WHERE project_id = {project} AND kind = {kind} \
            AND hour >= {last_hours_start} AND hour < {hours_end} AND {kept}) AS layers"
    )
}

/// Whether rollups can answer `query` at all: at most one non-time dimension and that one
/// rolled up, filters (if any) only on that same dimension, and only the visit and event
/// counting metrics.
///
/// A filter on the breakdown's own dimension keeps or drops whole groups (each group is one
/// value of it), so it is exact on rollup rows: the planner applies it to their `value`. Any
/// other filter needs raw events.
fn answerable(query: &StatsQuery) -> bool {
    if query.dimensions.contains(&Dimension::Goal) {
        return goals_answerable(query);
    }
    let filter_on_values = matches!(&query.filter, Filter::And(parts) if parts.is_empty())
        || query
            .dimensions
            .iter()
            .find(|d| !d.is_time())
            .is_some_and(|own| query.filter.only_on(own));
    let plain_dimensions = query.dimensions.iter().filter(|d| !d.is_time()).count();
    let rolled_dimension = query
        .dimensions
        .iter()
        .all(|d| d.is_time() || kind_of(d).is_some());
    let counting = query.metrics.iter().all(|m| {
        matches!(
            m,
            Metric::Visitors
                | Metric::Visits
                | Metric::Pageviews
                | Metric::Events
                | Metric::BounceRate
                | Metric::VisitDuration
                | Metric::ViewsPerVisit
        )
    });
    filter_on_values && plain_dimensions <= 1 && rolled_dimension && counting
}

/// Whether rollups answer a breakdown by goal ([`goal_rows`]): no filter, no other plain
/// dimension, and only the metrics that add up over the rows a goal matches: visitors (the
/// union of sketches), pageviews and events (sums), and the conversion rate from those
/// visitors. Visits, bounces and durations would count a visit once for every matching page.
fn goals_answerable(query: &StatsQuery) -> bool {
    let no_filter = matches!(&query.filter, Filter::And(parts) if parts.is_empty());
    let only_goal = query
        .dimensions
        .iter()
        .all(|d| d.is_time() || *d == Dimension::Goal);
    let adding = query.metrics.iter().all(|m| {
        matches!(
            m,
            Metric::Visitors | Metric::Pageviews | Metric::Events | Metric::ConversionRate
        )
    });
    no_filter && only_goal && adding
}

/// The rollup rows that answer a breakdown by goal, as a `FROM` item with the columns of
/// [`rows`] and the goal's name as `value`: an event goal's rows are the event-name rows (kind
/// 17) of its event, a page goal's the rows of pageviews' pages ([`PAGEVIEW_PAGES`]) whose path
/// its pattern matches (the empty value holds the visits' other events). Reads the
/// `project_goals` of the planner's statement.
pub(crate) fn goal_rows(query: &StatsQuery, project: Placeholder, lo: &str, hi: &str) -> String {
    let names = rows(query, project, 17, "true", lo, hi);
    let pages = rows(query, project, PAGEVIEW_PAGES, "value <> ''", lo, hi);
    format!(
        "(SELECT hour, g.goal_name AS value, visitors, visits, bounces, duration_sum, pageviews, events \
            FROM {names} JOIN project_goals g ON g.event_name = value \
          UNION ALL \
          SELECT hour, g.goal_name, visitors, visits, bounces, duration_sum, pageviews, events \
            FROM {pages} JOIN project_goals g ON g.page_regex IS NOT NULL AND value ~ g.page_regex) \
         AS goal_layers"
    )
}

#[derive(QueryableByName)]
struct Watermark {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    rolled_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    covers_range: bool,
    #[diesel(sql_type = Bool)]
    whole_hour_zone: bool,
    #[diesel(sql_type = Bool)]
    last_seen_current: bool,
}

/// The watermark to read rollups up to for `query`, or `None` to read raw events only: when
/// rollups cannot answer it, do not reach into its range, or the project's time zone is not a
/// whole number of hours from UTC somewhere in the range (checked weekly and at both ends;
/// hourly buckets would straddle its days), or `rollup_last_seen` is not for the watermark (in
/// the minute after the migration that added it, until the job's next step).
pub async fn usable_until(
    conn: &mut AsyncPgConnection,
    query: &StatsQuery,
) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    if !answerable(query) || query.instants.is_some() {
        return Ok(None);
    }
    let row: Option<Watermark> = diesel::sql_query(
        "WITH bounds AS (SELECT ($3::date::timestamp AT TIME ZONE $2) AS lo, \
                                ($4::date::timestamp AT TIME ZONE $2) AS hi) \
         SELECT nullif(s.rolled_until, '-infinity') AS rolled_until, \
                s.rolled_until > b.lo AS covers_range, \
                s.last_seen_until IS NOT DISTINCT FROM s.rolled_until AS last_seen_current, \
                (SELECT bool_and(extract(minute FROM (t AT TIME ZONE $2) - (t AT TIME ZONE 'UTC')) = 0) \
                 FROM (SELECT generate_series(lo, hi, interval '7 days') AS t FROM bounds \
                       UNION ALL SELECT hi FROM bounds) points) AS whole_hour_zone \
         FROM rollup_state s, bounds b WHERE s.project_id = $1",
    )
    .bind::<SqlUuid, _>(query.project_id)
    .bind::<Text, _>(&query.timezone)
    .bind::<Text, _>(query.from.to_string())
    .bind::<Text, _>((query.to + chrono::Days::new(1)).to_string())
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|error| match error {
        diesel::result::Error::NotFound => Ok(None),
        other => Err(other),
    })?;
    Ok(row
        .filter(|row| row.covers_range && row.whole_hour_zone && row.last_seen_current)
        .and_then(|row| row.rolled_until))
}

/// Replaces the rollups of `project_id` for visits that started in `[from, to)`: `from` is a
/// whole hour; `to` may fall inside an hour, whose rows then hold the visits up to `to`. The
/// caller holds the project's `rollup_state` row locked.
pub async fn build(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> diesel::QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM rollups_hourly WHERE org_id = $2 AND project_id = $1 AND hour >= $3 AND hour < $4",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(to)
    .execute(conn)
    .await?;
    build_statement(org_id, project_id, from, to)
        .into_query()
        .execute(conn)
        .await
}

/// The statement [`build`] inserts the rollup rows with (pure, for the SQL snapshot tests).
pub fn build_statement(
    org_id: Uuid,
    project_id: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Statement {
    let mut params = Params::default();
    let project = params.bind(project_id);
    let org = params.bind(org_id);
    let from = params.bind(from);
    let to = params.bind(to);
    // Every rolled-up dimension is a plain column (no property keys, no time buckets).
    let values: String = std::iter::once("(0::smallint, ''::text)".to_owned())
        .chain(KINDS.iter().map(|(kind, dimension)| {
            format!("({kind}, {})", dimension.column().unwrap_or("NULL::text"))
        }))
        .chain(std::iter::once(format!(
            "({PAGEVIEW_PAGES}, CASE WHEN name = 'pageview' THEN pathname END)"
        )))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "WITH {visits}, \
         per_visit AS (SELECT visitor_id, visit_no, date_trunc('hour', v_start) AS hour, k.kind, k.value, \
            count(*) FILTER (WHERE name = 'pageview') AS pageviews, count(*) AS events, \
            max(v_duration) AS duration, max(v_interactions) AS interactions \
            FROM visits_ev CROSS JOIN LATERAL (VALUES {values}) AS k(kind, value) \
            GROUP BY visitor_id, visit_no, date_trunc('hour', v_start), k.kind, k.value) \
         INSERT INTO rollups_hourly (org_id, project_id, hour, kind, value, visitors, visits, bounces, \
                                     duration_sum, pageviews, events) \
         SELECT {org}, {project}, hour, kind, coalesce(value, ''), hll_add_agg(hll_hash_bigint(visitor_id)), \
                count(*), count(*) FILTER (WHERE interactions <= 1), coalesce(sum(duration), 0), \
                sum(pageviews), sum(events) \
         FROM per_visit GROUP BY hour, kind, value",
        visits = visits_cte(
            project,
            &format!("{from}::timestamptz"),
            &format!("{to}::timestamptz"),
            &VisitScan {
                exit_page: true,
                ..VisitScan::default()
            },
        ),
    );
    params.finish(sql)
}

#[derive(QueryableByName)]
struct Progress {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    rolled_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    first_event: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest_grown_visit: Option<DateTime<Utc>>,
}

/// Builds the next step of `project_id`'s rollups as of `now` and moves its watermark to
/// [`WATERMARK_LAG_MINUTES`] before `now` (the allowed timestamp skew and a settling margin), to
/// the minute, at most a day per step.
///
/// A visit that began before the watermark may still be going on: its start hour is rolled
/// up with the events it had, and rebuilt on every later step while it has events at or after
/// the watermark (the events it gained). So open visits never hold the watermark back, and
/// their newest events reach the rollups within one job period. Visits end at midnight UTC at
/// the latest, so such visits began on the watermark's UTC day, which is where they are looked
/// for, among the visitors with events since the watermark.
///
/// Returns the span rebuilt, or `None` when the watermark cannot move yet. Runs in the
/// caller's transaction; concurrent callers wait on the project's state row.
pub async fn advance(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    diesel::sql_query(
        "INSERT INTO rollup_state (org_id, project_id, rolled_until) \
         SELECT $2, $1, '-infinity' ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .execute(conn)
    .await?;
    let mut params = Params::default();
    let project = params.bind(project_id);
    let now_param = params.bind(now);
    let watermark = format!("(SELECT coalesce(rolled_until, {now_param}::timestamptz) FROM state)");
    // A visit that began before the watermark and has events after it began on the
    // watermark's UTC day (visits end at midnight), and its visitor has events after it.
    let before_watermark = visits_cte(
        project,
        &format!("date_trunc('day', {watermark}, 'UTC')"),
        &watermark,
        &VisitScan {
            visitors_since: Some(&watermark),
            ..VisitScan::default()
        },
    );
    let progress: Progress = params
        .finish(format!(
            "WITH state AS (SELECT nullif(rolled_until, '-infinity') AS rolled_until FROM rollup_state \
                            WHERE project_id = {project} FOR UPDATE), \
                  {before_watermark} \
             SELECT (SELECT rolled_until FROM state) AS rolled_until, \
                    (SELECT min(ts) FROM events WHERE project_id = {project} \
                       AND ts >= coalesce((SELECT rolled_until FROM state), '-infinity')) AS first_event, \
                    (SELECT min(v_start) FROM visits_ev GROUP BY visitor_id, visit_no \
                       HAVING max(ts) >= (SELECT rolled_until FROM state) \
                       ORDER BY 1 LIMIT 1) AS oldest_grown_visit"
        ))
        .into_query()
        .get_result(conn)
        .await?;
    let hour = |at: DateTime<Utc>| at.duration_trunc(Duration::hours(1)).unwrap_or(at);
    let settled = now - Duration::minutes(i64::from(WATERMARK_LAG_MINUTES));
    // The watermark may fall inside an hour: that hour's rows then hold the visits up to it,
    // and the next step rebuilds the hour from its start.
    let target = settled
        .duration_trunc(Duration::minutes(1))
        .unwrap_or(settled);
    let chunk = Duration::hours(CHUNK_HOURS);
    let (from, to) = match progress.rolled_until {
        Some(rolled) => {
            let from = progress
                .oldest_grown_visit
                .map_or(rolled, |grown| grown.min(rolled));
            (from, target.min(rolled + chunk))
        }
        None => match progress.first_event {
            Some(first) => (hour(first), target.min(hour(first) + chunk)),
            None => return Ok(None),
        },
    };
    if progress.rolled_until.is_some_and(|rolled| to <= rolled) || to <= from {
        return Ok(None);
    }
    build(conn, org_id, project_id, hour(from), to).await?;
    diesel::sql_query(
        "UPDATE rollup_state SET rolled_until = $3, last_seen_until = $3, updated_at = now() \
         WHERE project_id = $1 AND org_id = $2",
    )
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(to)
    .execute(conn)
    .await?;
    remember_last_seen(conn, org_id, project_id, to).await?;
    build_layers(conn, org_id, project_id, hour(from)).await?;
    Ok(Some((from, to)))
}

/// Replaces `project_id`'s `rollup_last_seen` with each visitor's last event in the visit gap
/// before `watermark`: all the rolled-up queries' tail needs to know of the events before the
/// watermark (whether a visitor's first event after it continues a visit), so it reads none of
/// them ([`super::visits::VisitScan::last_seen`]). Runs in the transaction that moves the
/// watermark to `watermark`.
async fn remember_last_seen(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    watermark: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM rollup_last_seen WHERE project_id = $1 AND org_id = $2")
        .bind::<SqlUuid, _>(project_id)
        .bind::<SqlUuid, _>(org_id)
        .execute(conn)
        .await?;
    diesel::sql_query(format!(
        "INSERT INTO rollup_last_seen (org_id, project_id, visitor_id, last_ts) \
         SELECT $2, $1, visitor_id, max(ts) FROM events \
         WHERE project_id = $1 AND ts >= $3 - make_interval(mins => {VISIT_GAP_MINUTES}) AND ts < $3 \
         GROUP BY visitor_id"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(watermark)
    .execute(conn)
    .await?;
    Ok(())
}

/// A layer of rollups merged from a finer one: each of its rows is the union of the finer
/// rows of one UTC period (a day of hours, a week of days).
struct Layer {
    /// Its table and that table's time column.
    table: &'static str,
    column: &'static str,
    /// Its period, as `date_trunc` names it.
    period: &'static str,
    /// The `rollup_state` column before which its periods are complete.
    until: &'static str,
    /// The finer layer's table, time column and `rollup_state` column.
    finer: &'static str,
    finer_column: &'static str,
    finer_until: &'static str,
    /// Most days one step merges (a whole number of periods; the first step after the layer
    /// appeared on a project with history takes several).
    chunk_days: i32,
}

/// Each complete UTC day's hours.
const DAILY: Layer = Layer {
    table: "rollups_daily",
    column: "day",
    period: "day",
    until: "daily_until",
    finer: "rollups_hourly",
    finer_column: "hour",
    finer_until: "rolled_until",
    chunk_days: 62,
};

/// Each complete UTC week's days (Monday to Monday).
const WEEKLY: Layer = Layer {
    table: "rollups_weekly",
    column: "week",
    period: "week",
    until: "weekly_until",
    finer: "rollups_daily",
    finer_column: "day",
    finer_until: "daily_until",
    chunk_days: 52 * 7,
};

/// Merges the days, then the weeks, that are complete up to the watermark into their layers
/// ([`merge_layer`]).
async fn build_layers(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    rebuilt_from: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    merge_layer(conn, org_id, project_id, rebuilt_from, &DAILY).await?;
    merge_layer(conn, org_id, project_id, rebuilt_from, &WEEKLY).await
}

/// Merges the finer rows of each complete period into `layer` and moves its `until`: the
/// periods from `until` (or the finer layer's first row) — and any period whose finer rows were
/// rebuilt from `rebuilt_from` on — up to the last period start before the finer layer's
/// `until`, at most `chunk_days` per call. A period before the watermark never changes again
/// (visits end at midnight UTC, and an event may be at most a few minutes old), so its row is
/// final. The caller holds the project's `rollup_state` row locked.
async fn merge_layer(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    rebuilt_from: DateTime<Utc>,
    layer: &Layer,
) -> diesel::QueryResult<()> {
    let Layer {
        table,
        column,
        period,
        until,
        finer,
        finer_column,
        finer_until,
        chunk_days,
    } = layer;
    // The names are the constants above, never input.
    let span: Option<Span> = diesel::sql_query(format!(
        "WITH bounds AS (\
            SELECT CASE WHEN {until} = '-infinity' \
                     THEN (SELECT date_trunc('{period}', min({finer_column}), 'UTC') FROM {finer} WHERE project_id = $1) \
                     ELSE least({until}, date_trunc('{period}', $2, 'UTC')) END AS lo, \
                   date_trunc('{period}', {finer_until}, 'UTC') AS complete \
            FROM rollup_state WHERE project_id = $1) \
         SELECT lo, least(complete, lo + make_interval(days => $3)) AS hi FROM bounds WHERE lo < complete"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<Timestamptz, _>(rebuilt_from)
    .bind::<diesel::sql_types::Integer, _>(*chunk_days)
    .get_result(conn)
    .await
    .optional()?;
    let Some(span) = span else {
        return Ok(());
    };
    diesel::sql_query(format!(
        "DELETE FROM {table} WHERE org_id = $2 AND project_id = $1 AND {column} >= $3 AND {column} < $4"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(span.lo)
    .bind::<Timestamptz, _>(span.hi)
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO {table} (org_id, project_id, {column}, kind, value, visitors, visits, bounces, \
                              duration_sum, pageviews, events) \
         SELECT $2, $1, date_trunc('{period}', {finer_column}, 'UTC'), kind, value, hll_union_agg(visitors), \
                sum(visits), sum(bounces), sum(duration_sum), sum(pageviews), sum(events) \
         FROM {finer} WHERE org_id = $2 AND project_id = $1 AND {finer_column} >= $3 AND {finer_column} < $4 \
         GROUP BY 3, kind, value"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(span.lo)
    .bind::<Timestamptz, _>(span.hi)
    .execute(conn)
    .await?;
    diesel::sql_query(format!(
        "UPDATE rollup_state SET {until} = greatest({until}, $3) WHERE project_id = $1 AND org_id = $2"
    ))
    .bind::<SqlUuid, _>(project_id)
    .bind::<SqlUuid, _>(org_id)
    .bind::<Timestamptz, _>(span.hi)
    .execute(conn)
    .await?;
    Ok(())
}

/// The periods [`merge_layer`] merges: their first start and the start after the last.
#[derive(QueryableByName)]
struct Span {
    #[diesel(sql_type = Timestamptz)]
    lo: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    hi: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_the_name_its_dimension_parses_from() {
        assert_eq!(kind_name(0), Some("total"));
        for (kind, dimension) in &KINDS {
            let name = kind_name(*kind).unwrap();
            assert_eq!(Dimension::parse(name).as_ref(), Some(dimension), "{name}");
        }
        assert_eq!(kind_name(99), None);
    }
}
