//! The Events API: stored after commit with enrichment, bad input refused per event with its
//! reason while good events are kept, bots dropped, CORS for any origin, and 503 when full.

use serde_json::{Value, json};
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{BigInt, Nullable, Text};
use tenant::diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::support::{As, TestApp, assert_problem, status_and_json};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn site(app: &TestApp, domain: &str) -> (Uuid, Uuid) {
    let owner = app.user(&format!("owner@{domain}")).await;
    let org = app.org(&owner, "Site owner").await;
    let project = app.project(&As::User(owner), org, domain).await;
    (org, project["id"].as_str().unwrap().parse().unwrap())
}

async fn send(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post("/api/event")
        .header("user-agent", FIREFOX)
        .content_type("text/plain")
        .body(body.to_string())
        .send()
        .await;
    status_and_json(resp).await
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Stored {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    pathname: String,
    #[diesel(sql_type = Nullable<Text>)]
    referrer_host: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    utm_source: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    browser: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    device: Option<String>,
    #[diesel(sql_type = Text)]
    props: String,
    #[diesel(sql_type = Nullable<Text>)]
    revenue: Option<String>,
}

async fn stored(app: &TestApp, org: Uuid) -> Vec<Stored> {
    app.state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::diesel::sql_query(
                    "SELECT name, pathname, referrer_host, utm_source, browser, device, props::text AS props, \
                     revenue_amount::text || ' ' || revenue_currency AS revenue FROM events ORDER BY ts, event_id",
                )
                .load(conn)
                .await?,
            )
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn pageviews_and_custom_events_are_stored_enriched() {
    let app = TestApp::new().await;
    let (org, _) = site(&app, "shop.example").await;
    let (status, report) = send(
        &app,
        json!({"n": "pageview", "u": "https://shop.example/pricing?utm_source=newsletter", "d": "shop.example", "r": "https://www.google.com/search?q=beacon"}),
    )
    .await;
    assert_eq!(status, 202, "{report}");
    assert_eq!(report["accepted"], 1);
    let (status, _) = send(
        &app,
        json!({"name": "Purchase", "url": "https://shop.example/checkout", "domain": "shop.example",
               "props": {"plan": "pro", "seats": 3}, "revenue": {"amount": "49.90", "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 202);
    let rows = stored(&app, org).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        Stored {
            name: "pageview".into(),
            pathname: "/pricing".into(),
            referrer_host: Some("google.com".into()),
            utm_source: Some("newsletter".into()),
            browser: Some("Firefox".into()),
            device: Some("desktop".into()),
            props: "{}".into(),
            revenue: None,
        }
    );
    assert_eq!(rows[1].name, "Purchase");
    assert_eq!(rows[1].props, r#"{"plan": "pro", "seats": "3"}"#);
    assert_eq!(rows[1].revenue.as_deref(), Some("49.9000 EUR"));
}

#[tokio::test]
async fn a_batch_keeps_good_events_and_explains_bad_ones() {
    let app = TestApp::new().await;
    let (org, _) = site(&app, "batch.example").await;
    let good = json!({"n": "pageview", "u": "https://batch.example/", "d": "batch.example"});
    let too_many_props: serde_json::Map<String, Value> =
        (0..31).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, report) = send(
        &app,
        json!([
            good,
            {"n": "pageview", "d": "batch.example"},
            {"n": "pageview", "u": "javascript:alert(1)", "d": "batch.example"},
            {"n": "pageview", "u": "https://other.example/", "d": "unknown.example"},
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": too_many_props},
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": {"k": "v".repeat(2001)}},
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": {"k".repeat(301): "v"}},
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "timestamp": "2099-01-01T00:00:00Z"},
            // U+0000, which PostgreSQL cannot store, in a prop key, a prop value and the name:
            // refused with its reason before the batch is queued, so the good events are kept.
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": {"k\u{0}": "v"}},
            {"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": {"k": "v\u{0}"}},
            {"n": "x\u{0}", "u": "https://batch.example/", "d": "batch.example"},
            {"n": "x", "u": "https://batch.example/", "d": "a".repeat(60_000)},
            good,
        ]),
    )
    .await;
    assert_eq!(status, 202, "{report}");
    assert_eq!(report["accepted"], 2);
    let kinds: Vec<&str> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["type"]
                .as_str()
                .unwrap()
                .trim_start_matches("https://beacon.dev/problems/")
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "missing_field",
            "invalid_url",
            "unknown_domain",
            "invalid_props",
            "invalid_props",
            "invalid_props",
            "invalid_timestamp",
            "invalid_props",
            "invalid_props",
            "invalid_field",
            "invalid_domain"
        ]
    );
    assert!(
        report["rejected"][9]["detail"]
            .as_str()
            .unwrap()
            .contains("`name` contains a NUL"),
        "{report}"
    );
    assert_eq!(stored(&app, org).await.len(), 2);
    // Alone, such an event is a 400 with its reason, not a retryable 503.
    let (status, problem) = send(
        &app,
        json!({"n": "x", "u": "https://batch.example/", "d": "batch.example", "props": {"k\u{0}": "v"}}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("NUL"),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_requests_get_clear_4xx() {
    let app = TestApp::new().await;
    site(&app, "bad.example").await;
    let post = |content_type: &'static str, body: String| {
        app.client
            .post("/api/event")
            .header("user-agent", FIREFOX)
            .content_type(content_type)
            .body(body)
            .send()
    };
    assert_problem(
        post("text/plain", "{not json".into()).await,
        400,
        "invalid_json",
    )
    .await;
    assert_problem(
        post("application/json", "[1,".into()).await,
        400,
        "invalid_request",
    )
    .await;
    assert_problem(
        post("application/xml", "<event/>".into()).await,
        415,
        "unsupported_media_type",
    )
    .await;
    assert_problem(
        post("text/plain", "x".repeat(65 * 1024)).await,
        413,
        "payload_too_large",
    )
    .await;
    let single_bad =
        json!({"n": "pageview", "u": "https://bad.example/", "d": "nobody.example"}).to_string();
    assert_problem(post("text/plain", single_bad).await, 400, "unknown_domain").await;
    let missing = json!({"u": "https://bad.example/", "d": "bad.example"}).to_string();
    assert_problem(post("text/plain", missing).await, 400, "missing_field").await;
    let too_many = Value::Array(vec![
        json!({"n": "pageview", "u": "https://bad.example/", "d": "bad.example"});
        101
    ])
    .to_string();
    assert_problem(post("text/plain", too_many).await, 400, "invalid_event").await;
}

#[tokio::test]
async fn bots_are_dropped_and_cors_is_open() {
    let app = TestApp::new().await;
    let (org, _) = site(&app, "bots.example").await;
    let resp = app
        .client
        .post("/api/event")
        .header(
            "user-agent",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        )
        .content_type("text/plain")
        .body(
            json!({"n": "pageview", "u": "https://bots.example/", "d": "bots.example"}).to_string(),
        )
        .send()
        .await;
    assert_eq!(
        resp.0.headers().get("access-control-allow-origin").unwrap(),
        "*"
    );
    let (status, report) = status_and_json(resp).await;
    assert_eq!((status, report["dropped"].as_u64()), (202, Some(1)));
    assert!(stored(&app, org).await.is_empty());

    let preflight = app
        .client
        .request(poem::http::Method::OPTIONS, "/api/event")
        .header("origin", "https://bots.example")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert_eq!(preflight.0.status().as_u16(), 204);
    assert_eq!(
        preflight
            .0
            .headers()
            .get("access-control-allow-origin")
            .unwrap(),
        "*"
    );
    // The rest of the API stays same-origin.
    let api = app.call(&As::Nobody, "GET", "/healthz", None).await;
    assert!(api.0.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after() {
    let app = TestApp::with_writer(tenant::ingest::writer::WriterConfig {
        queue_capacity: 1,
        max_batch: 1,
        writers: 1,
    })
    .await;
    let (org, _) = site(&app, "busy.example").await;
    let body =
        json!({"n": "pageview", "u": "https://busy.example/", "d": "busy.example"}).to_string();
    let requests = (0..200).map(|_| {
        app.client
            .post("/api/event")
            .header("user-agent", FIREFOX)
            .content_type("text/plain")
            .body(body.clone())
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut accepted = 0;
    let mut refused = 0;
    for resp in responses {
        match resp.0.status().as_u16() {
            202 => accepted += 1,
            503 => {
                assert_eq!(resp.0.headers().get("retry-after").unwrap(), "1");
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0, "a queue of one never filled");
    assert_eq!(accepted + refused, 200);
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = app
        .state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::diesel::sql_query("SELECT count(*) AS n FROM events")
                    .get_result(conn)
                    .await?,
            )
        })
        .await
        .unwrap();
    assert_eq!(n.n, accepted, "exactly the acknowledged events are stored");
}

fn geo_db() -> std::path::PathBuf {
    std::env::var_os("BEACON_GEOIP_DB")
        .map(std::path::PathBuf::from)
        .expect("BEACON_GEOIP_DB must name a .mmdb file (scripts/test installs one from npm)")
}

#[test]
fn the_country_database_locates_addresses() {
    let geo = tenant::ingest::geo::Geo::open(&geo_db()).unwrap();
    assert_eq!(
        geo.locate("8.8.8.8".parse().unwrap()).country.as_deref(),
        Some("US")
    );
    assert_eq!(
        geo.locate("193.99.144.80".parse().unwrap())
            .country
            .as_deref(),
        Some("DE")
    );
    assert_eq!(
        geo.locate("2001:4860:4860::8888".parse().unwrap())
            .country
            .as_deref(),
        Some("US")
    );
    assert_eq!(geo.locate("10.1.2.3".parse().unwrap()).country, None);
}

#[tokio::test]
async fn events_get_the_visitors_country() {
    geo_db();
    let app = TestApp::new().await;
    let (org, _) = site(&app, "geo.example").await;
    let resp = app
        .client
        .post("/api/event")
        .header("user-agent", FIREFOX)
        .header("x-forwarded-for", "193.99.144.80")
        .content_type("text/plain")
        .body(json!({"n": "pageview", "u": "https://geo.example/", "d": "geo.example"}).to_string())
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 202);
    #[derive(QueryableByName)]
    struct Country {
        #[diesel(sql_type = Nullable<Text>)]
        country: Option<String>,
    }
    let rows: Vec<Country> = app
        .state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::diesel::sql_query("SELECT country::text FROM events")
                    .load(conn)
                    .await?,
            )
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].country.as_deref(), Some("DE"));
}

#[tokio::test]
async fn events_carry_their_source() {
    // The referrer list built into the binary names the sources.
    assert!(std::env::var_os("BEACON_REFERRER_LIST").is_none());
    let app = TestApp::new().await;
    let (org, _) = site(&app, "src.example").await;
    let cases = [
        (
            json!({"n": "pageview", "u": "https://src.example/", "d": "src.example", "r": "https://www.google.com/"}),
            Some("Google"),
        ),
        (
            json!({"n": "pageview", "u": "https://src.example/?utm_source=newsletter", "d": "src.example", "r": "https://www.google.com/"}),
            Some("newsletter"),
        ),
        (
            json!({"n": "pageview", "u": "https://src.example/", "d": "src.example", "r": "https://blog.friend.example/post"}),
            Some("blog.friend.example"),
        ),
        (
            json!({"n": "pageview", "u": "https://src.example/", "d": "src.example"}),
            None,
        ),
    ];
    for (event, _) in &cases {
        assert_eq!(send(&app, event.clone()).await.0, 202);
    }
    #[derive(QueryableByName)]
    struct Source {
        #[diesel(sql_type = Nullable<Text>)]
        source: Option<String>,
    }
    let rows: Vec<Source> = app
        .state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::diesel::sql_query("SELECT source FROM events ORDER BY ts, event_id")
                    .load(conn)
                    .await?,
            )
        })
        .await
        .unwrap();
    let got: Vec<Option<&str>> = rows.iter().map(|r| r.source.as_deref()).collect();
    let want: Vec<Option<&str>> = cases.iter().map(|(_, source)| *source).collect();
    assert_eq!(got, want);
}

#[derive(QueryableByName)]
struct VisitorOf {
    #[diesel(sql_type = Text)]
    pathname: String,
    #[diesel(sql_type = BigInt)]
    visitor_id: i64,
}

/// Known answers for the visitor id: a project with a fixed id and salt, events from a fixed
/// IPv4 and IPv6 address and user agent, and the stored ids compared with values computed
/// independently by `api/tests/it/visitor_id.py` (SipHash-1-3 written from the paper, keyed
/// with the salt, over project id ‖ IPv4-mapped IP ‖ user agent). A change of the hash, its
/// inputs or how the request's IP and user agent reach it fails here.
#[tokio::test]
async fn visitor_ids_match_the_independently_computed_vectors() {
    use tenant::diesel_async::SimpleAsyncConnection;
    const ORG: &str = "0192a1b2-0000-7000-8000-000000000001";
    const PROJECT: &str = "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
    const VECTORS: [(&str, &str, i64); 2] = [
        ("/v4", "203.0.113.7", -1_775_633_671_757_034_652),
        ("/v6", "2001:db8::1", 3_294_248_583_571_588_418),
    ];
    let app = TestApp::new().await;
    let mut owner = app.owner_conn().await;
    owner
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.org_id', '{ORG}', true); \
             INSERT INTO organizations (org_id, name) VALUES ('{ORG}', 'Vectors'); \
             INSERT INTO projects (org_id, project_id, name, timezone, ingest_key) \
               VALUES ('{ORG}', '{PROJECT}', 'Vectors', 'UTC', 'vectors-key'); \
             INSERT INTO project_domains (org_id, project_id, domain) \
               VALUES ('{ORG}', '{PROJECT}', 'vectors.example'); \
             INSERT INTO project_salts (org_id, project_id, salt) \
               VALUES ('{ORG}', '{PROJECT}', '\\x000102030405060708090a0b0c0d0e0f'); \
             COMMIT"
        ))
        .await
        .unwrap();
    for (path, ip, _) in VECTORS {
        let body = json!({"n": "pageview", "u": format!("https://vectors.example{path}"), "d": "vectors.example"});
        let resp = app
            .client
            .post("/api/event")
            .header("user-agent", FIREFOX)
            .header("x-forwarded-for", ip)
            .content_type("text/plain")
            .body(body.to_string())
            .send()
            .await;
        let (status, report) = status_and_json(resp).await;
        assert_eq!((status, &report["accepted"]), (202, &json!(1)), "{report}");
    }
    let stored: Vec<VisitorOf> = app
        .state
        .db
        .scoped(
            tenant::OrgId::from_uuid(ORG.parse().unwrap()),
            async |conn| {
                Ok::<_, tenant::DbError>(
                    tenant::diesel::sql_query("SELECT pathname, visitor_id FROM events")
                        .load(conn)
                        .await?,
                )
            },
        )
        .await
        .unwrap();
    for (path, ip, expected) in VECTORS {
        let got: Vec<i64> = stored
            .iter()
            .filter(|row| row.pathname == path)
            .map(|row| row.visitor_id)
            .collect();
        assert_eq!(got, vec![expected], "visitor id for {ip}");
    }
}
