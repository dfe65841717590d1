//! Custom dashboards through the API: widgets saved and read back as sent, a stale edit refused
//! with nothing lost, bad widgets refused with nothing saved, duplicating and arranging, roles,
//! and the plan gate when billing is on.

use serde_json::{Value, json};
use tenant::tables::memberships::Role;

use crate::support::{As, TestApp, assert_problem};

fn widgets(funnel: &Value) -> Value {
    json!([
        {"id": "visitors", "kind": "metric", "title": "Visitors", "x": 0, "y": 0, "w": 3, "h": 2,
         "query": {"metrics": ["visitors", "pageviews"]}},
        {"id": "trend", "kind": "time_series", "title": "Trend", "x": 3, "y": 0, "w": 9, "h": 4,
         "query": {"metrics": ["visitors"], "dimensions": ["time:day"]}, "period": "7d"},
        {"id": "countries", "kind": "breakdown", "title": "Mobile by country", "x": 0, "y": 4,
         "w": 6, "h": 5, "query": {"metrics": ["visitors"], "dimensions": ["visit:country"],
         "filters": [["is", "visit:device", ["Mobile"]]]}},
        {"id": "flow", "kind": "funnel", "title": "", "x": 6, "y": 4, "w": 6, "h": 5,
         "funnel_id": funnel},
        {"id": "note", "kind": "note", "title": "Read me", "x": 0, "y": 9, "w": 12, "h": 2,
         "text": "**v2.3** shipped <script>alert(1)</script>"},
        {"id": "errors", "kind": "errors", "title": "Errors", "x": 0, "y": 11, "w": 4, "h": 4},
        {"id": "vitals", "kind": "vitals", "title": "Vitals", "x": 4, "y": 11, "w": 4, "h": 4},
        {"id": "retention", "kind": "retention", "title": "Retention", "x": 8, "y": 11, "w": 4, "h": 4}
    ])
}

/// `value` without the `null` fields the API answers for fields a widget does not use.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[tokio::test]
async fn widgets_are_kept_as_sent_and_a_stale_edit_loses_nothing() {
    let app = TestApp::new().await;
    let owner = app.user("owner@boards.test").await;
    let org = app.org(&owner, "Boards").await;
    let who = As::User(owner);
    let project = app.project(&who, org, "boards.example").await;
    let base = format!(
        "/api/v1/orgs/{org}/projects/{}",
        project["id"].as_str().unwrap()
    );
    let mut goals = Vec::new();
    for goal in [json!({"page_path": "/"}), json!({"event_name": "Signup"})] {
        let (_, goal) = app
            .json(&who, "POST", &format!("{base}/goals"), Some(goal))
            .await;
        goals.push(goal["id"].clone());
    }
    let (status, funnel) = app
        .json(
            &who,
            "POST",
            &format!("{base}/funnels"),
            Some(json!({"name": "Signup", "steps": goals})),
        )
        .await;
    assert_eq!(status, 201, "{funnel}");

    let sent = json!({"name": "Launch week", "period": "30d",
        "filters": [["is", "visit:country", ["DE"]]], "widgets": widgets(&funnel["id"])});
    let (status, made) = app
        .json(
            &who,
            "POST",
            &format!("{base}/dashboards"),
            Some(sent.clone()),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["version"], 1);
    let path = format!("{base}/dashboards/{}", made["id"].as_str().unwrap());
    let (status, read) = app.json(&who, "GET", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        without_nulls(&read["widgets"]),
        sent["widgets"],
        "every widget read back as sent"
    );
    assert_eq!(read["filters"], sent["filters"]);
    assert_eq!(read["period"], "30d");

    // Alice and Bob both read version 1. Alice moves a widget and saves: version 2.
    let mut alice = sent.clone();
    alice["widgets"][0]["x"] = json!(9);
    alice["widgets"][1]["x"] = json!(0);
    alice["version"] = json!(1);
    let (status, saved) = app.json(&who, "PUT", &path, Some(alice.clone())).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 2);
    // Bob saves his rename on version 1: refused, naming both versions; Alice's move stays.
    let mut bob = sent.clone();
    bob["name"] = json!("Bob's week");
    bob["version"] = json!(1);
    let resp = app.call(&who, "PUT", &path, Some(bob.clone())).await;
    let problem = assert_problem(resp, 409, "dashboard_conflict").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("version 1") && detail.contains("version 2"),
        "{detail}"
    );
    let (_, now) = app.json(&who, "GET", &path, None).await;
    assert_eq!(now["name"], "Launch week");
    assert_eq!(now["widgets"][0]["x"], 9, "Alice's change is kept");
    // After reloading (version 2) Bob's rename goes through.
    bob["version"] = json!(2);
    bob["widgets"] = now["widgets"].clone();
    let (status, renamed) = app.json(&who, "PUT", &path, Some(bob)).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(
        (renamed["name"].as_str(), renamed["version"].as_i64()),
        (Some("Bob's week"), Some(3))
    );
    assert_eq!(renamed["widgets"][0]["x"], 9);

    // Bad widgets are refused, naming the widget, and nothing changes.
    let bad_cases = [
        (
            json!({"id": "a", "kind": "breakdown", "x": 0, "y": 0, "w": 4, "h": 2,
                "query": {"metrics": ["visitors"]}}),
            "invalid_dashboard",
            "widget a:",
        ),
        (
            json!({"id": "a", "kind": "metric", "x": 10, "y": 0, "w": 4, "h": 2,
                "query": {"metrics": ["visitors"]}}),
            "invalid_dashboard",
            "x + w",
        ),
        (
            json!({"id": "a", "kind": "metric", "x": 0, "y": 0, "w": 4, "h": 2,
                "query": {"metrics": ["visitors"], "site_id": "elsewhere.example"}}),
            "invalid_dashboard",
            "site_id",
        ),
        (
            json!({"id": "a", "kind": "metric", "x": 0, "y": 0, "w": 4, "h": 2,
                "query": {"metrics": ["hugs"]}}),
            "invalid_metric",
            "widget a: unknown metric",
        ),
        (
            json!({"id": "a", "kind": "funnel", "x": 0, "y": 0, "w": 4, "h": 2,
                "funnel_id": "0190f2c4-0000-7000-8000-000000000009"}),
            "invalid_dashboard",
            "no funnel 0190f2c4",
        ),
        (
            json!({"id": "a b", "kind": "note", "x": 0, "y": 0, "w": 4, "h": 2, "text": "x"}),
            "invalid_dashboard",
            "widget ids",
        ),
    ];
    for (widget, kind, needle) in bad_cases {
        let body = json!({"name": "Bad", "version": 3, "widgets": [widget]});
        let resp = app.call(&who, "PUT", &path, Some(body)).await;
        let problem = assert_problem(resp, 400, kind).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{problem}"
        );
    }
    let (_, after) = app.json(&who, "GET", &path, None).await;
    assert_eq!(after["version"], 3, "nothing was saved");
    let resp = app
        .call(
            &who,
            "PUT",
            &path,
            Some(json!({"name": "x", "version": 3, "period": "decade"})),
        )
        .await;
    assert_problem(resp, 400, "invalid_date_range").await;
    let resp = app
        .call(
            &who,
            "PUT",
            &path,
            Some(json!({"name": "x", "version": 3, "filters": [["is", "visit:planet", ["Mars"]]]})),
        )
        .await;
    assert_problem(resp, 400, "invalid_dimension").await;

    // Duplicate: a copy placed last; arrange: the copy first and the default.
    let (status, copy) = app
        .json(&who, "POST", &format!("{path}/duplicate"), None)
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["name"], "Bob's week (copy)");
    assert_eq!(copy["widgets"], after["widgets"]);

    // Dashboards use shared segments: a personal one is refused, naming why; shared, it saves.
    let segments = format!("{base}/segments");
    let (_, personal) = app
        .json(
            &who,
            "POST",
            &segments,
            Some(json!({"name": "Mine", "filters": [["is", "event:page", ["/"]]]})),
        )
        .await;
    let with_segment =
        |id: &Value| json!({"name": "Segmented", "filters": [["is", "segment", [id]]]});
    let resp = app
        .call(
            &who,
            "POST",
            &format!("{base}/dashboards"),
            Some(with_segment(&personal["id"])),
        )
        .await;
    let problem = assert_problem(resp, 400, "invalid_filter").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("shared segments only"),
        "{problem}"
    );
    let (_, shared) = app
        .json(
            &who,
            "POST",
            &segments,
            Some(json!({"name": "Ours", "shared": true, "filters": [["is", "event:page", ["/"]]]})),
        )
        .await;
    let (status, segmented) = app
        .json(
            &who,
            "POST",
            &format!("{base}/dashboards"),
            Some(with_segment(&shared["id"])),
        )
        .await;
    assert_eq!(status, 201, "{segmented}");
    let resp = app
        .call(
            &who,
            "DELETE",
            &format!("{base}/dashboards/{}", segmented["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);

    assert_eq!(copy["version"], 1);
    let (_, list) = app
        .json(&who, "GET", &format!("{base}/dashboards"), None)
        .await;
    assert_eq!(list[1]["id"], copy["id"]);
    assert_eq!(list[0]["widget_count"], 8);
    let arrangement = format!("{base}/dashboard-arrangement");
    let (status, list) = app
        .json(
            &who,
            "PUT",
            &arrangement,
            Some(json!({"order": [copy["id"], made["id"]], "default_id": made["id"]})),
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list[0]["id"], copy["id"]);
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .map(|d| d["is_default"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        vec![false, true]
    );
    let resp = app
        .call(
            &who,
            "PUT",
            &arrangement,
            Some(json!({"order": [copy["id"]], "default_id": null})),
        )
        .await;
    assert_problem(resp, 400, "invalid_dashboard").await;
    let (_, unchanged) = app
        .json(&who, "GET", &format!("{base}/dashboards"), None)
        .await;
    assert_eq!(unchanged, list, "a refused arrangement changes nothing");

    // Viewers read and change nothing; deleting goes through for a member.
    let viewer_session = app.user("viewer@boards.test").await;
    app.add_member(org, &viewer_session, Role::Viewer).await;
    let viewer = As::User(viewer_session);
    let (status, _) = app.json(&viewer, "GET", &path, None).await;
    assert_eq!(status, 200);
    let resp = app
        .call(
            &viewer,
            "POST",
            &format!("{base}/dashboards"),
            Some(json!({"name": "V"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .call(
            &who,
            "DELETE",
            &format!("{base}/dashboards/{}", copy["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, list) = app
        .json(&who, "GET", &format!("{base}/dashboards"), None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn with_billing_custom_dashboards_need_a_plan_that_has_them() {
    let stripe = crate::fake_stripe::FakeStripe::start();
    let app = stripe.app().await;
    let owner = app.user("owner@free-boards.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Free").await;
    let project = app.project(&who, org, "free-boards.example").await;
    let base = format!(
        "/api/v1/orgs/{org}/projects/{}",
        project["id"].as_str().unwrap()
    );
    let resp = app
        .call(
            &who,
            "POST",
            &format!("{base}/dashboards"),
            Some(json!({"name": "Mine"})),
        )
        .await;
    let problem = assert_problem(resp, 402, "plan_required").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Team"),
        "{problem}"
    );
    // The control: listing (nothing gated) answers, and saved segments are not gated.
    let (status, list) = app
        .json(&who, "GET", &format!("{base}/dashboards"), None)
        .await;
    assert_eq!((status, list), (200, json!([])));
    let (status, _) = app
        .json(
            &who,
            "POST",
            &format!("{base}/segments"),
            Some(json!({"name": "Home", "filters": [["is", "event:page", ["/"]]]})),
        )
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn custom_dashboards_in_chromium() {
    let app = TestApp::new().await;
    let owner = app.user("owner@browser-boards.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Boarding").await;
    let project = app.project(&who, org, "boards.example").await;
    let p = project["id"].as_str().unwrap().to_owned();
    // Five visitors today, three of whom saw /pricing.
    crate::alerts::pageviews_of(&app, "boards.example", "/", 5).await;
    crate::alerts::pageviews_of(&app, "boards.example", "/pricing", 3).await;
    // Another organization's site, which the shared link must not reach.
    crate::stats::site(&app, "stats.example", "UTC").await;
    let port = app.listen().await;
    let scratch = std::env::temp_dir();
    let report = tokio::task::spawn_blocking(move || {
        crate::support::run_journey(
            "boards.mjs",
            port,
            &scratch,
            &[
                "owner@browser-boards.test".into(),
                crate::support::PASSWORD.into(),
                org.to_string(),
                p,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(report["problems"], json!([]), "{report:#}");
    // The segment shows what its filter shows; without it, everybody (the control).
    assert_eq!(report["filteredVisitors"], "3", "{report:#}");
    assert_eq!(report["segmentVisitors"], "3");
    assert_eq!(report["segmentAfterReload"], "Pricing visitors (shared)");
    assert_eq!(report["segmentVisitorsAfterReload"], "3");
    assert_eq!(report["allVisitors"], "5");
    // The annotation is listed and marked on today's hourly graph (one marker).
    assert!(
        report["annotation"]
            .as_str()
            .unwrap()
            .contains("v2.3 deployed"),
        "{report:#}"
    );
    assert_eq!(
        report["markers"].as_str().unwrap().split(',').count(),
        1,
        "{report:#}"
    );
    // The annotation's own thread holds the comment made under the graph.
    assert_eq!(report["annotationThread"], json!(["Shipped at lunch"]));
    // The note shows the script as text, runs nothing and drops the javascript: link, while
    // its bold text is drawn.
    let note = report["noteText"].as_str().unwrap();
    assert!(
        note.contains("v2.3 shipped <script>window.__owned = 1</script>"),
        "{note}"
    );
    assert_eq!(report["noteScriptElements"], 0);
    assert_eq!(report["noteLinks"], 0);
    assert_eq!(report["owned"], Value::Null);
    let csp = report["boardCsp"].as_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // Four widgets saved; the drag moved the note to the top left, and the reload kept it.
    let saved = report["savedWidgets"].as_array().unwrap();
    assert_eq!(saved.len(), 4, "{report:#}");
    let note_before = saved.iter().find(|w| w["kind"] == "note").unwrap();
    assert!(note_before["y"].as_i64().unwrap() > 0, "{note_before}");
    let moved = report["movedWidgets"].as_array().unwrap();
    let note_after = moved.iter().find(|w| w["kind"] == "note").unwrap();
    assert_eq!(
        (note_after["x"].as_i64(), note_after["y"].as_i64()),
        (Some(0), Some(0)),
        "{report:#}"
    );
    assert_eq!(report["versionAfterMove"], 3);
    assert_eq!(report["noteAtTopLeft"], true);
    // The second tab's stale save was refused and the first tab's name kept.
    assert!(
        report["conflict"]
            .as_str()
            .unwrap()
            .contains("nothing was saved"),
        "{report:#}"
    );
    assert_eq!(report["nameAfterConflict"], "First tab's name");
    // A comment renders its Markdown and shows an image tag as text; nothing ran.
    let comment = report["comment"].as_str().unwrap();
    assert!(comment.contains("Traffic doubled <img src=x"), "{comment}");
    assert_eq!(report["commentImages"], 0);
    // The Visitors widget (w1) has its own thread.
    assert_eq!(report["widgetThread"], json!(["Why did this double?"]));
    let newest = report["activityNewest"].as_str().unwrap();
    assert!(
        newest.contains("commented on a widget: “Why did this double?”"),
        "{newest}"
    );
    // A phone: one column of four, no grid.
    assert_eq!(
        (report["phoneColumn"].as_i64(), report["phoneGrid"].as_i64()),
        (Some(4), Some(0))
    );
    for (page, violations) in report["a11y"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {page}");
    }
    assert_eq!(report["a11y"].as_object().unwrap().len(), 12, "{report:#}");
    // Shared with a password: the stranger gets in with it only, sees the data (five visitors
    // in 30 days) and the note, reaches no other site and writes nothing; pausing stops them.
    assert_eq!(
        report["sharedUrlShape"],
        format!("http://beacon.test:{port}/share/…")
    );
    assert!(
        report["wrongPassword"]
            .as_str()
            .unwrap()
            .contains("wrong password"),
        "{report:#}"
    );
    assert_eq!(report["sharedHeading"], "First tab's name");
    assert_eq!(report["sharedVisitors"], "5");
    assert!(
        report["sharedNote"]
            .as_str()
            .unwrap()
            .contains("v2.3 shipped")
    );
    assert_eq!(
        report["visitorTries"],
        json!({"ownSite": 200, "otherSite": 404, "write": 401, "membersRead": 401})
    );
    assert!(
        report["afterPause"].as_str().unwrap().contains("paused"),
        "{report:#}"
    );
    assert!(report["twelveWidgetLoadMs"]["median"].as_i64().unwrap() > 0);
}
