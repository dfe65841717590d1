//! Keeps the `events` partitions ahead of time (yesterday to a week ahead), deletes events
//! (and rollups, error events and issues, and web vitals) older than each project's retention, and drops daily partitions older than
//! the longest retention, and removes single sign-on's expired sign-ins in flight and
//! replay-cache entries, all as of the job context's clock. Sweeps all tenants, so it runs as
//! `beacon_sweeper`. Idempotent.

use diesel::sql_types::{Date, Integer, Timestamptz};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use tenant::{diesel, diesel_async};

use super::JobContext;

/// Days of partitions kept ready ahead of today.
pub const DAYS_AHEAD: i32 = 7;

#[derive(diesel::QueryableByName)]
struct Dropped {
    #[diesel(sql_type = Integer)]
    n: i32,
}

/// Payload (no ids: it covers every tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintainEventsAllTenants {}

/// Tables under the projects' retention, with the time (column or expression) that ages their
/// rows. An error issue goes when its last event is past retention (its events have gone
/// already). A week of rollups goes when its last day does: until then it answers the ranges
/// that hold it whole, which would otherwise lose the days of it still retained.
const RETAINED: [(&str, &str); 9] = [
    ("events", "ts"),
    ("rollups_hourly", "hour"),
    ("rollups_daily", "day"),
    ("rollups_weekly", "week + interval '6 days'"),
    ("error_events", "ts"),
    ("error_issues", "last_seen"),
    ("web_vitals", "ts"),
    ("heatmap_clicks", "day"),
    ("heatmap_scroll", "day"),
];

impl MaintainEventsAllTenants {
    /// Creates missing partitions and applies retention.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let mut conn = ctx.sweeper.conn().await?;
        let now = ctx.clock.now();
        let yesterday = (now - chrono::Duration::days(1)).date_naive();
        diesel::sql_query("SELECT beacon_ensure_event_partitions($1, $2)")
            .bind::<Date, _>(yesterday)
            .bind::<Integer, _>(DAYS_AHEAD + 2)
            .execute(&mut conn)
            .await?;
        // Whole daily partitions go once every project's retention has passed them.
        let dropped: Dropped = diesel::sql_query(
            "SELECT coalesce(beacon_drop_event_partitions(\
                ($1::timestamptz AT TIME ZONE 'UTC')::date - (SELECT max(retention_days) FROM projects) - 1), 0) AS n",
        )
        .bind::<Timestamptz, _>(now)
        .get_result(&mut conn)
        .await?;
        // Rows past their project's retention, table by table (names are constants here).
        let mut deleted = Vec::with_capacity(RETAINED.len());
        for (table, time) in RETAINED {
            let rows = diesel::sql_query(format!(
                "DELETE FROM {table} t USING projects p \
                 WHERE t.project_id = p.project_id AND t.org_id = p.org_id \
                 AND t.{time} < $1 - make_interval(days => p.retention_days)"
            ))
            .bind::<Timestamptz, _>(now)
            .execute(&mut conn)
            .await?;
            deleted.push(format!("{table}={rows}"));
        }
        // Single sign-on's short-lived rows (an unfinished SAML sign-in holds an e-mail).
        let (logins, assertions) = tenant::tables::sso::sweep_expired(&mut conn, now).await?;
        deleted.push(format!("sso_logins={logins} saml_assertions={assertions}"));
        tracing::info!(
            deleted = deleted.join(" "),
            dropped_partitions = dropped.n,
            "event partitions and retention maintained"
        );
        Ok(())
    }
}
