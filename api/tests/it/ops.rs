//! Health, readiness, metrics and request ids.

use crate::support::{As, TestApp};

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
            "worker": {"state": "elsewhere", "restarts": 0}
        })
    );

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
