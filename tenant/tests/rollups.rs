//! Rollups against exact answers: two weeks of generated visits (crossing hours, midnight,
//! and 30-minute gaps) are rolled up, and every query the dashboards make is answered both
//! from rollups plus the raw tail (every layer: hours, days, a whole week) and from raw events
//! alone. Counts must be equal; unique
//! visitors within three standard errors of the sketch (3 × 1.04/√2048 ≈ 6.9%), and goals'
//! conversion rates (a ratio of two estimates) within 10%.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use tenant::stats::{Dimension, Filter, Metric, Operator, StatsQuery, StatsRow};
use tenant::tables::events::{NewEvent, insert_batch};
use tenant::tables::goals::{self, Matcher};
use tenant::tables::{organizations, projects};
use tenant::test_support::TestDb;
use tenant::{AppRole, DbError, OrgId};
use uuid::Uuid;

/// A small deterministic generator (64-bit LCG), so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// A Tuesday: the data's first week is not whole, its second is.
const DAY0: (i32, u32, u32) = (2026, 3, 10);

/// How many days the visits start in (and the queries cover).
const DAYS: i64 = 14;

fn day0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(DAY0.0, DAY0.1, DAY0.2, 0, 0, 0)
        .unwrap()
}

fn generate(org: Uuid, project: Uuid) -> Vec<NewEvent> {
    let mut rng = Lcg(7);
    let pages = [
        "/", "/pricing", "/blog", "/blog/a", "/docs", "/signup", "/about",
    ];
    let sources = [None, Some("Google"), Some("Hacker News"), Some("Twitter")];
    let countries = ["DE", "US", "FR"];
    let devices = ["desktop", "mobile", "tablet"];
    let mut events = Vec::new();
    for visitor in 0..1_500_i64 {
        // Visits start anywhere in two weeks, often close to an hour or midnight.
        let mut at = day0() + Duration::seconds(rng.next(DAYS as u64 * 86_400) as i64);
        if rng.next(4) == 0 {
            let next_hour = at + Duration::hours(1);
            at = next_hour
                - Duration::seconds(next_hour.timestamp() % 3600)
                - Duration::minutes(rng.next(3) as i64);
        }
        let country = countries[rng.next(3) as usize];
        let device = devices[rng.next(3) as usize];
        for _visit in 0..(1 + rng.next(3)) {
            let source = sources[rng.next(4) as usize];
            for event in 0..(1 + rng.next(6)) {
                let name = if rng.next(7) == 0 {
                    "Signup"
                } else {
                    "pageview"
                };
                events.push(NewEvent {
                    org_id: org,
                    project_id: project,
                    ts: at,
                    event_id: Uuid::now_v7(),
                    name: name.into(),
                    visitor_id: visitor,
                    hostname: "roll.example".into(),
                    pathname: pages[rng.next(pages.len() as u64) as usize].into(),
                    referrer_host: None,
                    source: if event == 0 {
                        source.map(str::to_owned)
                    } else {
                        None
                    },
                    utm_source: None,
                    utm_medium: None,
                    utm_campaign: None,
                    utm_content: None,
                    utm_term: None,
                    browser: Some("Firefox".into()),
                    browser_version: None,
                    os: Some("Linux".into()),
                    os_version: None,
                    device: Some(device.into()),
                    country: Some(country.into()),
                    region: None,
                    city: None,
                    props: serde_json::json!({}),
                    revenue_amount: None,
                    revenue_currency: None,
                    interactive: rng.next(5) != 0,
                });
                at += Duration::seconds(20 + rng.next(25 * 60) as i64);
            }
            // The next visit after a pause of more than 30 minutes.
            at += Duration::minutes(31 + rng.next(300) as i64);
        }
    }
    events
}

fn query(project: Uuid, timezone: &str, dimensions: Vec<Dimension>) -> StatsQuery {
    let first = NaiveDate::from_ymd_opt(DAY0.0, DAY0.1, DAY0.2).unwrap();
    StatsQuery {
        project_id: project,
        timezone: timezone.into(),
        from: first,
        to: first + chrono::Days::new(DAYS as u64 - 1),
        instants: None,
        dimensions,
        filter: Filter::And(vec![]),
        metrics: vec![
            Metric::Visitors,
            Metric::Visits,
            Metric::Pageviews,
            Metric::Events,
            Metric::BounceRate,
            Metric::VisitDuration,
            Metric::ViewsPerVisit,
        ],
        order_by: vec![],
        limit: 10_000,
        offset: 0,
    }
}

fn filtered(mut query: StatsQuery, filter: Filter) -> StatsQuery {
    query.filter = filter;
    query
}

fn by_dimensions(rows: Vec<StatsRow>) -> BTreeMap<Vec<Option<String>>, StatsRow> {
    rows.into_iter()
        .map(|r| (r.dimensions.clone(), r))
        .collect()
}

/// Both answers by group, checked to hold the same groups.
type Groups = BTreeMap<Vec<Option<String>>, StatsRow>;

fn same_groups(label: &str, rolled: Vec<StatsRow>, raw: Vec<StatsRow>) -> (Groups, Groups) {
    let (rolled, raw) = (by_dimensions(rolled), by_dimensions(raw));
    assert_eq!(
        rolled.keys().collect::<Vec<_>>(),
        raw.keys().collect::<Vec<_>>(),
        "{label}: groups differ"
    );
    (rolled, raw)
}

/// The relative error of a group's estimated unique visitors, checked to be within three
/// standard errors of the sketch.
fn visitor_error(label: &str, key: &[Option<String>], got: &StatsRow, exact: &StatsRow) -> f64 {
    let error = (got.visitors - exact.visitors).abs() as f64 / exact.visitors.max(1) as f64;
    assert!(
        error <= 0.069,
        "{label} {key:?}: {} visitors estimated, {} exact",
        got.visitors,
        exact.visitors
    );
    error
}

/// Compares rollup and raw answers; returns the largest relative visitor error seen.
fn compare(label: &str, rolled: Vec<StatsRow>, raw: Vec<StatsRow>) -> f64 {
    let (rolled, raw) = same_groups(label, rolled, raw);
    let mut worst: f64 = 0.0;
    for (key, exact) in &raw {
        let got = &rolled[key];
        let counts = |r: &StatsRow| {
            (
                r.visits,
                r.pageviews,
                r.events,
                r.bounce_rate,
                r.visit_duration,
                r.views_per_visit,
            )
        };
        assert_eq!(counts(got), counts(exact), "{label} {key:?}");
        // An estimate never above the exact visits (a group has no more visitors than visits).
        assert!(got.visitors <= got.visits, "{label} {key:?}: {got:?}");
        let error = visitor_error(label, key, got, exact);
        worst = worst.max(error);
    }
    worst
}

/// Compares rollup and raw answers by goal: events and pageviews equal, unique visitors as in
/// [`compare`], and the conversion rate, a ratio of two estimates, within 10% of the exact one
/// (three standard errors of the ratio); returns the largest relative visitor error seen.
fn compare_goals(label: &str, rolled: Vec<StatsRow>, raw: Vec<StatsRow>) -> f64 {
    let (rolled, raw) = same_groups(label, rolled, raw);
    assert!(!raw.is_empty(), "{label}: no goal completed");
    let mut worst: f64 = 0.0;
    for (key, exact) in &raw {
        let got = &rolled[key];
        assert_eq!(
            (got.events, got.pageviews),
            (exact.events, exact.pageviews),
            "{label} {key:?}"
        );
        let error = visitor_error(label, key, got, exact);
        let rate_error =
            (got.conversion_rate - exact.conversion_rate).abs() / exact.conversion_rate.max(0.01);
        assert!(
            exact.conversion_rate > 0.0 && rate_error <= 0.10,
            "{label} {key:?}: conversion rate {} estimated, {} exact",
            got.conversion_rate,
            exact.conversion_rate
        );
        worst = worst.max(error);
    }
    worst
}

#[tokio::test]
async fn rollups_answer_like_raw_events() {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    let org_id = org.uuid();
    let project_id = db
        .db
        .scoped(org, async |conn| {
            organizations::create(conn, tenant::OrgId::from_uuid(org_id), "Rollups").await?;
            let project = projects::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                "Site",
                "UTC",
                &["roll.example".to_owned()],
            )
            .await?;
            let project_id = project.project.project_id;
            // An event goal, a page goal matching two pages, and one matching a single page.
            for (name, matcher) in [
                ("Signed up", Matcher::Event("Signup".into())),
                ("Read the blog", Matcher::Page("/blog**".into())),
                ("Saw pricing", Matcher::Page("/pricing".into())),
            ] {
                goals::create(
                    conn,
                    tenant::OrgId::from_uuid(org_id),
                    tenant::ProjectId::from_uuid(project_id),
                    name,
                    &matcher,
                    None,
                )
                .await?;
            }
            Ok::<_, DbError>(project_id)
        })
        .await
        .unwrap();
    let mut events = generate(org_id, project_id);
    // A visit that begins before the first watermark (36 h in, less the watermark's lag) and
    // goes on after it: it gains one more pageview once rolled up.
    let watermark = day0() + Duration::hours(36)
        - Duration::minutes(tenant::stats::rollups::WATERMARK_LAG_MINUTES.into());
    let template = events[0].clone();
    let long_visit = |at: DateTime<Utc>| {
        let mut event = template.clone();
        event.visitor_id = 999_999;
        event.ts = at;
        event.event_id = Uuid::now_v7();
        event.name = "pageview".into();
        event
    };
    events.push(long_visit(watermark - Duration::minutes(20)));
    events.push(long_visit(watermark - Duration::minutes(10)));
    let ingest =
        tenant::Db::connect_as(&db.owner_url, AppRole::Ingest, &Default::default()).unwrap();
    let mut conn = ingest.conn().await.unwrap();
    for chunk in events.chunks(2_000) {
        insert_batch(&mut conn, chunk).await.unwrap();
    }
    drop(conn);
    let sweeper =
        tenant::Db::connect_as(&db.owner_url, AppRole::Sweeper, &Default::default()).unwrap();
    let advance_to = async |now: DateTime<Utc>| {
        let mut steps = 0;
        while let Some((from, to)) = sweeper
            .unscoped(async |conn| {
                Ok::<_, DbError>(
                    tenant::stats::rollups::advance(conn, org_id, project_id, now).await?,
                )
            })
            .await
            .unwrap()
        {
            assert!(from < to && to <= now);
            steps += 1;
        }
        steps
    };

    let queries = |timezone: &str| {
        vec![
            ("overview", query(project_id, timezone, vec![])),
            ("by day", query(project_id, timezone, vec![Dimension::Day])),
            (
                "by hour",
                query(project_id, timezone, vec![Dimension::Hour]),
            ),
            ("pages", query(project_id, timezone, vec![Dimension::Page])),
            (
                "entry pages",
                query(project_id, timezone, vec![Dimension::EntryPage]),
            ),
            (
                "exit pages",
                query(project_id, timezone, vec![Dimension::ExitPage]),
            ),
            (
                "sources",
                query(project_id, timezone, vec![Dimension::Source]),
            ),
            (
                "countries",
                query(project_id, timezone, vec![Dimension::Country]),
            ),
            (
                "custom events",
                filtered(
                    query(project_id, timezone, vec![Dimension::Name]),
                    Filter::And(vec![Filter::Compare(
                        Operator::IsNot,
                        Dimension::Name,
                        vec!["pageview".into()],
                    )]),
                ),
            ),
            (
                "pages filtered by page",
                filtered(
                    query(project_id, timezone, vec![Dimension::Page]),
                    Filter::Or(vec![
                        Filter::Compare(
                            Operator::Is,
                            Dimension::Page,
                            vec!["/".into(), "/pricing".into()],
                        ),
                        Filter::Not(Box::new(Filter::Compare(
                            Operator::ContainsNot,
                            Dimension::Page,
                            vec!["blog".into()],
                        ))),
                    ]),
                ),
            ),
            (
                "sources but direct",
                filtered(
                    query(project_id, timezone, vec![Dimension::Source]),
                    Filter::Compare(
                        Operator::IsNot,
                        Dimension::Source,
                        vec!["Direct / None".into()],
                    ),
                ),
            ),
            (
                "devices by day",
                query(
                    project_id,
                    timezone,
                    vec![Dimension::Device, Dimension::Day],
                ),
            ),
        ]
    };
    let goal_queries = |timezone: &str| {
        let mut by_goal = query(project_id, timezone, vec![Dimension::Goal]);
        by_goal.metrics = vec![
            Metric::Visitors,
            Metric::Events,
            Metric::Pageviews,
            Metric::ConversionRate,
        ];
        let mut by_goal_and_day = by_goal.clone();
        by_goal_and_day.dimensions = vec![Dimension::Goal, Dimension::Day];
        vec![("goals", by_goal), ("goals by day", by_goal_and_day)]
    };
    let check = async |stage: &str| {
        let mut worst: f64 = 0.0;
        for timezone in ["UTC", "Europe/Berlin"] {
            let all = queries(timezone)
                .into_iter()
                .map(|(label, q)| (label, q, compare as fn(&str, _, _) -> f64))
                .chain(
                    goal_queries(timezone)
                        .into_iter()
                        .map(|(label, q)| (label, q, compare_goals as fn(&str, _, _) -> f64)),
                );
            for (label, q, compare) in all {
                let (used, rolled, raw) = db
                    .db
                    .scoped(org, async |conn| {
                        let used = tenant::stats::rollups::usable_until(conn, &q).await?;
                        let rolled = tenant::stats::run(conn, &q).await?;
                        let raw = tenant::stats::run_raw(conn, &q).await?;
                        Ok::<_, DbError>((used, rolled, raw))
                    })
                    .await
                    .unwrap();
                assert!(
                    used.is_some(),
                    "{stage} {label} {timezone}: rollups not used"
                );
                let label = format!("{stage} {label} {timezone}");
                worst = worst.max(compare(&label, rolled, raw));
            }
        }
        eprintln!("{stage}: largest visitor error {:.2}%", worst * 100.0);
    };

    // Halfway through the data: rollups for the first day and a half, raw events after.
    assert!(advance_to(day0() + Duration::hours(36)).await >= 2);
    // The first UTC day is complete, so it is also in the daily layer; the second is not, nor
    // is any week.
    assert_eq!(
        layer(&sweeper, project_id, &DAILY).await,
        (Some(day0() + Duration::days(1)), vec![day0()])
    );
    assert_eq!(layer(&sweeper, project_id, &WEEKLY).await, (None, vec![]));
    check("partly rolled up").await;

    // The long visit gains a pageview after its start hour was rolled up: until the next job
    // run the rollups lack it (the documented delay), then they have it.
    let mut conn = ingest.conn().await.unwrap();
    insert_batch(&mut conn, &[long_visit(watermark + Duration::minutes(5))])
        .await
        .unwrap();
    drop(conn);
    let overview = query(project_id, "UTC", vec![]);
    let (rolled, raw) = db
        .db
        .scoped(org, async |conn| {
            let rolled = tenant::stats::run(conn, &overview).await?;
            let raw = tenant::stats::run_raw(conn, &overview).await?;
            Ok::<_, DbError>((rolled, raw))
        })
        .await
        .unwrap();
    assert_eq!(rolled[0].pageviews + 1, raw[0].pageviews);
    assert_eq!(rolled[0].visits, raw[0].visits);
    assert!(advance_to(day0() + Duration::hours(36) + Duration::minutes(5)).await >= 1);
    check("after the long visit grew").await;
    // Everything rolled up; a second pass changes nothing.
    let end = day0() + Duration::days(DAYS + 1);
    assert!(advance_to(end).await >= 1);
    assert_eq!(advance_to(end).await, 0);
    let days: Vec<_> = (0..DAYS).map(|d| day0() + Duration::days(d)).collect();
    assert_eq!(
        layer(&sweeper, project_id, &DAILY).await,
        (Some(day0() + Duration::days(DAYS)), days)
    );
    // Whole weeks start on Mondays: the one holding the first six days, and the next.
    let monday = day0() - Duration::days(1);
    assert_eq!(
        layer(&sweeper, project_id, &WEEKLY).await,
        (
            Some(monday + Duration::weeks(2)),
            vec![monday, monday + Duration::weeks(1)]
        )
    );
    check("fully rolled up").await;

    // The control: breakdowns without time buckets do read the daily layer for the days before
    // the whole week and the weekly layer for it (a count added to either row shows in their
    // answer, and not in a by-day answer, which reads hours).
    let tamper = async |layer: &Layer, at: DateTime<Utc>, by: i64| {
        sweeper
            .unscoped(async |conn| {
                diesel::sql_query(format!(
                    "UPDATE {} SET visits = visits + $2 WHERE project_id = $1 AND kind = 0 \
                     AND {} = $3",
                    layer.table, layer.column
                ))
                .bind::<diesel::sql_types::Uuid, _>(project_id)
                .bind::<diesel::sql_types::BigInt, _>(by)
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .execute(conn)
                .await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
    };
    let by_day = query(project_id, "UTC", vec![Dimension::Day]);
    let answers = async || {
        db.db
            .scoped(org, async |conn| {
                let overview = tenant::stats::run(conn, &overview).await?;
                let by_day = tenant::stats::run(conn, &by_day).await?;
                Ok::<_, DbError>((
                    overview[0].visits,
                    by_day.iter().map(|r| r.visits).sum::<i64>(),
                ))
            })
            .await
            .unwrap()
    };
    let (overview_visits, by_day_visits) = answers().await;
    assert_eq!(overview_visits, by_day_visits);
    for (layer, at) in [
        (&DAILY, day0() + Duration::days(1)),
        (&WEEKLY, monday + Duration::weeks(1)),
    ] {
        tamper(layer, at, 1_000).await;
        assert_eq!(
            answers().await,
            (overview_visits + 1_000, by_day_visits),
            "{}",
            layer.table
        );
        tamper(layer, at, -1_000).await;
    }
    // A week that begins before the range is not read (its days in the range are).
    tamper(&WEEKLY, monday, 1_000).await;
    assert_eq!(answers().await, (overview_visits, by_day_visits));
    tamper(&WEEKLY, monday, -1_000).await;

    // What rollups do not answer goes to raw events.
    let overview_in_germany = filtered(
        query(project_id, "UTC", vec![]),
        Filter::Compare(Operator::Is, Dimension::Country, vec!["DE".into()]),
    );
    let mut by_name = query(project_id, "UTC", vec![Dimension::Name]);
    by_name.metrics = vec![Metric::ConversionRate];
    // A filter on another dimension than the breakdown's.
    let pages_in_germany = filtered(
        query(project_id, "UTC", vec![Dimension::Page]),
        Filter::Compare(Operator::Is, Dimension::Country, vec!["DE".into()]),
    );
    let mut india = query(project_id, "Asia/Kolkata", vec![]);
    india.metrics = vec![Metric::Visits];
    // Lord Howe Island is +11 in March and +10:30 from April: a range into April is refused,
    // though its first day alone would pass.
    let mut lord_howe = query(project_id, "Australia/Lord_Howe", vec![]);
    lord_howe.to = NaiveDate::from_ymd_opt(2026, 4, 30).unwrap();
    // Goals with a visit metric (a visit would count once per matching page).
    let mut goal_visits = query(project_id, "UTC", vec![Dimension::Goal]);
    goal_visits.metrics = vec![Metric::Visits];
    for q in [
        overview_in_germany,
        goal_visits,
        by_name,
        pages_in_germany,
        india,
        lord_howe,
    ] {
        let used = db
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(tenant::stats::rollups::usable_until(conn, &q).await?)
            })
            .await
            .unwrap();
        assert_eq!(used, None, "{:?} {:?}", q.dimensions, q.timezone);
    }
}

/// A layer of rollups: its table, time column and `rollup_state` column.
struct Layer {
    table: &'static str,
    column: &'static str,
    until: &'static str,
}

const DAILY: Layer = Layer {
    table: "rollups_daily",
    column: "day",
    until: "daily_until",
};

const WEEKLY: Layer = Layer {
    table: "rollups_weekly",
    column: "week",
    until: "weekly_until",
};

/// The `rollup_state` column of `layer` (`None` before its first build) and the periods its
/// table holds for `project_id` (read as the rollup job's role).
async fn layer(
    sweeper: &tenant::Db,
    project_id: Uuid,
    layer: &Layer,
) -> (Option<DateTime<Utc>>, Vec<DateTime<Utc>>) {
    #[derive(diesel::QueryableByName)]
    struct At {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    sweeper
        .unscoped(async |conn| {
            let until: At = diesel::sql_query(format!(
                "SELECT nullif({}, '-infinity') AS at FROM rollup_state WHERE project_id = $1",
                layer.until
            ))
            .bind::<diesel::sql_types::Uuid, _>(project_id)
            .get_result(conn)
            .await?;
            let periods: Vec<At> = diesel::sql_query(format!(
                "SELECT DISTINCT {} AS at FROM {} WHERE project_id = $1 ORDER BY 1",
                layer.column, layer.table
            ))
            .bind::<diesel::sql_types::Uuid, _>(project_id)
            .load(conn)
            .await?;
            Ok::<_, DbError>((until.at, periods.into_iter().filter_map(|p| p.at).collect()))
        })
        .await
        .unwrap()
}
