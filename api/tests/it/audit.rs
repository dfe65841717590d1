//! The audit log: every write through the API leaves exactly one record naming its actor
//! (checked against the spec, so a new write endpoint must be audited or excluded here with its
//! reason); the hash chain finds an edited or deleted record; the application role cannot
//! change records; exports hold their range and nothing of another organization; the stream
//! delivers signed records to an HTTPS receiver and retries one that fails.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use tenant::diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::support::{As, Session, TestApp};

/// The organization's records, oldest first, read through the API as `who`.
async fn records(app: &TestApp, who: &As, org: Uuid) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app
            .json(
                who,
                "GET",
                &format!("/api/v1/orgs/{org}/audit-log?limit=200&cursor={cursor}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    all.reverse();
    all
}

/// Write operations that leave no record in an organization's chain, with the reason.
const NOT_AUDITED: &[(&str, &str)] = &[
    (
        "mark_notifications_read",
        "a member's own inbox state: changes nothing anyone else sees",
    ),
    (
        "set_notification_preferences",
        "a member's own notification settings, like their theme",
    ),
    (
        "preview_alert",
        "measures a rule's metric without storing anything",
    ),
    (
        "verify_domain",
        "needs a DNS server: domains.rs checks its domain.verified record",
    ),
    (
        "delete_account",
        "recorded as user.deleted in each organization left (accounts.rs checks it)",
    ),
    ("signup", "a new account belongs to no organization yet"),
    (
        "stream_ai_highlights",
        "reads figures and writes an answer to the cache; ai.rs checks the usage it counts",
    ),
    (
        "stream_ai_issue_explanation",
        "reads an issue and writes an answer to the cache; ai.rs checks the usage it counts",
    ),
    (
        "stream_ai_vitals_hints",
        "reads Web Vitals and writes an answer to the cache; ai.rs checks the usage it counts",
    ),
    (
        "unlock_shared_link",
        "a visitor's password check: stores nothing; shared_links.rs checks the throttle",
    ),
    (
        "query_shared_link",
        "a visitor's Stats API query: reads only, like query_stats",
    ),
    (
        "preview_report",
        "queues an e-mail to the caller; stores and changes nothing",
    ),
    (
        "unsubscribe_report",
        "needs a report e-mail's token: reports.rs follows the link; its report.unsubscribed record is the same as delete_report_subscription's",
    ),
    (
        "take_over_project_domain",
        "needs a verified domain: domains.rs checks its project.domain_taken_over record",
    ),
    (
        "save_oidc_connection",
        "needs an identity provider: sso.rs checks its sso.connection_saved record",
    ),
    (
        "delete_oidc_connection",
        "needs a saved connection: sso.rs checks its sso.connection_deleted record",
    ),
    (
        "test_oidc_connection",
        "starts a test sign-in (its state only); signs nobody in, changes no setting",
    ),
    (
        "save_saml_connection",
        "needs an identity provider: saml.rs checks its sso.connection_saved record",
    ),
    (
        "delete_saml_connection",
        "needs a saved connection: saml.rs checks its sso.connection_deleted record",
    ),
    (
        "test_saml_connection",
        "starts a test sign-in (its state only); signs nobody in, changes no setting",
    ),
    (
        "saml_acs",
        "checks a response; the sign-in's end is audited (user.sso_signed_in, \
         user.sso_sign_in_failed)",
    ),
    (
        "start_sso",
        "starts a sign-in; its end is audited (user.sso_signed_in, user.sso_sign_in_failed)",
    ),
    (
        "verify_email",
        "an account's own state; no organization changes",
    ),
    ("resend_verification", "sends an e-mail; changes nothing"),
    (
        "request_password_reset",
        "sends an e-mail; the reset itself is audited",
    ),
    (
        "send_event",
        "analytics ingestion (data, not configuration)",
    ),
    (
        "upload_replay_chunk",
        "session replay ingestion (data, not configuration)",
    ),
    (
        "send_heatmap",
        "heatmap ingestion (data, not configuration)",
    ),
    (
        "send_vitals",
        "analytics ingestion (data, not configuration)",
    ),
    ("query_stats", "a read, sent as POST"),
    (
        "delete_organization",
        "the organization's chain is deleted with it",
    ),
    (
        "stripe_webhook",
        "a plan change it applies is recorded as system:stripe_webhook (billing.rs checks it)",
    ),
    (
        "create_checkout",
        "needs Stripe: billing.rs checks its record with the fake Stripe",
    ),
    (
        "create_billing_portal",
        "needs Stripe: billing.rs checks its record with the fake Stripe",
    ),
];

#[test]
fn every_write_is_audited_once_with_its_actor() {
    // On a thread of its own with a larger stack: the walk through every write is one long
    // function, whose unoptimized frame outgrows a test thread's 2 MiB.
    std::thread::Builder::new()
        .stack_size(16 * 1024 * 1024)
        .spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(walk_every_write())
        })
        .unwrap()
        .join()
        .unwrap();
}

async fn walk_every_write() {
    let app = TestApp::new().await;
    let owner = app.user("owner@audit.test").await;
    let bob = app.user("bob@audit.test").await;
    let carol = app.user("carol@audit.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Audited").await;
    app.add_member(org, &bob, Role::Viewer).await;
    let user_actor = |s: &Session| json!({"kind": "user", "id": s.user_id.to_string()});
    let mut exercised: Vec<&str> = Vec::new();
    let mut seen = records(&app, &who, org).await.len();
    assert_eq!(seen, 1, "the organization's creation is its first record");

    // Each step: operation id, the request, the action expected, the actor expected.
    macro_rules! step {
        ($op:literal, $caller:expr, $method:literal, $path:expr, $body:expr, $action:literal, $actor:expr) => {{
            // Boxed: this test's future holds every step, and unboxed it outgrows the stack.
            let (status, body) = Box::pin(app.json(&$caller, $method, &$path, $body)).await;
            assert!(
                (200..300).contains(&status),
                "{} answered {status}: {body}",
                $op
            );
            let all = Box::pin(records(&app, &who, org)).await;
            assert_eq!(
                all.len(),
                seen + 1,
                "{} must add exactly one record: {:?}",
                $op,
                &all[seen..]
            );
            let record = &all[seen];
            assert_eq!(record["action"], $action, "{}", $op);
            assert_eq!(record["actor"], $actor, "{}", $op);
            assert!(
                record["request_id"]
                    .as_str()
                    .is_some_and(|id| !id.is_empty()),
                "{}",
                $op
            );
            seen += 1;
            exercised.push($op);
            body
        }};
    }
    let o = format!("/api/v1/orgs/{org}");
    step!(
        "rename_organization",
        who,
        "PATCH",
        o.clone(),
        Some(json!({"name": "Audited Inc"})),
        "organization.renamed",
        user_actor(&owner)
    );
    let project = step!(
        "create_project",
        who,
        "POST",
        format!("{o}/projects"),
        Some(json!({"name": "Site", "domains": ["audit.example"], "timezone": "UTC"})),
        "project.created",
        user_actor(&owner)
    );
    let p = project["id"].as_str().unwrap().to_owned();
    step!(
        "update_project",
        who,
        "PATCH",
        format!("{o}/projects/{p}"),
        Some(json!({"retention_days": 30})),
        "project.updated",
        user_actor(&owner)
    );
    let last = records(&app, &who, org).await.pop().unwrap();
    assert_eq!(last["changes"]["retention_days"]["after"], 30, "{last}");
    let goal = step!(
        "create_goal",
        who,
        "POST",
        format!("{o}/projects/{p}/goals"),
        Some(json!({"event_name": "Signup"})),
        "goal.created",
        user_actor(&owner)
    );
    let page_goal = step!(
        "create_goal",
        who,
        "POST",
        format!("{o}/projects/{p}/goals"),
        Some(json!({"page_path": "/thanks"})),
        "goal.created",
        user_actor(&owner)
    );
    let funnel = step!(
        "create_funnel",
        who,
        "POST",
        format!("{o}/projects/{p}/funnels"),
        Some(json!({"name": "Flow", "steps": [goal["id"], page_goal["id"]]})),
        "funnel.created",
        user_actor(&owner)
    );
    step!(
        "delete_funnel",
        who,
        "DELETE",
        format!(
            "{o}/projects/{p}/funnels/{}",
            funnel["id"].as_str().unwrap()
        ),
        None,
        "funnel.deleted",
        user_actor(&owner)
    );
    let segment = step!(
        "create_segment",
        who,
        "POST",
        format!("{o}/projects/{p}/segments"),
        Some(json!({"name": "Germany", "filters": [["is", "visit:country", ["DE"]]]})),
        "segment.created",
        user_actor(&owner)
    );
    let segment_path = format!(
        "{o}/projects/{p}/segments/{}",
        segment["id"].as_str().unwrap()
    );
    step!(
        "update_segment",
        who,
        "PUT",
        segment_path.clone(),
        Some(
            json!({"name": "Germany", "filters": [["is", "visit:country", ["DE"]]], "shared": true})
        ),
        "segment.updated",
        user_actor(&owner)
    );
    step!(
        "delete_segment",
        who,
        "DELETE",
        segment_path,
        None,
        "segment.deleted",
        user_actor(&owner)
    );
    let dashboard = step!(
        "create_dashboard",
        who,
        "POST",
        format!("{o}/projects/{p}/dashboards"),
        Some(json!({"name": "Launch"})),
        "dashboard.created",
        user_actor(&owner)
    );
    let dashboard_path = format!(
        "{o}/projects/{p}/dashboards/{}",
        dashboard["id"].as_str().unwrap()
    );
    step!(
        "update_dashboard",
        who,
        "PUT",
        dashboard_path.clone(),
        Some(json!({"name": "Launch week", "version": 1})),
        "dashboard.updated",
        user_actor(&owner)
    );
    let copy = step!(
        "duplicate_dashboard",
        who,
        "POST",
        format!("{dashboard_path}/duplicate"),
        None,
        "dashboard.created",
        user_actor(&owner)
    );
    step!(
        "arrange_dashboards",
        who,
        "PUT",
        format!("{o}/projects/{p}/dashboard-arrangement"),
        Some(json!({"order": [copy["id"], dashboard["id"]], "default_id": dashboard["id"]})),
        "dashboard.arranged",
        user_actor(&owner)
    );
    let link = step!(
        "create_shared_link",
        who,
        "POST",
        format!("{o}/projects/{p}/shared-links"),
        Some(json!({"name": "Investors", "password": "open sesame 42"})),
        "shared_link.created",
        user_actor(&owner)
    );
    let created = records(&app, &who, org).await.pop().unwrap();
    assert!(
        !created.to_string().contains("open sesame"),
        "a link's password is never recorded"
    );
    assert_eq!(created["changes"]["has_password"]["after"], true);
    let link_path = format!("{o}/shared-links/{}", link["link"]["id"].as_str().unwrap());
    step!(
        "update_shared_link",
        who,
        "PATCH",
        link_path.clone(),
        Some(json!({"paused": true})),
        "shared_link.updated",
        user_actor(&owner)
    );
    step!(
        "revoke_shared_link",
        who,
        "DELETE",
        link_path,
        None,
        "shared_link.revoked",
        user_actor(&owner)
    );
    let annotation = step!(
        "create_annotation",
        who,
        "POST",
        format!("{o}/projects/{p}/annotations"),
        Some(json!({"at": "2026-11-20T10:00:00Z", "text": "v2.3 deployed"})),
        "annotation.created",
        user_actor(&owner)
    );
    let comment = step!(
        "create_comment",
        who,
        "POST",
        format!("{o}/projects/{p}/comments"),
        Some(
            json!({"target_kind": "annotation", "target_id": annotation["id"], "body": "a private thought"})
        ),
        "comment.created",
        user_actor(&owner)
    );
    let comment_path = format!(
        "{o}/projects/{p}/comments/{}",
        comment["id"].as_str().unwrap()
    );
    step!(
        "edit_comment",
        who,
        "PATCH",
        comment_path.clone(),
        Some(json!({"body": "a second private thought"})),
        "comment.edited",
        user_actor(&owner)
    );
    let (_, thread) = app
        .json(
            &who,
            "GET",
            &format!(
                "{o}/projects/{p}/comments?target_kind=annotation&target_id={}",
                annotation["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    step!(
        "resolve_comment_thread",
        who,
        "PUT",
        format!(
            "{o}/projects/{p}/comment-threads/{}/resolution",
            thread["thread_id"].as_str().unwrap()
        ),
        Some(json!({"resolved": true})),
        "comment_thread.resolved",
        user_actor(&owner)
    );
    step!(
        "delete_comment",
        who,
        "DELETE",
        comment_path,
        None,
        "comment.deleted",
        user_actor(&owner)
    );
    let text = records(&app, &who, org).await;
    assert!(
        !serde_json::to_string(&text)
            .unwrap()
            .contains("private thought"),
        "a comment's text is never recorded"
    );
    let task = step!(
        "create_task",
        who,
        "POST",
        format!("{o}/projects/{p}/tasks"),
        Some(json!({"title": "Fix checkout", "description": "a private plan", "labels": ["bug"]})),
        "task.created",
        user_actor(&owner)
    );
    let task_path = format!("{o}/projects/{p}/tasks/{}", task["id"].as_str().unwrap());
    step!(
        "update_task",
        who,
        "PATCH",
        task_path.clone(),
        Some(json!({"priority": "urgent", "due_on": "2026-12-01"})),
        "task.updated",
        user_actor(&owner)
    );
    let column = step!(
        "create_task_column",
        who,
        "POST",
        format!("{o}/projects/{p}/task-columns"),
        Some(json!({"name": "Review"})),
        "task_column.created",
        user_actor(&owner)
    );
    let column_path = format!(
        "{o}/projects/{p}/task-columns/{}",
        column["id"].as_str().unwrap()
    );
    step!(
        "place_task",
        who,
        "PUT",
        format!("{task_path}/place"),
        Some(json!({"column_id": column["id"]})),
        "task.moved",
        user_actor(&owner)
    );
    step!(
        "rename_task_column",
        who,
        "PATCH",
        column_path.clone(),
        Some(json!({"name": "In review"})),
        "task_column.updated",
        user_actor(&owner)
    );
    step!(
        "delete_task_column",
        who,
        "DELETE",
        column_path,
        None,
        "task_column.deleted",
        user_actor(&owner)
    );
    step!(
        "delete_task",
        who,
        "DELETE",
        task_path,
        None,
        "task.deleted",
        user_actor(&owner)
    );
    step!(
        "update_replay_settings",
        who,
        "PUT",
        format!("{o}/projects/{p}/replay-settings"),
        Some(json!({"enabled": true, "sample_rate": 0.25})),
        "replay_settings.updated",
        user_actor(&owner)
    );
    let replay = uuid::Uuid::new_v4();
    let resp = Box::pin(
        app.client
            .post(format!("/api/replay?d=audit.example&s={replay}&n=0"))
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            )
            .header("content-type", "text/plain")
            .body(
                json!([{"type": 2, "timestamp": chrono::Utc::now().timestamp_millis(), "data": {}}])
                    .to_string(),
            )
            .send(),
    )
    .await;
    assert_eq!(resp.0.status().as_u16(), 202);
    step!(
        "delete_replay",
        who,
        "DELETE",
        format!("{o}/projects/{p}/replays/{replay}"),
        None,
        "replay.deleted",
        user_actor(&owner)
    );
    let text = records(&app, &who, org).await;
    assert!(
        !serde_json::to_string(&text)
            .unwrap()
            .contains("private plan"),
        "a task's description is never recorded"
    );
    step!(
        "delete_annotation",
        who,
        "DELETE",
        format!(
            "{o}/projects/{p}/annotations/{}",
            annotation["id"].as_str().unwrap()
        ),
        None,
        "annotation.deleted",
        user_actor(&owner)
    );
    step!(
        "delete_dashboard",
        who,
        "DELETE",
        dashboard_path,
        None,
        "dashboard.deleted",
        user_actor(&owner)
    );
    step!(
        "delete_goal",
        who,
        "DELETE",
        format!(
            "{o}/projects/{p}/goals/{}",
            page_goal["id"].as_str().unwrap()
        ),
        None,
        "goal.deleted",
        user_actor(&owner)
    );
    let key = step!(
        "create_api_key",
        who,
        "POST",
        format!("{o}/api-keys"),
        Some(json!({"name": "ci", "scopes": ["write", "admin"]})),
        "api_key.created",
        user_actor(&owner)
    );
    let created = records(&app, &who, org).await.pop().unwrap();
    let secret = key["secret"].as_str().unwrap();
    assert!(
        !created.to_string().contains(secret),
        "the key's secret is never recorded"
    );
    assert_eq!(created["changes"]["secret"], json!({"changed": true}));
    // An API key's writes are attributed to the key.
    let key_id = key["key"]["id"].as_str().unwrap().to_owned();
    let by_key = As::Key(secret.to_owned());
    step!(
        "create_goal",
        by_key,
        "POST",
        format!("{o}/projects/{p}/goals"),
        Some(json!({"event_name": "ByKey"})),
        "goal.created",
        json!({"kind": "api_key", "id": key_id})
    );
    step!(
        "revoke_api_key",
        who,
        "DELETE",
        format!("{o}/api-keys/{key_id}"),
        None,
        "api_key.revoked",
        user_actor(&owner)
    );
    let invitation = step!(
        "create_invitation",
        who,
        "POST",
        format!("{o}/invitations"),
        Some(json!({"email": "dave@audit.test", "role": "viewer"})),
        "invitation.created",
        user_actor(&owner)
    );
    step!(
        "revoke_invitation",
        who,
        "DELETE",
        format!("{o}/invitations/{}", invitation["id"].as_str().unwrap()),
        None,
        "invitation.revoked",
        user_actor(&owner)
    );
    step!(
        "update_member_role",
        who,
        "PATCH",
        format!("{o}/members/{}", bob.user_id),
        Some(json!({"role": "admin"})),
        "member.role_changed",
        user_actor(&owner)
    );
    step!(
        "remove_member",
        who,
        "DELETE",
        format!("{o}/members/{}", bob.user_id),
        None,
        "member.removed",
        user_actor(&owner)
    );
    // Carol accepts an invitation (its token made as the e-mail job would).
    let invitation = step!(
        "create_invitation",
        who,
        "POST",
        format!("{o}/invitations"),
        Some(json!({"email": "carol@audit.test", "role": "member"})),
        "invitation.created",
        user_actor(&owner)
    );
    let invitation_id: Uuid = invitation["id"].as_str().unwrap().parse().unwrap();
    let token = app
        .state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::tables::invitations::issue_token(
                    conn,
                    tenant::OrgId::from_uuid(org),
                    invitation_id,
                )
                .await?,
            )
        })
        .await
        .unwrap()
        .unwrap();
    step!(
        "accept_invitation",
        As::User(carol.clone()),
        "POST",
        format!("/api/v1/invitations/accept"),
        Some(json!({"token": format!("{org}.{token}")})),
        "member.joined",
        user_actor(&carol)
    );
    // An error issue changes state.
    let envelope = app
        .client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .body("{}\n{\"type\":\"event\"}\n{\"message\":\"boom\"}")
        .send()
        .await;
    envelope.assert_status_is_ok();
    let (_, issues) = app
        .json(&who, "GET", &format!("{o}/projects/{p}/issues"), None)
        .await;
    let issue = issues["items"][0]["id"].as_str().unwrap().to_owned();
    step!(
        "update_issue",
        who,
        "PATCH",
        format!("{o}/projects/{p}/issues/{issue}"),
        Some(json!({"status": "resolved"})),
        "issue.updated",
        user_actor(&owner)
    );
    // Release files.
    let files = format!("{o}/projects/{p}/releases/1.0/files?name=~/app.js");
    let resp = app
        .client
        .put(&files)
        .header("cookie", &owner.cookie)
        .header("x-csrf-token", &owner.csrf)
        .header("content-type", "application/octet-stream")
        .body("code();")
        .send()
        .await;
    assert_eq!(resp.0.status(), 201);
    let all = records(&app, &who, org).await;
    assert_eq!(all.len(), seen + 1);
    assert_eq!(all[seen]["action"], "release_file.uploaded");
    seen += 1;
    exercised.push("put_release_file");
    step!(
        "delete_release_file",
        who,
        "DELETE",
        files.clone(),
        None,
        "release_file.deleted",
        user_actor(&owner)
    );
    step!(
        "put_audit_stream",
        who,
        "PUT",
        format!("{o}/audit-log/stream"),
        Some(json!({"url": "https://siem.example/in"})),
        "audit_stream.configured",
        user_actor(&owner)
    );
    step!(
        "delete_audit_stream",
        who,
        "DELETE",
        format!("{o}/audit-log/stream"),
        None,
        "audit_stream.deleted",
        user_actor(&owner)
    );
    // Alerts and their channels.
    let channel = step!(
        "create_channel",
        who,
        "POST",
        format!("{o}/channels"),
        Some(json!({"name": "Ops", "kind": "email", "emails": ["ops@audit.example"]})),
        "channel.created",
        user_actor(&owner)
    );
    let c = channel["channel"]["id"].as_str().unwrap().to_owned();
    step!(
        "update_channel",
        who,
        "PATCH",
        format!("{o}/channels/{c}"),
        Some(json!({"name": "Ops team"})),
        "channel.updated",
        user_actor(&owner)
    );
    step!(
        "test_channel",
        who,
        "POST",
        format!("{o}/channels/{c}/test"),
        None,
        "channel.tested",
        user_actor(&owner)
    );
    let hook = step!(
        "create_channel",
        who,
        "POST",
        format!("{o}/channels"),
        Some(json!({"name": "Hook", "kind": "webhook", "url": "https://93.184.216.34/hook"})),
        "channel.created",
        user_actor(&owner)
    );
    let hook = hook["channel"]["id"].as_str().unwrap().to_owned();
    step!(
        "rotate_channel_secret",
        who,
        "POST",
        format!("{o}/channels/{hook}/rotate-secret"),
        None,
        "channel.secret_rotated",
        user_actor(&owner)
    );
    let rule = json!({"name": "Traffic", "metric": "visitors", "window_minutes": 60,
                      "condition": "below", "warning": 5, "channel_ids": [c]});
    let alert = step!(
        "create_alert",
        who,
        "POST",
        format!("{o}/projects/{p}/alerts"),
        Some(rule.clone()),
        "alert.created",
        user_actor(&owner)
    );
    let a = alert["id"].as_str().unwrap().to_owned();
    let mut edited = rule.clone();
    edited["warning"] = json!(7);
    edited["version"] = alert["version"].clone();
    step!(
        "update_alert",
        who,
        "PUT",
        format!("{o}/projects/{p}/alerts/{a}"),
        Some(edited),
        "alert.updated",
        user_actor(&owner)
    );
    step!(
        "mute_alert",
        who,
        "PUT",
        format!("{o}/projects/{p}/alerts/{a}/mute"),
        Some(json!({"until": "2030-01-01T00:00:00Z"})),
        "alert.muted",
        user_actor(&owner)
    );
    step!(
        "set_issue_notifications",
        who,
        "PUT",
        format!("{o}/projects/{p}/issue-notifications"),
        Some(json!({"channel_ids": [c], "hourly_cap": 5})),
        "project.issue_notifications_updated",
        user_actor(&owner)
    );
    let github = step!(
        "create_channel",
        who,
        "POST",
        format!("{o}/channels"),
        Some(
            json!({"name": "GitHub", "kind": "github", "url": "https://140.82.112.6",
                    "token": "github_pat_x", "connector": {"repository": "acme/web"}})
        ),
        "channel.created",
        user_actor(&owner)
    );
    step!(
        "create_issue_ticket",
        who,
        "POST",
        format!("{o}/projects/{p}/issues/{issue}/tickets"),
        Some(json!({"channel_id": github["channel"]["id"]})),
        "issue.ticket_requested",
        user_actor(&owner)
    );
    step!(
        "export_stats",
        who,
        "POST",
        "/api/v2/query/export?format=json",
        Some(json!({"site_id": "audit.example", "metrics": ["visitors"], "date_range": "7d"})),
        "stats.exported",
        user_actor(&owner)
    );
    let subscription = step!(
        "create_report_subscription",
        who,
        "POST",
        format!("{o}/projects/{p}/reports/subscriptions"),
        Some(json!({"cadence": "weekly", "email": "board@audit.test"})),
        "report.subscribed",
        user_actor(&owner)
    );
    step!(
        "delete_report_subscription",
        who,
        "DELETE",
        format!(
            "{o}/projects/{p}/reports/subscriptions/{}",
            subscription["subscription_id"].as_str().unwrap()
        ),
        None,
        "report.unsubscribed",
        user_actor(&owner)
    );
    step!(
        "create_dashboard_pdf_job",
        who,
        "POST",
        format!("{o}/projects/{p}/exports/dashboard/jobs?period=12mo"),
        None,
        "stats.dashboard_exported",
        user_actor(&owner)
    );
    step!(
        "update_ai_settings",
        who,
        "PUT",
        format!("{o}/ai"),
        Some(json!({"enabled": true, "monthly_token_budget": 250000})),
        "ai.settings_updated",
        user_actor(&owner)
    );
    step!(
        "delete_alert",
        who,
        "DELETE",
        format!("{o}/projects/{p}/alerts/{a}"),
        None,
        "alert.deleted",
        user_actor(&owner)
    );
    step!(
        "delete_channel",
        who,
        "DELETE",
        format!("{o}/channels/{hook}"),
        None,
        "channel.deleted",
        user_actor(&owner)
    );
    step!(
        "delete_project",
        who,
        "DELETE",
        format!("{o}/projects/{p}"),
        Some(json!({"confirm_name": "Site"})),
        "project.erasure_requested",
        user_actor(&owner)
    );
    step!(
        "cancel_project_erasure",
        who,
        "POST",
        format!("{o}/projects/{p}/erasure/cancel"),
        None,
        "project.erasure_cancelled",
        user_actor(&owner)
    );
    // Sign-in, sign-out and a password reset of a member are in their organizations' chains.
    let carol_again = app
        .login("carol@audit.test", crate::support::PASSWORD)
        .await;
    let all = records(&app, &who, org).await;
    assert_eq!(
        (all.len(), &all[seen]["action"], &all[seen]["actor"]),
        (seen + 1, &json!("user.signed_in"), &user_actor(&carol))
    );
    seen += 1;
    exercised.push("login");
    step!(
        "logout",
        As::User(carol_again),
        "POST",
        format!("/api/v1/auth/logout"),
        None,
        "user.signed_out",
        user_actor(&carol)
    );
    let (status, _) = app
        .json(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "carol@audit.test", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(status, 401);
    let all = records(&app, &who, org).await;
    assert_eq!(
        (all.len(), &all[seen]["action"]),
        (seen + 1, &json!("user.sign_in_failed"))
    );
    seen += 1;
    let reset = app
        .state
        .db
        .unscoped(async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::tables::user_tokens::issue(
                    conn,
                    tenant::UserId::from_uuid(carol.user_id),
                    tenant::tables::user_tokens::Purpose::ResetPassword,
                    chrono::Duration::hours(1),
                )
                .await?,
            )
        })
        .await
        .unwrap();
    step!(
        "confirm_password_reset",
        As::Nobody,
        "POST",
        format!("/api/v1/auth/password-reset/confirm"),
        Some(json!({"token": reset, "password": "a brand new password"})),
        "user.password_reset",
        user_actor(&carol)
    );
    // Organization creation is the first record of the new organization's chain.
    let (status, other) = app
        .json(
            &who,
            "POST",
            "/api/v1/orgs",
            Some(json!({"name": "Second"})),
        )
        .await;
    assert_eq!(status, 201);
    let second = records(&app, &who, other["id"].as_str().unwrap().parse().unwrap()).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        (
            &second[0]["action"],
            &second[0]["actor"],
            second[0]["seq"].as_i64()
        ),
        (&json!("organization.created"), &user_actor(&owner), Some(1))
    );
    exercised.push("create_organization");
    // The client's address and user agent are in the record (the peer here is a trusted
    // local one, so `X-Forwarded-For` names the client).
    let resp = app
        .client
        .patch(&o)
        .header("cookie", &owner.cookie)
        .header("x-csrf-token", &owner.csrf)
        .header("x-forwarded-for", "192.0.2.7")
        .header("user-agent", "AuditTest/1.0")
        .body_json(&json!({"name": "With context"}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let last = records(&app, &who, org).await.pop().unwrap();
    assert_eq!(
        (&last["client_ip"], &last["user_agent"]),
        (&json!("192.0.2.7"), &json!("AuditTest/1.0"))
    );
    seen += 1;
    step!(
        "create_export",
        who,
        "POST",
        format!("{o}/exports"),
        None,
        "organization.export_requested",
        user_actor(&owner)
    );
    step!(
        "add_domain",
        who,
        "POST",
        format!("{o}/domains"),
        Some(json!({"domain": "audited.example"})),
        "domain.added",
        user_actor(&owner)
    );
    step!(
        "remove_domain",
        who,
        "DELETE",
        format!("{o}/domains/audited.example"),
        None,
        "domain.removed",
        user_actor(&owner)
    );
    step!(
        "set_sso_policy",
        who,
        "PUT",
        format!("{o}/sso/policy"),
        Some(json!({"enforced": false, "session_hours": 12})),
        "sso.policy_changed",
        user_actor(&owner)
    );
    step!(
        "set_sso_group_roles",
        who,
        "PUT",
        format!("{o}/sso/group-roles"),
        Some(json!({"mappings": [{"group": "ops", "role": "admin"}]})),
        "sso.group_roles_changed",
        user_actor(&owner)
    );
    let made = step!(
        "create_scim_token",
        who,
        "POST",
        format!("{o}/scim/tokens"),
        Some(json!({"name": "IdP"})),
        "scim_token.created",
        user_actor(&owner)
    );
    step!(
        "revoke_scim_token",
        who,
        "DELETE",
        format!("{o}/scim/tokens/{}", made["token"]["id"].as_str().unwrap()),
        None,
        "scim_token.revoked",
        user_actor(&owner)
    );
    // Erasure: asked for, then cancelled, both recorded.
    step!(
        "delete_organization",
        who,
        "DELETE",
        o.clone(),
        Some(json!({"confirm_name": "With context"})),
        "organization.erasure_requested",
        user_actor(&owner)
    );
    step!(
        "cancel_organization_erasure",
        who,
        "POST",
        format!("{o}/erasure/cancel"),
        None,
        "organization.erasure_cancelled",
        user_actor(&owner)
    );
    // A refused write leaves nothing.
    let (status, _) = app
        .json(
            &who,
            "DELETE",
            &format!("{o}/api-keys/{}", Uuid::nil()),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        records(&app, &who, org).await.len(),
        seen,
        "a refused write is not recorded"
    );
    // The chain is intact, and numbered without gaps.
    let all = records(&app, &who, org).await;
    for (i, record) in all.iter().enumerate() {
        assert_eq!(record["seq"].as_i64(), Some(i as i64 + 1));
        if i > 0 {
            assert_eq!(record["prev_hash"], all[i - 1]["hash"]);
        }
    }
    let (status, verified) = app
        .json(&who, "GET", &format!("{o}/audit-log/verify"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (verified["intact"].as_bool(), verified["checked"].as_i64()),
        (Some(true), Some(seen as i64)),
        "{verified}"
    );

    // Every write operation in the spec is exercised above or excluded with its reason.
    let spec: Value = serde_json::from_str(&api::app::openapi_json()).unwrap();
    for item in spec["paths"].as_object().unwrap().values() {
        for (method, op) in item.as_object().unwrap() {
            if !["post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"].as_str().unwrap();
            assert!(
                exercised.contains(&id) || NOT_AUDITED.iter().any(|(op, _)| *op == id),
                "{id} is neither exercised by the audit coverage test nor excluded with a reason"
            );
        }
    }
}

#[tokio::test]
async fn tampering_is_found_at_the_record_and_the_app_cannot_change_records() {
    let app = TestApp::new().await;
    let owner = app.user("owner@tamper.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Tamper").await;
    for name in ["a", "b", "c", "d"] {
        let (status, _) = app
            .json(
                &who,
                "PATCH",
                &format!("/api/v1/orgs/{org}"),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(status, 200);
    }
    let verify = async || {
        app.json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/verify"),
            None,
        )
        .await
        .1
    };
    // Positive control: the untouched chain (5 records) is intact, through the API and the
    // command's code.
    assert_eq!(verify().await["intact"], true);
    assert_eq!(verify().await["checked"], 5);
    let cli = api::commands::audit::verify(&app.test_db.owner_url, None, None)
        .await
        .unwrap();
    let ours = cli.iter().find(|c| c.org.uuid() == org).unwrap();
    assert!(ours.intact, "{}", ours.line);

    // The application role may not change or delete records, nor empty the table.
    let scoped = |sql: &'static str| {
        let db = app.state.db.clone();
        async move {
            db.scoped(tenant::OrgId::from_uuid(org), async |conn| {
                Ok::<_, tenant::DbError>(tenant::diesel::sql_query(sql).execute(conn).await?)
            })
            .await
        }
    };
    for sql in [
        "UPDATE audit_log SET action = 'member.removed' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
        "TRUNCATE audit_log",
    ] {
        let error = scoped(sql).await.unwrap_err().to_string();
        assert!(error.contains("permission denied"), "{sql}: {error}");
    }
    // Positive control for the same path: reading works.
    assert_eq!(scoped("SELECT 1 FROM audit_log").await.unwrap(), 5);

    // The table's owner (outside the application) edits record 3: verification stops there.
    let mut owner_conn = app.owner_conn().await;
    let as_owner = format!("SET app.org_id = '{org}';");
    owner_conn
        .batch_execute(&format!(
            "{as_owner} UPDATE audit_log SET changes = '{{}}' WHERE org_id = '{org}' AND seq = 3"
        ))
        .await
        .unwrap();
    let broken = verify().await;
    assert_eq!(
        (
            &broken["intact"],
            &broken["broken"]["seq"],
            &broken["broken"]["fault"]
        ),
        (&json!(false), &json!(3), &json!("content_altered")),
        "{broken}"
    );
    assert_eq!(broken["checked"], 2);
    let cli = api::commands::audit::verify(&app.test_db.owner_url, Some(org), None)
        .await
        .unwrap();
    assert!(
        !cli[0].intact && cli[0].line.contains("BROKEN at record 3"),
        "{}",
        cli[0].line
    );
    // Deleting a record instead is found too (record 2), and deleting the newest one.

    let second = app.org(&owner, "Second").await;
    for name in ["x", "y"] {
        app.json(
            &who,
            "PATCH",
            &format!("/api/v1/orgs/{second}"),
            Some(json!({"name": name})),
        )
        .await;
    }
    owner_conn
        .batch_execute(&format!("SET app.org_id = '{second}'; DELETE FROM audit_log WHERE org_id = '{second}' AND seq = 2"))
        .await
        .unwrap();
    let (_, gone) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{second}/audit-log/verify"),
            None,
        )
        .await;
    assert_eq!(
        (&gone["broken"]["seq"], &gone["broken"]["fault"]),
        (&json!(2), &json!("record_missing")),
        "{gone}"
    );
    let third = app.org(&owner, "Third").await;
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{third}"),
        Some(json!({"name": "z"})),
    )
    .await;
    owner_conn
        .batch_execute(&format!(
            "SET app.org_id = '{third}'; DELETE FROM audit_log WHERE org_id = '{third}' AND seq = 2"
        ))
        .await
        .unwrap();
    let (_, tail) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{third}/audit-log/verify"),
            None,
        )
        .await;
    assert_eq!(
        (&tail["broken"]["seq"], &tail["broken"]["fault"]),
        (&json!(2), &json!("tail_missing")),
        "{tail}"
    );
}

#[tokio::test]
async fn exports_hold_their_range_and_nothing_of_another_organization() {
    let app = TestApp::new().await;
    let owner = app.user("owner@export.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Exported").await;
    let other = app.org(&owner, "Other").await;
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{other}"),
        Some(json!({"name": "Other, \"quoted\""})),
    )
    .await;
    for i in 0..3 {
        app.json(
            &who,
            "PATCH",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"name": format!("=name {i}")})),
        )
        .await;
    }
    let export = async |query: &str| {
        let resp = app
            .client
            .get(format!("/api/v1/orgs/{org}/audit-log/export?{query}"))
            .header("cookie", &owner.cookie)
            .send()
            .await;
        resp.assert_status_is_ok();
        let content_type = resp
            .0
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        (
            content_type,
            resp.0.into_body().into_string().await.unwrap(),
        )
    };
    let (content_type, jsonl) = export("format=jsonl").await;
    assert_eq!(content_type, "application/jsonl");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Creation, three renames, and the export itself.
    let actions: Vec<&str> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "organization.created",
            "organization.renamed",
            "organization.renamed",
            "organization.renamed",
            "audit_log.exported"
        ]
    );
    assert!(
        !jsonl.contains("quoted"),
        "nothing of the other organization"
    );
    let (content_type, csv) = export("format=csv").await;
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with("seq,recorded_at,actor,action"),
        "{}",
        rows[0]
    );
    assert_eq!(
        rows.len(),
        1 + 6,
        "header, five records and the second export: {csv}"
    );
    assert!(
        csv.contains(r#""{""name"":{""after"":""=name 0"",""before"":""Exported""}}""#),
        "JSON in a quoted field: {csv}"
    );
    // A time range: nothing before the organization existed.
    let (_, empty) = export("format=jsonl&to=2000-01-01T00:00:00Z").await;
    assert_eq!(empty, "", "a range before any record holds none");
    let (status, _) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/export?format=xml"),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

/// GET of the audit stream: (status, the stream or null).
async fn stream_status(app: &TestApp, who: &As, org: Uuid) -> (u16, Value) {
    let (status, body) = app
        .json(
            who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/stream"),
            None,
        )
        .await;
    (status, body["stream"].clone())
}

/// The HTTPS receiver (`tests/fakes/audit_receiver.py`) with a certificate made for the test.
struct Receiver {
    child: Child,
    port: u16,
    control: u16,
    dir: std::path::PathBuf,
}

impl Receiver {
    fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("beacon-audit-receiver-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // A CA, and the receiver's certificate signed by it (a self-signed CA certificate is
        // refused as a server's own, as it should be).
        let openssl = |args: &[&str]| {
            let status = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .stderr(Stdio::null())
                .status()
                .expect("openssl makes the receiver's certificates");
            assert!(status.success(), "openssl {args:?}");
        };
        std::fs::write(
            dir.join("leaf.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=Beacon test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ]);
        std::fs::write(dir.join("secret"), "").unwrap();
        let (cert, key, secret) = (
            dir.join("cert.pem"),
            dir.join("key.pem"),
            dir.join("secret"),
        );
        let (child, ports) = crate::support::start_fake(
            "audit_receiver.py",
            &[
                "--cert".as_ref(),
                cert.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
                "--secret-file".as_ref(),
                secret.as_os_str(),
            ],
        );
        Self {
            child,
            port: ports[0],
            control: ports[1],
            dir,
        }
    }

    async fn state(&self) -> Value {
        let body = reqwest::get(format!("http://127.0.0.1:{}/_state", self.control))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    async fn answer(&self, status: u16) {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/_status", self.control))
            .body(json!({"status": status}).to_string())
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn the_stream_delivers_signed_records_over_https_and_retries() {
    let app = TestApp::new().await;
    let owner = app.user("owner@stream.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Streamed").await;
    let receiver = Receiver::start();
    let url = format!("https://127.0.0.1:{}/audit", receiver.port);
    let (status, stream) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/audit-log/stream"),
            Some(json!({"url": url})),
        )
        .await;
    assert_eq!(status, 200, "{stream}");
    let secret = stream["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    std::fs::write(receiver.dir.join("secret"), &secret).unwrap();
    // The secret is never answered again.
    let (_, again) = stream_status(&app, &who, org).await;
    assert_eq!(again["secret"], Value::Null);
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{org}"),
        Some(json!({"name": "Renamed"})),
    )
    .await;

    let client = worker::outbound::Outbound::new(
        Some(&receiver.dir.join("ca.pem")),
        true,
        worker::audit_stream::TIMEOUT,
    )
    .unwrap();
    let sweeper = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Sweeper,
        &Default::default(),
    )
    .unwrap();
    let now = chrono::Utc::now();
    let sent = worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, now)
        .await
        .unwrap();
    assert_eq!(sent, 1);
    let state = receiver.state().await;
    let (_, status_now) = stream_status(&app, &who, org).await;
    assert_eq!(
        state["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{status_now}"
    );
    let delivery = &state["deliveries"][0];
    assert_eq!(
        delivery["valid"], true,
        "the signature checks out: {delivery}"
    );
    let actions: Vec<&str> = delivery["body"]["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["audit_stream.configured", "organization.renamed"],
        "the records after the stream began"
    );
    let (_, status_now) = stream_status(&app, &who, org).await;
    assert_eq!(
        (
            status_now["delivered_seq"].as_i64(),
            status_now["head_seq"].as_i64(),
            status_now["last_status"].as_i64()
        ),
        (Some(3), Some(3), Some(200)),
        "{status_now}"
    );

    // A receiver that fails: the attempt is recorded, retried after the schedule's wait.
    receiver.answer(503).await;
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{org}"),
        Some(json!({"name": "Again"})),
    )
    .await;
    worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, now)
        .await
        .unwrap();
    let (_, failing) = stream_status(&app, &who, org).await;
    assert_eq!(
        (
            failing["failures"].as_i64(),
            failing["last_status"].as_i64(),
            failing["delivered_seq"].as_i64()
        ),
        (Some(1), Some(503), Some(3)),
        "{failing}"
    );
    // Not before the retry time; then again, and it succeeds once the receiver recovers.
    assert_eq!(
        worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, now)
            .await
            .unwrap(),
        0
    );
    receiver.answer(200).await;
    let later = now + chrono::Duration::seconds(6);
    assert_eq!(
        worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, later)
            .await
            .unwrap(),
        1
    );
    let state = receiver.state().await;
    let deliveries = state["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert_eq!(
        deliveries[1]["id"], deliveries[2]["id"],
        "a retry carries the same webhook-id"
    );
    let (_, healed) = stream_status(&app, &who, org).await;
    assert_eq!(
        (
            healed["failures"].as_i64(),
            healed["delivered_seq"].as_i64()
        ),
        (Some(0), Some(4)),
        "{healed}"
    );

    // The receiver's check can fail: after a secret rotation it does not know about, the
    // next delivery does not verify (the control for `valid` above).
    let (status, rotated) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/audit-log/stream"),
            Some(json!({"url": url, "rotate_secret": true})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert!(
        rotated["secret"].as_str().is_some_and(|s| s != secret),
        "a new secret, shown once"
    );
    worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, later)
        .await
        .unwrap();
    let state = receiver.state().await;
    assert_eq!(
        state["deliveries"].as_array().unwrap().last().unwrap()["valid"],
        false
    );
    std::fs::write(
        receiver.dir.join("secret"),
        rotated["secret"].as_str().unwrap(),
    )
    .unwrap();
    // 410 Gone turns the stream off, and that is recorded.
    receiver.answer(410).await;
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{org}"),
        Some(json!({"name": "Gone"})),
    )
    .await;
    worker::audit_stream::deliver_due(&app.state.db, &sweeper, &client, later)
        .await
        .unwrap();
    let (_, off) = stream_status(&app, &who, org).await;
    assert_eq!(off["enabled"], false, "{off}");
    let last = records(&app, &who, org).await.pop().unwrap();
    assert_eq!(
        (&last["action"], &last["actor"]),
        (
            &json!("audit_stream.disabled"),
            &json!({"kind": "system", "id": "audit_stream"})
        )
    );
    // Without the receiver's CA, the TLS check refuses the receiver (positive control above).
    let strict =
        worker::outbound::Outbound::new(None, true, worker::audit_stream::TIMEOUT).unwrap();
    app.json(
        &who,
        "PUT",
        &format!("/api/v1/orgs/{org}/audit-log/stream"),
        Some(json!({"url": url})),
    )
    .await;
    worker::audit_stream::deliver_due(&app.state.db, &sweeper, &strict, later)
        .await
        .unwrap();
    let (_, untrusted) = stream_status(&app, &who, org).await;
    assert!(
        untrusted["last_error"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("certificate"),
        "{untrusted}"
    );
    // A client that keeps to public addresses (the default) sends nothing to this loopback
    // receiver, by IP literal or by a name that resolves to it (the deliveries above are the
    // positive control).
    let public_only = worker::outbound::Outbound::new(
        Some(&receiver.dir.join("ca.pem")),
        false,
        worker::audit_stream::TIMEOUT,
    )
    .unwrap();
    for target in [
        url.clone(),
        format!("https://localhost:{}/audit", receiver.port),
    ] {
        let sent_before = receiver.state().await["deliveries"]
            .as_array()
            .unwrap()
            .len();
        app.json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/audit-log/stream"),
            Some(json!({"url": target})),
        )
        .await;
        worker::audit_stream::deliver_due(&app.state.db, &sweeper, &public_only, later)
            .await
            .unwrap();
        let (_, refused) = stream_status(&app, &who, org).await;
        assert!(
            refused["last_error"]
                .as_str()
                .unwrap_or("")
                .contains("BEACON_ALLOW_PRIVATE_OUTBOUND"),
            "{target}: {refused}"
        );
        let sent_after = receiver.state().await["deliveries"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            sent_after, sent_before,
            "{target}: nothing reached the receiver"
        );
    }
}

#[tokio::test]
async fn retention_leaves_a_signed_checkpoint_the_chain_verifies_from() {
    let key = tenant::audit::checkpoint::CheckpointKey::new(
        b"an audit key of at least 32 bytes!".to_vec(),
    )
    .unwrap();
    let app = TestApp::new()
        .await
        .reconfigured(|state| state.audit_key = Some(key.clone()));
    let owner = app.user("owner@retention.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Kept").await;
    for name in ["a", "b", "c"] {
        app.json(
            &who,
            "PATCH",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"name": name})),
        )
        .await;
    }
    let cutoff = chrono::Utc::now() + chrono::Duration::seconds(1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    app.json(
        &who,
        "PATCH",
        &format!("/api/v1/orgs/{org}"),
        Some(json!({"name": "kept"})),
    )
    .await;
    let removed = worker::jobs::prune_audit_all_tenants::prune(
        &app.state.db,
        &key,
        tenant::OrgId::from_uuid(org),
        cutoff,
    )
    .await
    .unwrap();
    assert_eq!(removed, 4, "the creation and three renames");
    let left = records(&app, &who, org).await;
    let actions: Vec<&str> = left.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["organization.renamed", "audit_log.pruned"]);
    let (_, verified) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/verify"),
            None,
        )
        .await;
    assert_eq!(
        (
            &verified["intact"],
            &verified["checkpoint_seq"],
            &verified["checkpoint_signature_checked"],
            &verified["checked"]
        ),
        (&json!(true), &json!(4), &json!(true), &json!(2)),
        "{verified}"
    );
    // The hourly job keeps what the plan keeps (a year when self-hosted): nothing goes at
    // 300 days, everything older than a year goes at 366.
    let ctx = crate::support::job_context(&app, None);
    app.set_now(chrono::Utc::now() + chrono::Duration::days(300));
    worker::jobs::PruneAuditAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    assert_eq!(
        records(&app, &who, org).await.len(),
        2,
        "a young chain is kept whole"
    );
    app.set_now(chrono::Utc::now() + chrono::Duration::days(366));
    worker::jobs::PruneAuditAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    let left = records(&app, &who, org).await;
    let actions: Vec<&str> = left.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["audit_log.pruned"],
        "only the job's own record of the prune"
    );
    let (_, verified) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/verify"),
            None,
        )
        .await;
    assert_eq!(verified["intact"], true, "{verified}");
    // A checkpoint edited in the database (to hide a cut) carries no valid signature.
    let mut owner_conn = app.owner_conn().await;
    owner_conn
        .batch_execute(&format!(
            "SET app.org_id = '{org}'; UPDATE audit_checkpoints SET seq = seq - 1 WHERE org_id = '{org}' AND seq = (SELECT max(seq) FROM audit_checkpoints WHERE org_id = '{org}')"
        ))
        .await
        .unwrap();
    let (_, forged) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log/verify"),
            None,
        )
        .await;
    assert_eq!(
        (&forged["intact"], &forged["broken"]["fault"]),
        (&json!(false), &json!("checkpoint_forged")),
        "{forged}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_export_and_erasure_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};
    use crate::support::SmtpServer;

    let smtp = SmtpServer::start();
    let data = DataDir::new();
    let port = free_port();
    let (public_url, smtp_url) = (format!("http://beacon.test:{port}"), smtp.url());
    let (_server, _) = serve_with(
        &data.0,
        port,
        &[
            ("BEACON_SMTP_URL", &smtp_url),
            ("BEACON_PUBLIC_URL", &public_url),
        ],
    );
    let report = crate::support::run_journey("compliance.mjs", port, smtp.maildir(), &[]);
    assert_eq!(report["renamed"], 200);
    assert_eq!(report["ownerShown"], 1, "the actor is shown by e-mail");
    assert_eq!(
        (report["diffBefore"].as_i64(), report["diffAfter"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["created"], 1);
    assert!(
        report["verified"].as_str().unwrap().starts_with("Intact:"),
        "{report}"
    );
    assert_eq!(
        report["filtered"], 1,
        "the action filter keeps only organization.created"
    );
    assert_eq!(
        report["download"],
        json!({"status": 200, "type": "application/gzip", "gzip": true})
    );
    assert_eq!(
        (
            report["banner"].as_i64(),
            report["bannerElsewhere"].as_i64(),
            report["bannerAfterCancel"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert!(
        report["txtValue"]
            .as_str()
            .is_some_and(|v| v.starts_with("beacon-verification=")),
        "{report}"
    );
    assert_eq!(report["domainListed"], 1);
    assert_eq!(report["erasureRecords"], 2);
    assert_eq!(report["exportRecords"], 3, "requested, ready, downloaded");
}
