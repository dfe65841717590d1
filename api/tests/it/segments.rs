//! Saved segments: a segment in a Stats API query answers exactly what its filters answer;
//! personal segments are their owner's alone, shared ones everybody's (API keys included);
//! who may change them; bad filters are refused; another organization's segment is unknown.

use serde_json::{Value, json};
use tenant::tables::memberships::Role;

use crate::stats::{fixture, query};
use crate::support::{As, PASSWORD, TestApp, assert_problem};

fn body(filters: Value) -> Value {
    json!({"site_id": "stats.example", "metrics": ["visitors", "pageviews"],
           "date_range": "day", "filters": filters})
}

async fn save(
    app: &TestApp,
    who: &As,
    path: &str,
    name: &str,
    filters: Value,
    shared: bool,
) -> Value {
    let (status, segment) = app
        .json(
            who,
            "POST",
            path,
            Some(json!({"name": name, "filters": filters, "shared": shared})),
        )
        .await;
    assert_eq!(status, 201, "{segment}");
    segment
}

#[tokio::test]
async fn a_segment_answers_what_its_filters_answer_for_whoever_may_see_it() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let member_session = app.user("member@stats.example").await;
    app.add_member(site.org, &member_session, Role::Member)
        .await;
    let member = As::User(member_session);
    let path = format!(
        "/api/v1/orgs/{}/projects/{}/segments",
        site.org, site.project
    );
    let pricing = json!([["is", "event:page", ["/pricing"]]]);

    // The owner's personal segment answers as its filters do, and differs from no filter.
    let personal = save(&app, &owner, &path, "Pricing", pricing.clone(), false).await;
    let id = personal["id"].as_str().unwrap().to_owned();
    assert_eq!(personal["editable"], true);
    let with_filters = app
        .json(&owner, "POST", "/api/v2/query", Some(body(pricing.clone())))
        .await;
    let with_segment = app
        .json(
            &owner,
            "POST",
            "/api/v2/query",
            Some(body(json!([["is", "segment", [id]]]))),
        )
        .await;
    assert_eq!(with_segment.0, 200, "{}", with_segment.1);
    assert_eq!(with_segment.1["results"], with_filters.1["results"]);
    assert_eq!(with_filters.1["results"][0]["metrics"], json!([2, 2]));
    let unfiltered = app
        .json(&owner, "POST", "/api/v2/query", Some(body(json!([]))))
        .await;
    assert_eq!(unfiltered.1["results"][0]["metrics"], json!([3, 5]));
    // The answer echoes the segment filter as asked.
    assert_eq!(with_segment.1["query"]["filters"][0][1], "segment");

    // Personal: the member neither lists it nor uses it, nor does a key; the owner lists it.
    let (_, listed) = app.json(&member, "GET", &path, None).await;
    assert_eq!(listed, json!([]));
    let (_, listed) = app.json(&owner, "GET", &path, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let segment_filter = json!([["is", "segment", [id]]]);
    for caller in [&member, &As::Key(site.key.clone())] {
        let resp = app
            .call(
                caller,
                "POST",
                "/api/v2/query",
                Some(body(segment_filter.clone())),
            )
            .await;
        let problem = assert_problem(resp, 400, "invalid_filter").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(&id),
            "{problem}"
        );
    }
    let resp = app
        .call(
            &member,
            "PUT",
            &format!("{path}/{id}"),
            Some(json!({"name": "Mine", "filters": pricing})),
        )
        .await;
    assert_problem(resp, 404, "not_found").await;

    // Shared: the member and the read key use it; the member may not change it, an admin may.
    let (status, shared) = app
        .json(
            &owner,
            "PUT",
            &format!("{path}/{id}"),
            Some(json!({"name": "Pricing page", "filters": pricing, "shared": true})),
        )
        .await;
    assert_eq!(status, 200, "{shared}");
    let (status, answer) = query(&app, &site.key, body(segment_filter.clone())).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"], with_filters.1["results"]);
    let (_, listed) = app.json(&member, "GET", &path, None).await;
    assert_eq!(listed[0]["editable"], false, "{listed}");
    let resp = app
        .call(&member, "DELETE", &format!("{path}/{id}"), None)
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let admin_session = app.user("admin@stats.example").await;
    app.add_member(site.org, &admin_session, Role::Admin).await;
    let admin = As::User(admin_session);
    let (_, listed) = app.json(&admin, "GET", &path, None).await;
    assert_eq!(listed[0]["editable"], true, "{listed}");

    // The CSV export reads the same rows through the segment.
    let resp = app
        .call(
            &owner,
            "POST",
            "/api/v2/query/export?format=csv",
            Some(
                json!({"site_id": "stats.example", "metrics": ["pageviews"], "date_range": "day",
                        "dimensions": ["event:page"], "filters": segment_filter}),
            ),
        )
        .await;
    resp.assert_status_is_ok();
    let csv = resp.0.into_body().into_string().await.unwrap();
    assert!(csv.contains("/pricing,2"), "{csv}");
    assert!(!csv.contains("/blog"), "{csv}");

    // Deleted by the admin: using it is refused, naming it.
    let resp = app
        .call(&admin, "DELETE", &format!("{path}/{id}"), None)
        .await;
    assert_eq!(resp.0.status(), 204);
    let resp = app
        .call(&owner, "POST", "/api/v2/query", Some(body(segment_filter)))
        .await;
    assert_problem(resp, 400, "invalid_filter").await;
}

#[tokio::test]
async fn goal_segments_stay_at_the_top_and_bad_segments_are_refused() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let base = format!("/api/v1/orgs/{}/projects/{}", site.org, site.project);
    let (status, _) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/goals"),
            Some(json!({"event_name": "Signup"})),
        )
        .await;
    assert_eq!(status, 201);
    let path = format!("{base}/segments");
    let converted = save(
        &app,
        &owner,
        &path,
        "Signed up",
        json!([["is", "event:goal", ["Signup"]]]),
        true,
    )
    .await;
    let id = converted["id"].as_str().unwrap();
    // A goal filter must be at the top level; the segment is spliced there, so the
    // conversion rate (which needs it) works: 1 of 3 visitors.
    let (status, answer) = query(
        &app,
        &site.key,
        json!({
        "site_id": "stats.example", "metrics": ["visitors", "conversion_rate"],
        "date_range": "day", "filters": [["is", "segment", [id]]]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["metrics"], json!([1, 33.33]));

    // Bad segments: no filters, an unknown dimension, a segment inside a segment, a name.
    for (filters, kind) in [
        (json!([]), "invalid_filter"),
        (
            json!([["is", "visit:planet", ["Mars"]]]),
            "invalid_dimension",
        ),
        (json!([["is", "segment", [id]]]), "invalid_filter"),
        (json!([["is_not", "segment", [id]]]), "invalid_filter"),
    ] {
        let resp = app
            .call(
                &owner,
                "POST",
                &path,
                Some(json!({"name": "Bad", "filters": filters})),
            )
            .await;
        assert_problem(resp, 400, kind).await;
    }
    let resp = app
        .call(
            &owner,
            "POST",
            &path,
            Some(json!({"name": " \u{7} ", "filters": [["is", "event:page", ["/"]]]})),
        )
        .await;
    assert_eq!(resp.0.status(), 422);
    let (_, listed) = app.json(&owner, "GET", &path, None).await;
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing bad was saved: {listed}"
    );

    // Another organization cannot use this segment id on its own site, and its answer is not
    // this site's.
    let other = crate::stats::site(&app, "other.example", "UTC").await;
    let (status, problem) = query(
        &app,
        &other.key,
        json!({
        "site_id": "other.example", "metrics": ["visitors"], "date_range": "day",
        "filters": [["is", "segment", [id]]]}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["type"],
        "https://beacon.dev/problems/invalid_filter"
    );
    // A key reading this organization's site names it fine (the control).
    let (status, _) = query(
        &app,
        &site.key,
        json!({
        "site_id": "stats.example", "metrics": ["visitors"], "date_range": "day",
        "filters": [["is", "segment", [id]]]}),
    )
    .await;
    assert_eq!(status, 200);
}
