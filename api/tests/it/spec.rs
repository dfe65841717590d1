//! The OpenAPI contract: served, and complete. That the checked-in `openapi/openapi.json` is
//! current is checked with the other generated files by `scripts/check-generated`.

use serde_json::Value;

use crate::support::{As, TestApp};

#[test]
fn every_operation_has_an_id_and_documents_errors() {
    let spec: Value = serde_json::from_str(&api::app::openapi_json()).unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operationId"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {path} documents no success"
            );
            let secured = op.get("security").is_some();
            if secured {
                for status in ["400", "401", "403", "404", "500"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn spec_and_docs_are_served() {
    let app = TestApp::new().await;
    let resp = app
        .call(&As::Nobody, "GET", "/api/openapi.json", None)
        .await;
    resp.assert_status_is_ok();
    let body = resp.0.into_body().into_string().await.unwrap();
    assert_eq!(body, api::app::openapi_json());
    let resp = app.call(&As::Nobody, "GET", "/api/docs", None).await;
    resp.assert_status_is_ok();
    let html = resp.0.into_body().into_string().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
}
