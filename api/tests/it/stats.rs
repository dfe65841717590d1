//! The Stats API v2 against events with known times and visitors: metrics, visits derived from
//! 30-minute gaps, dimensions, filters, time zones, comparison, pagination, bad input, and
//! tenant isolation.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use tenant::tables::events::{NewEvent, insert_batch};
use uuid::Uuid;

use crate::support::{As, TestApp, assert_problem, status_and_json};

pub(crate) struct Site {
    pub(crate) org: Uuid,
    pub(crate) project: Uuid,
    pub(crate) key: String,
}

pub(crate) async fn site(app: &TestApp, domain: &str, timezone: &str) -> Site {
    let owner = app.user(&format!("owner@{domain}")).await;
    let org = app.org(&owner, domain).await;
    let who = As::User(owner);
    let (status, project) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects"),
            Some(json!({"name": domain, "domains": [domain], "timezone": timezone})),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let (_, key) = app.api_key(&who, org, &["read"]).await;
    Site {
        org,
        project: project["id"].as_str().unwrap().parse().unwrap(),
        key,
    }
}

pub(crate) fn event(
    site: &Site,
    visitor: i64,
    ts: DateTime<Utc>,
    name: &str,
    path: &str,
    source: Option<&str>,
) -> NewEvent {
    NewEvent {
        org_id: site.org,
        project_id: site.project,
        ts,
        event_id: Uuid::now_v7(),
        name: name.into(),
        visitor_id: visitor,
        hostname: "stats.example".into(),
        pathname: path.into(),
        referrer_host: source.map(|s| format!("{}.example", s.to_lowercase())),
        source: source.map(str::to_owned),
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        utm_content: None,
        utm_term: None,
        browser: Some("Firefox".into()),
        browser_version: None,
        os: None,
        os_version: None,
        device: Some(if visitor == 2 { "mobile" } else { "desktop" }.into()),
        country: Some("DE".into()),
        region: None,
        city: None,
        props: json!({"plan": if visitor == 3 { "pro" } else { "free" }}),
        revenue_amount: None,
        revenue_currency: None,
        interactive: true,
    }
}

pub(crate) async fn store(app: &TestApp, events: Vec<NewEvent>) {
    let ingest = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Ingest,
        &Default::default(),
    )
    .unwrap();
    let mut conn = ingest.conn().await.unwrap();
    insert_batch(&mut conn, &events).await.unwrap();
}

pub(crate) async fn query(app: &TestApp, key: &str, body: Value) -> (u16, Value) {
    let resp = app
        .call(
            &As::Key(key.to_owned()),
            "POST",
            "/api/v2/query",
            Some(body),
        )
        .await;
    status_and_json(resp).await
}

/// The time the stats tests run at: today (UTC) at 15:00, whatever the time of day they run.
/// The date stays today's, so dates computed outside the app (a browser's) agree with it.
pub(crate) fn test_now() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc()
}

/// Three visitors, four visits, five pageviews, six events, today from 10:00 to 12:00 UTC; the
/// app's clock stands at [`test_now`] (15:00).
pub(crate) async fn fixture(app: &TestApp) -> Site {
    let site = site(app, "stats.example", "UTC").await;
    app.set_now(test_now());
    let base = test_now()
        .date_naive()
        .and_hms_opt(10, 0, 0)
        .unwrap()
        .and_utc();
    store(
        app,
        vec![
            // Visitor 1: a visit of two pageviews 10 minutes apart, then a bounce 2 hours later.
            event(&site, 1, base, "pageview", "/", Some("Google")),
            event(
                &site,
                1,
                base + Duration::minutes(10),
                "pageview",
                "/pricing",
                None,
            ),
            event(
                &site,
                1,
                base + Duration::hours(2),
                "pageview",
                "/blog",
                Some("Hacker News"),
            ),
            // Visitor 2: one pageview (a bounce).
            event(&site, 2, base, "pageview", "/pricing", Some("Google")),
            // Visitor 3: a pageview and a custom event a minute later.
            event(&site, 3, base, "pageview", "/", None),
            event(&site, 3, base + Duration::minutes(1), "Signup", "/", None),
        ],
    )
    .await;
    site
}

#[tokio::test]
async fn aggregate_metrics_with_visits_from_gaps() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "views_per_visit"], "date_range": "7d"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Bounced: visitor 1's second visit and visitor 2's. Durations 600, 0, 0, 60 s.
    assert_eq!(
        body["results"],
        json!([{"dimensions": [], "metrics": [3, 4, 5, 6, 50.0, 165, 1.25]}])
    );
    let today = test_now().date_naive();
    assert_eq!(
        body["query"]["date_range"],
        json!([(today - Duration::days(6)).to_string(), today.to_string()])
    );
}

#[tokio::test]
async fn dimensions_filters_order_and_pagination() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["event:page"], "order_by": [["pageviews", "desc"], ["event:page", "asc"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["/"], "metrics": [2, 2]},
            {"dimensions": ["/pricing"], "metrics": [2, 2]},
            {"dimensions": ["/blog"], "metrics": [1, 1]},
        ])
    );
    // Visit dimensions take the visit's first value: visitor 1's /pricing view came from Google.
    let (_, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visits"], "date_range": "day", "dimensions": ["visit:source"], "order_by": [["visit:source", "asc"]]}),
    )
    .await;
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["Direct / None"], "metrics": [1]},
            {"dimensions": ["Google"], "metrics": [2]},
            {"dimensions": ["Hacker News"], "metrics": [1]},
        ])
    );
    let filtered = async |filters: Value| {
        query(&app, &site.key, json!({"site_id": "stats.example", "metrics": ["visitors", "events"], "date_range": "day", "filters": filters})).await
    };
    assert_eq!(
        filtered(json!([["is", "visit:source", ["Google"]]]))
            .await
            .1["results"][0]["metrics"],
        json!([2, 3])
    );
    // Direct visits are "Direct / None" in filters too, as Plausible names them.
    assert_eq!(
        filtered(json!([["is", "visit:source", ["Direct / None"]]]))
            .await
            .1["results"][0]["metrics"][0],
        json!(1)
    );
    assert_eq!(
        filtered(json!([["is_not", "visit:device", ["mobile"]]]))
            .await
            .1["results"][0]["metrics"],
        json!([2, 5])
    );
    assert_eq!(
        filtered(json!([["contains", "event:page", ["PRIC"]]]))
            .await
            .1["results"][0]["metrics"],
        json!([2, 2])
    );
    assert_eq!(
        filtered(json!([["is", "event:props:plan", ["pro"]]]))
            .await
            .1["results"][0]["metrics"],
        json!([1, 2])
    );
    assert_eq!(
        filtered(json!([[
            "or",
            [
                ["is", "event:page", ["/blog"]],
                ["is", "event:name", ["Signup"]]
            ]
        ]]))
        .await
        .1["results"][0]["metrics"],
        json!([2, 2])
    );
    assert_eq!(
        filtered(json!([["is", "event:page", ["/nowhere"]]]))
            .await
            .1["results"],
        json!([{"dimensions": [], "metrics": [0, 0]}])
    );

    let (_, page) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "day", "dimensions": ["event:page"], "order_by": [["event:page", "asc"]], "pagination": {"limit": 1, "offset": 1}}),
    )
    .await;
    assert_eq!(
        page["results"],
        json!([{"dimensions": ["/blog"], "metrics": [1]}])
    );
    assert_eq!(page["meta"]["total_rows"], 3);
}

#[tokio::test]
async fn days_follow_the_project_time_zone_and_compare_with_the_previous_period() {
    let app = TestApp::new().await;
    let site = site(&app, "tz.example", "Europe/Berlin").await;
    let day = Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap();
    store(
        &app,
        vec![
            // 23:30 UTC on the 10th is 00:30 on the 11th in Berlin.
            event(
                &site,
                1,
                day + Duration::minutes(23 * 60 + 30),
                "pageview",
                "/",
                None,
            ),
            event(&site, 2, day + Duration::hours(12), "pageview", "/", None),
            // The previous period (3rd to 9th): one visitor.
            event(&site, 3, day - Duration::days(3), "pageview", "/", None),
        ],
    )
    .await;
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "tz.example", "metrics": ["visitors"], "date_range": ["2026-03-10", "2026-03-16"], "dimensions": ["time:day"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["2026-03-10"], "metrics": [1]},
            {"dimensions": ["2026-03-11"], "metrics": [1]},
        ])
    );
    let (_, body) = query(
        &app,
        &site.key,
        json!({"site_id": "tz.example", "metrics": ["visitors", "pageviews"], "date_range": ["2026-03-10", "2026-03-16"], "include": {"comparisons": {"mode": "previous_period"}}}),
    )
    .await;
    assert_eq!(body["results"][0]["metrics"], json!([2, 2]));
    assert_eq!(body["results"][0]["comparison"]["metrics"], json!([1, 1]));
    assert_eq!(
        body["results"][0]["comparison"]["change"],
        json!([100, 100])
    );
    assert_eq!(
        body["query"]["comparison_date_range"],
        json!(["2026-03-03", "2026-03-09"])
    );
}

#[tokio::test]
async fn bad_queries_and_other_tenants_are_refused() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let other = crate::support::TestApp::user(&app, "other@else.example").await;
    let other_org = app.org(&other, "Else").await;
    let (_, other_key) = app.api_key(&As::User(other), other_org, &["read"]).await;
    let base = json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "7d"});
    let with = async |key: &str, value: Value| {
        let mut body = base.clone();
        if let (Some(body), Some(extra)) = (body.as_object_mut(), value.as_object()) {
            body.extend(extra.clone());
        }
        app.call(
            &As::Key(key.to_owned()),
            "POST",
            "/api/v2/query",
            Some(body),
        )
        .await
    };
    assert_problem(with(&other_key, json!({})).await, 404, "not_found").await;
    assert_problem(
        with(&site.key, json!({"site_id": "nope.example"})).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"metrics": ["visitors", "vibes"]})).await,
        400,
        "invalid_metric",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"metrics": ["conversion_rate"]})).await,
        400,
        "invalid_metric",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"metrics": []})).await,
        400,
        "invalid_metric",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"date_range": "forever"})).await,
        400,
        "invalid_date_range",
    )
    .await;
    assert_problem(
        with(
            &site.key,
            json!({"date_range": ["2026-02-01", "2026-01-01"]}),
        )
        .await,
        400,
        "invalid_date_range",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"dimensions": ["visit:mood"]})).await,
        400,
        "invalid_dimension",
    )
    .await;
    assert_problem(
        with(
            &site.key,
            json!({"filters": [["resembles", "event:page", ["/"]]]}),
        )
        .await,
        400,
        "invalid_filter",
    )
    .await;
    assert_problem(
        with(
            &site.key,
            json!({"filters": [["is", "time:day", ["2026-01-01"]]]}),
        )
        .await,
        400,
        "invalid_filter",
    )
    .await;
    // Bounded complexity: comparisons and values are counted over the whole tree, however
    // they are nested (a 1,000-way `or` once took two seconds), and nesting is bounded.
    let compare = |i: usize| json!(["is", "event:page", [format!("/p{i}")]]);
    let within: Vec<Value> = (0..30).map(compare).collect();
    let beyond: Vec<Value> = (0..31).map(compare).collect();
    let (status, body) =
        status_and_json(with(&site.key, json!({"filters": [["or", within]]})).await).await;
    assert_eq!(status, 200, "30 comparisons are allowed: {body}");
    for filters in [
        json!([["or", beyond]]),
        json!([["or", (0..1000).map(compare).collect::<Vec<_>>()]]),
        json!([[
            "or",
            [
                [
                    "is",
                    "event:page",
                    (0..100).map(|i| format!("/{i}")).collect::<Vec<_>>()
                ],
                [
                    "is",
                    "event:page",
                    (0..100).map(|i| format!("/{i}")).collect::<Vec<_>>()
                ],
                ["is", "event:page", ["/one-too-many"]]
            ]
        ]]),
        json!([[
            "not",
            [
                "not",
                ["not", ["not", ["not", ["is", "event:page", ["/"]]]]]
            ]
        ]]),
    ] {
        assert_problem(
            with(&site.key, json!({"filters": filters})).await,
            400,
            "invalid_filter",
        )
        .await;
    }
    let (status, body) = status_and_json(
        with(
            &site.key,
            json!({"filters": [["not", ["not", ["not", ["not", ["is", "event:page", ["/"]]]]]]]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "five levels are allowed: {body}");
    assert_problem(
        with(&site.key, json!({"order_by": [["pageviews", "desc"]]})).await,
        400,
        "invalid_order_by",
    )
    .await;
    assert_problem(
        with(&site.key, json!({"pagination": {"limit": 0}})).await,
        400,
        "invalid_pagination",
    )
    .await;
    let sql_in_value = with(
        &site.key,
        json!({"filters": [["is", "event:page", ["'; DROP TABLE events; --"]]]}),
    )
    .await;
    assert_eq!(sql_in_value.0.status().as_u16(), 200);
    // An ingest-only key cannot read.
    let owner = app
        .login("owner@stats.example", crate::support::PASSWORD)
        .await;
    let (_, ingest_key) = app
        .api_key(&As::User(owner.clone()), site.org, &["ingest"])
        .await;
    assert_problem(with(&ingest_key, json!({})).await, 403, "forbidden").await;
    // A signed-in member may query too.
    let (status, _) = status_and_json(
        app.call(
            &As::User(owner),
            "POST",
            "/api/v2/query",
            Some(base.clone()),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn realtime_counts_the_last_five_minutes() {
    let app = TestApp::new().await;
    let site = site(&app, "live.example", "UTC").await;
    let now = test_now();
    app.set_now(now);
    store(
        &app,
        vec![
            event(&site, 1, now - Duration::minutes(2), "pageview", "/", None),
            event(
                &site,
                1,
                now - Duration::minutes(1),
                "pageview",
                "/pricing",
                None,
            ),
            event(
                &site,
                2,
                now - Duration::seconds(30),
                "pageview",
                "/pricing",
                None,
            ),
            event(&site, 3, now - Duration::seconds(10), "pageview", "/", None),
            event(
                &site,
                4,
                now - Duration::minutes(20),
                "pageview",
                "/old",
                None,
            ),
        ],
    )
    .await;
    let path = format!(
        "/api/v1/orgs/{}/projects/{}/realtime",
        site.org, site.project
    );
    let (status, body) = app
        .json(&As::Key(site.key.clone()), "GET", &path, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visitors"], 3);
    assert_eq!(
        body["pages"],
        json!([{"page": "/pricing", "visitors": 2}, {"page": "/", "visitors": 1}])
    );
}

#[tokio::test]
async fn the_live_stream_shows_new_events_of_its_project_only() {
    use futures::StreamExt;
    let app = TestApp::new().await;
    let watched = site(&app, "watched.example", "UTC").await;
    let _other = site(&app, "other.example", "UTC").await;
    let path = format!(
        "/api/v1/orgs/{}/projects/{}/live",
        watched.org, watched.project
    );
    let resp = app
        .call(&As::Key(watched.key.clone()), "GET", &path, None)
        .await;
    assert_eq!(resp.0.status().as_u16(), 200);
    assert!(
        resp.0
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.0.into_body().into_bytes_stream();
    let agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    for (domain, page) in [
        ("other.example", "/elsewhere"),
        ("watched.example", "/watched-page"),
    ] {
        let sent = app
            .client
            .post("/api/event")
            .header("user-agent", agent)
            .content_type("text/plain")
            .body(
                json!({"n": "pageview", "u": format!("https://{domain}{page}"), "d": domain})
                    .to_string(),
            )
            .send()
            .await;
        assert_eq!(sent.0.status().as_u16(), 202);
    }
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
        .await
        .expect("an event within 10 s")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(text.starts_with("data: "), "{text}");
    let event: Value = serde_json::from_str(text.trim_start_matches("data: ").trim()).unwrap();
    assert_eq!(
        event["page"], "/watched-page",
        "the other project's event is not shown"
    );
    assert_eq!(event["name"], "pageview");
    assert!(event.get("visitor_id").is_none());
}

#[tokio::test]
async fn goals_count_conversions_and_revenue() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = app
        .login("owner@stats.example", crate::support::PASSWORD)
        .await;
    let who = As::User(owner);
    let goals = format!("/api/v1/orgs/{}/projects/{}/goals", site.org, site.project);
    for body in [
        json!({"event_name": "Signup"}),
        json!({"page_path": "/pric*"}),
        json!({"name": "Any page", "page_path": "/**"}),
        json!({"name": "Sales", "event_name": "Purchase", "currency": "eur"}),
    ] {
        let (status, goal) = app.json(&who, "POST", &goals, Some(body)).await;
        assert_eq!(status, 201, "{goal}");
    }
    let now = test_now();
    let mut purchase = event(
        &site,
        2,
        now - Duration::minutes(1),
        "Purchase",
        "/checkout",
        None,
    );
    purchase.revenue_amount = Some("19.90".into());
    purchase.revenue_currency = Some("EUR".into());
    let mut other_currency = event(&site, 2, now, "Purchase", "/checkout", None);
    other_currency.revenue_amount = Some("5".into());
    other_currency.revenue_currency = Some("USD".into());
    store(&app, vec![purchase, other_currency]).await;

    for bad in [
        json!({}),
        json!({"event_name": "x", "page_path": "/x"}),
        json!({"page_path": "no-slash"}),
    ] {
        let resp = app.call(&who, "POST", &goals, Some(bad)).await;
        assert_problem(resp, 422, "invalid_goal").await;
    }
    assert_problem(
        app.call(
            &who,
            "POST",
            &goals,
            Some(json!({"event_name": "x", "currency": "EURO"})),
        )
        .await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        app.call(
            &who,
            "POST",
            &goals,
            Some(json!({"event_name": "x", "currency": "E1"})),
        )
        .await,
        422,
        "invalid_goal",
    )
    .await;
    assert_problem(
        app.call(&who, "POST", &goals, Some(json!({"event_name": "Signup"})))
            .await,
        409,
        "goal_exists",
    )
    .await;

    let (status, body) = app
        .json(
            &As::Key(site.key.clone()),
            "GET",
            &format!("{goals}/conversions?period=7d"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let by_name = |name: &str| {
        body["goals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .cloned()
            .unwrap()
    };
    // Three visitors in the range; visitor 2 also purchased.
    assert_eq!(by_name("Any page")["visitors"], 3);
    assert_eq!(by_name("Any page")["conversion_rate"], 100.0);
    assert_eq!(by_name("Signup")["visitors"], 1);
    assert_eq!(by_name("Signup")["conversion_rate"], 33.3);
    assert_eq!(by_name("Visit /pric*")["visitors"], 2);
    assert_eq!(by_name("Sales")["events"], 2);
    assert_eq!(by_name("Sales")["revenue"], "19.9000");
    assert!(by_name("Signup")["revenue"].is_null());
    assert_problem(
        app.call(
            &As::Key(site.key.clone()),
            "GET",
            &format!("{goals}/conversions?period=forever"),
            None,
        )
        .await,
        400,
        "invalid_date_range",
    )
    .await;

    // Viewers (read keys) cannot change goals; deleting works for members.
    assert_problem(
        app.call(
            &As::Key(site.key.clone()),
            "POST",
            &goals,
            Some(json!({"event_name": "X"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let id = by_name("Signup")["goal_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(&who, "DELETE", &format!("{goals}/{id}"), None)
            .await
            .0
            .status()
            .as_u16(),
        204
    );
    assert_problem(
        app.call(&who, "DELETE", &format!("{goals}/{id}"), None)
            .await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn exit_pages_are_the_last_page_of_each_visit() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visits"], "date_range": "7d",
               "dimensions": ["visit:exit_page"], "order_by": [["visits", "desc"], ["visit:exit_page", "asc"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Visitor 1: / → /pricing, later /blog. Visitor 2: /pricing. Visitor 3: / (with Signup on /).
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["/pricing"], "metrics": [2]},
            {"dimensions": ["/"], "metrics": [1]},
            {"dimensions": ["/blog"], "metrics": [1]},
        ])
    );
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "7d",
               "filters": [["is", "visit:exit_page", ["/pricing"]]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["metrics"], json!([2]));
}

/// A job asking the stats service (`worker::stats::answer`) gets exactly the Stats API's
/// answer for the same query: the numbers an alert or a report shows are the dashboard's.
#[tokio::test]
async fn the_worker_gets_the_same_answer_as_the_stats_api() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let queries = [
        json!({"site_id": "stats.example", "metrics": ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "views_per_visit"], "date_range": "7d"}),
        json!({"site_id": "stats.example", "metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["event:page"], "order_by": [["pageviews", "desc"], ["event:page", "asc"]], "include": {"comparisons": {"mode": "previous_period"}}}),
        json!({"site_id": "stats.example", "metrics": ["visits"], "date_range": "day", "dimensions": ["visit:source"], "filters": [["is", "visit:device", ["desktop"]]]}),
        json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "7d", "dimensions": ["time:day"]}),
    ];
    for body in queries {
        let (status, http) = query(&app, &site.key, body.clone()).await;
        assert_eq!(status, 200, "{http}");
        // The positive control: the answer has rows, so equality below compares real numbers.
        assert!(
            !http["results"].as_array().unwrap().is_empty(),
            "{body} answered no rows"
        );
        let request = tenant::stats::request::parse(&body).unwrap();
        let filters = body.get("filters").cloned().unwrap_or(json!([]));
        let job = worker::stats::answer(
            &app.state.db,
            tenant::OrgId::from_uuid(site.org),
            tenant::ProjectId::from_uuid(site.project),
            &request,
            filters,
            app.state.clock.now(),
        )
        .await
        .unwrap()
        .expect("the project exists");
        assert_eq!(job, http, "{body}");
    }
    // A project that is gone is no answer, not an error.
    let request = tenant::stats::request::parse(
        &json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "day"}),
    )
    .unwrap();
    let gone = worker::stats::answer(
        &app.state.db,
        tenant::OrgId::from_uuid(site.org),
        tenant::ProjectId::generate(),
        &request,
        json!([]),
        app.state.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(gone, None);
}
