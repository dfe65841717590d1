//! Tenant isolation at the API: for every endpoint under `/api/v1/orgs/{org_id}`, a caller
//! from a second organization (signed in, or with an admin API key) gets 404 and changes
//! nothing. A second test checks that this list covers every such endpoint in the spec.

use serde_json::{Value, json};
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::support::{As, TenantRows, TestApp, assert_problem};

struct Fixture {
    org: Uuid,
    member: Uuid,
    project: Uuid,
    invitation: Uuid,
    key: Uuid,
    goal: Uuid,
    funnel: Uuid,
    issue: Uuid,
    alert: Uuid,
    channel: Uuid,
    subscription: Uuid,
    pdf: Uuid,
    segment: Uuid,
    dashboard: Uuid,
    link: Uuid,
    annotation: Uuid,
    comment: Uuid,
    thread: Uuid,
    task: Uuid,
    column: Uuid,
    replay: Uuid,
}

/// Every org-scoped operation: (method, path template, body).
fn operations(f: &Fixture, org: Uuid) -> Vec<(&'static str, String, Option<Value>)> {
    let (m, p, i, k, g, fu) = (f.member, f.project, f.invitation, f.key, f.goal, f.funnel);
    let issue = f.issue;
    let (alert, channel) = (f.alert, f.channel);
    let rule = json!({"name": "Spy", "metric": "visitors", "window_minutes": 60,
                      "condition": "below", "warning": 1, "version": 1});
    // A release name (any text; a uuid keeps the coverage check's placeholders simple).
    let release = f.funnel;
    vec![
        ("GET", format!("/api/v1/orgs/{org}"), None),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}"),
            Some(json!({"name": "taken over"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "Alpha"})),
        ),
        ("POST", format!("/api/v1/orgs/{org}/erasure/cancel"), None),
        ("GET", format!("/api/v1/orgs/{org}/exports"), None),
        ("GET", format!("/api/v1/orgs/{org}/domains"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/domains"),
            Some(json!({"domain": "spy.example"})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/domains/alpha.example/verify"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/domains/alpha.example"),
            None,
        ),
        ("POST", format!("/api/v1/orgs/{org}/exports"), None),
        ("GET", format!("/api/v1/orgs/{org}/sso"), None),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/sso/oidc"),
            Some(
                json!({"issuer": "https://idp.spy.example", "client_id": "spy", "client_secret": "x"}),
            ),
        ),
        ("DELETE", format!("/api/v1/orgs/{org}/sso/oidc"), None),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/sso/policy"),
            Some(json!({"enforced": false, "session_hours": 720})),
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/sso/group-roles"),
            Some(json!({"mappings": [{"group": "spies", "role": "admin"}]})),
        ),
        ("POST", format!("/api/v1/orgs/{org}/sso/oidc/test"), None),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/sso/saml"),
            Some(json!({"metadata_url": "https://idp.spy.example/metadata"})),
        ),
        ("DELETE", format!("/api/v1/orgs/{org}/sso/saml"), None),
        ("POST", format!("/api/v1/orgs/{org}/sso/saml/test"), None),
        ("GET", format!("/api/v1/orgs/{org}/sso/tests/{org}"), None),
        ("GET", format!("/api/v1/orgs/{org}/scim/tokens"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/domains/alpha.example/take-over"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/scim/tokens"),
            Some(json!({"name": "spy"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/scim/tokens/{k}"),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/members"), None),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/members/{m}"),
            Some(json!({"role": "owner"})),
        ),
        ("DELETE", format!("/api/v1/orgs/{org}/members/{m}"), None),
        ("GET", format!("/api/v1/orgs/{org}/invitations"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({"email": "spy@example.com", "role": "owner"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/invitations/{i}"),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/projects"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects"),
            Some(json!({"name": "spy", "domains": ["spy.example"]})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/projects/{p}"), None),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}"),
            Some(json!({"name": "spy"})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/erasure/cancel"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/realtime"),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/projects/{p}/live"), None),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/goals"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/goals"),
            Some(json!({"event_name": "Spy"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/goals/{g}"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/goals/conversions"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/funnels"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/funnels"),
            Some(json!({"name": "Spy", "steps": [g, g]})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/funnels/{fu}"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/funnels/{fu}/report"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/retention"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/segments"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/segments"),
            Some(
                json!({"name": "Spy", "filters": [["is", "visit:country", ["DE"]]], "shared": true}),
            ),
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/segments/{}", f.segment),
            Some(
                json!({"name": "Spy", "filters": [["is", "visit:country", ["FR"]]], "shared": true}),
            ),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/segments/{}", f.segment),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboards"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboards"),
            Some(json!({"name": "Spy"})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboards/{}", f.dashboard),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboards/{}", f.dashboard),
            Some(json!({"name": "Spy", "version": 1})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboards/{}", f.dashboard),
            None,
        ),
        (
            "POST",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/dashboards/{}/duplicate",
                f.dashboard
            ),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/shared-links"),
            Some(json!({"name": "Spy"})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/shared-links"), None),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/annotations"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/annotations"),
            Some(json!({"at": "2026-11-20T10:00:00Z", "text": "Spy"})),
        ),
        (
            "DELETE",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/annotations/{}",
                f.annotation
            ),
            None,
        ),
        (
            "GET",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/comments?target_kind=annotation&target_id={}",
                f.annotation
            ),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/activity"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/comments"),
            Some(json!({"target_kind": "annotation", "target_id": f.annotation, "body": "Spy"})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}/comments/{}", f.comment),
            Some(json!({"body": "Spy"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/comments/{}", f.comment),
            None,
        ),
        (
            "PUT",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/comment-threads/{}/resolution",
                f.thread
            ),
            Some(json!({"resolved": true})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/notifications"), None),
        (
            "GET",
            format!("/api/v1/orgs/{org}/notifications/unread"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/notifications/read"),
            Some(json!({})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/notification-preferences"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/notification-preferences"),
            Some(json!({"preferences": [{"kind": "mention", "inbox": false, "email": false}]})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/mentionable?q=alpha"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/task-board"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/tasks"),
            Some(json!({"title": "Spy", "issue_id": issue})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}/tasks/{}", f.task),
            Some(json!({"title": "Spy"})),
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/tasks/{}/place", f.task),
            Some(json!({"column_id": f.column})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/tasks/{}", f.task),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/task-columns"),
            Some(json!({"name": "Spy"})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}/task-columns/{}", f.column),
            Some(json!({"name": "Spy"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/task-columns/{}", f.column),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/replays"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/replays/{}", f.replay),
            None,
        ),
        (
            "GET",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/replays/{}/chunks/0",
                f.replay
            ),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/replays/{}", f.replay),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/replays"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/replay-settings"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/heatmap?page=/secret"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/heatmap/pages"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/replay-settings"),
            Some(json!({"enabled": false, "unmask_selector": "*"})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/shared-links/{}", f.link),
            Some(json!({"paused": true})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/shared-links/{}", f.link),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/dashboard-arrangement"),
            Some(json!({"order": [f.dashboard], "default_id": f.dashboard})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/vitals?metric=LCP"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/events"),
            None,
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}"),
            Some(json!({"status": "ignored"})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/releases/{release}/files"),
            None,
        ),
        (
            // The body is sent as application/octet-stream (see `send`).
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/releases/{release}/files?name=~/app.js"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/releases/{release}/files?name=~/app.js"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}"),
            Some(json!({"confirm_name": "Site"})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/api-keys"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "spy", "scopes": ["admin"]})),
        ),
        ("DELETE", format!("/api/v1/orgs/{org}/api-keys/{k}"), None),
        ("GET", format!("/api/v1/orgs/{org}/billing"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/billing/checkout"),
            Some(json!({"plan": "team", "interval": "month"})),
        ),
        ("POST", format!("/api/v1/orgs/{org}/billing/portal"), None),
        ("GET", format!("/api/v1/orgs/{org}/billing/invoices"), None),
        ("GET", format!("/api/v1/orgs/{org}/audit-log"), None),
        ("GET", format!("/api/v1/orgs/{org}/audit-log/verify"), None),
        (
            "GET",
            format!("/api/v1/orgs/{org}/audit-log/export?format=jsonl"),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/audit-log/stream"), None),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/audit-log/stream"),
            Some(json!({"url": "https://spy.example/in"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/audit-log/stream"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
            Some(rule.clone()),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/preview"),
            Some(rule.clone()),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/{alert}"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/{alert}"),
            Some(rule),
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/{alert}/mute"),
            Some(json!({"until": "2030-01-01T00:00:00Z"})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/{alert}/history"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}/alerts/{alert}"),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/channels"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/channels"),
            Some(json!({"name": "Spy", "kind": "email", "emails": ["spy@example.com"]})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/channels/{channel}"),
            Some(json!({"name": "Hijacked"})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/channels/{channel}/rotate-secret"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/channels/{channel}/test"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/channels/{channel}/deliveries"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issue-notifications"),
            None,
        ),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/projects/{p}/issue-notifications"),
            Some(json!({"channel_ids": [channel]})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/tickets"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/tickets"),
            Some(json!({"channel_id": channel})),
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/reports"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/export?format=csv"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/exports/breakdowns?period=7d"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/orgs/{org}/projects/{p}/exports/dashboard?period=7d"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/reports/subscriptions"),
            Some(json!({"cadence": "monthly", "email": "spy@example.com"})),
        ),
        (
            "DELETE",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/reports/subscriptions/{}",
                f.subscription
            ),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/reports/preview"),
            Some(json!({"cadence": "weekly"})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/exports/dashboard/jobs?period=12mo"),
            None,
        ),
        (
            "GET",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/exports/dashboard/jobs/{}",
                f.pdf
            ),
            None,
        ),
        (
            "GET",
            format!(
                "/api/v1/orgs/{org}/projects/{p}/exports/dashboard/jobs/{}/file",
                f.pdf
            ),
            None,
        ),
        ("GET", format!("/api/v1/orgs/{org}/ai"), None),
        (
            "PUT",
            format!("/api/v1/orgs/{org}/ai"),
            Some(json!({"enabled": false, "monthly_token_budget": 5})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=7d"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/ai/explanation"),
            None,
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects/{p}/ai/vitals-hints?period=7d"),
            None,
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/channels/{channel}"),
            None,
        ),
    ]
}

/// Sends an operation: JSON bodies as JSON, uploads (`PUT`) as `application/octet-stream`.
async fn send(
    app: &TestApp,
    caller: &As,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> poem::test::TestResponse {
    if method != "PUT" || body.is_some() {
        return app.call(caller, method, path, body).await;
    }
    let mut req = app
        .client
        .put(path)
        .header("content-type", "application/octet-stream")
        .body("minified();");
    match caller {
        As::User(session) => {
            req = req
                .header("cookie", &session.cookie)
                .header("x-csrf-token", &session.csrf);
        }
        As::Key(key) => req = req.header("authorization", format!("Bearer {key}")),
        As::Nobody => {}
    }
    req.send().await
}

async fn fixture(app: &TestApp) -> (Fixture, As) {
    let owner = app.user("alpha-owner@example.com").await;
    let member = app.user("alpha-member@example.com").await;
    let org = app.org(&owner, "Alpha").await;
    app.add_member(org, &member, Role::Member).await;
    let who = As::User(owner);
    let project = app.project(&who, org, "alpha.example").await;
    let (status, invitation) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({"email": "new@example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201);
    let (key, _) = app.api_key(&who, org, &["read"]).await;
    let project_id = project["id"].as_str().unwrap();
    let (status, goal) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/goals"),
            Some(json!({"page_path": "/thanks/*", "currency": "EUR"})),
        )
        .await;
    assert_eq!(status, 201, "{goal}");
    let (status, second) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/goals"),
            Some(json!({"event_name": "Signup"})),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, funnel) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/funnels"),
            Some(json!({"name": "Signup flow", "steps": [second["id"], goal["id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{funnel}");
    // An error issue, through the Sentry envelope endpoint.
    let envelope = app
        .client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .body("{}\n{\"type\":\"event\"}\n{\"message\":\"secret of alpha\"}")
        .send()
        .await;
    envelope.assert_status_is_ok();
    let (status, issues) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/issues"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{issues}");
    // A release file (under the release name the operations use), a vital and an event.
    let funnel_id: Uuid = funnel["id"].as_str().unwrap().parse().unwrap();
    add_release_file(app, &who, org, project_id, funnel_id, "~/app.js").await;
    add_vital(app, "/").await;
    add_event(app, "/").await;
    // A notification channel and an alert notifying it.
    let (status, channel) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/channels"),
            Some(json!({"name": "Ops", "kind": "email", "emails": ["ops@alpha.example"]})),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let channel_id = channel["channel"]["id"].clone();
    let (status, alert) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/alerts"),
            Some(
                json!({"name": "Traffic", "metric": "visitors", "window_minutes": 60,
                        "condition": "below", "warning": 5, "channel_ids": [channel_id]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{alert}");
    let (status, subscription) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/reports/subscriptions"),
            Some(json!({"cadence": "weekly"})),
        )
        .await;
    assert_eq!(status, 201, "{subscription}");
    let (status, pdf) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/exports/dashboard/jobs?period=6mo"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{pdf}");
    let (status, segment) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/segments"),
            Some(json!({"name": "Germany", "filters": [["is", "visit:country", ["DE"]]], "shared": true})),
        )
        .await;
    assert_eq!(status, 201, "{segment}");
    let (status, dashboard) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/dashboards"),
            Some(
                json!({"name": "Launch", "widgets": [{"id": "w1", "kind": "note", "x": 0, "y": 0,
                "w": 4, "h": 2, "text": "alpha's secret note"}]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{dashboard}");
    let (status, link) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/shared-links"),
            Some(json!({"name": "Investors"})),
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let (status, annotation) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/annotations"),
            Some(json!({"at": "2026-11-20T10:00:00Z", "text": "alpha's release"})),
        )
        .await;
    assert_eq!(status, 201, "{annotation}");
    let (status, comment) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/comments"),
            Some(json!({"target_kind": "annotation", "target_id": annotation["id"], "body": "alpha's thought"})),
        )
        .await;
    assert_eq!(status, 201, "{comment}");
    let (_, thread) = app
        .json(
            &who,
            "GET",
            &format!(
                "/api/v1/orgs/{org}/projects/{project_id}/comments?target_kind=annotation&target_id={}",
                annotation["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    // A task from the issue, assigned to the member (who is notified), and a custom column.
    let (status, task) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/tasks"),
            Some(
                json!({"title": "alpha's task", "issue_id": issues["items"][0]["id"],
                        "assignee_id": member.user_id, "labels": ["alpha"]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{task}");
    let (status, column) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/task-columns"),
            Some(json!({"name": "Alpha review"})),
        )
        .await;
    assert_eq!(status, 201, "{column}");
    // A recording: replay switched on, one chunk uploaded from alpha's site.
    let (status, body) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/projects/{project_id}/replay-settings"),
            Some(json!({"enabled": true, "heatmaps_enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .client
        .post("/api/heatmap")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
        .header("content-type", "text/plain")
        .body(json!({"d": "alpha.example", "p": "/secret", "w": "desktop", "c": [["#alpha", 0.5, 0.5, 0]], "s": 0.5}).to_string())
        .send()
        .await;
    let (status, body) = crate::support::status_and_json(resp).await;
    assert_eq!(status, 202, "{body}");
    let replay = Uuid::new_v4();
    let t = chrono::Utc::now().timestamp_millis();
    let resp = app
        .client
        .post(format!("/api/replay?d=alpha.example&s={replay}&n=0"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .header("content-type", "text/plain")
        .body(
            json!([{"type": 4, "timestamp": t, "data": {"href": "https://alpha.example/secret"}},
                   {"type": 2, "timestamp": t, "data": {}}])
            .to_string(),
        )
        .send()
        .await;
    let (status, body) = crate::support::status_and_json(resp).await;
    assert_eq!(status, 202, "{body}");
    let fixture = Fixture {
        replay,
        task: task["id"].as_str().unwrap().parse().unwrap(),
        column: column["id"].as_str().unwrap().parse().unwrap(),
        comment: comment["id"].as_str().unwrap().parse().unwrap(),
        thread: thread["thread_id"].as_str().unwrap().parse().unwrap(),
        annotation: annotation["id"].as_str().unwrap().parse().unwrap(),
        link: link["link"]["id"].as_str().unwrap().parse().unwrap(),
        segment: segment["id"].as_str().unwrap().parse().unwrap(),
        dashboard: dashboard["id"].as_str().unwrap().parse().unwrap(),
        pdf: pdf["export_id"].as_str().unwrap().parse().unwrap(),
        subscription: subscription["subscription_id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        alert: alert["id"].as_str().unwrap().parse().unwrap(),
        channel: channel["channel"]["id"].as_str().unwrap().parse().unwrap(),
        issue: issues["items"][0]["id"].as_str().unwrap().parse().unwrap(),
        funnel: funnel["id"].as_str().unwrap().parse().unwrap(),
        goal: goal["id"].as_str().unwrap().parse().unwrap(),
        org,
        member: member.user_id,
        project: project["id"].as_str().unwrap().parse().unwrap(),
        invitation: invitation["id"].as_str().unwrap().parse().unwrap(),
        key,
    };
    (fixture, who)
}

/// Uploads a release file as A's owner (with other content than the operations' upload, so an
/// overwrite would show).
async fn add_release_file(
    app: &TestApp,
    who: &As,
    org: Uuid,
    project: &str,
    release: Uuid,
    name: &str,
) {
    let As::User(session) = who else {
        panic!("A's owner uploads")
    };
    let resp = app
        .client
        .put(format!(
            "/api/v1/orgs/{org}/projects/{project}/releases/{release}/files?name={name}"
        ))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header("content-type", "application/octet-stream")
        .body("original();")
        .send()
        .await;
    let (status, body) = crate::support::status_and_json(resp).await;
    assert!(status == 200 || status == 201, "{status}: {body}");
}

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/// Sends a Web Vitals sample for A's site, measured on `page`.
async fn add_vital(app: &TestApp, page: &str) {
    let body = json!({"d": "alpha.example", "u": format!("https://alpha.example{page}"), "m": [{"n": "LCP", "v": 1800}]});
    let resp = app
        .client
        .post("/api/vitals")
        .header("user-agent", CHROME)
        .content_type("text/plain")
        .body(body.to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
}

/// Sends a pageview of `page` on A's site.
async fn add_event(app: &TestApp, page: &str) {
    let body =
        json!({"n": "pageview", "u": format!("https://alpha.example{page}"), "d": "alpha.example"});
    let resp = app
        .client
        .post("/api/event")
        .header("user-agent", CHROME)
        .content_type("text/plain")
        .body(body.to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
}

/// Everything organization A's owner can see through the API (release files, vitals and
/// events included), and every row of A in every tenant table.
async fn snapshot(app: &TestApp, who: &As, f: &Fixture) -> (Vec<Value>, TenantRows) {
    let (org, project) = (f.org, f.project);
    let mut out = Vec::new();
    let goals = format!("/projects/{project}/goals");
    let funnels = format!("/projects/{project}/funnels");
    let issues = format!("/projects/{project}/issues");
    let files = format!("/projects/{project}/releases/{}/files", f.funnel);
    let vitals = format!("/projects/{project}/vitals?metric=LCP&group=page&period=day");
    let alerts = format!("/projects/{project}/alerts");
    let segments = format!("/projects/{project}/segments");
    let dashboards = format!("/projects/{project}/dashboards");
    let dashboard = format!("/projects/{project}/dashboards/{}", f.dashboard);
    let annotations = format!("/projects/{project}/annotations?period=all");
    let thread = format!(
        "/projects/{project}/comments?target_kind=annotation&target_id={}",
        f.annotation
    );
    let deliveries = format!("/channels/{}/deliveries", f.channel);
    let board = format!("/projects/{project}/task-board");
    let replays = format!("/projects/{project}/replays");
    let replay = format!("/projects/{project}/replays/{}", f.replay);
    let replay_settings = format!("/projects/{project}/replay-settings");
    let heatmap = format!("/projects/{project}/heatmap?page=/secret&period=day");
    let heatmap_pages = format!("/projects/{project}/heatmap/pages?period=day");
    for path in [
        board.as_str(),
        replays.as_str(),
        replay.as_str(),
        replay_settings.as_str(),
        heatmap.as_str(),
        heatmap_pages.as_str(),
        "/notifications",
        "/notification-preferences",
        alerts.as_str(),
        "/channels",
        deliveries.as_str(),
        "",
        "/members",
        "/invitations",
        "/projects",
        "/api-keys",
        "/shared-links",
        goals.as_str(),
        funnels.as_str(),
        segments.as_str(),
        dashboards.as_str(),
        dashboard.as_str(),
        annotations.as_str(),
        thread.as_str(),
        issues.as_str(),
        files.as_str(),
        vitals.as_str(),
    ] {
        let (status, body) = app
            .json(who, "GET", &format!("/api/v1/orgs/{org}{path}"), None)
            .await;
        assert_eq!(status, 200, "{path}: {body}");
        out.push(body);
    }
    let (status, events) = app
        .json(
            who,
            "POST",
            "/api/v2/query",
            Some(
                json!({"site_id": "alpha.example", "metrics": ["visitors", "pageviews", "events"],
                        "date_range": "day", "dimensions": ["event:page"]}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{events}");
    out.push(events);
    (out, app.tenant_rows(org).await)
}

#[tokio::test]
async fn second_tenant_gets_404_and_changes_nothing() {
    let app = TestApp::new().await;
    let (a, a_owner) = fixture(&app).await;
    let before = snapshot(&app, &a_owner, &a).await;

    let b_owner = app.user("beta-owner@example.com").await;
    let b_org = app.org(&b_owner, "Beta").await;
    let b_session = As::User(b_owner);
    let (_, b_key) = app
        .api_key(&b_session, b_org, &["admin", "read", "write", "ingest"])
        .await;
    let b_key = As::Key(b_key);

    for caller in [&b_session, &b_key] {
        // A's organization path.
        for (method, path, body) in operations(&a, a.org) {
            let resp = send(&app, caller, method, &path, body).await;
            let problem = assert_problem(resp, 404, "not_found").await;
            assert!(
                !problem.to_string().contains("Alpha"),
                "{method} {path} leaked: {problem}"
            );
        }
        // A's resource ids under B's own organization path.
        for (method, path, body) in operations(&a, b_org) {
            if !path.contains(&a.member.to_string())
                && !path.contains(&a.project.to_string())
                && !path.contains(&a.invitation.to_string())
                && !path.contains(&a.key.to_string())
                && !path.contains(&a.goal.to_string())
                && !path.contains(&a.funnel.to_string())
                && !path.contains(&a.issue.to_string())
                && !path.contains(&a.alert.to_string())
                && !path.contains(&a.channel.to_string())
                && !path.contains(&a.task.to_string())
                && !path.contains(&a.column.to_string())
            {
                continue;
            }
            let resp = send(&app, caller, method, &path, body).await;
            let (status, body) = crate::support::status_and_json(resp).await;
            // Owner-only operations refuse any API key before looking anything up (a key is
            // never an owner), so B's key learns nothing about A's ids there either.
            let key_refused = std::ptr::eq(caller, &b_key)
                && status == 403
                && body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("API keys cannot"));
            assert!(
                status == 404 || key_refused,
                "{method} {path} answered {status}: {body}"
            );
        }
    }
    // A's ids in the bodies of B's own requests: A's issue is not B's to track, A's member not
    // B's to assign, and marking A's notification read under B changes nothing (the snapshot).
    let b_project = app.project(&b_session, b_org, "beta-tasks.example").await;
    let b_tasks = format!(
        "/api/v1/orgs/{b_org}/projects/{}/tasks",
        b_project["id"].as_str().unwrap()
    );
    let resp = send(
        &app,
        &b_session,
        "POST",
        &b_tasks,
        Some(json!({"title": "Spy", "issue_id": a.issue})),
    )
    .await;
    assert_problem(resp, 404, "not_found").await;
    // A's saved segment cannot filter B's recordings (it is not one B may use).
    let b_replays = format!(
        "/api/v1/orgs/{b_org}/projects/{}/replays?segment_id={}",
        b_project["id"].as_str().unwrap(),
        a.segment
    );
    let resp = send(&app, &b_session, "GET", &b_replays, None).await;
    let problem = assert_problem(resp, 400, "invalid_filter").await;
    assert!(!problem.to_string().contains("Alpha"), "{problem}");
    let resp = send(
        &app,
        &b_session,
        "POST",
        &b_tasks,
        Some(json!({"title": "Spy", "assignee_id": a.member})),
    )
    .await;
    assert_problem(resp, 422, "invalid_value").await;
    let a_org = tenant::OrgId::from_uuid(a.org);
    let a_member = tenant::UserId::from_uuid(a.member);
    let a_notifications = app
        .state
        .db
        .scoped(a_org, async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::tables::notifications::inbox(conn, a_org, a_member, (false, None), 10)
                    .await?,
            )
        })
        .await
        .unwrap();
    assert_eq!(a_notifications.len(), 1, "the fixture's assignment");
    let ids = json!({"ids": [a_notifications[0].notification_id]});
    let (status, _) = app
        .json(
            &b_session,
            "POST",
            &format!("/api/v1/orgs/{b_org}/notifications/read"),
            Some(ids),
        )
        .await;
    assert_eq!(status, 200);
    let after = snapshot(&app, &a_owner, &a).await;
    assert_eq!(before.0, after.0, "organization A changed (API)");
    assert_eq!(before.1, after.1, "organization A changed (rows)");
    // Positive control: the snapshot changes when a release file, a vital or an event is added.
    let mut last = after;
    let project = a.project.to_string();
    for added in ["release file", "vital", "event"] {
        match added {
            "release file" => {
                add_release_file(&app, &a_owner, a.org, &project, a.funnel, "~/more.js").await
            }
            "vital" => add_vital(&app, "/other").await,
            _ => add_event(&app, "/other").await,
        }
        let now = snapshot(&app, &a_owner, &a).await;
        assert_ne!(
            last.0, now.0,
            "adding a {added} left the API snapshot unchanged"
        );
        assert_ne!(last.1, now.1, "adding a {added} left the rows unchanged");
        last = now;
    }

    // B's listings show none of A's rows.
    let (_, orgs) = app.json(&b_session, "GET", "/api/v1/orgs", None).await;
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1);
    assert_eq!(orgs["items"][0]["name"], "Beta");
    let (_, projects) = app
        .json(
            &b_key,
            "GET",
            &format!("/api/v1/orgs/{b_org}/projects"),
            None,
        )
        .await;
    let listed = projects["items"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "B's own project only: {projects}");
    assert_eq!(listed[0]["domains"], json!(["beta-tasks.example"]));
}

#[tokio::test]
async fn every_org_endpoint_is_covered() {
    let spec: Value = serde_json::from_str(&api::app::openapi_json()).unwrap();
    let nil = Uuid::nil();
    let fixture = Fixture {
        org: nil,
        member: nil,
        project: nil,
        invitation: nil,
        key: nil,
        goal: nil,
        funnel: nil,
        issue: nil,
        alert: nil,
        channel: nil,
        subscription: nil,
        pdf: nil,
        segment: nil,
        dashboard: nil,
        link: nil,
        annotation: nil,
        comment: nil,
        thread: nil,
        task: nil,
        column: nil,
        replay: nil,
    };
    let covered: Vec<(String, String)> = operations(&fixture, nil)
        .into_iter()
        .map(|(method, path, _)| {
            let path = path.split('?').next().unwrap_or(&path).to_owned();
            (method.to_lowercase(), path)
        })
        .collect();
    for (path, item) in spec["paths"].as_object().unwrap() {
        // Public browser endpoints that name an organization (the SSO callback) authenticate
        // nobody by the path; sso.rs checks that one organization's sign-in never reaches
        // another's.
        if !path.starts_with("/api/v1/orgs/{org_id}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg == "{domain}" {
                        "alpha.example".to_owned()
                    } else if seg == "{seq}" {
                        // A replay chunk's number.
                        "0".to_owned()
                    } else if seg.starts_with('{') {
                        nil.to_string()
                    } else {
                        seg.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            assert!(
                covered.contains(&(method.clone(), concrete)),
                "{method} {path} is not in the isolation test's operations"
            );
        }
    }
}
