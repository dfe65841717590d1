//! The event batch insert (`tables::events::insert_batch`): every column arrives as written,
//! and the statement is prepared once per connection, whatever the batch size (the ingest
//! writer sends thousands of batches a second; parsing and planning each was a third of
//! PostgreSQL's CPU).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::{DurationRound, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tenant::tables::events::{NewEvent, insert_batch};
use tenant::tables::{organizations, projects};
use tenant::test_support::TestDb;
use tenant::{DbError, OrgId};

#[derive(QueryableByName, Debug)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, Debug)]
struct Stored {
    #[diesel(sql_type = Text)]
    row: String,
}

/// A project of a new organization: (org, project).
async fn project(db: &TestDb) -> (OrgId, uuid::Uuid) {
    let org = OrgId::generate();
    let created = db
        .db
        .scoped(org, async |conn| {
            organizations::create(conn, org, "A").await?;
            Ok::<_, DbError>(
                projects::create(conn, org, "Site", "UTC", &["a.example".to_owned()]).await?,
            )
        })
        .await
        .unwrap();
    (org, created.project.project_id)
}

/// Each stored event of a project as JSON: every column, the time as microseconds.
const STORED_ROW: &str = "SELECT ((to_jsonb(e) - 'ts') || jsonb_build_object('ts_us', \
     (extract(epoch FROM ts) * 1000000)::bigint))::text AS row \
     FROM events e WHERE project_id = $1 ORDER BY visitor_id";

fn event(org: OrgId, project_id: uuid::Uuid, visitor_id: i64) -> NewEvent {
    NewEvent {
        org_id: org.uuid(),
        project_id,
        ts: Utc::now()
            .duration_trunc(chrono::Duration::microseconds(1))
            .unwrap(),
        event_id: uuid::Uuid::now_v7(),
        name: "Purchase".into(),
        visitor_id,
        hostname: "a.example".into(),
        pathname: "/checkout".into(),
        referrer_host: Some("www.google.com".into()),
        source: Some("Google".into()),
        utm_source: Some("news".into()),
        utm_medium: Some("email".into()),
        utm_campaign: Some("spring".into()),
        utm_content: Some("banner".into()),
        utm_term: Some("shoes".into()),
        browser: Some("Firefox".into()),
        browser_version: Some("133.0".into()),
        os: Some("Linux".into()),
        os_version: None,
        device: Some("desktop".into()),
        country: Some("DE".into()),
        region: Some("DE-BE".into()),
        city: Some("Berlin".into()),
        props: serde_json::json!({"plan": "pro", "seats": 3}),
        revenue_amount: Some("19.9900".into()),
        revenue_currency: Some("EUR".into()),
        interactive: false,
    }
}

/// The event as [`STORED_ROW`] reads it back: its columns by name, the time in microseconds.
fn expected(e: &NewEvent) -> String {
    serde_json::json!({
        "org_id": e.org_id, "project_id": e.project_id, "ts_us": e.ts.timestamp_micros(),
        "event_id": e.event_id, "name": e.name, "visitor_id": e.visitor_id,
        "hostname": e.hostname, "pathname": e.pathname, "referrer_host": e.referrer_host,
        "source": e.source, "utm_source": e.utm_source, "utm_medium": e.utm_medium,
        "utm_campaign": e.utm_campaign, "utm_content": e.utm_content, "utm_term": e.utm_term,
        "browser": e.browser, "browser_version": e.browser_version, "os": e.os,
        "os_version": e.os_version, "device": e.device, "country": e.country,
        "region": e.region, "city": e.city, "props": e.props,
        "revenue_amount": e.revenue_amount.as_deref().map(|a| a.parse::<f64>().unwrap()),
        "revenue_currency": e.revenue_currency, "interactive": e.interactive,
    })
    .to_string()
}

#[tokio::test]
async fn a_batch_stores_every_column_and_is_prepared_once_per_connection() {
    let db = TestDb::new(None).await.unwrap();
    let (org, project_id) = project(&db).await;
    let ingest =
        tenant::Db::connect_as(&db.owner_url, tenant::AppRole::Ingest, &Default::default())
            .unwrap();
    let mut conn = ingest.conn().await.unwrap();
    let first = event(org, project_id, 1);
    let second = NewEvent {
        visitor_id: 2,
        event_id: uuid::Uuid::now_v7(),
        referrer_host: None,
        source: None,
        revenue_amount: None,
        revenue_currency: None,
        props: serde_json::json!({}),
        interactive: true,
        ..first.clone()
    };
    let third = NewEvent {
        visitor_id: 3,
        event_id: uuid::Uuid::now_v7(),
        ..first.clone()
    };
    assert_eq!(insert_batch(&mut conn, [&first]).await.unwrap(), 1);
    assert_eq!(insert_batch(&mut conn, [&second, &third]).await.unwrap(), 2);
    // Nothing to write is no statement at all.
    assert_eq!(insert_batch(&mut conn, []).await.unwrap(), 0);

    // Prepared once: one server-side statement on this connection for batches of 1 and 2. The
    // same count finds this one and not a `sql_query` run since (Diesel never caches those).
    let prepared = |pattern: &'static str| {
        diesel::sql_query(
            "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE $1",
        )
        .bind::<Text, _>(pattern)
    };
    let inserts: Count = prepared("INSERT INTO events %")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(inserts.n, 1, "one prepared statement for every batch");
    let answer: Count = diesel::sql_query("SELECT 41::int8 + 1 AS n")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(answer.n, 42);
    let selects: Count = prepared("SELECT 41::int8 + 1 %")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(selects.n, 0, "a sql_query is not kept prepared");

    // Every column reads back as written (as the owner, past row-level security).
    let mut owner = AsyncPgConnection::establish(&db.owner_url).await.unwrap();
    let stored: Vec<Stored> = diesel::sql_query(STORED_ROW)
        .bind::<diesel::sql_types::Uuid, _>(project_id)
        .load(&mut owner)
        .await
        .unwrap();
    let stored: Vec<serde_json::Value> = stored
        .iter()
        .map(|s| serde_json::from_str(&s.row).unwrap())
        .collect();
    let wanted: Vec<serde_json::Value> = [&first, &second, &third]
        .iter()
        .map(|e| serde_json::from_str(&expected(e)).unwrap())
        .collect();
    assert_eq!(stored, wanted);

    // The cached statement still runs the ingest role's policy: an event whose project is not
    // its organization's is refused, and nothing of its batch is stored.
    let forged = NewEvent {
        org_id: OrgId::generate().uuid(),
        visitor_id: 4,
        event_id: uuid::Uuid::now_v7(),
        ..first.clone()
    };
    let valid = NewEvent {
        visitor_id: 5,
        event_id: uuid::Uuid::now_v7(),
        ..first.clone()
    };
    assert!(insert_batch(&mut conn, [&valid, &forged]).await.is_err());
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM events")
        .get_result(&mut owner)
        .await
        .unwrap();
    assert_eq!(count.n, 3);
}
