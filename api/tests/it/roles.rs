//! Roles: viewers read and never write; admins manage people and keys; owners own; no
//! organization loses its last owner.

use serde_json::json;
use tenant::tables::memberships::Role;

use crate::support::{As, TestApp, assert_problem};

#[tokio::test]
async fn viewer_reads_but_cannot_write() {
    let app = TestApp::new().await;
    let owner = app.user("owner@example.com").await;
    let viewer = app.user("viewer@example.com").await;
    let org = app.org(&owner, "Org").await;
    app.add_member(org, &viewer, Role::Viewer).await;
    let project = app
        .project(&As::User(owner.clone()), org, "site.example")
        .await;
    let p = project["id"].as_str().unwrap();
    let who = As::User(viewer.clone());

    for path in [
        format!("/api/v1/orgs/{org}"),
        format!("/api/v1/orgs/{org}/projects"),
        format!("/api/v1/orgs/{org}/projects/{p}"),
        format!("/api/v1/orgs/{org}/members"),
    ] {
        let (status, body) = app.json(&who, "GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, org_out) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}"), None)
        .await;
    assert_eq!(org_out["role"], "viewer");

    let writes = [
        (
            "PATCH",
            format!("/api/v1/orgs/{org}"),
            Some(json!({"name": "x"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "Org"})),
        ),
        (
            "POST",
            format!("/api/v1/orgs/{org}/projects"),
            Some(json!({"name": "x", "domains": ["x.example"]})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/projects/{p}"),
            Some(json!({"name": "x"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/projects/{p}"),
            Some(json!({"confirm_name": "Site"})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/api-keys"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "x", "scopes": ["read"]})),
        ),
        ("GET", format!("/api/v1/orgs/{org}/invitations"), None),
        (
            "POST",
            format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({"email": "x@example.com", "role": "viewer"})),
        ),
        (
            "PATCH",
            format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            Some(json!({"role": "viewer"})),
        ),
        (
            "DELETE",
            format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            None,
        ),
    ];
    for (method, path, body) in writes {
        let resp = app.call(&who, method, &path, body).await;
        assert_problem(resp, 403, "forbidden").await;
    }
    let (_, after) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}"),
            None,
        )
        .await;
    assert_eq!(after, project);
}

#[tokio::test]
async fn member_works_with_projects_but_not_people() {
    let app = TestApp::new().await;
    let owner = app.user("o@example.com").await;
    let member = app.user("m@example.com").await;
    let org = app.org(&owner, "Org").await;
    app.add_member(org, &member, Role::Member).await;
    let who = As::User(member);
    let project = app.project(&who, org, "m.example").await;
    let path = format!(
        "/api/v1/orgs/{org}/projects/{}",
        project["id"].as_str().unwrap()
    );
    // Members rename projects, but retention and salt rotation are for admins.
    let (status, _) = app
        .json(&who, "PATCH", &path, Some(json!({"name": "Renamed"})))
        .await;
    assert_eq!(status, 200);
    for change in [
        json!({"retention_days": 1}),
        json!({"salt_rotation_hours": 720}),
    ] {
        let resp = app.call(&who, "PATCH", &path, Some(change)).await;
        assert_problem(resp, 403, "forbidden").await;
    }
    let resp = app
        .call(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "x", "scopes": ["read"]})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
}

#[tokio::test]
async fn last_owner_is_kept() {
    let app = TestApp::new().await;
    let owner = app.user("only-owner@example.com").await;
    let admin = app.user("admin@example.com").await;
    let org = app.org(&owner, "Org").await;
    app.add_member(org, &admin, Role::Admin).await;
    let me = As::User(owner.clone());
    let demote = app
        .call(
            &me,
            "PATCH",
            &format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_problem(demote, 409, "last_owner").await;
    let leave = app
        .call(
            &me,
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            None,
        )
        .await;
    assert_problem(leave, 409, "last_owner").await;

    // Admins cannot touch owners or make owners.
    let as_admin = As::User(admin.clone());
    let resp = app
        .call(
            &as_admin,
            "PATCH",
            &format!("/api/v1/orgs/{org}/members/{}", admin.user_id),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .call(
            &as_admin,
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            None,
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;

    // With a second owner, the first may step down.
    let (status, _) = app
        .json(
            &me,
            "PATCH",
            &format!("/api/v1/orgs/{org}/members/{}", admin.user_id),
            Some(json!({"role": "owner"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .json(
            &me,
            "PATCH",
            &format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!((status, body["role"].as_str()), (200, Some("viewer")));
    let unknown_role = app
        .call(
            &as_admin,
            "PATCH",
            &format!("/api/v1/orgs/{org}/members/{}", owner.user_id),
            Some(json!({"role": "king"})),
        )
        .await;
    assert_problem(unknown_role, 400, "invalid_request").await;
}

#[tokio::test]
async fn deleting_an_organization_needs_its_name_and_an_owner() {
    let app = TestApp::new().await;
    let owner = app.user("del@example.com").await;
    let org = app.org(&owner, "Doomed").await;
    let me = As::User(owner.clone());
    let (_, key) = app.api_key(&me, org, &["admin"]).await;
    app.project(&me, org, "doomed.example").await;

    let resp = app
        .call(
            &As::Key(key.clone()),
            "DELETE",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "Doomed"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .call(
            &me,
            "DELETE",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "doomed"})),
        )
        .await;
    assert_problem(resp, 422, "confirmation_mismatch").await;
    let resp = app
        .call(
            &me,
            "DELETE",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"confirm_name": "Doomed"})),
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 202);
    app.set_now(chrono::Utc::now() + chrono::Duration::days(8));
    worker::jobs::EraseOrganizations {}
        .run(&crate::support::job_context(&app, None))
        .await
        .unwrap();

    assert_problem(
        app.call(&me, "GET", &format!("/api/v1/orgs/{org}"), None)
            .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.call(&me, "GET", &format!("/api/v1/orgs/{org}/projects"), None)
            .await,
        404,
        "not_found",
    )
    .await;
    // Its keys died with it.
    assert_problem(
        app.call(&As::Key(key), "GET", &format!("/api/v1/orgs/{org}"), None)
            .await,
        401,
        "unauthorized",
    )
    .await;
    // The domain is free again.
    let other = app.org(&owner, "Next").await;
    app.project(&me, other, "doomed.example").await;
}
