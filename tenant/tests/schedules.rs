//! Schedules across daylight-saving changes and downtime: a daily slot in a Berlin project
//! runs exactly once per local day through both of 2026's transitions, at its local time (the
//! one that exists twice runs once, the one that does not exist runs an hour later); a
//! schedule that missed a month of slots runs once, for the latest; a claimed slot is not
//! claimed again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use diesel_async::RunQueryDsl;
use tenant::alerts::rule::{AlertInput, AlertSpec};
use tenant::tables::alerts::{self, RuleFields};
use tenant::tables::{organizations, projects, schedules};
use tenant::test_support::TestDb;
use tenant::{DbError, OrgId, ProjectId};
use uuid::Uuid;

/// An organization with a project in `timezone` and one alert; answers its schedule's id.
async fn scheduled(db: &TestDb, org: OrgId, timezone: &str) -> Uuid {
    let filters = serde_json::json!([]);
    let spec = AlertSpec::validate(&AlertInput {
        metric: "visitors",
        filters: &filters,
        window_minutes: 60,
        condition: "below",
        baseline: None,
        sensitivity: None,
        warning: Some(1.0),
        critical: None,
        resolve: None,
        pending_minutes: 0,
        every_minutes: 5,
    })
    .unwrap();
    db.db
        .scoped(org, async |conn| {
            organizations::create(conn, org, "Berlin").await?;
            let project =
                projects::create(conn, org, "Site", timezone, &["berlin.example".to_owned()])
                    .await?;
            let project = ProjectId::from_uuid(project.project.project_id);
            let fields = RuleFields {
                name: "Rule",
                spec: &spec,
                channel_ids: &[],
                enabled: true,
            };
            let alert = alerts::create(conn, org, project, &fields, None).await?;
            schedules::every_for_alert(conn, org, project, alert.alert_id, 5, Utc::now()).await?;
            let id: Vec<Uuid> = diesel::QueryDsl::select(
                tenant::schema::schedules::table,
                tenant::schema::schedules::schedule_id,
            )
            .load(conn)
            .await?;
            Ok::<_, DbError>(id[0])
        })
        .await
        .unwrap()
}

async fn set(db: &TestDb, org: OrgId, sql: &str) {
    let sql = sql.to_owned();
    db.db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(diesel::sql_query(&sql).execute(conn).await?)
        })
        .await
        .unwrap();
}

async fn claim(
    db: &TestDb,
    org: OrgId,
    schedule: Uuid,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    db.db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(schedules::claim(conn, org, schedule, now).await?)
        })
        .await
        .unwrap()
        .map(|claimed| claimed.slot)
}

/// Ticks every 10 minutes from `from` for `days`, claiming; answers the slots run, by local
/// (Berlin) date.
async fn run_days(
    db: &TestDb,
    org: OrgId,
    schedule: Uuid,
    from: DateTime<Utc>,
    days: i64,
) -> BTreeMap<NaiveDate, Vec<DateTime<Utc>>> {
    let berlin = |at: DateTime<Utc>| {
        // Europe/Berlin: UTC+2 from the last Sunday of March 01:00 UTC to the last Sunday of
        // October 01:00 UTC, UTC+1 otherwise (2026: March 29 and October 25).
        let summer = at >= Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
            && at < Utc.with_ymd_and_hms(2026, 10, 25, 1, 0, 0).unwrap();
        at + Duration::hours(if summer { 2 } else { 1 })
    };
    let mut runs: BTreeMap<NaiveDate, Vec<DateTime<Utc>>> = BTreeMap::new();
    let mut now = from;
    while now < from + Duration::days(days) {
        if let Some(slot) = claim(db, org, schedule, now).await {
            runs.entry(berlin(slot).date_naive())
                .or_default()
                .push(berlin(slot));
        }
        now += Duration::minutes(10);
    }
    runs
}

#[tokio::test]
async fn a_daily_slot_runs_once_per_local_day_across_both_transitions() {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    let schedule = scheduled(&db, org, "Europe/Berlin").await;
    set(
        &db,
        org,
        "UPDATE schedules SET cadence = 'daily', every_minutes = NULL, local_time = '02:30', \
         next_run_at = beacon_next_slot('daily', NULL, '02:30', NULL, 'Europe/Berlin', '2026-03-26 12:00Z')",
    )
    .await;
    let spring = run_days(
        &db,
        org,
        schedule,
        Utc.with_ymd_and_hms(2026, 3, 26, 12, 0, 0).unwrap(),
        5,
    )
    .await;
    assert_eq!(spring.len(), 5, "{spring:?}");
    for (day, slots) in &spring {
        assert_eq!(slots.len(), 1, "{day}: {slots:?}");
        // 02:30 does not exist on March 29: it runs at 03:30 local.
        let expected = if day.to_string() == "2026-03-29" {
            3
        } else {
            2
        };
        assert_eq!(
            (slots[0].hour(), slots[0].minute()),
            (expected, 30),
            "{day}"
        );
    }
    set(
        &db,
        org,
        "UPDATE schedules SET next_run_at = beacon_next_slot('daily', NULL, '02:30', NULL, 'Europe/Berlin', '2026-10-22 12:00Z')",
    )
    .await;
    let autumn = run_days(
        &db,
        org,
        schedule,
        Utc.with_ymd_and_hms(2026, 10, 22, 12, 0, 0).unwrap(),
        5,
    )
    .await;
    assert_eq!(autumn.len(), 5, "{autumn:?}");
    for (day, slots) in &autumn {
        // 02:30 exists twice on October 25: it runs once.
        assert_eq!(slots.len(), 1, "{day}: {slots:?}");
        assert_eq!((slots[0].hour(), slots[0].minute()), (2, 30), "{day}");
    }
}

#[tokio::test]
async fn after_downtime_only_the_latest_slot_runs_and_a_slot_runs_once() {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    let schedule = scheduled(&db, org, "UTC").await;
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 3, 10).unwrap();
    // Not due before its time (control for what follows).
    set(
        &db,
        org,
        "UPDATE schedules SET next_run_at = '2026-11-26 12:05Z'",
    )
    .await;
    assert_eq!(claim(&db, org, schedule, now).await, None);
    // A month of missed five-minute slots: one run, for the latest.
    set(
        &db,
        org,
        "UPDATE schedules SET next_run_at = '2026-10-26 12:00Z'",
    )
    .await;
    let slot = claim(&db, org, schedule, now).await;
    assert_eq!(
        slot,
        Some(Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap())
    );
    assert_eq!(claim(&db, org, schedule, now).await, None, "claimed twice");
    assert_eq!(
        claim(&db, org, schedule, now + Duration::minutes(2)).await,
        Some(Utc.with_ymd_and_hms(2026, 11, 26, 12, 5, 0).unwrap())
    );
}
