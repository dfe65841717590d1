//! Health, readiness, metrics (and its token), request ids and headers every answer carries.

use api::metrics::MetricsToken;

use crate::support::{As, TestApp, assert_problem};

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let app = TestApp::new().await;
    let resp = app.call(&As::Nobody, "GET", "/healthz", None).await;
    resp.assert_status_is_ok();
    let id = resp
        .0
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);
    let (status, ready) = app.json(&As::Nobody, "GET", "/readyz", None).await;
    assert_eq!(status, 200);
    // This app runs no workers and uses a given database (no embedded cluster).
    assert_eq!(
        ready,
        serde_json::json!({
            "database": true,
            "migrations": true,
            "worker": {"state": "elsewhere", "restarts": 0},
            "missing_optional": []
        })
    );
    // Without a GeoIP database, the same report names it (the test app has one).
    assert!(app.state.ingest.geo.is_loaded());
    let missing = api::health::missing_optional(&tenant::ingest::geo::Geo::none());
    assert_eq!(missing, vec![api::health::NO_GEOIP.to_owned()]);

    let resp = app
        .client
        .get("/healthz")
        .header("x-request-id", "client-chosen-42")
        .send()
        .await;
    assert_eq!(
        resp.0.headers().get("x-request-id").unwrap(),
        "client-chosen-42"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::new().await;
    app.call(&As::Nobody, "GET", "/healthz", None).await;
    app.call(&As::Nobody, "GET", "/api/v1/auth/me", None).await;
    let resp = app.call(&As::Nobody, "GET", "/metrics", None).await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(
        text.contains(r#"beacon_http_requests_total{method="GET",route="healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="get_current_user",status="401""#),
        "{text}"
    );
    assert!(
        text.contains("beacon_http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("beacon_db_pool_max_connections 16"), "{text}");
    assert!(text.contains("beacon_job_queue_depth 0"), "{text}");
    assert!(text.contains("beacon_ingest_queue_depth 0"), "{text}");
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    let app = TestApp::new()
        .await
        .reconfigured(|state| state.metrics_token = MetricsToken::new("s3cret-scrape-token"));
    let scrape = |authorization: Option<&'static str>| {
        let mut req = app.client.get("/metrics");
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        req.send()
    };
    assert_problem(scrape(None).await, 401, "unauthorized").await;
    assert_problem(scrape(Some("Bearer wrong")).await, 401, "unauthorized").await;
    assert_problem(
        scrape(Some("s3cret-scrape-token")).await,
        401,
        "unauthorized",
    )
    .await;
    let resp = scrape(Some("Bearer s3cret-scrape-token")).await;
    resp.assert_status_is_ok();
    let text = resp.0.into_body().into_string().await.unwrap();
    assert!(
        text.contains(r#"route="metrics",status="401""#),
        "the refused scrapes are counted: {text}"
    );
    // An empty token is no token.
    assert!(MetricsToken::new("  ").is_none());
}

#[tokio::test]
async fn every_answer_says_nosniff() {
    let app = TestApp::new().await;
    let session = app.user("sniff@example.com").await;
    let answers = [
        app.call(&As::Nobody, "GET", "/healthz", None).await,
        app.call(&As::User(session), "GET", "/api/v1/auth/me", None)
            .await,
        app.call(&As::Nobody, "GET", "/api/v1/auth/me", None).await,
        app.call(&As::Nobody, "GET", "/api/v1/no-such-thing", None)
            .await,
        app.call(&As::Nobody, "GET", "/api/openapi.json", None)
            .await,
        app.call(&As::Nobody, "OPTIONS", "/api/event", None).await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|r| r.0.status().as_u16()).collect();
    assert_eq!(statuses, [200, 200, 401, 404, 200, 204]);
    for resp in answers {
        assert_eq!(
            resp.0
                .headers()
                .get("x-content-type-options")
                .map(|v| v.to_str().unwrap()),
            Some("nosniff"),
            "{:?}",
            resp.0.headers()
        );
    }
}
