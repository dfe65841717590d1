//! Goals inside the Stats API: `event:goal` as a dimension and a filter, `conversion_rate`,
//! `total_revenue` and `average_revenue`, and the requests they refuse.

use chrono::Duration;
use serde_json::json;

use crate::stats::{Site, event, fixture, query, store, test_now};
use crate::support::{As, TestApp};

async fn goals(app: &TestApp, site: &Site, bodies: &[serde_json::Value]) {
    let owner = app
        .login("owner@stats.example", crate::support::PASSWORD)
        .await;
    let path = format!("/api/v1/orgs/{}/projects/{}/goals", site.org, site.project);
    for body in bodies {
        let (status, goal) = app
            .json(&As::User(owner.clone()), "POST", &path, Some(body.clone()))
            .await;
        assert_eq!(status, 201, "{goal}");
    }
}

#[tokio::test]
async fn goal_dimension_filter_conversion_rate_and_revenue() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    goals(
        &app,
        &site,
        &[
            json!({"event_name": "Signup"}),
            json!({"page_path": "/pric*"}),
            json!({"name": "Sales", "event_name": "Purchase", "currency": "EUR"}),
            json!({"name": "Sales USD", "event_name": "Purchase", "currency": "USD"}),
            json!({"name": "Donation", "event_name": "Donate", "currency": "USD"}),
        ],
    )
    .await;
    // The app's clock (15:00 UTC), three hours after the fixture's visits: a visit of its own.
    // (With the time of day the test ran at, it merged into visitor 2's 10:00 visit when run
    // between 09:30 and 10:30.)
    let now = test_now();
    let mut euros = event(
        &site,
        2,
        now - Duration::minutes(2),
        "Purchase",
        "/checkout",
        None,
    );
    euros.revenue_amount = Some("19.90".into());
    euros.revenue_currency = Some("EUR".into());
    let mut dollars = event(
        &site,
        2,
        now - Duration::minutes(1),
        "Purchase",
        "/checkout",
        None,
    );
    dollars.revenue_amount = Some("5".into());
    dollars.revenue_currency = Some("USD".into());
    store(&app, vec![euros, dollars]).await;

    let metrics = json!([
        "visitors",
        "events",
        "conversion_rate",
        "total_revenue",
        "average_revenue"
    ]);
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": metrics, "date_range": "7d",
               "dimensions": ["event:goal"], "order_by": [["events", "desc"], ["event:goal", "asc"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Three visitors in all. Sales counts both purchases, but only the euros are its revenue.
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["Sales"], "metrics": [1, 2, 33.33, 19.9, 19.9]},
            {"dimensions": ["Sales USD"], "metrics": [1, 2, 33.33, 5.0, 5.0]},
            {"dimensions": ["Visit /pric*"], "metrics": [2, 2, 66.67, 0.0, 0.0]},
            {"dimensions": ["Signup"], "metrics": [1, 1, 33.33, 0.0, 0.0]},
        ]),
        "{body}"
    );
    assert_eq!(
        body["meta"]["currencies"],
        json!({"Donation": "USD", "Sales": "EUR", "Sales USD": "USD"})
    );

    // As a filter: the visitors who converted, and revenue in the goal's currency, of the
    // selected goal only (the dollars of "Sales USD", the same event, are not added).
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors", "conversion_rate", "total_revenue"],
               "date_range": "7d", "filters": [["is", "event:goal", ["Sales"]]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["metrics"], json!([1, 33.33, 19.9]));
    assert_eq!(body["meta"]["currency"], "EUR");

    // The conversion rate divides by the visitors matching the other filters.
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors", "conversion_rate"], "date_range": "7d",
               "filters": [["is", "event:goal", ["Visit /pric*"]], ["is", "visit:device", ["desktop"]]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["metrics"], json!([1, 50.0]), "{body}");

    // Grouped by goal and source.
    let (status, body) = query(
        &app,
        &site.key,
        json!({"site_id": "stats.example", "metrics": ["visitors"], "date_range": "7d",
               "dimensions": ["event:goal", "visit:source"], "filters": [["is_not", "event:goal", ["Sales", "Sales USD"]]],
               "order_by": [["event:goal", "asc"], ["visit:source", "asc"]]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([
            {"dimensions": ["Signup", "Direct / None"], "metrics": [1]},
            {"dimensions": ["Visit /pric*", "Google"], "metrics": [2]},
        ]),
        "{body}"
    );
}

#[tokio::test]
async fn goal_metrics_refuse_what_they_cannot_answer() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    goals(
        &app,
        &site,
        &[
            json!({"name": "Sales", "event_name": "Purchase", "currency": "EUR"}),
            json!({"name": "Donation", "event_name": "Donate", "currency": "USD"}),
        ],
    )
    .await;
    let cases = [
        (json!({"metrics": ["conversion_rate"]}), "invalid_metric"),
        (
            json!({"metrics": ["visitors"], "filters": [["or", [["is", "event:goal", ["Sales"]], ["is", "visit:source", ["Google"]]]]]}),
            "invalid_filter",
        ),
        (
            json!({"metrics": ["total_revenue"], "filters": [["contains", "event:goal", ["a"]]]}),
            "mixed_currencies",
        ),
        (
            json!({"metrics": ["group_conversion_rate"], "dimensions": ["event:goal"]}),
            "unsupported_metric",
        ),
    ];
    for (extra, kind) in cases {
        let mut body = json!({"site_id": "stats.example", "date_range": "7d"});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, problem) = query(&app, &site.key, body.clone()).await;
        assert_eq!(status, 400, "{body} → {problem}");
        assert_eq!(
            problem["type"],
            format!("https://beacon.dev/problems/{kind}"),
            "{body} → {problem}"
        );
    }
}

async fn goal_ids(app: &TestApp, site: &Site) -> std::collections::HashMap<String, String> {
    let (status, list) = app
        .json(
            &As::Key(site.key.clone()),
            "GET",
            &format!("/api/v1/orgs/{}/projects/{}/goals", site.org, site.project),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap().to_owned(),
                g["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn funnels_count_steps_in_order_with_dropoff() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    goals(
        &app,
        &site,
        &[
            json!({"name": "Home", "page_path": "/"}),
            json!({"name": "Pricing", "page_path": "/pricing"}),
            json!({"event_name": "Signup"}),
        ],
    )
    .await;
    let ids = goal_ids(&app, &site).await;
    let owner = As::User(
        app.login("owner@stats.example", crate::support::PASSWORD)
            .await,
    );
    let funnels = format!(
        "/api/v1/orgs/{}/projects/{}/funnels",
        site.org, site.project
    );
    let mut created = std::collections::HashMap::new();
    for (name, steps) in [
        ("Home to pricing", ["Home", "Pricing"]),
        ("Pricing to home", ["Pricing", "Home"]),
        ("Home to signup", ["Home", "Signup"]),
    ] {
        let steps: Vec<&String> = steps.iter().map(|s| &ids[*s]).collect();
        let (status, funnel) = app
            .json(
                &owner,
                "POST",
                &funnels,
                Some(json!({"name": name, "steps": steps})),
            )
            .await;
        assert_eq!(status, 201, "{funnel}");
        assert_eq!(funnel["steps"].as_array().unwrap().len(), 2);
        created.insert(name, funnel["id"].as_str().unwrap().to_owned());
    }
    let report = |name: &str| {
        let path = format!("{funnels}/{}/report?period=7d", created[name]);
        let app = &app;
        let key = As::Key(site.key.clone());
        async move {
            let (status, body) = app.json(&key, "GET", &path, None).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    // Visitor 1: / then /pricing. Visitor 2: /pricing only. Visitor 3: / then Signup.
    let body = report("Home to pricing").await;
    assert_eq!(body["total_visitors"], 3);
    assert_eq!(body["entered_rate"], 66.7);
    let steps: Vec<_> = body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].clone(),
                s["visitors"].clone(),
                s["conversion_rate"].clone(),
                s["dropoff"].clone(),
                s["dropoff_rate"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            (json!("Home"), json!(2), json!(100.0), json!(0), json!(0.0)),
            (
                json!("Pricing"),
                json!(1),
                json!(50.0),
                json!(1),
                json!(50.0)
            ),
        ]
    );
    // Order matters: nobody saw / after /pricing.
    let body = report("Pricing to home").await;
    assert_eq!(body["steps"][0]["visitors"], 2);
    assert_eq!(body["steps"][1]["visitors"], 0);
    assert_eq!(body["steps"][1]["dropoff_rate"], 100.0);
    let body = report("Home to signup").await;
    assert_eq!(body["steps"][1]["visitors"], 1);

    // Bad funnels, and a goal in use.
    for (steps, status, kind) in [
        (json!([ids["Home"]]), 422, "invalid_funnel"),
        (json!([ids["Home"], ids["Home"]]), 422, "invalid_funnel"),
        (
            json!([ids["Home"], uuid::Uuid::now_v7()]),
            422,
            "invalid_funnel",
        ),
    ] {
        let resp = app
            .call(
                &owner,
                "POST",
                &funnels,
                Some(json!({"name": "Bad", "steps": steps})),
            )
            .await;
        crate::support::assert_problem(resp, status, kind).await;
    }
    let resp = app
        .call(
            &owner,
            "POST",
            &funnels,
            Some(json!({"name": "Home to pricing", "steps": [ids["Home"], ids["Signup"]]})),
        )
        .await;
    crate::support::assert_problem(resp, 409, "funnel_exists").await;
    let goal = format!(
        "/api/v1/orgs/{}/projects/{}/goals/{}",
        site.org, site.project, ids["Signup"]
    );
    let problem = crate::support::assert_problem(
        app.call(&owner, "DELETE", &goal, None).await,
        409,
        "goal_in_use",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Home to signup")
    );
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{funnels}/{}", created["Home to signup"]),
            None,
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 204);
    assert_eq!(
        app.call(&owner, "DELETE", &goal, None)
            .await
            .0
            .status()
            .as_u16(),
        204
    );
    let resp = app
        .call(
            &As::Key(site.key.clone()),
            "GET",
            &format!("{funnels}/{}/report", created["Home to signup"]),
            None,
        )
        .await;
    crate::support::assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn weekly_retention_cohorts_and_the_rotation_they_depend_on() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let today = test_now().date_naive();
    let monday = today
        - chrono::Days::new(u64::from(
            chrono::Datelike::weekday(&today).num_days_from_monday(),
        ));
    let at = |weeks_ago: u64| {
        (monday - chrono::Days::new(7 * weeks_ago))
            .and_hms_opt(0, 30, 0)
            .unwrap()
            .and_utc()
    };
    store(
        &app,
        vec![
            event(&site, 10, at(2), "pageview", "/", None),
            event(&site, 10, at(0), "pageview", "/", None),
            event(&site, 11, at(2), "pageview", "/", None),
            event(&site, 12, at(1), "pageview", "/", None),
            event(&site, 12, at(0), "pageview", "/", None),
        ],
    )
    .await;
    let path = format!(
        "/api/v1/orgs/{}/projects/{}/retention?weeks=3",
        site.org, site.project
    );
    let key = As::Key(site.key.clone());
    let (status, body) = app.json(&key, "GET", &path, None).await;
    assert_eq!(status, 200, "{body}");
    let week = |n: u64| (monday - chrono::Days::new(7 * n)).to_string();
    assert_eq!(
        body["cohorts"],
        json!([
            {"week": week(2), "visitors": 2, "returning": [2, 0, 1], "retention": [100.0, 0.0, 50.0]},
            {"week": week(1), "visitors": 1, "returning": [1, 1], "retention": [100.0, 100.0]},
            {"week": week(0), "visitors": 3, "returning": [3], "retention": [100.0]},
        ]),
        "{body}"
    );
    assert_eq!(body["salt_rotation_hours"], 24);
    assert_eq!(body["limited_by_rotation"], true);

    // The owner may choose a longer rotation; the report then says it is not limited.
    let owner = As::User(
        app.login("owner@stats.example", crate::support::PASSWORD)
            .await,
    );
    let project = format!("/api/v1/orgs/{}/projects/{}", site.org, site.project);
    let (status, updated) = app
        .json(
            &owner,
            "PATCH",
            &project,
            Some(json!({"salt_rotation_hours": 720, "retention_days": 400})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["salt_rotation_hours"], 720);
    assert_eq!(updated["retention_days"], 400);
    let (_, body) = app.json(&key, "GET", &path, None).await;
    assert_eq!(body["limited_by_rotation"], false);
    for bad in [
        json!({"salt_rotation_hours": 0}),
        json!({"salt_rotation_hours": 721}),
        json!({"retention_days": 0}),
    ] {
        let resp = app.call(&owner, "PATCH", &project, Some(bad)).await;
        crate::support::assert_problem(resp, 400, "invalid_request").await;
    }
    let resp = app
        .call(&key, "GET", &path.replace("weeks=3", "weeks=27"), None)
        .await;
    crate::support::assert_problem(resp, 400, "invalid_weeks").await;
}
