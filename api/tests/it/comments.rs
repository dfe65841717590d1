//! Comment threads: on each kind of target, created by the first comment; edited ("edited")
//! and deleted by their author, deleted by an admin; resolved and reopened; a target the
//! project does not have is 404; a former member's comments stay, without their address.

use serde_json::{Value, json};
use tenant::tables::memberships::Role;

use crate::support::{As, TestApp, assert_problem};

#[tokio::test]
async fn threads_hold_comments_on_every_kind_of_target() {
    let app = TestApp::new().await;
    let owner_session = app.user("owner@talk.test").await;
    let org = app.org(&owner_session, "Talk").await;
    let owner = As::User(owner_session);
    let project = app.project(&owner, org, "talk.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}");
    // A dashboard with a widget, a funnel, an annotation and an error issue to talk about.
    let (_, board) = app
        .json(&owner, "POST", &format!("{base}/dashboards"),
            Some(json!({"name": "Launch", "widgets": [{"id": "w1", "kind": "note", "x": 0, "y": 0, "w": 4, "h": 2, "text": "hi"}]})))
        .await;
    let mut goals = Vec::new();
    for goal in [json!({"page_path": "/"}), json!({"event_name": "Signup"})] {
        let (_, goal) = app
            .json(&owner, "POST", &format!("{base}/goals"), Some(goal))
            .await;
        goals.push(goal["id"].clone());
    }
    let (_, funnel) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/funnels"),
            Some(json!({"name": "Signup", "steps": goals})),
        )
        .await;
    let (_, annotation) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/annotations"),
            Some(json!({"at": "2026-11-20T10:00:00Z", "text": "v2.3"})),
        )
        .await;
    app.client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .body("{}\n{\"type\":\"event\"}\n{\"message\":\"boom\"}")
        .send()
        .await
        .assert_status_is_ok();
    let (_, issues) = app
        .json(&owner, "GET", &format!("{base}/issues"), None)
        .await;
    let board_id = board["id"].as_str().unwrap();
    let targets = [
        ("dashboard", board_id.to_owned()),
        ("widget", format!("{board_id}/w1")),
        (
            "issue",
            issues["items"][0]["id"].as_str().unwrap().to_owned(),
        ),
        ("funnel", funnel["id"].as_str().unwrap().to_owned()),
        ("annotation", annotation["id"].as_str().unwrap().to_owned()),
    ];
    let thread_of =
        |kind: &str, id: &str| format!("{base}/comments?target_kind={kind}&target_id={id}");
    for (kind, id) in &targets {
        let (status, empty) = app.json(&owner, "GET", &thread_of(kind, id), None).await;
        assert_eq!(status, 200, "{kind}: {empty}");
        assert_eq!(empty["thread_id"], Value::Null);
        let (status, made) = app
            .json(&owner, "POST", &format!("{base}/comments"),
                Some(json!({"target_kind": kind, "target_id": id, "body": format!("About this {kind}")})))
            .await;
        assert_eq!(status, 201, "{kind}: {made}");
        let (_, thread) = app.json(&owner, "GET", &thread_of(kind, id), None).await;
        assert_eq!(thread["comments"][0]["body"], format!("About this {kind}"));
        assert_eq!(thread["comments"][0]["author_email"], "owner@talk.test");
    }
    // Targets the project does not have: 404, and nothing is made.
    for (kind, id) in [
        (
            "dashboard",
            "0190f2c4-0000-7000-8000-000000000009".to_owned(),
        ),
        ("widget", format!("{board_id}/w9")),
        ("issue", "nope".to_owned()),
    ] {
        let resp = app
            .call(
                &owner,
                "POST",
                &format!("{base}/comments"),
                Some(json!({"target_kind": kind, "target_id": id, "body": "lost"})),
            )
            .await;
        assert_problem(resp, 404, "not_found").await;
    }
    let resp = app
        .call(
            &owner,
            "POST",
            &format!("{base}/comments"),
            Some(json!({"target_kind": "dashboard", "target_id": board_id, "body": "   "})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;

    // A member comments, edits their own ("edited"), cannot edit or delete the owner's.
    let member_session = app.user("member@talk.test").await;
    app.add_member(org, &member_session, Role::Member).await;
    let member = As::User(member_session.clone());
    let (_, mine) = app
        .json(&member, "POST", &format!("{base}/comments"),
            Some(json!({"target_kind": "dashboard", "target_id": board_id, "body": "<script>alert(1)</script> **me**"})))
        .await;
    let mine_path = format!("{base}/comments/{}", mine["id"].as_str().unwrap());
    let (status, edited) = app
        .json(
            &member,
            "PATCH",
            &mine_path,
            Some(json!({"body": "me, edited"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["edited_at"].is_string());
    let (_, thread) = app
        .json(&member, "GET", &thread_of("dashboard", board_id), None)
        .await;
    let owners = format!(
        "{base}/comments/{}",
        thread["comments"][0]["id"].as_str().unwrap()
    );
    assert_eq!(
        (
            thread["comments"][0]["editable"].as_bool(),
            thread["comments"][0]["deletable"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let resp = app
        .call(&member, "PATCH", &owners, Some(json!({"body": "hijacked"})))
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app.call(&member, "DELETE", &owners, None).await;
    assert_problem(resp, 403, "forbidden").await;

    // Resolve and reopen; a viewer reads but cannot comment.
    let thread_id = thread["thread_id"].as_str().unwrap();
    let resolution = format!("{base}/comment-threads/{thread_id}/resolution");
    let (status, resolved) = app
        .json(&member, "PUT", &resolution, Some(json!({"resolved": true})))
        .await;
    assert_eq!(status, 200);
    assert!(resolved["resolved_at"].is_string());
    let (_, reopened) = app
        .json(
            &member,
            "PUT",
            &resolution,
            Some(json!({"resolved": false})),
        )
        .await;
    assert_eq!(reopened["resolved_at"], Value::Null);
    let viewer_session = app.user("viewer@talk.test").await;
    app.add_member(org, &viewer_session, Role::Viewer).await;
    let viewer = As::User(viewer_session);
    let (status, _) = app
        .json(&viewer, "GET", &thread_of("dashboard", board_id), None)
        .await;
    assert_eq!(status, 200);
    let resp = app
        .call(
            &viewer,
            "POST",
            &format!("{base}/comments"),
            Some(json!({"target_kind": "dashboard", "target_id": board_id, "body": "v"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;

    // The activity feed: the issue resolved by the owner, the comments and the annotation,
    // newest first.
    let issue = targets[2].1.clone();
    let (status, _) = app
        .json(
            &owner,
            "PATCH",
            &format!("{base}/issues/{issue}"),
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, feed) = app
        .json(&viewer, "GET", &format!("{base}/activity"), None)
        .await;
    assert_eq!(status, 200, "{feed}");
    let kinds: Vec<(&str, &str)> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["kind"].as_str().unwrap(),
                item["summary"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds[0], ("issue_state", "resolved"), "{feed}");
    assert_eq!(feed[0]["actor_email"], "owner@talk.test");
    assert_eq!(feed[0]["target_id"], issue.as_str());
    assert!(kinds.contains(&("comment", "me, edited")), "{feed}");
    assert!(kinds.contains(&("annotation", "v2.3")), "{feed}");
    assert!(
        kinds.contains(&("comment", "About this annotation")),
        "{feed}"
    );
    assert_eq!(
        kinds.iter().filter(|(kind, _)| *kind == "comment").count(),
        6,
        "{feed}"
    );
    // Deleting the annotation takes its thread: its comment leaves the feed (it was there).
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{base}/annotations/{}", targets[4].1),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, feed) = app
        .json(&viewer, "GET", &format!("{base}/activity"), None)
        .await;
    let summaries: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    assert!(!summaries.contains(&"About this annotation"), "{feed}");
    assert!(summaries.contains(&"About this widget"), "{feed}");
    // Another project's activity is not in it (the control: this project's is).
    let other = app.project(&owner, org, "other-talk.example").await;
    let (_, other_feed) = app
        .json(
            &owner,
            "GET",
            &format!(
                "/api/v1/orgs/{org}/projects/{}/activity",
                other["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(other_feed, json!([]));

    // The member leaves: their comment stays, without their address.
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{}", member_session.user_id),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, thread) = app
        .json(&owner, "GET", &thread_of("dashboard", board_id), None)
        .await;
    let theirs = thread["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["body"] == "me, edited")
        .unwrap();
    assert_eq!(theirs["author_email"], Value::Null);
    // The owner (an admin) deletes it.
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{base}/comments/{}", theirs["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, thread) = app
        .json(&owner, "GET", &thread_of("dashboard", board_id), None)
        .await;
    assert_eq!(thread["comments"].as_array().unwrap().len(), 1);

    // Deleting the dashboard takes its thread and its widgets'; the issue's stays (the control).
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{base}/dashboards/{board_id}"),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, feed) = app
        .json(&owner, "GET", &format!("{base}/activity"), None)
        .await;
    let summaries: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["summary"].as_str().unwrap())
        .collect();
    assert!(!summaries.contains(&"About this dashboard"), "{feed}");
    assert!(!summaries.contains(&"About this widget"), "{feed}");
    assert!(summaries.contains(&"About this issue"), "{feed}");
    // Deleting the funnel takes its thread too.
    assert!(summaries.contains(&"About this funnel"), "{feed}");
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{base}/funnels/{}", targets[3].1),
            None,
        )
        .await;
    assert_eq!(resp.0.status(), 204);
    let (_, feed) = app
        .json(&owner, "GET", &format!("{base}/activity"), None)
        .await;
    assert!(!feed.to_string().contains("About this funnel"), "{feed}");
}
