//! The database enforces tenancy: every tenant table has `org_id`, a primary key starting with
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! it, and forced row-level security with a policy; the application role owns nothing and
//! bypasses nothing; without a scope it sees no tenant rows at all. Migrations reverse cleanly.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tenant::tables::memberships::Role;
use tenant::tables::{api_keys, invitations, memberships, organizations, projects, users};
use tenant::test_support::TestDb;
use tenant::{DbError, OrgId, UserId};

/// Global tables, deliberately without `org_id`.
const GLOBAL_TABLES: &[&str] = &[
    "__diesel_schema_migrations",
    "users",
    "user_sessions",
    "user_tokens",
    "erased_organizations",
];

#[derive(QueryableByName, Debug)]
struct TableFacts {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    has_org_id_not_null: bool,
    #[diesel(sql_type = Bool)]
    rls_enabled: bool,
    #[diesel(sql_type = Bool)]
    rls_forced: bool,
    #[diesel(sql_type = BigInt)]
    policies: i64,
    #[diesel(sql_type = Bool)]
    pk_starts_with_org_id: bool,
    #[diesel(sql_type = Bool)]
    owned_by_app: bool,
    #[diesel(sql_type = Bool)]
    is_partition: bool,
    #[diesel(sql_type = Bool)]
    app_can_select: bool,
    #[diesel(sql_type = Bool)]
    any_role_has_grants: bool,
}

const FACTS: &str = "
SELECT c.relname::text AS name,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id'
               AND a.attnotnull AND NOT a.attisdropped) AS has_org_id_not_null,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,
       COALESCE((SELECT a.attname = 'org_id' FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
                 WHERE i.indrelid = c.oid AND i.indisprimary), false) AS pk_starts_with_org_id,
       pg_get_userbyid(c.relowner) = 'beacon_app' AS owned_by_app,
       c.relispartition AS is_partition,
       has_table_privilege('beacon_app', c.oid, 'SELECT') AS app_can_select,
       EXISTS (SELECT 1 FROM unnest(ARRAY['beacon_app', 'beacon_ingest', 'beacon_sweeper']) r
               WHERE has_table_privilege(r, c.oid, 'SELECT, INSERT, UPDATE, DELETE')) AS any_role_has_grants
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY 1";

async fn owner(db: &TestDb) -> AsyncPgConnection {
    AsyncPgConnection::establish(&db.owner_url).await.unwrap()
}

#[tokio::test]
async fn every_tenant_table_is_protected() {
    let db = TestDb::new(None).await.unwrap();
    let mut conn = owner(&db).await;
    let tables: Vec<TableFacts> = diesel::sql_query(FACTS).load(&mut conn).await.unwrap();
    assert!(tables.len() >= 9, "{tables:?}");
    let mut tenant_tables = 0;
    for table in &tables {
        assert!(
            !table.owned_by_app,
            "{} is owned by the application role",
            table.name
        );
        if GLOBAL_TABLES.contains(&table.name.as_str()) {
            continue;
        }
        tenant_tables += 1;
        assert!(
            table.has_org_id_not_null,
            "{} lacks org_id NOT NULL",
            table.name
        );
        assert!(
            table.rls_enabled && table.rls_forced,
            "{} lacks enabled and forced RLS",
            table.name
        );
        if table.is_partition {
            // Reached only through the parent, whose policies apply; direct access is closed.
            assert!(
                !table.any_role_has_grants,
                "partition {} is open to an application role",
                table.name
            );
        } else {
            assert!(table.policies > 0, "{} has no RLS policy", table.name);
        }
        assert!(
            table.pk_starts_with_org_id,
            "{}'s primary key does not start with org_id",
            table.name
        );
    }
    assert!(tenant_tables >= 6);
}

#[derive(QueryableByName)]
struct RoleFacts {
    #[diesel(sql_type = Bool)]
    rolsuper: bool,
    #[diesel(sql_type = Bool)]
    rolbypassrls: bool,
    #[diesel(sql_type = Text)]
    current: String,
}

#[tokio::test]
async fn application_role_cannot_bypass_rls() {
    let db = TestDb::new(None).await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let facts: RoleFacts = diesel::sql_query(
        "SELECT rolsuper, rolbypassrls, current_user::text AS current FROM pg_roles WHERE rolname = current_user",
    )
    .get_result(&mut *conn)
    .await
    .unwrap();
    assert_eq!(facts.current, "beacon_app");
    assert!(!facts.rolsuper && !facts.rolbypassrls);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test]
async fn without_a_scope_the_application_sees_no_tenant_rows() {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    let org_id = org.uuid();
    let user = db
        .db
        .unscoped(async |conn| {
            Ok::<_, DbError>(users::create(conn, "a@example.com", "x").await?.unwrap())
        })
        .await
        .unwrap();
    db.db
        .scoped(org, async |conn| {
            organizations::create(conn, tenant::OrgId::from_uuid(org_id), "A").await?;
            memberships::upsert(
                conn,
                tenant::OrgId::from_uuid(org_id),
                tenant::UserId::from_uuid(user.id),
                Role::Owner,
            )
            .await?;
            invitations::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                "b@example.com",
                "viewer",
                user.id,
                chrono::Duration::days(1),
            )
            .await?;
            projects::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                "Site",
                "UTC",
                &["a.example".to_owned()],
            )
            .await?;
            api_keys::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                "k",
                &["read".to_owned()],
                None,
                None,
            )
            .await?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    let project_id = db
        .db
        .scoped(org, async |conn| {
            Ok::<_, DbError>(
                projects::list(conn, tenant::OrgId::from_uuid(org_id), None, None, 1).await?[0]
                    .project
                    .project_id,
            )
        })
        .await
        .unwrap();
    db.db
        .scoped(org, async |conn| {
            let mut goal_ids = Vec::new();
            for name in ["Signup", "Purchase"] {
                let goal = tenant::tables::goals::create(
                    conn,
                    tenant::OrgId::from_uuid(org_id),
                    tenant::ProjectId::from_uuid(project_id),
                    name,
                    &tenant::tables::goals::Matcher::Event(name.into()),
                    None,
                )
                .await?;
                goal_ids.push(goal.goal_id);
            }
            tenant::tables::funnels::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                tenant::ProjectId::from_uuid(project_id),
                "Flow",
                &goal_ids,
            )
            .await
            .map_err(|error| match error {
                tenant::tables::funnels::CreateError::Db(error) => DbError::from(error),
                other => panic!("{other}"),
            })?;
            tenant::tables::error_issues::record(
                conn,
                &tenant::tables::error_issues::NewErrorEvent {
                    org_id,
                    project_id,
                    event_id: uuid::Uuid::new_v4(),
                    fingerprint: "f".repeat(64),
                    title: "TypeError: boom".into(),
                    culprit: None,
                    ts: chrono::Utc::now(),
                    level: "error".into(),
                    platform: None,
                    release: Some("1.0".into()),
                    environment: None,
                    user_hash: None,
                    visitor_id: None,
                    data: serde_json::json!({}),
                },
            )
            .await?;
            tenant::tables::release_files::put(
                conn,
                tenant::OrgId::from_uuid(org_id),
                tenant::ProjectId::from_uuid(project_id),
                "1.0",
                "~/app.js",
                b"x",
            )
            .await?;
            tenant::tables::web_vitals::insert(
                conn,
                &[tenant::tables::web_vitals::NewVital {
                    org_id,
                    project_id,
                    vital_id: uuid::Uuid::now_v7(),
                    ts: chrono::Utc::now(),
                    metric: "LCP".into(),
                    value: 1200.0,
                    rating: "good".into(),
                    pathname: "/".into(),
                    device: None,
                    country: None,
                    navigation_type: None,
                    attribution: serde_json::json!({}),
                }],
            )
            .await?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();
    let ingest =
        tenant::Db::connect_as(&db.owner_url, tenant::AppRole::Ingest, &Default::default())
            .unwrap();
    let event = tenant::tables::events::NewEvent {
        org_id,
        project_id,
        ts: chrono::Utc::now(),
        event_id: uuid::Uuid::now_v7(),
        name: "pageview".into(),
        visitor_id: 1,
        hostname: "a.example".into(),
        pathname: "/".into(),
        referrer_host: None,
        source: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        utm_content: None,
        utm_term: None,
        browser: None,
        browser_version: None,
        os: None,
        os_version: None,
        device: None,
        country: None,
        region: None,
        city: None,
        props: serde_json::json!({}),
        revenue_amount: None,
        revenue_currency: None,
        interactive: true,
    };
    let later = event.ts + chrono::Duration::days(9);
    // A second visitor's event just before the last step's watermark (7 minutes before
    // `later`), so that step keeps them in `rollup_last_seen`.
    let recent = tenant::tables::events::NewEvent {
        ts: later - chrono::Duration::minutes(10),
        event_id: uuid::Uuid::now_v7(),
        visitor_id: 2,
        ..event.clone()
    };
    let mut ingest_conn = ingest.conn().await.unwrap();
    tenant::tables::events::insert_batch(&mut ingest_conn, &[event.clone(), recent])
        .await
        .unwrap();
    // The rollup job (as the sweeper) rolls those events up, step by step as of nine days later
    // (the first one's UTC day and week are then complete, so it is in the daily and weekly
    // layers too).
    let sweeper =
        tenant::Db::connect_as(&db.owner_url, tenant::AppRole::Sweeper, &Default::default())
            .unwrap();
    let mut steps = 0;
    while sweeper
        .unscoped(async |conn| {
            Ok::<_, DbError>(
                tenant::stats::rollups::advance(conn, org_id, project_id, later).await?,
            )
        })
        .await
        .unwrap()
        .is_some()
    {
        steps += 1;
    }
    assert!(steps > 0);
    // Billing: the subscription and its bookkeeping in the scope, the daily count as the
    // sweeper, the drops as ingestion.
    {
        use tenant::tables::{billing, usage};
        let today = chrono::Utc::now().date_naive();
        db.db
            .scoped(org, async |conn| {
                billing::save(
                    conn,
                    &billing::OrgBilling {
                        org_id: org,
                        stripe_customer_id: Some("cus_1".into()),
                        stripe_subscription_id: None,
                        plan: "free".into(),
                        billing_interval: None,
                        status: "none".into(),
                        current_period_start: None,
                        current_period_end: None,
                        trial_end: None,
                        cancel_at_period_end: false,
                        past_due_since: None,
                        trial_used: false,
                    },
                )
                .await?;
                billing::record_event(conn, org, "evt_1", "invoice.paid").await?;
                billing::claim_notice(conn, org, "payment_failed", today).await?;
                usage::save_quota_state(
                    conn,
                    &usage::QuotaState {
                        org_id: org,
                        product: "events".into(),
                        period_start: today,
                        used: 1,
                        quota: None,
                        over_since: None,
                        blocked: true,
                    },
                )
                .await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
        let counted = sweeper
            .unscoped(async |conn| Ok::<_, DbError>(usage::count_day(conn, today).await?))
            .await
            .unwrap();
        assert_eq!(
            counted, 2,
            "the sweeper counts the event and the error event"
        );
        usage::add_dropped(&mut ingest_conn, org, usage::Product::Events, today, 1)
            .await
            .unwrap();
        let blocked = usage::blocked(&mut ingest_conn).await.unwrap();
        assert_eq!(
            blocked,
            vec![(org, usage::Product::Events)],
            "ingestion reads blocks"
        );
    }
    {
        // The audit tables: two records (one pruned into a checkpoint, one kept) and a stream.
        use tenant::audit::{self, Action, Entry, checkpoint::CheckpointKey};
        use tenant::tables::{audit_log, audit_streams};
        let key = CheckpointKey::new(vec![7; 32]).unwrap();
        db.db
            .scoped_as(org, &tenant::Actor::System("schema_test"), async |conn| {
                audit::record(conn, org, Entry::new(Action::OrganizationRenamed, org)).await?;
                audit::record(conn, org, Entry::new(Action::OrganizationRenamed, org)).await?;
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
                tenant::tables::org_exports::create(conn, org, tenant::UserId::generate()).await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
    }
    {
        // The single sign-on tables: a connection, its policy, a group rule, a sign-in in
        // flight and the user's identity at the provider.
        use tenant::tables::sso::{self, ConnectionChange, Kind, NewLogin, Policy, Purpose};
        let settings = serde_json::json!({"issuer": "https://idp.example"});
        let user_id = UserId::from_uuid(user.id);
        db.db
            .scoped(org, async |conn| {
                let change = ConnectionChange {
                    enabled: true,
                    settings: &settings,
                    secret: None,
                    default_role: Role::Member,
                };
                sso::save_connection(conn, org, Kind::Oidc, &change).await?;
                sso::set_policy(conn, org, Policy::default()).await?;
                sso::replace_group_roles(conn, org, &[("ops".to_owned(), Role::Admin)]).await?;
                let login = NewLogin {
                    state: "state".into(),
                    kind: Kind::Oidc,
                    purpose: Purpose::SignIn,
                    nonce: "n".into(),
                    pkce_verifier: None,
                    return_to: None,
                    ttl: chrono::Duration::minutes(10),
                };
                sso::start_login(conn, org, &login, chrono::Utc::now()).await?;
                sso::link_identity(conn, org, Kind::Oidc, "sub", user_id, chrono::Utc::now())
                    .await?;
                let until = chrono::Utc::now() + chrono::Duration::minutes(5);
                sso::remember_assertion(conn, org, "_assertion", until, chrono::Utc::now()).await?;
                // SCIM: a token, the user managed, a group with them in it.
                use tenant::tables::scim::{self, UserChange};
                scim::create_token(conn, org, "IdP", None).await?;
                let resource = serde_json::json!({});
                let scim_id = uuid::Uuid::now_v7();
                let managed = UserChange {
                    user_id: Some(user_id),
                    created_account: false,
                    user_name: "a",
                    external_id: None,
                    active: true,
                    resource: &resource,
                };
                scim::insert_user(conn, org, scim_id, &managed).await?;
                let group = uuid::Uuid::now_v7();
                scim::save_group(conn, org, group, "ops", None, &resource).await?;
                scim::set_members(conn, org, group, &[scim_id]).await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
    }
    {
        // Alerts: a webhook channel, a rule with its schedule, a state change in its history,
        // and a delivery queued to the channel.
        use tenant::alerts::rule::{AlertInput, AlertSpec};
        use tenant::tables::alerts::{self, AlertEvent, RuleFields};
        use tenant::tables::notification_channels::{self, NewChannel};
        use tenant::tables::{notification_deliveries, schedules};
        let filters = serde_json::json!([]);
        let spec = AlertSpec::validate(&AlertInput {
            metric: "visitors",
            filters: &filters,
            window_minutes: 60,
            condition: "below",
            baseline: None,
            sensitivity: None,
            warning: Some(10.0),
            critical: None,
            resolve: None,
            pending_minutes: 0,
            every_minutes: 5,
        })
        .unwrap();
        db.db
            .scoped(org, async |conn| {
                let channel_id = uuid::Uuid::now_v7();
                let new = NewChannel {
                    channel_id,
                    kind: "webhook",
                    name: "Hook",
                    url_host: Some("hooks.example"),
                    url_sealed: Some(b"sealed"),
                    secret_sealed: Some(b"sealed"),
                    emails: &[],
                    member_ids: &[],
                    settings: &serde_json::json!({}),
                    created_by: None,
                };
                notification_channels::create(conn, org, &new).await?;
                let project = tenant::ProjectId::from_uuid(project_id);
                let fields = RuleFields {
                    name: "Traffic",
                    spec: &spec,
                    channel_ids: &[channel_id],
                    enabled: true,
                };
                let alert = alerts::create(conn, org, project, &fields, None).await?;
                let now = chrono::Utc::now();
                schedules::every_for_alert(conn, org, project, alert.alert_id, 5, now).await?;
                alerts::insert_event(
                    conn,
                    &AlertEvent {
                        org_id,
                        alert_id: alert.alert_id,
                        event_id: uuid::Uuid::now_v7(),
                        at: now,
                        from_state: "ok".into(),
                        to_state: "firing".into(),
                        level: Some("warning".into()),
                        value: Some(1.0),
                        baseline_value: None,
                        threshold: Some(10.0),
                        notified: true,
                    },
                )
                .await?;
                let payload = serde_json::json!({"type": "test"});
                notification_deliveries::enqueue(
                    conn,
                    org,
                    channel_id,
                    Default::default(),
                    "test",
                    &payload,
                )
                .await?;
                // A ticket made for the error issue, and the project's issue notifications.
                let issue: uuid::Uuid = {
                    use diesel::QueryDsl;
                    use diesel_async::RunQueryDsl;
                    use tenant::schema::error_issues as issues;
                    issues::table.select(issues::issue_id).first(conn).await?
                };
                let url = "https://acme.atlassian.net/browse/OPS-1";
                tenant::tables::issue_tickets::record(conn, org, issue, channel_id, "OPS-1", url)
                    .await?;
                let chosen = tenant::tables::issue_notifications::Chosen {
                    on_new: true,
                    on_regression: true,
                    channel_ids: &[channel_id],
                    hourly_cap: 5,
                };
                tenant::tables::issue_notifications::save(conn, org, project, &chosen).await?;
                // A weekly report (with its schedule) and an address subscribed to it.
                use tenant::tables::reports::{self, Cadence, Recipient};
                let report = reports::ensure(conn, org, project, Cadence::Weekly, now).await?;
                let address = Recipient::Address("board@example.com");
                reports::subscribe(conn, org, report.report_id, address, true, None).await?;
                // AI insights switched on, a month's usage and a cached answer.
                use tenant::tables::ai;
                ai::save(conn, org, true, 50_000, None).await?;
                ai::add_usage(conn, org, ai::month_of(now), "highlights", (120, 40)).await?;
                let answer = ai::Answer {
                    input_hash: "a".repeat(64),
                    project_id: project.uuid(),
                    feature: "highlights".into(),
                    model: "m".into(),
                    answer: "Up [F1].".into(),
                    facts: serde_json::json!([]),
                    prompt_tokens: 120,
                    completion_tokens: 40,
                    created_at: now,
                };
                ai::keep(conn, org, &answer).await?;
                // A dashboard PDF asked for in the background.
                use tenant::tables::pdf_exports::{self, NewPdf};
                let day = now.date_naive();
                let pdf = NewPdf {
                    project,
                    period: (day, day),
                    paper: "a4",
                    by: None,
                };
                pdf_exports::create(conn, org, pdf, now).await?;
                // A shared segment and a custom dashboard.
                use tenant::tables::{dashboards, segments};
                let filters = serde_json::json!([["is", "visit:country", ["DE"]]]);
                let fields = segments::SegmentFields {
                    name: "Germany",
                    filters: &filters,
                    shared: true,
                };
                segments::create(conn, org, project, None, fields).await?;
                let content = dashboards::Content {
                    name: "Launch",
                    period: Some("7d"),
                    filters: &filters,
                    widgets: &serde_json::json!([]),
                };
                dashboards::create(conn, org, project, None, content).await?;
                use tenant::tables::shared_links::{self, NewLink};
                let link = NewLink {
                    project,
                    dashboard_id: None,
                    name: "Investors",
                    secret_hash: &tenant::sharing::secret_hash("secret"),
                    password_hash: None,
                    segment_id: None,
                    expires_at: None,
                    embed_origins: &[],
                    by: None,
                };
                shared_links::create(conn, org, link).await?;
                let annotation = tenant::tables::annotations::create(
                    conn,
                    org,
                    project,
                    now,
                    "v2.3 deployed",
                    None,
                )
                .await?;
                use tenant::tables::comments::{self, TargetKind};
                let about = annotation.annotation_id.to_string();
                let thread =
                    comments::thread_for(conn, org, project, (TargetKind::Annotation, &about))
                        .await?;
                comments::add(conn, org, thread.thread_id, None, "Why?").await?;
                // A task on the board, and a notification with a preference.
                use tenant::tables::notifications::{self, Kind, Notice, Preference};
                use tenant::tables::tasks;
                let columns = tasks::lock_columns(conn, org, project).await?;
                let fields = tasks::Fields {
                    title: "Fix it".into(),
                    description: String::new(),
                    assignee_id: Some(user.id),
                    due_on: None,
                    labels: vec!["bug".into()],
                    priority: "high".into(),
                    issue_id: None,
                };
                tasks::create(conn, (org, project), columns[0].column_id, &fields, None).await?;
                let member = UserId::from_uuid(user.id);
                let preference = Preference {
                    kind: notifications::PreferenceKind::Replies,
                    inbox: true,
                    email: false,
                };
                notifications::set_preference(conn, org, member, preference, now).await?;
                let notice = Notice {
                    project,
                    kind: Kind::Mention,
                    actor: None,
                    target_kind: "annotation".into(),
                    target_id: about.clone(),
                    summary: "Why?".into(),
                };
                notifications::notify(conn, org, &notice, &[user.id]).await?;
                // A recorded session with one chunk and its blob.
                use tenant::tables::replays;
                let events = serde_json::json!([{"type": 2, "timestamp": now.timestamp_millis(), "data": {}}]);
                let summary =
                    tenant::replay::chunk::summarize(&serde_json::to_vec(&events).unwrap(), now)
                        .unwrap();
                let session = replays::NewSession {
                    org_id: org,
                    project_id: project,
                    replay_id: uuid::Uuid::new_v4(),
                    visitor_id: 42,
                    country: None,
                    device: "desktop".into(),
                    browser: "Firefox".into(),
                    os: "Linux".into(),
                };
                let limits = replays::SessionLimits {
                    max_duration_s: 3600,
                    max_bytes: 1 << 20,
                    max_seq: 10,
                };
                replays::record_chunk(conn, &session, 0, &summary, 3, limits)
                    .await
                    .map_err(|error| match error {
                        replays::RecordError::Db(error) => DbError::from(error),
                        other => panic!("{other:?}"),
                    })?;
                let key = replays::blob_key(org, project, session.replay_id, 0);
                replays::put_blob(conn, org, project, &key, b"abc").await?;
                // A second one deleted by a person (its tombstone), with an object deletion owed.
                let gone = replays::NewSession {
                    replay_id: uuid::Uuid::new_v4(),
                    ..session.clone()
                };
                replays::record_chunk(conn, &gone, 0, &summary, 3, limits)
                    .await
                    .map_err(|error| match error {
                        replays::RecordError::Db(error) => DbError::from(error),
                        other => panic!("{other:?}"),
                    })?;
                let keys = replays::delete(conn, org, project, &[gone.replay_id], Some(now)).await?;
                tenant::tables::blob_deletions::owe(conn, org, project, &keys, now).await?;
                let report = tenant::replay::heatmap::parse(&serde_json::json!({
                    "p": "/", "w": "desktop", "c": [["#buy", 0.5, 0.5, 1]], "s": 0.5
                }))
                .unwrap();
                tenant::tables::heatmaps::record(conn, org, project, now, &report)
                    .await?;
                Ok::<_, DbError>(())
            })
            .await
            .unwrap();
    }
    // The ingest role cannot write an event for a project of another organization.
    let forged = tenant::tables::events::NewEvent {
        org_id: OrgId::generate().uuid(),
        ..event
    };
    assert!(
        tenant::tables::events::insert_batch(&mut ingest_conn, &[forged])
            .await
            .is_err()
    );

    // The application may delete only events whose project is gone (what deleting a project
    // does): these belong to a live project, so none goes.
    let deleted = db
        .db
        .scoped(org, async |c| {
            Ok::<_, DbError>(diesel::sql_query("DELETE FROM events").execute(c).await?)
        })
        .await
        .unwrap();
    assert_eq!(
        deleted, 0,
        "the application deleted a live project's events"
    );

    let mut owner_conn = owner(&db).await;
    let tables: Vec<TableFacts> = diesel::sql_query(FACTS)
        .load(&mut owner_conn)
        .await
        .unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let other = OrgId::generate();
    for table in tables
        .iter()
        .filter(|t| !GLOBAL_TABLES.contains(&t.name.as_str()))
    {
        let sql = format!("SELECT count(*) AS n FROM {}", table.name);
        if table.is_partition || !table.app_can_select {
            // Not readable by the application at all (partitions, salts).
            let denied: Result<Count, _> = diesel::sql_query(&sql).get_result(&mut *conn).await;
            assert!(
                denied.is_err(),
                "{} is readable by the application role",
                table.name
            );
            continue;
        }
        let unscoped: Count = diesel::sql_query(&sql)
            .get_result(&mut *conn)
            .await
            .unwrap();
        assert_eq!(unscoped.n, 0, "{} is visible without a scope", table.name);
        let in_other: Count = db
            .db
            .scoped(other, async |c| {
                Ok::<_, DbError>(diesel::sql_query(&sql).get_result(c).await?)
            })
            .await
            .unwrap();
        assert_eq!(
            in_other.n, 0,
            "{} is visible from another organization",
            table.name
        );
        let in_own: Count = db
            .db
            .scoped(org, async |c| {
                Ok::<_, DbError>(diesel::sql_query(&sql).get_result(c).await?)
            })
            .await
            .unwrap();
        assert!(
            in_own.n > 0,
            "{} is empty even in its own scope",
            table.name
        );
    }

    // Writes into another organization are refused by the policy, not just filtered: a new
    // organization under a fresh id (no key or constraint could refuse it), and a project into
    // the existing organization. The error is the policy's own.
    let fresh = OrgId::generate().uuid();
    let refused = db
        .db
        .scoped(other, async |c| {
            Ok::<_, DbError>(
                organizations::create(c, tenant::OrgId::from_uuid(fresh), "Hijack")
                    .await
                    .map(drop)?,
            )
        })
        .await;
    assert_refused_by_policy(refused, "organizations");
    let refused = db
        .db
        .scoped(other, async |c| {
            let domains = ["hijack.example".to_owned()];
            Ok::<_, DbError>(
                projects::create(
                    c,
                    tenant::OrgId::from_uuid(org_id),
                    "Hijack",
                    "UTC",
                    &domains,
                )
                .await
                .map(drop)?,
            )
        })
        .await;
    assert_refused_by_policy(refused, "projects");

    // A user scope shows the user's own memberships and organizations, nothing else.
    let visible: Count = db
        .db
        .user_scoped(UserId::from_uuid(user.id), async |c| {
            Ok::<_, DbError>(
                diesel::sql_query("SELECT count(*) AS n FROM organizations")
                    .get_result(c)
                    .await?,
            )
        })
        .await
        .unwrap();
    assert_eq!(visible.n, 1);
    let projects_seen: Count = db
        .db
        .user_scoped(UserId::from_uuid(user.id), async |c| {
            Ok::<_, DbError>(
                diesel::sql_query("SELECT count(*) AS n FROM projects")
                    .get_result(c)
                    .await?,
            )
        })
        .await
        .unwrap();
    assert_eq!(projects_seen.n, 0);
}

/// Asserts that a write failed because a row-level security policy refused the new row.
fn assert_refused_by_policy(result: Result<(), DbError>, table: &str) {
    match result {
        Err(DbError::Query(diesel::result::Error::DatabaseError(_, info))) => assert_eq!(
            info.message(),
            format!("new row violates row-level security policy for table \"{table}\"")
        ),
        other => panic!("the write into {table} was not refused by its policy: {other:?}"),
    }
}

#[tokio::test]
async fn migrations_reverse_cleanly() {
    use diesel_migrations::MigrationHarness;
    let db = TestDb::new(None).await.unwrap();
    let url = db.owner_url.clone();
    let tables = tokio::task::spawn_blocking(move || {
        let mut conn: diesel_async::async_connection_wrapper::AsyncConnectionWrapper<
            AsyncPgConnection,
        > = diesel::Connection::establish(&url).unwrap();
        conn.revert_all_migrations(tenant::migrate::MIGRATIONS)
            .unwrap();
        let remaining: Vec<TableFacts> =
            diesel::RunQueryDsl::load(diesel::sql_query(FACTS), &mut conn).unwrap();
        conn.run_pending_migrations(tenant::migrate::MIGRATIONS)
            .unwrap();
        remaining
    })
    .await
    .unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["__diesel_schema_migrations"],
        "down.sql left tables behind"
    );
}

#[derive(QueryableByName)]
struct ColumnName {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

/// The columns Diesel's `table!` declares for a table, read from the SQL it generates.
fn declared<T>(table: T) -> Vec<(String, String)>
where
    T: diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId,
{
    let sql = diesel::debug_query::<diesel::pg::Pg, _>(&table).to_string();
    let select = sql
        .split(" FROM ")
        .next()
        .unwrap()
        .trim_start_matches("SELECT ");
    select
        .split(", ")
        .map(|column| {
            let mut parts = column
                .split('.')
                .map(|part| part.trim_matches('"').to_owned());
            (parts.next().unwrap(), parts.next().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    use diesel::QueryDsl;
    use tenant::schema::*;
    let db = TestDb::new(None).await.unwrap();
    let mut conn = owner(&db).await;
    let mut in_db: Vec<(String, String)> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
         AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '__diesel_schema_migrations'",
    )
    .load::<ColumnName>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|c| (c.table_name, c.column_name))
    .collect();
    let mut in_code: Vec<(String, String)> = [
        declared(users::table.select(users::all_columns)),
        declared(user_sessions::table.select(user_sessions::all_columns)),
        declared(user_tokens::table.select(user_tokens::all_columns)),
        declared(organizations::table.select(organizations::all_columns)),
        declared(memberships::table.select(memberships::all_columns)),
        declared(invitations::table.select(invitations::all_columns)),
        declared(projects::table.select(projects::all_columns)),
        declared(project_domains::table.select(project_domains::all_columns)),
        declared(api_keys::table.select(api_keys::all_columns)),
        declared(project_salts::table.select(project_salts::all_columns)),
        declared(events::table.select(events::all_columns)),
        declared(goals::table.select(goals::all_columns)),
        declared(funnels::table.select(funnels::all_columns)),
        declared(funnel_steps::table.select(funnel_steps::all_columns)),
        declared(rollups_hourly::table.select(rollups_hourly::all_columns)),
        declared(rollups_daily::table.select(rollups_daily::all_columns)),
        declared(rollups_weekly::table.select(rollups_weekly::all_columns)),
        declared(rollup_state::table.select(rollup_state::all_columns)),
        declared(rollup_last_seen::table.select(rollup_last_seen::all_columns)),
        declared(error_issues::table.select(error_issues::all_columns)),
        declared(error_events::table.select(error_events::all_columns)),
        declared(release_files::table.select(release_files::all_columns)),
        declared(web_vitals::table.select(web_vitals::all_columns)),
        declared(org_billing::table.select(org_billing::all_columns)),
        declared(stripe_events::table.select(stripe_events::all_columns)),
        declared(usage_daily::table.select(usage_daily::all_columns)),
        declared(quota_state::table.select(quota_state::all_columns)),
        declared(billing_notices::table.select(billing_notices::all_columns)),
        declared(dropped_daily::table.select(dropped_daily::all_columns)),
        declared(audit_log::table.select(audit_log::all_columns)),
        declared(audit_heads::table.select(audit_heads::all_columns)),
        declared(audit_checkpoints::table.select(audit_checkpoints::all_columns)),
        declared(audit_streams::table.select(audit_streams::all_columns)),
        declared(erased_organizations::table.select(erased_organizations::all_columns)),
        declared(org_exports::table.select(org_exports::all_columns)),
        declared(org_domains::table.select(org_domains::all_columns)),
        declared(sso_connections::table.select(sso_connections::all_columns)),
        declared(sso_policies::table.select(sso_policies::all_columns)),
        declared(sso_group_roles::table.select(sso_group_roles::all_columns)),
        declared(sso_logins::table.select(sso_logins::all_columns)),
        declared(sso_identities::table.select(sso_identities::all_columns)),
        declared(saml_assertions::table.select(saml_assertions::all_columns)),
        declared(scim_tokens::table.select(scim_tokens::all_columns)),
        declared(scim_users::table.select(scim_users::all_columns)),
        declared(scim_groups::table.select(scim_groups::all_columns)),
        declared(scim_group_members::table.select(scim_group_members::all_columns)),
        declared(notification_channels::table.select(notification_channels::all_columns)),
        declared(alerts::table.select(alerts::all_columns)),
        declared(alert_events::table.select(alert_events::all_columns)),
        declared(schedules::table.select(schedules::all_columns)),
        declared(notification_deliveries::table.select(notification_deliveries::all_columns)),
        declared(issue_tickets::table.select(issue_tickets::all_columns)),
        declared(issue_notifications::table.select(issue_notifications::all_columns)),
        declared(reports::table.select(reports::all_columns)),
        declared(report_subscriptions::table.select(report_subscriptions::all_columns)),
        declared(ai_settings::table.select(ai_settings::all_columns)),
        declared(ai_usage::table.select(ai_usage::all_columns)),
        declared(ai_answers::table.select(ai_answers::all_columns)),
        declared(pdf_exports::table.select(pdf_exports::all_columns)),
        declared(segments::table.select(segments::all_columns)),
        declared(dashboards::table.select(dashboards::all_columns)),
        declared(shared_links::table.select(shared_links::all_columns)),
        declared(annotations::table.select(annotations::all_columns)),
        declared(comment_threads::table.select(comment_threads::all_columns)),
        declared(comments::table.select(comments::all_columns)),
        declared(notifications::table.select(notifications::all_columns)),
        declared(notification_preferences::table.select(notification_preferences::all_columns)),
        declared(task_columns::table.select(task_columns::all_columns)),
        declared(tasks::table.select(tasks::all_columns)),
        declared(replay_sessions::table.select(replay_sessions::all_columns)),
        declared(replay_chunks::table.select(replay_chunks::all_columns)),
        declared(replay_blobs::table.select(replay_blobs::all_columns)),
        declared(replay_tombstones::table.select(replay_tombstones::all_columns)),
        declared(blob_deletions::table.select(blob_deletions::all_columns)),
        declared(heatmap_clicks::table.select(heatmap_clicks::all_columns)),
        declared(heatmap_scroll::table.select(heatmap_scroll::all_columns)),
    ]
    .concat();
    in_db.sort();
    in_code.sort();
    assert_eq!(
        in_code, in_db,
        "tenant/src/schema.rs and the migrations disagree"
    );
}
