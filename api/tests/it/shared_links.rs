//! Shared links: a visitor without an account reads the link's project (the same numbers as its
//! members), nothing of another project or organization, never writes; pausing, revoking and
//! expiry stop the next request; a segment limits every number; passwords need a grant and
//! wrong ones are throttled; only an open link without a password may be framed, by its
//! origins.

use chrono::Duration;
use serde_json::{Value, json};
use tenant::tables::memberships::Role;

use crate::stats::{fixture, site, test_now};
use crate::support::{As, PASSWORD, TestApp, assert_problem, status_and_json};

fn day_query(site: &str) -> Value {
    json!({"site_id": site, "metrics": ["visitors", "pageviews"], "date_range": "day"})
}

/// The token at the end of a link's address.
fn token_of(link: &Value) -> String {
    let path = link["path"].as_str().unwrap();
    path.strip_prefix("/share/").unwrap().to_owned()
}

async fn visit(
    app: &TestApp,
    method: &str,
    path: &str,
    grant: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = match method {
        "GET" => app.client.get(path),
        _ => app.client.post(path),
    };
    if let Some(grant) = grant {
        req = req.header("x-beacon-share-grant", grant);
    }
    if let Some(body) = body {
        req = req.body_json(&body);
    }
    status_and_json(req.send().await).await
}

#[tokio::test]
async fn a_link_reads_its_project_only_until_it_is_paused_revoked_or_expired() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let base = format!("/api/v1/orgs/{}/projects/{}", site.org, site.project);
    let (status, link) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/shared-links"),
            Some(json!({"name": "Investors"})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    assert!(
        link["path"].as_str().unwrap().starts_with("/share/"),
        "{link}"
    );
    let token = token_of(&link);
    let shared = format!("/api/v1/shared/{token}");

    // The visitor sees the project and the same numbers as its members.
    let (status, view) = visit(&app, "GET", &shared, None, None).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["site_id"].as_str(), view["dashboard"].is_null()),
        (Some("stats.example"), true)
    );
    let (status, answer) = visit(
        &app,
        "POST",
        &format!("{shared}/query"),
        None,
        Some(day_query("stats.example")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (_, members) = app
        .json(
            &owner,
            "POST",
            "/api/v2/query",
            Some(day_query("stats.example")),
        )
        .await;
    assert_eq!(answer["results"], members["results"]);
    assert_eq!(answer["results"][0]["metrics"], json!([3, 5]));

    // Another project of the organization, and another organization's site: not found.
    let (status, _) = app
        .json(
            &owner,
            "POST",
            &format!("/api/v1/orgs/{}/projects", site.org),
            Some(json!({"name": "Other", "domains": ["other-project.example"], "timezone": "UTC"})),
        )
        .await;
    assert_eq!(status, 201);
    site_elsewhere(&app).await;
    for other in ["other-project.example", "elsewhere.example"] {
        let (status, body) = visit(
            &app,
            "POST",
            &format!("{shared}/query"),
            None,
            Some(day_query(other)),
        )
        .await;
        assert_eq!(status, 404, "{other}: {body}");
    }
    // A made-up or altered token is not found either.
    let altered = format!("{}x", &token[..token.len() - 1]);
    for bad in [altered.as_str(), "nonsense", "a.b.c"] {
        let (status, _) = visit(&app, "GET", &format!("/api/v1/shared/{bad}"), None, None).await;
        assert_eq!(status, 404, "{bad}");
    }
    // The link gives no session: writes and member reads are refused.
    let resp = app
        .call(
            &As::Nobody,
            "POST",
            &format!("{base}/dashboards"),
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(resp.0.status(), 401);
    let resp = app
        .call(&As::Nobody, "GET", &format!("{base}/goals"), None)
        .await;
    assert_eq!(resp.0.status(), 401);

    // Paused: 410 from the next request; resumed: back.
    let manage = format!(
        "/api/v1/orgs/{}/shared-links/{}",
        site.org,
        link["link"]["id"].as_str().unwrap()
    );
    let (status, _) = app
        .json(&owner, "PATCH", &manage, Some(json!({"paused": true})))
        .await;
    assert_eq!(status, 200);
    let (status, problem) = visit(
        &app,
        "POST",
        &format!("{shared}/query"),
        None,
        Some(day_query("stats.example")),
    )
    .await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (410, Some("https://beacon.dev/problems/shared_link_closed"))
    );
    assert!(problem["detail"].as_str().unwrap().contains("paused"));
    let (status, _) = app
        .json(&owner, "PATCH", &manage, Some(json!({"paused": false})))
        .await;
    assert_eq!(status, 200);
    let (status, _) = visit(&app, "GET", &shared, None, None).await;
    assert_eq!(status, 200);

    // Members see and manage their own links; admins all.
    let member_session = app.user("member@stats.example").await;
    app.add_member(site.org, &member_session, Role::Member)
        .await;
    let member = As::User(member_session);
    let (_, listed) = app
        .json(
            &member,
            "GET",
            &format!("/api/v1/orgs/{}/shared-links", site.org),
            None,
        )
        .await;
    assert_eq!(listed, json!([]));
    let resp = app.call(&member, "DELETE", &manage, None).await;
    assert_problem(resp, 403, "forbidden").await;
    let (_, listed) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{}/shared-links", site.org),
            None,
        )
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // Revoked: gone at once.
    let resp = app.call(&owner, "DELETE", &manage, None).await;
    assert_eq!(resp.0.status(), 204);
    let (status, _) = visit(&app, "GET", &shared, None, None).await;
    assert_eq!(status, 404);

    // Expiring: works until its time, then 410.
    let (_, expiring) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/shared-links"),
            Some(json!({"name": "Board meeting", "expires_at": test_now() + Duration::hours(1)})),
        )
        .await;
    let expiring = format!("/api/v1/shared/{}", token_of(&expiring));
    let (status, _) = visit(&app, "GET", &expiring, None, None).await;
    assert_eq!(status, 200);
    app.set_now(test_now() + Duration::hours(2));
    let (status, problem) = visit(&app, "GET", &expiring, None, None).await;
    assert_eq!(status, 410);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
}

async fn site_elsewhere(app: &TestApp) {
    site(app, "elsewhere.example", "UTC").await;
}

#[tokio::test]
async fn a_segment_limits_every_number_and_bad_settings_are_refused() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let base = format!("/api/v1/orgs/{}/projects/{}", site.org, site.project);
    let segment_body = |shared: bool| {
        json!({"name": "Pricing", "shared": shared,
        "filters": [["is", "event:page", ["/pricing"]]]})
    };
    let (_, personal) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/segments"),
            Some(segment_body(false)),
        )
        .await;
    let (_, shared_segment) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/segments"),
            Some(segment_body(true)),
        )
        .await;
    let links = format!("{base}/shared-links");
    for (body, needle) in [
        (
            json!({"name": "x", "segment_id": personal["id"]}),
            "shared segment",
        ),
        (json!({"name": "x", "password": "short"}), "at least 8"),
        (
            json!({"name": "x", "password": "long enough", "embed_origins": ["https://a.example"]}),
            "cannot be embedded",
        ),
        (
            json!({"name": "x", "embed_origins": ["https://a.example/path"]}),
            "not an origin",
        ),
        (
            json!({"name": "x", "expires_at": test_now() - Duration::hours(1)}),
            "past",
        ),
        (
            json!({"name": "x", "dashboard_id": site.project}),
            "no dashboard",
        ),
    ] {
        let resp = app.call(&owner, "POST", &links, Some(body.clone())).await;
        let problem = assert_problem(resp, 422, "invalid_shared_link").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(needle),
            "{body}: {problem}"
        );
    }
    let (_, listed) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{}/shared-links", site.org),
            None,
        )
        .await;
    assert_eq!(listed, json!([]), "nothing was saved");

    let (status, link) = app
        .json(
            &owner,
            "POST",
            &links,
            Some(json!({"name": "Pricing only", "segment_id": shared_segment["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let shared = format!("/api/v1/shared/{}", token_of(&link));
    let (_, view) = visit(&app, "GET", &shared, None, None).await;
    assert_eq!(view["segment"], "Pricing");
    // Two of the three visitors saw /pricing; the visitor's own filter only narrows further.
    let (status, answer) = visit(
        &app,
        "POST",
        &format!("{shared}/query"),
        None,
        Some(day_query("stats.example")),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["metrics"], json!([2, 2]));
    let mut wider = day_query("stats.example");
    wider["filters"] = json!([["is_not", "event:page", ["/pricing"]]]);
    let (_, answer) = visit(&app, "POST", &format!("{shared}/query"), None, Some(wider)).await;
    assert_eq!(answer["results"][0]["metrics"], json!([0, 0]), "{answer}");
    // The segment cannot be deleted or made personal while the link uses it.
    let segment = format!("{base}/segments/{}", shared_segment["id"].as_str().unwrap());
    let resp = app.call(&owner, "DELETE", &segment, None).await;
    let problem = assert_problem(resp, 409, "conflict").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Pricing only"),
        "{problem}"
    );
    let resp = app
        .call(&owner, "PUT", &segment, Some(segment_body(false)))
        .await;
    assert_problem(resp, 409, "conflict").await;
}

#[tokio::test]
async fn a_password_needs_a_grant_and_wrong_passwords_are_throttled() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let links = format!(
        "/api/v1/orgs/{}/projects/{}/shared-links",
        site.org, site.project
    );
    let make = async |name: &str| {
        let (status, link) = app
            .json(
                &owner,
                "POST",
                &links,
                Some(json!({"name": name, "password": "open sesame 42"})),
            )
            .await;
        assert_eq!(status, 201, "{link}");
        format!("/api/v1/shared/{}", token_of(&link))
    };
    let locked = make("Locked").await;
    let other = make("Other").await;
    let (status, problem) = visit(&app, "GET", &locked, None, None).await;
    assert_eq!(
        (status, problem["type"].as_str()),
        (401, Some("https://beacon.dev/problems/shared_link_locked"))
    );
    let (status, _) = visit(
        &app,
        "POST",
        &format!("{locked}/query"),
        None,
        Some(day_query("stats.example")),
    )
    .await;
    assert_eq!(status, 401);

    let (status, granted) = visit(
        &app,
        "POST",
        &format!("{locked}/unlock"),
        None,
        Some(json!({"password": "open sesame 42"})),
    )
    .await;
    assert_eq!(status, 200, "{granted}");
    let grant = granted["grant"].as_str().unwrap();
    let (status, _) = visit(&app, "GET", &locked, Some(grant), None).await;
    assert_eq!(status, 200);
    let (status, answer) = visit(
        &app,
        "POST",
        &format!("{locked}/query"),
        Some(grant),
        Some(day_query("stats.example")),
    )
    .await;
    assert_eq!(
        (status, answer["results"][0]["metrics"].clone()),
        (200, json!([3, 5]))
    );
    // A grant opens its own link only.
    let (status, _) = visit(&app, "GET", &other, Some(grant), None).await;
    assert_eq!(status, 401);

    // Five wrong passwords, then 429 with Retry-After, even for the right one.
    for _ in 0..5 {
        let (status, problem) = visit(
            &app,
            "POST",
            &format!("{locked}/unlock"),
            None,
            Some(json!({"password": "guess"})),
        )
        .await;
        assert_eq!(status, 401, "{problem}");
    }
    let resp = app
        .client
        .post(format!("{locked}/unlock"))
        .body_json(&json!({"password": "open sesame 42"}))
        .send()
        .await;
    assert_eq!(resp.0.status(), 429);
    assert!(resp.0.headers().contains_key("retry-after"));
    // The other link has its own count (the control).
    let (status, _) = visit(
        &app,
        "POST",
        &format!("{other}/unlock"),
        None,
        Some(json!({"password": "open sesame 42"})),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn only_an_open_link_without_a_password_is_framed_by_its_origins() {
    let app = TestApp::new().await;
    let site = fixture(&app).await;
    let owner = As::User(app.login("owner@stats.example", PASSWORD).await);
    let links = format!(
        "/api/v1/orgs/{}/projects/{}/shared-links",
        site.org, site.project
    );
    let (_, embeddable) = app
        .json(
            &owner,
            "POST",
            &links,
            Some(json!({"name": "Intranet", "embed_origins": ["https://Intranet.example.com"]})),
        )
        .await;
    assert_eq!(
        embeddable["link"]["embed_origins"],
        json!(["https://intranet.example.com"])
    );
    let (_, plain) = app
        .json(&owner, "POST", &links, Some(json!({"name": "Plain"})))
        .await;
    let page = async |link: &Value| {
        let resp = app
            .client
            .get(format!("/share/{}", token_of(link)))
            .header("accept", "text/html")
            .send()
            .await;
        resp.assert_status_is_ok();
        let headers = resp.0.headers();
        let csp = headers["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        (
            csp,
            headers
                .get("x-frame-options")
                .map(|v| v.to_str().unwrap().to_owned()),
        )
    };
    let (csp, frame_options) = page(&embeddable).await;
    assert!(
        csp.contains("frame-ancestors https://intranet.example.com;"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert_eq!(frame_options, None);
    // The control: a link without origins is framed by nobody.
    let (csp, frame_options) = page(&plain).await;
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(frame_options.as_deref(), Some("DENY"));
    // Paused, the embeddable one is framed by nobody either.
    let manage = format!(
        "/api/v1/orgs/{}/shared-links/{}",
        site.org,
        embeddable["link"]["id"].as_str().unwrap()
    );
    let (status, _) = app
        .json(&owner, "PATCH", &manage, Some(json!({"paused": true})))
        .await;
    assert_eq!(status, 200);
    let (csp, _) = page(&embeddable).await;
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}
