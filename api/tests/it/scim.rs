//! SCIM 2.0 provisioning: scim2-tester (PyPI), the RFC conformance checker, against the live
//! endpoint; the PATCH shapes Entra ID and Okta send; deprovisioning that revokes a live
//! session and API key in the same request; groups that map to roles; members the provider
//! manages refused in Beacon's own API; tokens that work only for their organization.

use poem::test::TestResponse;
use serde_json::{Value, json};
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::sso::verified_domain;
use crate::support::{As, Session, TestApp, assert_problem, status_and_json};

/// Makes a SCIM token for `org` as its owner.
async fn token(app: &TestApp, owner: &Session, org: Uuid) -> String {
    let (status, body) = app
        .json(
            &As::User(owner.clone()),
            "POST",
            &format!("/api/v1/orgs/{org}/scim/tokens"),
            Some(json!({"name": "IdP"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["secret"].as_str().unwrap().to_owned()
}

async fn scim(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    let method = poem::http::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app
        .client
        .request(method, format!("/scim/v2{path}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(body.to_string());
    }
    req.send().await
}

async fn scim_json(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let resp = scim(app, token, method, path, body).await;
    if resp.0.status() != 204 {
        let kind = resp
            .0
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(kind, "application/scim+json", "{path}");
    }
    status_and_json(resp).await
}

fn scim_error(body: &Value, status: u16) {
    assert_eq!(
        body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{body}"
    );
    assert_eq!(body["status"], status.to_string(), "{body}");
}

#[tokio::test]
async fn scim2_tester_finds_no_violation() {
    let app = TestApp::new().await;
    let owner = app.user("owner@conform.test").await;
    let org = app.org(&owner, "Conform").await;
    let secret = token(&app, &owner, org).await;
    let port = app.listen().await;
    let python = std::env::var("BEACON_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes/scim_check.py");
    // Awaited, not blocking: the server runs on this test's runtime.
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(format!("http://127.0.0.1:{port}/scim/v2"))
        .arg(&secret)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scim2-tester failed to run:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("{report:#}");
    assert_eq!(report["problems"], json!([]), "{report:#}");
    let passed = report["counts"]["SUCCESS"].as_u64().unwrap_or(0);
    assert!(passed >= 20, "too few checks passed: {report}");
}

#[tokio::test]
async fn entra_and_okta_shapes_provision_and_deprovisioning_revokes_at_once() {
    let app = TestApp::new().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    verified_domain(&app, org, "acme.test").await;
    let secret = token(&app, &owner, org).await;
    let who = As::User(owner.clone());
    let (status, _) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/group-roles"),
            Some(json!({"mappings": [{"group": "Beacon Admins", "role": "admin"}]})),
        )
        .await;
    assert_eq!(status, 200);
    // Ann has a password account already, is signed in, and will make an API key as admin.
    let ann = app.user("ann@acme.test").await;

    // Entra ID creates her (linking the account: her domain is verified).
    let (status, user) = scim_json(
        &app,
        &secret,
        "POST",
        "/Users",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": "entra-ann", "userName": "ann@acme.test", "active": true,
            "displayName": "Ann", "emails": [{"primary": true, "type": "work", "value": "ann@acme.test"}],
            "name": {"formatted": "Ann Lee", "familyName": "Lee", "givenName": "Ann"},
        })),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["meta"]["resourceType"], "User");
    // Entra checks for existence by filter.
    let (_, found) = scim_json(
        &app,
        &secret,
        "GET",
        "/Users?filter=userName%20eq%20%22ANN@acme.test%22",
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let (_, none) = scim_json(
        &app,
        &secret,
        "GET",
        "/Users?filter=userName%20eq%20%22bob@acme.test%22",
        None,
    )
    .await;
    assert_eq!(none["totalResults"], 0);

    // A group mapped to admin makes her admin.
    let (status, group) = scim_json(
        &app,
        &secret,
        "POST",
        "/Groups",
        Some(json!({"displayName": "Beacon Admins", "members": [{"value": id}]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();
    let members = format!("/api/v1/orgs/{org}/members");
    let (_, list) = app.json(&who, "GET", &members, None).await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "ann@acme.test")
        .unwrap()
        .clone();
    assert_eq!(
        (row["role"].as_str(), row["managed_by_scim"].as_bool()),
        (Some("admin"), Some(true))
    );
    // Beacon's own API does not change a member the provider manages.
    let resp = app
        .call(
            &who,
            "PATCH",
            &format!("{members}/{}", ann.user_id),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_problem(resp, 409, "scim_managed").await;

    // Ann, now admin, makes an API key; both it and her session work (positive control).
    let ann_as = As::User(ann.clone());
    let (key_id, key) = app.api_key(&ann_as, org, &["read"]).await;
    let projects = format!("/api/v1/orgs/{org}/projects");
    assert_eq!(
        app.json(&ann_as, "GET", "/api/v1/auth/me", None).await.0,
        200
    );
    assert_eq!(
        app.json(&As::Key(key.clone()), "GET", &projects, None)
            .await
            .0,
        200
    );

    // Entra ID deactivates her with its own shape: capitalised op, string boolean.
    let (status, body) = scim_json(
        &app,
        &secret,
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    // In the same request: membership, session and key are gone.
    assert_eq!(
        app.json(&ann_as, "GET", "/api/v1/auth/me", None).await.0,
        401
    );
    assert_eq!(app.json(&As::Key(key), "GET", &projects, None).await.0, 401);
    let (_, list) = app.json(&who, "GET", &members, None).await;
    assert!(!list.to_string().contains("ann@acme.test"), "{list}");
    let (_, keys) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/api-keys"), None)
        .await;
    let revoked = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == key_id.to_string())
        .unwrap();
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // Okta reactivates her with a path-less replace; her group makes her admin again.
    let (status, body) = scim_json(
        &app,
        &secret,
        "PATCH",
        &format!("/Users/{id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": true}}]}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = app.json(&who, "GET", &members, None).await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "ann@acme.test")
        .unwrap()
        .clone();
    assert_eq!(row["role"], "admin");
    // Okta removes her from the group: back to the default role (member).
    let (status, _) = scim_json(
        &app,
        &secret,
        "PATCH",
        &format!("/Groups/{group_id}"),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]}),
        ),
    )
    .await;
    assert_eq!(status, 200);
    let (_, list) = app.json(&who, "GET", &members, None).await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "ann@acme.test")
        .unwrap()
        .clone();
    assert_eq!(row["role"], "member");
    // Delete: she leaves.
    let (status, _) = scim_json(&app, &secret, "DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = scim_json(&app, &secret, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404);
    scim_error(&body, 404);

    // Every change is in the audit log, by the SCIM token.
    let (_, log) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?limit=200"),
            None,
        )
        .await;
    let by_token: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["actor"]["kind"] == "scim_token")
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for action in [
        "scim.user_created",
        "scim.group_created",
        "member.removed",
        "scim.user_deleted",
    ] {
        assert!(by_token.contains(&action), "{action} missing: {by_token:?}");
    }
}

#[tokio::test]
async fn tokens_work_only_for_their_organization_and_bad_input_is_a_scim_error() {
    let app = TestApp::new().await;
    let owner = app.user("owner@a.test").await;
    let org = app.org(&owner, "A").await;
    let secret = token(&app, &owner, org).await;
    let other_owner = app.user("owner@b.test").await;
    let other = app.org(&other_owner, "B").await;
    let other_secret = token(&app, &other_owner, other).await;
    app.user("someone@gmail.test").await;

    // An existing account outside A's verified domains is not A's to manage.
    let (status, body) = scim_json(
        &app,
        &secret,
        "POST",
        "/Users",
        Some(json!({"userName": "someone@gmail.test"})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["scimType"], "uniqueness");
    // A new address is provisioned (positive control) …
    let (status, user) = scim_json(
        &app,
        &secret,
        "POST",
        "/Users",
        Some(json!({"userName": "new@elsewhere.test"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap();
    // … and another organization's token cannot see or touch it.
    let (status, body) = scim_json(&app, &other_secret, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = scim_json(&app, &other_secret, "DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404);
    let (_, list) = scim_json(&app, &other_secret, "GET", "/Users", None).await;
    assert_eq!(list["totalResults"], 0);

    for (method, path, body, status, kind) in [
        (
            "POST",
            "/Users",
            Some(json!({"userName": 3})),
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/Users",
            Some(json!({"userName": "x@y.test", "active": "maybe"})),
            400,
            Some("invalidValue"),
        ),
        (
            "GET",
            "/Users?filter=userName%20co%20%22a%22",
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "PATCH",
            &format!("/Users/{id}") as &str,
            Some(json!({"Operations": [{"op": "jump"}]})),
            400,
            Some("invalidSyntax"),
        ),
        ("GET", "/Nothing", None, 404, None),
    ] {
        let (got, body) = scim_json(&app, &secret, method, path, body).await;
        assert_eq!(got, status, "{method} {path}: {body}");
        scim_error(&body, status);
        assert_eq!(body["scimType"].as_str(), kind, "{body}");
    }
    let resp = app
        .client
        .post("/scim/v2/Users")
        .header("authorization", format!("Bearer {secret}"))
        .body("{not json")
        .send()
        .await;
    assert_eq!(resp.0.status(), 400);

    // A wrong or revoked token is refused.
    let (status, body) = scim_json(&app, "scim_nope", "GET", "/Users", None).await;
    assert_eq!(status, 401);
    scim_error(&body, 401);
    let (_, tokens) = app
        .json(
            &As::User(owner.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/scim/tokens"),
            None,
        )
        .await;
    let token_id = tokens["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .json(
            &As::User(owner.clone()),
            "DELETE",
            &format!("/api/v1/orgs/{org}/scim/tokens/{token_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = scim_json(&app, &secret, "GET", "/Users", None).await;
    assert_eq!(status, 401);
    // Only owners make tokens.
    let admin = app.user("admin@a.test").await;
    app.add_member(org, &admin, Role::Admin).await;
    let resp = app
        .call(
            &As::User(admin),
            "POST",
            &format!("/api/v1/orgs/{org}/scim/tokens"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
}
