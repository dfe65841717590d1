//! What the rollup step keeps beside the watermark, so that the end of a rolled-up query, next
//! to the watermark, reads little.
//!
//! - `rollup_last_seen`: each visitor's last event in the 30 minutes before the watermark. The
//!   raw tail needs nothing else of the events before the watermark (whether a visitor's first
//!   event after it continues a visit), so it reads only the events after it
//!   ([`super::visits::VisitScan::last_seen`]).
//! - `rollups_open_day`: the hourly rows of the watermark's UTC day up to the watermark, merged
//!   per kind and value. A range that holds that whole day so far (every range ending today)
//!   reads one row per value for it instead of up to 24 ([`super::rollups::rows`]); merging a
//!   sketch costs about the same whatever it holds, so the hours at a range's end were most of
//!   a month's breakdown.
//!
//! Both are for one watermark, `rollup_state.tail_state_until`, written in the transaction that
//! moves it: queries use rollups only while it is the current watermark
//! ([`super::rollups::usable_until`]).

use chrono::{DateTime, Utc};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::visits::VISIT_GAP_MINUTES;

/// Replaces `project_id`'s last-seen visitors and open-day rows with those for `watermark`, and
/// records that they are. The caller moves the watermark to `watermark` in the same transaction
/// and holds the project's `rollup_state` row locked.
pub(super) async fn remember(
    conn: &mut AsyncPgConnection,
    org_id: Uuid,
    project_id: Uuid,
    watermark: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let clear = |table: &str| {
        diesel::sql_query(format!(
            "DELETE FROM {table} WHERE org_id = $2 AND project_id = $1"
        ))
        .bind::<SqlUuid, _>(project_id)
        .bind::<SqlUuid, _>(org_id)
    };
    let fill = |sql: String| {
        diesel::sql_query(sql)
            .bind::<SqlUuid, _>(project_id)
            .bind::<SqlUuid, _>(org_id)
            .bind::<Timestamptz, _>(watermark)
    };
    clear("rollup_last_seen").execute(conn).await?;
    fill(format!(
        "INSERT INTO rollup_last_seen (org_id, project_id, visitor_id, last_ts) \
         SELECT $2, $1, visitor_id, max(ts) FROM events \
         WHERE project_id = $1 AND ts >= $3 - make_interval(mins => {VISIT_GAP_MINUTES}) AND ts < $3 \
         GROUP BY visitor_id"
    ))
    .execute(conn)
    .await?;
    clear("rollups_open_day").execute(conn).await?;
    // The hour holding the watermark holds the visits up to it (see `rollups::advance`).
    fill(
        "INSERT INTO rollups_open_day (org_id, project_id, kind, value, visitors, visits, bounces, \
                                       duration_sum, pageviews, events) \
         SELECT $2, $1, kind, value, hll_union_agg(visitors), sum(visits), sum(bounces), \
                sum(duration_sum), sum(pageviews), sum(events) \
         FROM rollups_hourly WHERE org_id = $2 AND project_id = $1 \
           AND hour >= date_trunc('day', $3, 'UTC') AND hour < $3 \
         GROUP BY kind, value"
            .to_owned(),
    )
    .execute(conn)
    .await?;
    fill(
        "UPDATE rollup_state SET tail_state_until = $3 WHERE org_id = $2 AND project_id = $1"
            .to_owned(),
    )
    .execute(conn)
    .await?;
    Ok(())
}
