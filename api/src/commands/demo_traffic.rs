//! Synthetic traffic for the demo project only, so a newcomer's first dashboard has something
//! to show: three weeks of pageviews from a few sources, countries and devices, sign-ups and
//! purchases (with goals), Web Vitals samples and a few JavaScript errors.
//!
//! Everything goes through the paths real traffic takes: events are validated by the Events
//! API's parser, enriched (device, source, country, salted visitor id) and written by the
//! ingest writer; vitals are rated by the same code as `/api/vitals`; errors are normalized,
//! grouped and scrubbed as Sentry envelopes are; the hourly rollups are built by the rollup
//! job's own step. A seeded random generator makes every demo look the same. It runs once:
//! a demo project that already has events is left alone.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::Context;
use chrono::{DateTime, Datelike, Duration, DurationRound, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tenant::ingest::enrich::Agent;
use tenant::ingest::router::Target;
use tenant::ingest::{Ingest, Visitor, payload, vitals};
use tenant::tables::goals::{self, Matcher};
use tenant::tables::{events, web_vitals};
use tenant::{Db, DbError, OrgId};
use uuid::Uuid;

/// Days of history.
const DAYS: i64 = 21;

/// What was generated.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoTraffic {
    /// Events (pageviews and custom events) written.
    pub events: usize,
    /// Web Vitals samples written.
    pub vitals: usize,
    /// Error events recorded.
    pub errors: usize,
}

/// Real browsers' user agents (desktop and mobile), weighted by how often they appear.
const AGENTS: &[(&str, u32)] = &[
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        40,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        18,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        10,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        20,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        12,
    ),
];

/// Where visits come from: a referrer, or a campaign in the landing URL, or nothing (direct).
type Source = (Option<&'static str>, Option<&'static str>);
const SOURCES: &[(Source, u32)] = &[
    ((Some("https://www.google.com/"), None), 35),
    ((None, None), 22),
    ((Some("https://news.ycombinator.com/item?id=1"), None), 8),
    ((Some("https://t.co/demo"), None), 6),
    ((Some("https://www.reddit.com/r/webdev/"), None), 5),
    ((Some("https://duckduckgo.com/"), None), 5),
    ((Some("https://github.com/beacon/beacon"), None), 7),
    (
        (
            None,
            Some("utm_source=newsletter&utm_medium=email&utm_campaign=launch"),
        ),
        8,
    ),
    ((Some("https://www.bing.com/"), None), 4),
];

/// Networks of large access providers in several countries; each visitor gets an address in
/// one of them (used, as for real traffic, only for its country and the salted visitor id).
const NETWORKS: &[([u8; 2], u32)] = &[
    ([24, 0], 30),   // United States
    ([217, 0], 14),  // Germany
    ([90, 0], 9),    // France
    ([81, 2], 9),    // United Kingdom
    ([49, 36], 8),   // India
    ([200, 160], 6), // Brazil
    ([133, 1], 5),   // Japan
    ([1, 120], 5),   // Australia
    ([142, 112], 5), // Canada
    ([83, 80], 4),   // Netherlands
];

/// Landing pages by weight; later pages of a visit follow `NEXT`.
const LANDING: &[(&str, u32)] = &[
    ("/", 40),
    ("/blog/privacy-first-analytics", 18),
    ("/pricing", 12),
    ("/docs", 10),
    ("/blog/web-vitals-guide", 12),
    ("/about", 8),
];
const NEXT: &[&str] = &[
    "/pricing",
    "/docs",
    "/docs/getting-started",
    "/signup",
    "/blog",
    "/",
];

fn pick<'a, T>(rng: &mut StdRng, weighted: &'a [(T, u32)]) -> &'a T {
    let total: u32 = weighted.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, weight) in weighted {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &weighted[0].0
}

/// Visits on day `day` (0 = three weeks ago): growing, quieter at weekends.
fn visits_on(rng: &mut StdRng, day: i64, weekday: u32) -> usize {
    let base = 45.0 + 2.5 * day as f64;
    let weekend = if weekday >= 5 { 0.6 } else { 1.0 };
    (base * weekend * rng.random_range(0.8..1.2)) as usize
}

/// Generates the demo traffic when `seeded` is the built-in demo project
/// ([`super::seed::DEMO_DOMAIN`]) and it has no events yet; other projects seeded with
/// `--domain` get none. `owner_url` reaches the database as its owner (the rollups are built
/// as `beacon_sweeper`).
pub async fn for_demo(
    owner_url: &str,
    db: &Db,
    ingest: &Ingest,
    seeded: &super::seed::Seeded,
) -> anyhow::Result<Option<DemoTraffic>> {
    if seeded.domain != super::seed::DEMO_DOMAIN {
        return Ok(None);
    }
    let sweeper = Db::connect_as(
        owner_url,
        tenant::AppRole::Sweeper,
        &tenant::db::PoolConfig {
            max_size: 1,
            ..Default::default()
        },
    )?;
    generate(
        db,
        ingest,
        &sweeper,
        &seeded.domain,
        seeded.ingest_id,
        Utc::now(),
    )
    .await
    .context("generating the demo traffic")
}

impl std::fmt::Display for DemoTraffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Demo traffic: {} events, {} Web Vitals samples and {} errors over the last {DAYS} days \
             (synthetic, in the demo project only)",
            self.events, self.vitals, self.errors
        )
    }
}

/// Generates the demo traffic for the project `domain` names, unless it has events already.
/// `sweeper` connects as `beacon_sweeper` (to build the rollups); `now` ends the history.
pub async fn generate(
    db: &Db,
    ingest: &Ingest,
    sweeper: &Db,
    domain: &str,
    ingest_id: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<DemoTraffic>> {
    let target = ingest
        .router
        .route(domain)
        .await?
        .context("the demo project is not routable")?;
    let org = OrgId::from_uuid(target.org_id);
    let has_events = db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(
                events::any_for_project(conn, tenant::ProjectId::from_uuid(target.project_id))
                    .await?,
            )
        })
        .await?;
    if has_events {
        return Ok(None);
    }
    create_goals(db, &target).await?;
    let mut rng = StdRng::seed_from_u64(0xBEAC0);
    let mut made = DemoTraffic::default();
    let first_day = (now - Duration::days(DAYS - 1))
        .duration_trunc(Duration::days(1))
        .unwrap_or(now);
    let mut rows = Vec::new();
    let mut samples = Vec::new();
    for day in 0..DAYS {
        let midnight = first_day + Duration::days(day);
        let weekday = midnight.date_naive().weekday().num_days_from_monday();
        for _ in 0..visits_on(&mut rng, day, weekday) {
            // Daytime in Europe and the Americas is busiest.
            let hour = (8 + rng.random_range(0..14) + rng.random_range(0..4)) % 24;
            let start =
                midnight + Duration::hours(hour) + Duration::seconds(rng.random_range(0..3600));
            if start >= now {
                continue;
            }
            visit(
                ingest,
                &target,
                domain,
                &mut rng,
                start,
                now,
                &mut rows,
                &mut samples,
            )?;
        }
    }
    made.events = rows.len();
    for chunk in rows.chunks(1000) {
        ingest
            .writer
            .write(chunk.to_vec())
            .await
            .map_err(|error| anyhow::anyhow!("writing demo events: {error:?}"))?;
    }
    made.vitals = samples.len();
    db.scoped(org, async |conn| {
        Ok::<_, DbError>(web_vitals::insert(conn, &samples).await?)
    })
    .await?;
    made.errors = errors(db, ingest, domain, ingest_id, &mut rng, first_day, now).await?;
    worker::jobs::rollup_all_tenants::advance_all(sweeper, &tenant::Clock::system()).await?;
    Ok(Some(made))
}

async fn create_goals(db: &Db, target: &Target) -> anyhow::Result<()> {
    db.scoped(OrgId::from_uuid(target.org_id), async |conn| {
        let (org, project) = (
            OrgId::from_uuid(target.org_id),
            tenant::ProjectId::from_uuid(target.project_id),
        );
        goals::create(
            conn,
            org,
            project,
            "Signup",
            &Matcher::Event("Signup".into()),
            None,
        )
        .await?;
        goals::create(
            conn,
            org,
            project,
            "Purchase",
            &Matcher::Event("Purchase".into()),
            Some("EUR"),
        )
        .await?;
        goals::create(
            conn,
            org,
            project,
            "Visit /pricing",
            &Matcher::Page("/pricing".into()),
            None,
        )
        .await?;
        Ok::<_, DbError>(())
    })
    .await?;
    Ok(())
}

/// One visit: a landing page from a source, a few more pages, maybe a sign-up or a purchase,
/// and the landing page's Web Vitals.
#[allow(clippy::too_many_arguments)] // the visit's context and the two outputs
fn visit(
    ingest: &Ingest,
    target: &Target,
    domain: &str,
    rng: &mut StdRng,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    rows: &mut Vec<tenant::tables::events::NewEvent>,
    samples: &mut Vec<web_vitals::NewVital>,
) -> anyhow::Result<()> {
    let user_agent = *pick(rng, AGENTS);
    let Agent::Human(device) = ingest.agents.classify(user_agent) else {
        return Ok(());
    };
    let [a, b] = *pick(rng, NETWORKS);
    let ip = IpAddr::V4(Ipv4Addr::new(
        a,
        b,
        rng.random_range(0..=255),
        rng.random_range(1..=254),
    ));
    let visitor = Visitor {
        ip,
        user_agent,
        device: &device,
        location: ingest.geo.locate(ip),
    };
    let (referrer, campaign) = *pick(rng, SOURCES);
    let landing = *pick(rng, LANDING);
    let mut pages = vec![landing];
    for _ in 0..rng.random_range(0..4) {
        pages.push(NEXT[rng.random_range(0..NEXT.len())]);
    }
    let mut at = start;
    for (i, page) in pages.iter().enumerate() {
        let mut url = format!("https://{domain}{page}");
        if let (0, Some(campaign)) = (i, campaign) {
            url = format!("{url}?{campaign}");
        }
        let mut event = json!({"n": "pageview", "u": url, "d": domain});
        if let (0, Some(referrer)) = (i, referrer) {
            event["r"] = json!(referrer);
        }
        push_event(ingest, target, &visitor, &event, at, now, rows)?;
        if *page == "/signup" && rng.random_bool(0.35) {
            let plan = ["free", "team", "business"][rng.random_range(0..3)];
            let signup = json!({"n": "Signup", "u": url, "d": domain, "p": {"plan": plan}});
            push_event(
                ingest,
                target,
                &visitor,
                &signup,
                at + Duration::seconds(40),
                now,
                rows,
            )?;
            if plan != "free" && rng.random_bool(0.5) {
                let amount = if plan == "team" { "19.00" } else { "99.00" };
                let purchase = json!({"n": "Purchase", "u": url, "d": domain,
                    "$": {"amount": amount, "currency": "EUR"}});
                push_event(
                    ingest,
                    target,
                    &visitor,
                    &purchase,
                    at + Duration::seconds(90),
                    now,
                    rows,
                )?;
            }
        }
        at += Duration::seconds(rng.random_range(15..180));
    }
    if rng.random_bool(0.6) {
        let slow = matches!(device.device.as_deref(), Some("mobile"));
        let lcp = rng.random_range(900.0..3200.0) * if slow { 1.5 } else { 1.0 };
        for (name, value) in [
            ("LCP", lcp),
            ("FCP", lcp * rng.random_range(0.45..0.8)),
            ("TTFB", rng.random_range(80.0..900.0)),
            ("CLS", rng.random_range(0.0..0.3_f64).powi(2) * 3.0),
            ("INP", rng.random_range(40.0..450.0)),
        ] {
            let sample = json!({"n": name, "v": value, "t": "navigate"});
            samples.push(
                vitals::sample_row(
                    &sample,
                    target,
                    landing,
                    &device,
                    visitor.location.country.clone(),
                    start + Duration::seconds(5),
                )
                .map_err(|invalid| anyhow::anyhow!("demo vitals: {}", invalid.detail))?,
            );
        }
    }
    Ok(())
}

fn push_event(
    ingest: &Ingest,
    target: &Target,
    visitor: &Visitor<'_>,
    event: &Value,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    rows: &mut Vec<tenant::tables::events::NewEvent>,
) -> anyhow::Result<()> {
    if at >= now {
        return Ok(());
    }
    let parsed = payload::parse_event(event)
        .map_err(|invalid| anyhow::anyhow!("demo event: {}", invalid.detail))?;
    rows.push(ingest.event_row(&parsed, target, visitor, at));
    Ok(())
}

/// A few JavaScript errors, recorded as the Sentry envelope endpoint records them.
async fn errors(
    db: &Db,
    ingest: &Ingest,
    domain: &str,
    ingest_id: i64,
    rng: &mut StdRng,
    first_day: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let Some(dsn) = ingest.router.route_dsn(ingest_id).await? else {
        return Ok(0);
    };
    let kinds: [(&str, &str, &str, u32); 3] = [
        (
            "TypeError",
            "Cannot read properties of undefined (reading 'price')",
            "renderPlan",
            14,
        ),
        ("ReferenceError", "chart is not defined", "drawChart", 6),
        ("Error", "Failed to fetch /api/plans (503)", "loadPlans", 9),
    ];
    let mut recorded = 0;
    for (kind, message, function, times) in kinds {
        for _ in 0..times {
            let at = first_day
                + Duration::seconds(rng.random_range(0..(now - first_day).num_seconds().max(1)));
            let payload = json!({
                "event_id": Uuid::new_v4().simple().to_string(),
                "timestamp": at.timestamp(),
                "platform": "javascript",
                "level": "error",
                "release": "demo-site@1.4.2",
                "environment": "production",
                "exception": {"values": [{
                    "type": kind,
                    "value": message,
                    "stacktrace": {"frames": [
                        {"filename": format!("https://{domain}/assets/app.js"), "function": "main",
                         "lineno": 12, "colno": 5, "in_app": true},
                        {"filename": format!("https://{domain}/assets/app.js"), "function": function,
                         "lineno": 87, "colno": 23, "in_app": true}
                    ]}
                }]},
                "request": {"url": format!("https://{domain}/pricing")},
                "tags": {"demo": "synthetic"},
                "user": {"id": format!("demo-user-{}", rng.random_range(0..40))}
            });
            let bytes = serde_json::to_vec(&payload)?;
            let event = tenant::errors::event::normalize(&bytes, None, at)
                .map_err(|invalid| anyhow::anyhow!("demo error event: {}", invalid.0))?;
            db.scoped(OrgId::from_uuid(dsn.org_id), async |conn| {
                tenant::errors::record::record(
                    conn,
                    &ingest.source_maps,
                    &dsn,
                    vec![(event, None)],
                    // The demo project asks for no issue notices.
                    tenant::errors::record::NoticeContext {
                        public_url: "",
                        now: chrono::Utc::now(),
                    },
                )
                .await?;
                Ok::<_, anyhow::Error>(())
            })
            .await?;
            recorded += 1;
        }
    }
    Ok(recorded)
}
