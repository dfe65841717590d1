//! What evaluating alerts costs (for docs/benchmarks.md; run by `scripts/bench-alerts`).
//!
//! On a throwaway PostgreSQL cluster (or `DATABASE_URL`): `ORGS` organizations with one
//! project each, an hour of pageviews per project (`EVENTS` each) after four weeks of history
//! (3 pageviews an hour, rolled up as the rollup job does, so anomaly rules fit their model),
//! and `ALERTS` rules spread over them, a mix of the kinds customers write (pageviews above a
//! value over the last 15 minutes and the last hour, visitors falling against the previous
//! hour, error events (50 in the hour), LCP p75 (200 samples in the hour), a pageviews
//! anomaly). Every evaluation is checked to have
//! measured (no rule's `last_error` set: an anomaly rule without enough history would only
//! say so, and be timed doing that). Then every schedule is made due and the worker's own tick
//! (`worker::alerts::evaluate_due`: the sweeper's look-up and a scoped transaction per
//! schedule, 4 at a time) runs until nothing is due: the tick's wall time, and per alert.
//! Last, single evaluations one at a time (`run_schedule` in its own transaction) for the
//! median and p95 of one alert's cost by kind.
//!
//! Usage: `cargo run --release -p worker --example alert_tick [alerts] [orgs] [events]`.

use std::time::Instant;

use chrono::{Duration, Utc};
use tenant::alerts::rule::{AlertInput, AlertSpec};
use tenant::diesel::{ExpressionMethods, QueryDsl};
use tenant::diesel_async::RunQueryDsl;
use tenant::tables::alerts::{self, RuleFields};
use tenant::tables::events::{NewEvent, insert_batch};
use tenant::tables::web_vitals::NewVital;
use tenant::tables::{organizations, projects, schedules};
use tenant::test_support::TestDb;
use tenant::{AppRole, DbError, OrgId, ProjectId};
use uuid::Uuid;

/// The rules written, by kind: (label, metric, window, condition, baseline, warning; an
/// anomaly rule has no warning).
type Kind = (
    &'static str,
    &'static str,
    i32,
    &'static str,
    Option<&'static str>,
    Option<f64>,
);
const KINDS: &[Kind] = &[
    (
        "pageviews > x, 15 min",
        "pageviews",
        15,
        "above",
        None,
        Some(1e9),
    ),
    (
        "pageviews > x, 1 h",
        "pageviews",
        60,
        "above",
        None,
        Some(1e9),
    ),
    (
        "visitors −% vs previous hour",
        "visitors",
        60,
        "decrease_pct",
        Some("previous_period"),
        Some(90.0),
    ),
    (
        "error events > x, 1 h",
        "error_events",
        60,
        "above",
        None,
        Some(1e9),
    ),
    ("LCP p75 > x, 1 h", "lcp_p75", 60, "above", None, Some(1e9)),
    (
        "pageviews anomaly (4 weeks, MSTL + ETS)",
        "pageviews",
        60,
        "anomaly",
        None,
        None,
    ),
];

/// Hours of history before the measured hour (four weeks, what anomaly rules fit).
const HISTORY_HOURS: usize = 28 * 24;

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn event(org: Uuid, project: Uuid, i: usize, at: chrono::DateTime<Utc>) -> NewEvent {
    NewEvent {
        org_id: org,
        project_id: project,
        ts: at,
        event_id: Uuid::now_v7(),
        name: "pageview".into(),
        visitor_id: (i % 400) as i64,
        hostname: "bench.example".into(),
        pathname: ["/", "/pricing", "/blog", "/docs"][i % 4].into(),
        referrer_host: None,
        source: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        utm_content: None,
        utm_term: None,
        browser: Some("Firefox".into()),
        browser_version: None,
        os: Some("Linux".into()),
        os_version: None,
        device: Some("desktop".into()),
        country: Some("DE".into()),
        region: None,
        city: None,
        props: serde_json::json!({}),
        revenue_amount: None,
        revenue_currency: None,
        interactive: true,
    }
}

/// Makes every schedule of `orgs` due now (in each organization's scope: row-level security
/// applies to every role Beacon has); answers how many.
async fn make_due(db: &tenant::Db, orgs: &[OrgId]) -> anyhow::Result<usize> {
    let mut made = 0;
    for org in orgs {
        made += db
            .scoped(*org, async |conn| {
                Ok::<_, DbError>(
                    tenant::diesel::sql_query(
                        "UPDATE schedules SET next_run_at = now() - interval '1 second'",
                    )
                    .execute(conn)
                    .await?,
                )
            })
            .await?;
    }
    Ok(made)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut next = |default: usize| -> anyhow::Result<usize> {
        Ok(args
            .next()
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (alert_count, org_count, events) = (next(10_000)?, next(100)?, next(2_000)?);
    let test = TestDb::new(None).await?;
    let db = &test.db;
    let owner = tenant::Db::connect(&test.owner_url, &Default::default())?;
    let mut orgs = Vec::new();
    let sweeper = tenant::Db::connect_as(&test.owner_url, AppRole::Sweeper, &Default::default())?;
    let ingest = tenant::Db::connect_as(&test.owner_url, AppRole::Ingest, &Default::default())?;
    let now = Utc::now();
    let none = serde_json::json!([]);
    let specs: Vec<AlertSpec> = KINDS
        .iter()
        .map(|(_, metric, window, condition, baseline, warning)| {
            AlertSpec::validate(&AlertInput {
                metric,
                filters: &none,
                window_minutes: *window,
                condition,
                baseline: *baseline,
                sensitivity: None,
                warning: *warning,
                critical: None,
                resolve: None,
                pending_minutes: 0,
                every_minutes: 1,
            })
        })
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let mut per_kind: Vec<Vec<(OrgId, Uuid)>> = vec![Vec::new(); KINDS.len()];
    for o in 0..org_count {
        let org = OrgId::generate();
        orgs.push(org);
        let per_org = alert_count / org_count + usize::from(o < alert_count % org_count);
        let domains = [format!("bench{o}.example")];
        let (project, made) = db
            .scoped(org, async |conn| {
                organizations::create(conn, org, "Bench").await?;
                let project = projects::create(conn, org, "Site", "Europe/Berlin", &domains)
                    .await?
                    .project
                    .project_id;
                // Old enough for anomaly rules to learn (they need 14 days).
                tenant::diesel::sql_query(
                    "UPDATE projects SET created_at = now() - interval '30 days'",
                )
                .execute(conn)
                .await?;
                let pid = ProjectId::from_uuid(project);
                let mut made = Vec::new();
                for a in 0..per_org {
                    let kind = a % KINDS.len();
                    let fields = RuleFields {
                        name: "Rule",
                        spec: &specs[kind],
                        channel_ids: &[],
                        enabled: true,
                    };
                    let alert = alerts::create(conn, org, pid, &fields, None).await?;
                    schedules::every_for_alert(conn, org, pid, alert.alert_id, 1, now).await?;
                    made.push((kind, alert.alert_id));
                }
                Ok::<_, DbError>((project, made))
            })
            .await?;
        for (kind, alert) in made {
            per_kind[kind].push((org, alert));
        }
        let spread = 3_600 / events.max(1) as i64;
        let batch: Vec<NewEvent> = (0..events)
            .map(|i| {
                let at = now - Duration::seconds(i as i64 * spread);
                event(org.uuid(), project, i, at)
            })
            .collect();
        // Four weeks before that hour, 3 pageviews an hour: what anomaly rules learn from.
        let history: Vec<NewEvent> = (0..HISTORY_HOURS * 3)
            .map(|i| {
                let at = now - Duration::hours(1) - Duration::minutes(i as i64 * 20);
                event(org.uuid(), project, events + i, at)
            })
            .collect();
        let mut conn = ingest.conn().await?;
        for chunk in batch.chunks(1_000).chain(history.chunks(1_000)) {
            insert_batch(&mut conn, chunk).await?;
        }
        drop(conn);
        // 200 LCP samples in the hour, for the Web Vitals rules.
        let vitals: Vec<NewVital> = (0..200)
            .map(|i| NewVital {
                org_id: org.uuid(),
                project_id: project,
                vital_id: Uuid::now_v7(),
                ts: now - Duration::seconds(i * 17),
                metric: "LCP".into(),
                value: 1_000.0 + (i * 37 % 2_000) as f64,
                rating: "good".into(),
                pathname: "/".into(),
                device: Some("desktop".into()),
                country: Some("DE".into()),
                navigation_type: Some("navigate".into()),
                attribution: serde_json::json!({}),
            })
            .collect();
        db.scoped(org, async |conn| {
            tenant::tables::web_vitals::insert(conn, &vitals).await?;
            // 50 error events in the hour, in 5 issues, for the error rules.
            for i in 0..50i64 {
                let event = tenant::tables::error_issues::NewErrorEvent {
                    org_id: org.uuid(),
                    project_id: project,
                    event_id: Uuid::now_v7(),
                    fingerprint: format!("{:064x}", i % 5),
                    title: format!("TypeError: bench {}", i % 5),
                    culprit: None,
                    ts: now - Duration::seconds(i * 60),
                    level: "error".into(),
                    platform: Some("javascript".into()),
                    release: None,
                    environment: None,
                    user_hash: None,
                    visitor_id: None,
                    data: serde_json::json!({}),
                };
                tenant::tables::error_issues::record(conn, &event).await?;
            }
            Ok::<_, DbError>(())
        })
        .await?;
        while sweeper
            .unscoped(async |conn| {
                Ok::<_, DbError>(
                    tenant::stats::rollups::advance(conn, org.uuid(), project, now).await?,
                )
            })
            .await?
            .is_some()
        {}
    }
    owner
        .unscoped(async |conn| {
            Ok::<_, DbError>(tenant::diesel::sql_query("ANALYZE").execute(conn).await?)
        })
        .await?;
    eprintln!(
        "set up {alert_count} alerts in {org_count} organizations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The tick: every schedule due, the worker's loop body until nothing is left (self-hosted:
    // every organization has alerts).
    let billing = billing::Billing::disabled();
    let mut ticks = Vec::new();
    for _ in 0..3 {
        let due = make_due(db, &orgs).await?;
        assert_eq!(due, alert_count, "every schedule is due");
        let at = Utc::now();
        let started = Instant::now();
        let mut evaluated = 0;
        loop {
            let round =
                worker::alerts::evaluate_due(db, &sweeper, &billing, at, "http://bench.test")
                    .await?;
            if round.evaluated == 0 {
                break;
            }
            evaluated += round.evaluated;
        }
        let seconds = started.elapsed().as_secs_f64();
        eprintln!("tick: {evaluated} alerts in {seconds:.2} s");
        assert_eq!(evaluated, alert_count, "the tick evaluated every alert");
        ticks.push((seconds, evaluated));
    }
    let median_tick = percentile(ticks.iter().map(|t| t.0).collect(), 0.5);
    println!(
        "tick of {} alerts ({org_count} organizations, {events} events each): median {median_tick:.2} s \
         over 3 ticks = {:.2} ms per alert, 4 at a time",
        ticks[0].1,
        median_tick * 1_000.0 / ticks[0].1.max(1) as f64
    );

    // One alert at a time, by kind (each due, so each is evaluated: checked below).
    make_due(db, &orgs).await?;
    for (kind, alerts) in per_kind.iter().enumerate() {
        let mut times = Vec::new();
        for (org, alert) in alerts.iter().take(200) {
            let schedule: Uuid = db
                .scoped(*org, async |conn| {
                    Ok::<_, DbError>(
                        tenant::schema::schedules::table
                            .filter(tenant::schema::schedules::alert_id.eq(alert))
                            .select(tenant::schema::schedules::schedule_id)
                            .get_result(conn)
                            .await?,
                    )
                })
                .await?;
            let at = Utc::now();
            let started = Instant::now();
            let ran = db
                .scoped(*org, async |conn| {
                    Ok::<_, DbError>(
                        tenant::alerts::evaluate::run_schedule(
                            conn,
                            *org,
                            schedule,
                            at,
                            "http://bench.test",
                        )
                        .await?,
                    )
                })
                .await?;
            times.push(started.elapsed().as_secs_f64() * 1_000.0);
            anyhow::ensure!(ran.is_some(), "the schedule was not due");
            let last_error: Option<String> = db
                .scoped(*org, async |conn| {
                    use tenant::schema::alerts as rules;
                    Ok::<_, DbError>(
                        rules::table
                            .filter(rules::alert_id.eq(alert))
                            .select(rules::last_error)
                            .get_result(conn)
                            .await?,
                    )
                })
                .await?;
            anyhow::ensure!(
                last_error.is_none(),
                "{}: the evaluation measured nothing: {last_error:?}",
                KINDS[kind].0
            );
        }
        println!(
            "one alert, {}: median {:.2} ms, p95 {:.2} ms ({} evaluations)",
            KINDS[kind].0,
            percentile(times.clone(), 0.5),
            percentile(times.clone(), 0.95),
            times.len()
        );
    }
    Ok(())
}
