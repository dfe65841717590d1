//! The OpenAPI contract: served, and complete. That the checked-in `openapi/openapi.json` is
//! current is checked with the other generated files by `scripts/check-generated`.

use serde_json::{Value, json};

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
            // A browser endpoint's success is a redirect (303 See Other).
            assert!(
                responses
                    .keys()
                    .any(|status| status.starts_with('2') || status == "303"),
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

/// What the spec allows, the server takes: an empty `cursor=` or `period=` is the default (as
/// absent), and an undeclared method gets 405 with the `Allow` header the spec implies.
#[tokio::test]
async fn the_server_takes_what_the_spec_allows_and_names_allowed_methods() {
    let app = TestApp::new().await;
    let owner = app.user("owner@contract.example").await;
    let org = app.org(&owner, "Contract").await;
    let owner = As::User(owner);
    let project = app.project(&owner, org, "contract.example").await;
    let project = project["id"].as_str().unwrap().to_owned();
    for path in [
        "/api/v1/orgs?cursor=".to_owned(),
        format!("/api/v1/orgs/{org}/projects?cursor="),
        format!("/api/v1/orgs/{org}/projects/{project}/issues?cursor="),
        format!("/api/v1/orgs/{org}/projects/{project}/vitals?metric=LCP&period="),
        format!("/api/v1/orgs/{org}/projects/{project}/goals/conversions?period="),
    ] {
        let (status, body) = app.json(&owner, "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    // The positive control: a cursor that is not one is still refused.
    let (status, _) = app
        .json(&owner, "GET", "/api/v1/orgs?cursor=nonsense", None)
        .await;
    assert_eq!(status, 400);

    // A string field takes only a JSON string (poem-openapi's own `String` took `false`).
    let rename = format!("/api/v1/orgs/{org}");
    let (status, body) = app
        .json(&owner, "PATCH", &rename, Some(json!({"name": false})))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .json(&owner, "PATCH", &rename, Some(json!({"name": "Renamed"})))
        .await;
    assert_eq!(
        (status, body["name"].clone()),
        (200, json!("Renamed")),
        "{body}"
    );

    let resp = app.call(&owner, "PUT", "/api/v1/orgs", None).await;
    assert_eq!(resp.0.status().as_u16(), 405);
    assert_eq!(resp.0.headers().get("allow").unwrap(), "GET, POST");
    let resp = app
        .call(
            &owner,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{project}"),
            None,
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 405);
    assert_eq!(resp.0.headers().get("allow").unwrap(), "DELETE, GET, PATCH");
}

/// `docs/api-design.md` names every problem kind the code has (`tenant::problem::ProblemKind`),
/// and every kind its error list names exists.
#[test]
fn the_documented_problem_kinds_are_the_codes() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/api-design.md"),
    )
    .unwrap();
    let kinds: Vec<&str> = tenant::problem::ProblemKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    let undocumented: Vec<&&str> = kinds
        .iter()
        .filter(|kind| !doc.contains(&format!("`{kind}`")))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/api-design.md: {undocumented:?}"
    );
    // The errors bullet's list, read back: each must be a kind of the code.
    let list = doc
        .split("current kinds:")
        .nth(1)
        .and_then(|rest| rest.split("\n- ").next())
        .unwrap();
    let listed: Vec<&str> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .collect();
    assert!(listed.len() > 20, "the list was not found: {listed:?}");
    let unknown: Vec<&&str> = listed.iter().filter(|word| !kinds.contains(word)).collect();
    assert!(
        unknown.is_empty(),
        "documented but not in the code: {unknown:?}"
    );
}
