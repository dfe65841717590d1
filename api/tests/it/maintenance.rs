//! The maintenance jobs: events, rollups, error events and heatmaps past each project's retention are
//! deleted, and daily partitions past every project's retention are dropped; visitor-id salts
//! rotate after their period and are deleted 48 hours after they were replaced. The app's
//! clock stands where each test puts it.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{BigInt, Bool, Bytea, Date, Timestamptz, Uuid as SqlUuid};
use tenant::diesel_async::RunQueryDsl;

use crate::stats::{event, site, store};
use crate::support::{As, TestApp};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

#[tokio::test]
async fn retention_deletes_events_and_rollups_and_drops_partitions() {
    let app = TestApp::new().await;
    let site = site(&app, "keep.example", "UTC").await;
    let owner = As::User(
        app.login("owner@keep.example", crate::support::PASSWORD)
            .await,
    );
    let (status, body) = app
        .json(
            &owner,
            "PATCH",
            &format!("/api/v1/orgs/{}/projects/{}", site.org, site.project),
            Some(json!({"retention_days": 3})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let now = Utc::now();
    app.set_now(now);
    let old_day = (now - Duration::days(40)).date_naive();
    let mut owner_conn = app.owner_conn().await;
    tenant::diesel::sql_query("SELECT beacon_ensure_event_partitions($1, 1)")
        .bind::<Date, _>(old_day)
        .execute(&mut owner_conn)
        .await
        .unwrap();
    store(
        &app,
        vec![
            event(&site, 1, now - Duration::days(40), "pageview", "/old", None),
            event(
                &site,
                2,
                now - Duration::days(5),
                "pageview",
                "/older-than-retention",
                None,
            ),
            event(
                &site,
                3,
                now - Duration::hours(2),
                "pageview",
                "/fresh",
                None,
            ),
        ],
    )
    .await;
    let ctx = crate::support::job_context(&app, None);
    worker::jobs::rollup_all_tenants::advance_all(&ctx.sweeper, &ctx.clock)
        .await
        .unwrap();
    // Error events: one past retention (its issue last seen then too), one fresh.
    app.state
        .db
        .scoped(tenant::OrgId::from_uuid(site.org), async |conn| {
            for (days, fingerprint) in [(5, "a"), (0, "b")] {
                tenant::tables::error_issues::record(
                    conn,
                    &tenant::tables::error_issues::NewErrorEvent {
                        org_id: site.org,
                        project_id: site.project,
                        event_id: uuid::Uuid::new_v4(),
                        fingerprint: fingerprint.repeat(64),
                        title: format!("Error {fingerprint}"),
                        culprit: None,
                        ts: now - Duration::days(days),
                        level: "error".into(),
                        platform: None,
                        release: None,
                        environment: None,
                        user_hash: None,
                        visitor_id: None,
                        data: json!({}),
                    },
                )
                .await?;
            }
            // Heatmap totals of a day past retention and of today.
            let report = tenant::replay::heatmap::parse(&json!({
                "p": "/pricing", "w": "desktop", "c": [["#buy", 0.5, 0.5, 0]], "s": 0.5
            }))
            .unwrap();
            let (org, project) = (
                tenant::OrgId::from_uuid(site.org),
                tenant::ProjectId::from_uuid(site.project),
            );
            for days in [5, 0] {
                let at = now - Duration::days(days);
                tenant::tables::heatmaps::record(conn, org, project, at, &report).await?;
            }
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();

    let count = |sql: &'static str| {
        let db = app.state.db.clone();
        let org = tenant::OrgId::from_uuid(site.org);
        async move {
            db.scoped(org, async |conn| {
                Ok::<_, tenant::DbError>(
                    tenant::diesel::sql_query(sql)
                        .get_result::<Count>(conn)
                        .await?
                        .n,
                )
            })
            .await
            .unwrap()
        }
    };
    let old_rollups =
        "SELECT count(*) AS n FROM rollups_hourly WHERE hour < now() - interval '3 days'";
    assert_eq!(count("SELECT count(*) AS n FROM events").await, 3);
    assert!(count(old_rollups).await > 0);
    let old_daily = "SELECT count(*) AS n FROM rollups_daily WHERE day < now() - interval '3 days'";
    assert!(count(old_daily).await > 0);
    let old_weekly =
        "SELECT count(*) AS n FROM rollups_weekly WHERE week < now() - interval '10 days'";
    assert!(count(old_weekly).await > 0);
    assert_eq!(count("SELECT count(*) AS n FROM heatmap_clicks").await, 2);
    assert_eq!(count("SELECT count(*) AS n FROM heatmap_scroll").await, 2);

    let ctx = crate::support::job_context(&app, None);
    worker::jobs::MaintainEventsAllTenants {}
        .run(&ctx)
        .await
        .unwrap();

    assert_eq!(
        count("SELECT count(*) AS n FROM events WHERE pathname = '/fresh'").await,
        1
    );
    assert_eq!(count("SELECT count(*) AS n FROM events").await, 1);
    assert_eq!(count(old_rollups).await, 0);
    assert_eq!(count(old_daily).await, 0);
    assert_eq!(count(old_weekly).await, 0);
    assert_eq!(count("SELECT count(*) AS n FROM error_events").await, 1);
    assert_eq!(
        count("SELECT count(*) AS n FROM error_issues WHERE title = 'Error b'").await,
        1
    );
    assert_eq!(count("SELECT count(*) AS n FROM error_issues").await, 1);
    let today_only = "SELECT count(*) AS n FROM heatmap_clicks WHERE day = current_date";
    assert_eq!(count("SELECT count(*) AS n FROM heatmap_clicks").await, 1);
    assert_eq!(count(today_only).await, 1);
    assert_eq!(count("SELECT count(*) AS n FROM heatmap_scroll").await, 1);
    let partition = |day: chrono::NaiveDate| {
        format!(
            "SELECT to_regclass('events_{}') IS NOT NULL AS exists",
            day.format("%Y%m%d")
        )
    };
    let old: Exists = tenant::diesel::sql_query(partition(old_day))
        .get_result(&mut owner_conn)
        .await
        .unwrap();
    assert!(!old.exists, "the 40-day-old partition is dropped");
    let today: Exists = tenant::diesel::sql_query(partition(now.date_naive()))
        .get_result(&mut owner_conn)
        .await
        .unwrap();
    assert!(today.exists, "today's partition stays");
}

#[derive(QueryableByName, Debug, Clone, PartialEq)]
struct Salt {
    #[diesel(sql_type = Bytea)]
    salt: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// docs/privacy.md: a new salt every `salt_rotation_hours` (24 by default), and a replaced salt
/// deleted 48 hours after its replacement. The rotation job runs at chosen times on the app's
/// clock; before each deadline the salt is still there (the positive control of each check).
#[tokio::test]
async fn salts_rotate_after_their_period_and_go_48_hours_after_replacement() {
    let app = TestApp::new().await;
    let site = site(&app, "salt.example", "UTC").await;
    let ctx = crate::support::job_context(&app, None);
    let salts = async || {
        let mut conn = ctx.sweeper.conn().await.unwrap();
        tenant::diesel::sql_query(
            "SELECT salt, created_at FROM project_salts WHERE project_id = $1 ORDER BY created_at",
        )
        .bind::<SqlUuid, _>(site.project)
        .load::<Salt>(&mut conn)
        .await
        .unwrap()
    };
    let rotate_at = async |at: DateTime<Utc>| {
        app.set_now(at);
        worker::jobs::Job::RotateSaltsAllTenants(worker::jobs::RotateSaltsAllTenants {})
            .run(&ctx)
            .await
            .unwrap();
        salts().await
    };
    let first = salts().await;
    assert_eq!(first.len(), 1, "a new project has its salt");
    let first = first[0].clone();
    let created = first.created_at;

    // Not due a minute before the rotation period ends.
    let early = rotate_at(created + Duration::hours(24) - Duration::minutes(1)).await;
    assert_eq!(early, vec![first.clone()]);
    // Due once it ends: a new random salt, which ingest uses from then on.
    let replaced_at = created + Duration::hours(24);
    let after = rotate_at(replaced_at).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[0], first);
    let second = after[1].clone();
    assert_eq!(second.created_at, replaced_at);
    assert_ne!(second.salt, first.salt);
    assert_eq!(second.salt.len(), 16);
    let ingest = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Ingest,
        &Default::default(),
    )
    .unwrap();
    let mut conn = ingest.conn().await.unwrap();
    let current = tenant::tables::project_salts::current(
        &mut conn,
        tenant::ProjectId::from_uuid(site.project),
    )
    .await
    .unwrap();
    assert_eq!(
        current,
        Some(second.salt.clone()),
        "ingest hashes with the new salt"
    );
    drop(conn);

    // The replaced salt is kept for 48 hours after its replacement (a third salt arrives in
    // the meantime, the second having served its 24 hours)...
    let kept = rotate_at(replaced_at + Duration::hours(48) - Duration::minutes(1)).await;
    assert!(kept.contains(&first), "{kept:?}");
    assert!(kept.contains(&second), "{kept:?}");
    assert_eq!(kept.len(), 3, "{kept:?}");
    // ...and deleted once they have passed; the salts replaced later stay.
    let swept = rotate_at(replaced_at + Duration::hours(48)).await;
    assert!(!swept.contains(&first), "{swept:?}");
    assert!(swept.contains(&second), "{swept:?}");
    assert_eq!(swept.len(), 2, "{swept:?}");
}

/// The hourly maintenance removes, in every organization, sign-ins in flight an hour past
/// their expiry (an unfinished SAML sign-in holds an e-mail) and expired replay-cache entries,
/// and keeps live ones.
#[tokio::test]
async fn expired_sign_ins_and_replay_cache_entries_are_swept_in_every_organization() {
    use tenant::tables::sso::{self, Kind, NewLogin, Purpose};
    let app = TestApp::new().await;
    let owner = app.user("owner@sweep.test").await;
    let orgs = [
        app.org(&owner, "Acme").await,
        app.org(&owner, "Globex").await,
    ];
    let now = Utc::now();
    for org in orgs {
        let org = tenant::OrgId::from_uuid(org);
        app.state
            .db
            .scoped(org, async |conn| {
                for (state, ttl) in [
                    ("live", Duration::minutes(10)),
                    ("stale", Duration::hours(-2)),
                ] {
                    let login = NewLogin {
                        state: format!("{state}-{}", org.uuid()),
                        kind: Kind::Saml,
                        purpose: Purpose::SignIn,
                        nonce: "_request".into(),
                        pkce_verifier: None,
                        return_to: None,
                        ttl,
                    };
                    sso::start_login(conn, org, &login, now).await?;
                }
                // The live entry first: remembering one forgets the organization's expired ones.
                sso::remember_assertion(conn, org, "_live", now + Duration::minutes(5), now)
                    .await?;
                sso::remember_assertion(conn, org, "_stale", now - Duration::minutes(1), now)
                    .await?;
                Ok::<_, tenant::DbError>(())
            })
            .await
            .unwrap();
    }
    let counts = async || {
        let mut all = Vec::new();
        for org in orgs {
            let org = tenant::OrgId::from_uuid(org);
            let pair = app
                .state
                .db
                .scoped(org, async |conn| {
                    let n = |sql: &'static str| tenant::diesel::sql_query(sql);
                    let logins: Count = n("SELECT count(*) AS n FROM sso_logins")
                        .get_result(conn)
                        .await?;
                    let assertions: Count = n("SELECT count(*) AS n FROM saml_assertions")
                        .get_result(conn)
                        .await?;
                    Ok::<_, tenant::DbError>((logins.n, assertions.n))
                })
                .await
                .unwrap();
            all.push(pair);
        }
        all
    };
    // Positive control: both kinds of row are there before.
    assert_eq!(counts().await, vec![(2, 2), (2, 2)]);
    let ctx = crate::support::job_context(&app, None);
    worker::jobs::MaintainEventsAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    assert_eq!(
        counts().await,
        vec![(1, 1), (1, 1)],
        "only the live rows stay"
    );
}
