//! Keeps the `events` partitions ahead of time (yesterday to a week ahead), deletes events
//! (and rollups, error events and issues, and web vitals) older than each project's retention, and drops daily partitions older than
//! the longest retention. Sweeps all tenants, so it runs as `beacon_sweeper`.
//! Idempotent.

use diesel::sql_types::{Date, Integer};
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

impl MaintainEventsAllTenants {
    /// Creates missing partitions and applies retention.
    pub async fn run(self, ctx: &JobContext) -> anyhow::Result<()> {
        let mut conn = ctx.sweeper.conn().await?;
        let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
        diesel::sql_query("SELECT beacon_ensure_event_partitions($1, $2)")
            .bind::<Date, _>(yesterday)
            .bind::<Integer, _>(DAYS_AHEAD + 2)
            .execute(&mut conn)
            .await?;
        // Whole daily partitions go once every project's retention has passed them.
        let dropped: Dropped = diesel::sql_query(
            "SELECT coalesce(beacon_drop_event_partitions(\
                (now() AT TIME ZONE 'UTC')::date - (SELECT max(retention_days) FROM projects) - 1), 0) AS n",
        )
        .get_result(&mut conn)
        .await?;
        let deleted = diesel::sql_query(
            "DELETE FROM events e USING projects p \
             WHERE e.project_id = p.project_id AND e.org_id = p.org_id \
             AND e.ts < now() - make_interval(days => p.retention_days)",
        )
        .execute(&mut conn)
        .await?;
        let rollups = diesel::sql_query(
            "DELETE FROM rollups_hourly r USING projects p \
             WHERE r.project_id = p.project_id AND r.org_id = p.org_id \
             AND r.hour < now() - make_interval(days => p.retention_days)",
        )
        .execute(&mut conn)
        .await?;
        // Error events, and issues whose last event is past retention (their events went with
        // them already).
        let error_events = diesel::sql_query(
            "DELETE FROM error_events e USING projects p \
             WHERE e.project_id = p.project_id AND e.org_id = p.org_id \
             AND e.ts < now() - make_interval(days => p.retention_days)",
        )
        .execute(&mut conn)
        .await?;
        let error_issues = diesel::sql_query(
            "DELETE FROM error_issues i USING projects p \
             WHERE i.project_id = p.project_id AND i.org_id = p.org_id \
             AND i.last_seen < now() - make_interval(days => p.retention_days)",
        )
        .execute(&mut conn)
        .await?;
        let vitals = diesel::sql_query(
            "DELETE FROM web_vitals v USING projects p \
             WHERE v.project_id = p.project_id AND v.org_id = p.org_id \
             AND v.ts < now() - make_interval(days => p.retention_days)",
        )
        .execute(&mut conn)
        .await?;
        tracing::info!(
            deleted,
            rollups,
            error_events,
            error_issues,
            vitals,
            dropped_partitions = dropped.n,
            "event partitions and retention maintained"
        );
        Ok(())
    }
}
