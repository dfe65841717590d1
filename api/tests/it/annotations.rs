//! Annotations: listed for a period in the project's time zone (a note just after local
//! midnight belongs to the next day), refused when empty or too long, deleted by their author
//! or an admin only, written by members only.

use serde_json::json;
use tenant::tables::memberships::Role;

use crate::support::{As, TestApp, assert_problem};

#[tokio::test]
async fn annotations_follow_the_project_day_and_their_authors() {
    let app = TestApp::new().await;
    let owner = app.user("owner@notes.test").await;
    let org = app.org(&owner, "Notes").await;
    let who = As::User(owner);
    let (status, project) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects"),
            Some(
                json!({"name": "Site", "domains": ["notes.example"], "timezone": "Europe/Berlin"}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{project}");
    let base = format!(
        "/api/v1/orgs/{org}/projects/{}/annotations",
        project["id"].as_str().unwrap()
    );
    // 23:30 UTC on the 25th is 00:30 on the 26th in Berlin (winter time).
    for (at, text) in [
        ("2026-10-25T21:00:00Z", "late on the 25th"),
        ("2026-10-25T23:30:00Z", "early on the 26th"),
    ] {
        let (status, made) = app
            .json(&who, "POST", &base, Some(json!({"at": at, "text": text})))
            .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["editable"], true);
    }
    let texts = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, day25) = app
        .json(
            &who,
            "GET",
            &format!("{base}?period=2026-10-25,2026-10-25"),
            None,
        )
        .await;
    assert_eq!(texts(&day25), ["late on the 25th"]);
    let (_, day26) = app
        .json(
            &who,
            "GET",
            &format!("{base}?period=2026-10-26,2026-10-26"),
            None,
        )
        .await;
    assert_eq!(texts(&day26), ["early on the 26th"]);
    let (_, both) = app
        .json(
            &who,
            "GET",
            &format!("{base}?period=2026-10-25,2026-10-26"),
            None,
        )
        .await;
    assert_eq!(texts(&both), ["late on the 25th", "early on the 26th"]);

    // Refused: empty, too long, control characters, a bad period.
    for text in ["", &"x".repeat(281)] {
        let resp = app
            .call(
                &who,
                "POST",
                &base,
                Some(json!({"at": "2026-10-25T10:00:00Z", "text": text})),
            )
            .await;
        assert_eq!(resp.0.status(), 400, "{text}");
    }
    let resp = app
        .call(
            &who,
            "POST",
            &base,
            Some(json!({"at": "2026-10-25T10:00:00Z", "text": "a\u{7}b"})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;
    let resp = app
        .call(&who, "GET", &format!("{base}?period=decade"), None)
        .await;
    assert_problem(resp, 400, "invalid_date_range").await;

    // A member deletes their own, not the owner's; an admin deletes any; a viewer writes none.
    let member_session = app.user("member@notes.test").await;
    app.add_member(org, &member_session, Role::Member).await;
    let member = As::User(member_session);
    let owners = both[0]["id"].as_str().unwrap().to_owned();
    let (_, listed) = app
        .json(
            &member,
            "GET",
            &format!("{base}?period=2026-10-25,2026-10-26"),
            None,
        )
        .await;
    assert_eq!(listed[0]["editable"], false);
    let resp = app
        .call(&member, "DELETE", &format!("{base}/{owners}"), None)
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let (_, own) = app
        .json(
            &member,
            "POST",
            &base,
            Some(json!({"at": "2026-10-25T12:00:00Z", "text": "mine"})),
        )
        .await;
    let resp = app
        .call(
            &member,
            "DELETE",
            &format!("{base}/{}", own["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let admin_session = app.user("admin@notes.test").await;
    app.add_member(org, &admin_session, Role::Admin).await;
    let resp = app
        .call(
            &As::User(admin_session),
            "DELETE",
            &format!("{base}/{owners}"),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let viewer_session = app.user("viewer@notes.test").await;
    app.add_member(org, &viewer_session, Role::Viewer).await;
    let resp = app
        .call(
            &As::User(viewer_session),
            "POST",
            &base,
            Some(json!({"at": "2026-10-25T12:00:00Z", "text": "v"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let (_, left) = app
        .json(
            &who,
            "GET",
            &format!("{base}?period=2026-10-25,2026-10-26"),
            None,
        )
        .await;
    assert_eq!(texts(&left), ["early on the 26th"]);
}
