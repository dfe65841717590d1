//! `schedules`: when each piece of per-tenant recurring work (an alert's evaluation, an e-mail
//! report) runs next.
//!
//! Slots are computed by PostgreSQL in the project's time zone (`beacon_next_slot`,
//! `beacon_last_slot`, migration 25), so a weekly 09:00 stays 09:00 local across daylight-saving
//! changes and each local day has exactly one slot. [`claim`] takes a due schedule under its
//! row lock (`FOR UPDATE … SKIP LOCKED`) and moves `next_run_at` past the slot in the caller's
//! transaction: the work done in that transaction happens once per slot across every worker
//! process, or not at all if the transaction fails (and then the slot is still due). After
//! downtime only the latest missed slot runs, not one per missed slot.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::schedules;
use crate::{OrgId, ProjectId};

/// Creates or changes the schedule of an alert: every `minutes`, starting with the next slot
/// after `now`.
pub async fn every_for_alert(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    alert: Uuid,
    minutes: i32,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO schedules (org_id, schedule_id, project_id, alert_id, cadence, every_minutes, next_run_at) \
         VALUES ($1, $2, $3, $4, 'every', $5, beacon_next_slot('every', $5, NULL, NULL, 'UTC', $6)) \
         ON CONFLICT (org_id, alert_id) DO UPDATE SET every_minutes = EXCLUDED.every_minutes, \
           next_run_at = EXCLUDED.next_run_at",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(alert)
    .bind::<Int4, _>(minutes)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// The local time reports go out at, on Mondays (weekly) and the 1st (monthly).
pub const REPORT_LOCAL_TIME: &str = "07:00";

/// Creates the schedule of a report (`weekly`: Mondays, `monthly`: the 1st, at
/// [`REPORT_LOCAL_TIME`] in the project's time zone), starting with the next slot after `now`;
/// an existing one is kept.
pub async fn for_report(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    project: ProjectId,
    report: Uuid,
    cadence: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO schedules (org_id, schedule_id, project_id, report_id, cadence, local_time, weekday, next_run_at) \
         SELECT $1, $2, $3, $4, $5, $6::time, w.weekday, \
                beacon_next_slot($5, NULL, $6::time, w.weekday, p.timezone, $7) \
         FROM projects p, LATERAL (SELECT CASE WHEN $5 = 'weekly' THEN 1 END AS weekday) w \
         WHERE p.org_id = $1 AND p.project_id = $3 \
         ON CONFLICT (org_id, report_id) DO NOTHING",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(project)
    .bind::<SqlUuid, _>(report)
    .bind::<Text, _>(cadence)
    .bind::<Text, _>(REPORT_LOCAL_TIME)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// What a schedule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Alert evaluations.
    Alerts,
    /// E-mail reports.
    Reports,
}

/// A due schedule somewhere, as the sweeper sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Due {
    /// Organization.
    pub org_id: OrgId,
    /// Schedule.
    pub schedule_id: Uuid,
}

/// Schedules of `work` due at `now` in every organization, most overdue first (the sweeper's connection,
/// which may read only these columns).
pub async fn due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
    work: Work,
) -> QueryResult<Vec<Due>> {
    let query = schedules::table.into_boxed();
    let query = match work {
        Work::Alerts => query.filter(schedules::alert_id.is_not_null()),
        Work::Reports => query.filter(schedules::report_id.is_not_null()),
    };
    query
        .filter(schedules::next_run_at.le(now))
        .order(schedules::next_run_at.asc())
        .limit(limit)
        .select((schedules::org_id, schedules::schedule_id))
        .load(conn)
        .await
}

/// A schedule taken for one slot.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    /// Schedule.
    #[diesel(sql_type = SqlUuid)]
    pub schedule_id: Uuid,
    /// The alert it evaluates.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub alert_id: Option<Uuid>,
    /// The report it sends.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub report_id: Option<Uuid>,
    /// The slot being run (the latest at or before `now`).
    #[diesel(sql_type = Timestamptz)]
    pub slot: DateTime<Utc>,
}

/// Takes the schedule if it is due at `now` and no other worker holds it, and moves it to its
/// next slot, in the caller's transaction (which must be in `org`'s scope). `None`: not due
/// (any more), held by another worker, or gone.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    schedule: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Claimed>> {
    diesel::sql_query(
        "WITH taken AS (\
           SELECT s.org_id, s.schedule_id, s.alert_id, s.report_id, s.cadence, s.every_minutes, s.local_time, s.weekday, p.timezone, \
                  beacon_last_slot(s.cadence, s.every_minutes, s.local_time, s.weekday, p.timezone, $3) AS slot \
           FROM schedules s JOIN projects p ON p.org_id = s.org_id AND p.project_id = s.project_id \
           WHERE s.org_id = $1 AND s.schedule_id = $2 AND s.next_run_at <= $3 \
           FOR UPDATE OF s SKIP LOCKED) \
         UPDATE schedules s SET last_slot = t.slot, last_run_at = $3, \
           next_run_at = beacon_next_slot(t.cadence, t.every_minutes, t.local_time, t.weekday, t.timezone, greatest(t.slot, $3)) \
         FROM taken t WHERE s.org_id = t.org_id AND s.schedule_id = t.schedule_id \
         RETURNING s.schedule_id, s.alert_id, s.report_id, t.slot",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<SqlUuid, _>(schedule)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await
    .optional()
}
