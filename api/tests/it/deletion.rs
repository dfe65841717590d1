//! Deleting a project, then its organization, through the API leaves no row of theirs in any
//! tenant table, and changes no row of anyone else's. The tables are found in the catalog
//! (every table with `org_id`), so a new table is covered without a change here: the test fails
//! naming it until `populate` learns to fill it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{Array, Text};
use tenant::diesel_async::RunQueryDsl;
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::support::{As, TenantRows, TestApp};

/// Tables that record the deletion itself (the audit chain and its head), so they change.
const JOURNALS: &[&str] = &["audit_log", "audit_heads"];

/// The tenant tables `populate` (and the organization set-up) fill.
const POPULATED: &[&str] = &[
    "alerts",
    "alert_events",
    "schedules",
    "notification_channels",
    "notification_deliveries",
    "issue_notifications",
    "issue_tickets",
    "reports",
    "report_subscriptions",
    "ai_settings",
    "ai_usage",
    "ai_answers",
    "pdf_exports",
    "segments",
    "dashboards",
    "shared_links",
    "annotations",
    "comment_threads",
    "comments",
    "notifications",
    "notification_preferences",
    "task_columns",
    "tasks",
    "replay_sessions",
    "replay_chunks",
    "replay_blobs",
    "replay_tombstones",
    "blob_deletions",
    "heatmap_clicks",
    "heatmap_scroll",
    "api_keys",
    "audit_checkpoints",
    "audit_heads",
    "audit_log",
    "audit_streams",
    "org_exports",
    "org_domains",
    "sso_connections",
    "sso_policies",
    "sso_group_roles",
    "sso_logins",
    "sso_identities",
    "saml_assertions",
    "scim_tokens",
    "scim_users",
    "scim_groups",
    "scim_group_members",
    "billing_notices",
    "dropped_daily",
    "org_billing",
    "quota_state",
    "stripe_events",
    "usage_daily",
    "error_events",
    "error_issues",
    "events",
    "funnel_steps",
    "funnels",
    "goals",
    "invitations",
    "memberships",
    "organizations",
    "project_domains",
    "project_salts",
    "projects",
    "release_files",
    "rollup_last_seen",
    "rollup_state",
    "rollups_daily",
    "rollups_hourly",
    "rollups_weekly",
    "web_vitals",
];

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// A project with a row in every project-level table, each written the way Beacon writes it:
/// the API, the public ingestion endpoints, and the rollup step (as the rollup job's role).
pub(crate) async fn populate(app: &TestApp, who: &As, org: Uuid, domain: &str) -> Uuid {
    let project = app.project(who, org, domain).await;
    let id: Uuid = project["id"].as_str().unwrap().parse().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{id}");
    let mut goals = Vec::new();
    for goal in [
        json!({"page_path": "/thanks"}),
        json!({"event_name": "Signup"}),
    ] {
        let (status, body) = app
            .json(who, "POST", &format!("{base}/goals"), Some(goal))
            .await;
        assert_eq!(status, 201, "{body}");
        goals.push(body["id"].clone());
    }
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/funnels"),
            Some(json!({"name": "Signup flow", "steps": goals})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/segments"),
            Some(json!({"name": "Germany", "filters": [["is", "visit:country", ["DE"]]]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, funnel_list) = app.json(who, "GET", &format!("{base}/funnels"), None).await;
    assert_eq!(status, 200, "{funnel_list}");
    let widget = json!({"id": "w1", "kind": "funnel", "x": 0, "y": 0, "w": 6, "h": 4,
        "funnel_id": funnel_list[0]["id"]});
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/dashboards"),
            Some(json!({"name": "Launch", "widgets": [widget]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/shared-links"),
            Some(json!({"name": "Investors", "dashboard_id": body["id"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/annotations"),
            Some(json!({"at": "2026-11-20T10:00:00Z", "text": "v2.3 deployed"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/comments"),
            Some(json!({"target_kind": "annotation", "target_id": body["id"], "body": "Why? @member@deletion.example"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/tasks"),
            Some(json!({"title": "Fix it", "labels": ["bug"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .json(
            who,
            "PUT",
            &format!("/api/v1/orgs/{org}/notification-preferences"),
            Some(json!({"preferences": [{"kind": "reply", "inbox": true, "email": false}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A recording of one chunk (its session, chunk and blob).
    let (status, body) = app
        .json(
            who,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"enabled": true, "heatmaps_enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .client
        .post("/api/heatmap")
        .header("user-agent", FIREFOX)
        .content_type("text/plain")
        .body(
            json!({"d": domain, "p": "/", "w": "phone", "c": [["#buy", 0.5, 0.5, 0]], "s": 0.4})
                .to_string(),
        )
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    let t = chrono::Utc::now().timestamp_millis();
    let resp = app
        .client
        .post(format!("/api/replay?d={domain}&s={}&n=0", Uuid::new_v4()))
        .header("user-agent", FIREFOX)
        .header("x-forwarded-for", "203.0.113.9")
        .content_type("text/plain")
        .body(json!([{"type": 2, "timestamp": t, "data": {}}]).to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    // A second recording deleted by a person (its tombstone), and an object deletion owed as an
    // S3-compatible store's deletion records it.
    let gone = Uuid::new_v4();
    let resp = app
        .client
        .post(format!("/api/replay?d={domain}&s={gone}&n=0"))
        .header("user-agent", FIREFOX)
        .header("x-forwarded-for", "203.0.113.9")
        .content_type("text/plain")
        .body(json!([{"type": 2, "timestamp": t, "data": {}}]).to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    let (status, body) = app
        .json(who, "DELETE", &format!("{base}/replays/{gone}"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    let (org_id, project_id) = (
        tenant::OrgId::from_uuid(org),
        tenant::ProjectId::from_uuid(id),
    );
    app.state
        .db
        .scoped(org_id, async |conn| {
            let key = tenant::tables::replays::blob_key(org_id, project_id, gone, 0);
            tenant::tables::blob_deletions::owe(
                conn,
                org_id,
                project_id,
                &[key],
                chrono::Utc::now(),
            )
            .await
            .map_err(tenant::DbError::from)
        })
        .await
        .unwrap();

    let events = json!([
        {"n": "pageview", "u": format!("https://{domain}/"), "d": domain},
        {"n": "Signup", "u": format!("https://{domain}/thanks"), "d": domain},
    ]);
    let resp = app
        .client
        .post("/api/event")
        .header("user-agent", FIREFOX)
        .header("x-forwarded-for", "203.0.113.9")
        .content_type("text/plain")
        .body(events.to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    let vitals =
        json!({"d": domain, "u": format!("https://{domain}/"), "m": [{"n": "LCP", "v": 1200}]});
    let resp = app
        .client
        .post("/api/vitals")
        .header("user-agent", FIREFOX)
        .content_type("text/plain")
        .body(vitals.to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
    let resp = app
        .client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .body("{}\n{\"type\":\"event\"}\n{\"message\":\"boom\",\"release\":\"1.0\"}")
        .send()
        .await;
    resp.assert_status_is_ok();
    let As::User(session) = who else {
        panic!("populate needs a signed-in user")
    };
    let resp = app
        .client
        .put(format!("{base}/releases/1.0/files?name=~/app.js"))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .header("content-type", "application/octet-stream")
        .body("minified();")
        .send()
        .await;
    let (status, body) = crate::support::status_and_json(resp).await;
    assert!(status == 200 || status == 201, "{status}: {body}");

    // An alert on a channel, evaluated once by the worker's step: it fires (one visitor is
    // below 5), which writes its history and queues a delivery.
    let (status, channel) = app
        .json(
            who,
            "POST",
            &format!("/api/v1/orgs/{org}/channels"),
            Some(json!({"name": "Ops", "kind": "email", "emails": [format!("ops@{domain}")]})),
        )
        .await;
    assert_eq!(status, 201, "{channel}");
    let (status, hook) = app
        .json(
            who,
            "POST",
            &format!("/api/v1/orgs/{org}/channels"),
            Some(json!({"name": "Hook", "kind": "webhook", "url": "https://93.184.216.34/hook"})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let (status, alert) = app
        .json(
            who,
            "POST",
            &format!("{base}/alerts"),
            Some(
                json!({"name": "Traffic", "metric": "visitors", "window_minutes": 60,
                        "condition": "below", "warning": 5,
                        "channel_ids": [channel["channel"]["id"]]}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{alert}");
    // Error issues notify the e-mail channel; the issue has a ticket (as a connector's
    // delivery records it).
    let channel_id: Uuid = channel["channel"]["id"].as_str().unwrap().parse().unwrap();
    let (status, body) = app
        .json(
            who,
            "PUT",
            &format!("{base}/issue-notifications"),
            Some(json!({"channel_ids": [channel_id]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, issues) = app.json(who, "GET", &format!("{base}/issues"), None).await;
    let issue: Uuid = issues["items"][0]["id"].as_str().unwrap().parse().unwrap();
    app.state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            let url = "https://acme.atlassian.net/browse/OPS-1";
            tenant::tables::issue_tickets::record(
                conn,
                tenant::OrgId::from_uuid(org),
                issue,
                channel_id,
                "OPS-1",
                url,
            )
            .await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();

    // A weekly report with a subscriber.
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/reports/subscriptions"),
            Some(json!({"cadence": "weekly"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // A dashboard PDF asked for in the background.
    let (status, body) = app
        .json(
            who,
            "POST",
            &format!("{base}/exports/dashboard/jobs?period=12mo"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");

    // AI insights switched on (as the owner does), a month's usage and a cached answer.
    let (status, body) = app
        .json(
            who,
            "PUT",
            &format!("/api/v1/orgs/{org}/ai"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let tenant_org = tenant::OrgId::from_uuid(org);
    app.state
        .db
        .scoped(tenant_org, async |conn| {
            use tenant::tables::ai;
            let now = chrono::Utc::now();
            ai::add_usage(conn, tenant_org, ai::month_of(now), "highlights", (10, 5)).await?;
            let answer = ai::Answer {
                input_hash: format!("{}{}", id.simple(), id.simple()),
                project_id: id,
                feature: "highlights".into(),
                model: "m".into(),
                answer: "Up.".into(),
                facts: json!([]),
                prompt_tokens: 10,
                completion_tokens: 5,
                created_at: now,
            };
            ai::keep(conn, tenant_org, &answer).await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();

    // The rollup job's steps, nine days on, so the events are rolled up (their UTC day and week
    // complete, so in the daily and weekly layers too).
    let sweeper = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Sweeper,
        &Default::default(),
    )
    .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(9);
    // A visitor seen just before the last step's watermark (7 minutes before `later`), so the
    // step keeps them in `rollup_last_seen`; written as ingestion writes events.
    let site = super::stats::Site {
        org,
        project: id,
        key: String::new(),
    };
    super::stats::store(
        app,
        vec![super::stats::event(
            &site,
            7,
            later - chrono::Duration::minutes(10),
            "pageview",
            "/",
            None,
        )],
    )
    .await;
    let mut steps = 0;
    while sweeper
        .unscoped(async |conn| {
            Ok::<_, tenant::DbError>(tenant::stats::rollups::advance(conn, org, id, later).await?)
        })
        .await
        .unwrap()
        .is_some()
    {
        steps += 1;
    }
    assert!(steps > 0, "rolled up");
    let round = worker::alerts::evaluate_due(
        &app.state.db,
        &sweeper,
        &app.state.billing,
        chrono::Utc::now() + chrono::Duration::minutes(6),
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert!(round.queued >= 1, "{round:?}");
    id
}

/// A row in every billing table of `org`, written by the functions billing writes them with:
/// the subscription and webhook bookkeeping in the organization's scope, the daily count as
/// the usage job's role, the drops as ingestion's.
/// An audit stream and a checkpoint (the organization's writes made its records and head).
pub(crate) async fn populate_audit(app: &TestApp, org: Uuid) {
    use tenant::tables::{audit_log, audit_streams};
    let org = tenant::OrgId::from_uuid(org);
    let key = tenant::audit::checkpoint::CheckpointKey::new(vec![7; 32]).unwrap();
    app.state
        .db
        .scoped(org, async |conn| {
            let first = audit_log::chain_after(conn, org, 0, 1).await?.remove(0);
            let signature = key.sign(org, first.seq, &first.hash, first.recorded_at);
            audit_log::prune(conn, first.seq, &signature).await?;
            audit_streams::upsert(
                conn,
                org,
                "https://siem.example/",
                true,
                &audit_streams::new_secret(),
                0,
            )
            .await?;
            tenant::tables::org_domains::add(conn, org, "claimed.example").await?;
            let export =
                tenant::tables::org_exports::create(conn, org, tenant::UserId::generate()).await?;
            tenant::tables::org_exports::mark_failed(conn, org, export.export_id, "test").await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
}

/// A row in every single sign-on table of `org`: a connection, its policy, a group mapping, a
/// sign-in in flight, and `user`'s identity at the provider.
pub(crate) async fn populate_sso(app: &TestApp, org: Uuid, user: Uuid) {
    use tenant::tables::sso::{self, ConnectionChange, Kind, NewLogin, Policy, Purpose};
    let org = tenant::OrgId::from_uuid(org);
    let settings = json!({"issuer": "https://idp.example", "client_id": "beacon", "scopes": [],
        "email_claim": "email", "groups_claim": null});
    app.state
        .db
        .scoped(org, async |conn| {
            let change = ConnectionChange {
                enabled: true,
                settings: &settings,
                secret: Some(b"sealed".as_slice()),
                default_role: Role::Member,
            };
            sso::save_connection(conn, org, Kind::Oidc, &change).await?;
            sso::set_policy(
                conn,
                org,
                Policy {
                    enforced: false,
                    session_hours: 12,
                },
            )
            .await?;
            sso::replace_group_roles(conn, org, &[("ops".to_owned(), Role::Admin)]).await?;
            let login = NewLogin {
                state: tenant::secrets::new_token(),
                kind: Kind::Oidc,
                purpose: Purpose::SignIn,
                nonce: "n".into(),
                pkce_verifier: Some("v".into()),
                return_to: None,
                ttl: chrono::Duration::minutes(10),
            };
            sso::start_login(conn, org, &login, chrono::Utc::now()).await?;
            let user = tenant::UserId::from_uuid(user);
            sso::link_identity(conn, org, Kind::Oidc, "sub-1", user, chrono::Utc::now()).await?;
            let until = chrono::Utc::now() + chrono::Duration::minutes(5);
            sso::remember_assertion(conn, org, "_assertion-1", until, chrono::Utc::now()).await?;
            populate_scim(conn, org, user).await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
}

/// A row in every SCIM table of `org`: a token, `user` managed, a group with them in it.
async fn populate_scim(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: tenant::OrgId,
    user: tenant::UserId,
) -> Result<(), tenant::DbError> {
    use tenant::tables::scim::{self, UserChange};
    scim::create_token(conn, org, "IdP", None).await?;
    let resource = json!({"displayName": "Managed"});
    let scim_id = Uuid::now_v7();
    let change = UserChange {
        user_id: Some(user),
        created_account: false,
        user_name: "managed",
        external_id: None,
        active: true,
        resource: &resource,
    };
    scim::insert_user(conn, org, scim_id, &change).await?;
    let group = Uuid::now_v7();
    scim::save_group(conn, org, group, "ops", None, &json!({})).await?;
    scim::set_members(conn, org, group, &[scim_id]).await?;
    Ok(())
}

pub(crate) async fn populate_billing(app: &TestApp, org: Uuid) {
    use tenant::tables::{billing, usage};
    let org = tenant::OrgId::from_uuid(org);
    let today = chrono::Utc::now().date_naive();
    app.state
        .db
        .scoped(org, async |conn| {
            billing::save(
                conn,
                &billing::OrgBilling {
                    org_id: org,
                    stripe_customer_id: Some(format!("cus_{}", org.uuid().simple())),
                    stripe_subscription_id: Some("sub_1".into()),
                    plan: "team".into(),
                    billing_interval: Some("month".into()),
                    status: "active".into(),
                    current_period_start: None,
                    current_period_end: None,
                    trial_end: None,
                    cancel_at_period_end: false,
                    past_due_since: None,
                    trial_used: true,
                },
            )
            .await?;
            billing::record_event(conn, org, "evt_1", "invoice.paid").await?;
            billing::claim_notice(conn, org, "quota_80:events", today).await?;
            usage::save_quota_state(
                conn,
                &usage::QuotaState {
                    org_id: org,
                    product: "events".into(),
                    period_start: today,
                    used: 2,
                    quota: Some(10),
                    over_since: None,
                    blocked: false,
                },
            )
            .await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
    for role in [tenant::AppRole::Sweeper, tenant::AppRole::Ingest] {
        let db = tenant::Db::connect_as(&app.test_db.owner_url, role, &Default::default()).unwrap();
        db.unscoped(async |conn| {
            match role {
                tenant::AppRole::Sweeper => {
                    usage::count_day(conn, today).await?;
                }
                _ => usage::add_dropped(conn, org, usage::Product::Events, today, 1).await?,
            }
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
    }
}

#[derive(QueryableByName, Debug)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Array<Text>)]
    child_columns: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    parent_columns: Vec<String>,
}

async fn foreign_keys(app: &TestApp) -> Vec<ForeignKey> {
    let mut conn = app.owner_conn().await;
    tenant::diesel::sql_query(
        "SELECT child.relname::text AS child, parent.relname::text AS parent, \
           (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i) \
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS child_columns, \
           (SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i) \
            JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS parent_columns \
         FROM pg_constraint c \
         JOIN pg_class child ON child.oid = c.conrelid JOIN pg_class parent ON parent.oid = c.confrelid \
         WHERE c.contype = 'f' AND c.conparentid = 0 AND c.connamespace = 'public'::regnamespace",
    )
    .load(&mut conn)
    .await
    .unwrap()
}

/// The rows of `project`: those whose `project_id` is it, and, through foreign keys, the rows
/// that reference one of those (a funnel's steps).
fn rows_of_project(rows: &TenantRows, fks: &[ForeignKey], project: Uuid) -> TenantRows {
    let id = Value::String(project.to_string());
    let mut owned: TenantRows = rows
        .iter()
        .map(|(table, rows)| {
            let mine = rows.iter().filter(|row| row.get("project_id") == Some(&id));
            (table.clone(), mine.cloned().collect())
        })
        .collect();
    loop {
        let mut grew = false;
        for fk in fks {
            let (Some(children), Some(parents)) = (rows.get(&fk.child), owned.get(&fk.parent))
            else {
                continue;
            };
            let parents = parents.clone();
            for row in children {
                let references = |parent: &Value| {
                    fk.child_columns
                        .iter()
                        .zip(&fk.parent_columns)
                        .all(|(c, p)| !row[c].is_null() && row[c] == parent[p])
                };
                let mine = &mut owned.get_mut(&fk.child).unwrap();
                if !mine.contains(row) && parents.iter().any(references) {
                    mine.push(row.clone());
                    grew = true;
                }
            }
        }
        if !grew {
            return owned;
        }
    }
}

/// Asserts that `after` is `before` without `gone`, table by table.
fn assert_removed(before: &TenantRows, gone: &TenantRows, after: &TenantRows, what: &str) {
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (table, rows) in before {
        let left: Vec<&Value> = after[table]
            .iter()
            .filter(|row| gone[table].contains(row))
            .collect();
        assert!(left.is_empty(), "{what}: rows left in {table}: {left:?}");
        let expected: Vec<&Value> = rows.iter().filter(|r| !gone[table].contains(r)).collect();
        let kept: Vec<&Value> = after[table].iter().collect();
        if JOURNALS.contains(&table.as_str()) {
            // The deletion is itself recorded: the chain grows, its older records stay.
            let unchanged = expected.iter().filter(|r| kept.contains(r)).count();
            let lost = expected.len() - unchanged;
            if table == "audit_log" {
                assert_eq!(lost, 0, "{what}: audit records of {table} were lost");
            }
            continue;
        }
        assert_eq!(kept, expected, "{what}: other rows of {table} changed");
    }
}

#[tokio::test]
async fn deleting_a_project_then_its_organization_leaves_no_row_of_them() {
    let app = TestApp::new().await;
    let owner = app.user("owner@deletion.example").await;
    let member = app.user("member@deletion.example").await;
    let org = app.org(&owner, "Alpha").await;
    app.add_member(org, &member, Role::Member).await;
    populate_sso(&app, org, member.user_id).await;
    let who = As::User(owner);
    let (status, body) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({"email": "invited@deletion.example", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.api_key(&who, org, &["read"]).await;
    let doomed = populate(&app, &who, org, "doomed.example").await;
    let kept = populate(&app, &who, org, "kept.example").await;
    populate_billing(&app, org).await;
    populate_audit(&app, org).await;
    // A second organization, which nothing here may touch.
    let other_owner = app.user("owner@other.example").await;
    let other_org = app.org(&other_owner, "Beta").await;
    populate_sso(&app, other_org, other_owner.user_id).await;
    populate(&app, &As::User(other_owner), other_org, "other.example").await;
    populate_billing(&app, other_org).await;
    populate_audit(&app, other_org).await;

    let before = app.tenant_rows(org).await;
    let other_before = app.tenant_rows(other_org).await;
    for (table, rows) in &before {
        assert!(
            POPULATED.contains(&table.as_str()),
            "tenant table {table}: this test does not know how to populate it (add it to populate and POPULATED)"
        );
        assert!(
            !rows.is_empty(),
            "tenant table {table}: populate left it empty"
        );
    }
    for table in POPULATED {
        assert!(
            before.contains_key(*table),
            "{table} is no tenant table any more"
        );
    }
    let fks = foreign_keys(&app).await;
    let of_doomed = rows_of_project(&before, &fks, doomed);
    let of_kept = rows_of_project(&before, &fks, kept);
    let per_project: BTreeMap<&String, (usize, usize)> = before
        .keys()
        .map(|t| (t, (of_doomed[t].len(), of_kept[t].len())))
        .collect();
    // Both projects have rows in the same tables: every table but the organization's own.
    for (table, (doomed_rows, kept_rows)) in &per_project {
        let org_level = [
            "organizations",
            "memberships",
            "invitations",
            "api_keys",
            "org_billing",
            "stripe_events",
            "usage_daily",
            "quota_state",
            "billing_notices",
            "dropped_daily",
            "audit_log",
            "audit_heads",
            "audit_checkpoints",
            "audit_streams",
            "org_exports",
            "org_domains",
            "sso_connections",
            "sso_policies",
            "sso_group_roles",
            "sso_logins",
            "sso_identities",
            "saml_assertions",
            "scim_tokens",
            "scim_users",
            "scim_groups",
            "scim_group_members",
            "notification_channels",
            "notification_deliveries",
            "ai_settings",
            "ai_usage",
            "notification_preferences",
        ];
        assert_eq!(
            *doomed_rows > 0 && *kept_rows > 0,
            !org_level.contains(&table.as_str()),
            "{table}: rows per project {per_project:?}"
        );
    }

    let (status, body) = app
        .json(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}/projects/{doomed}"),
            Some(json!({"confirm_name": "Site"})),
        )
        .await;
    assert_eq!(status, 202, "asking for the project's erasure: {body}");
    let ctx = crate::support::job_context(&app, None);
    app.set_now(chrono::Utc::now() + chrono::Duration::days(8));
    worker::jobs::EraseOrganizations {}.run(&ctx).await.unwrap();
    let after = app.tenant_rows(org).await;
    assert_removed(&before, &of_doomed, &after, "project deleted");
    assert_eq!(app.tenant_rows(other_org).await, other_before);

    let (status, body) = app
        .json(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "Alpha"})),
        )
        .await;
    assert_eq!(status, 202, "asking for the organization's erasure: {body}");
    // Within the undo window nothing goes (the positive control of the check below).
    app.set_now(chrono::Utc::now() + chrono::Duration::days(8 + 6));
    worker::jobs::EraseOrganizations {}.run(&ctx).await.unwrap();
    let pending = app.tenant_rows(org).await;
    assert!(!pending["organizations"].is_empty() && !pending["audit_log"].is_empty());
    // After it, every row of every tenant table the catalog lists is gone.
    app.set_now(chrono::Utc::now() + chrono::Duration::days(8 + 8));
    worker::jobs::EraseOrganizations {}.run(&ctx).await.unwrap();
    for (table, rows) in app.tenant_rows(org).await {
        assert!(
            rows.is_empty(),
            "organization erased: rows left in {table}: {rows:?}"
        );
    }
    assert_eq!(app.tenant_rows(other_org).await, other_before);
    // What is left: the id, the time and the audit chain's last record, signed when a key is
    // set (no key here).
    #[derive(tenant::diesel::QueryableByName, Debug)]
    struct Left {
        #[diesel(sql_type = tenant::diesel::sql_types::Text)]
        row: String,
    }
    let mut conn = app.owner_conn().await;
    let left: Vec<Left> = tenant::diesel::sql_query(format!(
        "SELECT (to_jsonb(e) - 'erased_at')::text AS row FROM erased_organizations e WHERE org_id = '{org}'"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    let row: Value = serde_json::from_str(&left[0].row).unwrap();
    let mut keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(keys, ["audit_hash", "audit_seq", "org_id", "signature"]);
    assert!(
        row["audit_seq"].as_i64().unwrap() > 5,
        "the chain's end: {row}"
    );
}
