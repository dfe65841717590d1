//! Notifications: `@mentions` and replies reach current members only (never the author, never
//! someone who left or was never a member), by their preferences; the inbox counts and marks
//! them read; a burst of notifications is e-mailed once (one job per member and window, one
//! message through a real SMTP server); an API key has no inbox.

use serde_json::{Value, json};
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{BigInt, Text};
use tenant::diesel_async::RunQueryDsl;
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::support::{As, SmtpServer, TestApp, assert_problem, job_context};

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    wait: i64,
}

/// The pending e-mail batch jobs of `user`: their keys and seconds until due.
async fn batches(app: &TestApp, org: Uuid, user: Uuid) -> Vec<(String, i64)> {
    let mut conn = app.owner_conn().await;
    let due: Vec<Due> = tenant::diesel::sql_query(
        "SELECT idempotency_key AS key, extract(epoch FROM run_at - now())::bigint AS wait \
         FROM apalis.jobs WHERE idempotency_key LIKE $1 AND status = 'Pending'",
    )
    .bind::<Text, _>(format!("notifications:{org}:{user}:%"))
    .load(&mut conn)
    .await
    .unwrap();
    due.into_iter().map(|d| (d.key, d.wait)).collect()
}

/// An error issue of the project, made through the Sentry envelope endpoint.
pub async fn issue(app: &TestApp, owner: &As, project: &Value, message: &str) -> String {
    app.client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .body(format!(
            "{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"{message}\"}}"
        ))
        .send()
        .await
        .assert_status_is_ok();
    let org = project["org_id"].as_str().unwrap();
    let p = project["id"].as_str().unwrap();
    let (_, issues) = app
        .json(
            owner,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}/issues"),
            None,
        )
        .await;
    issues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains(message))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn mentions_and_replies_reach_members_by_their_preferences_in_one_email() {
    let app = TestApp::new().await;
    let owner_session = app.user("owner@notify.test").await;
    let org = app.org(&owner_session, "Notify").await;
    let owner = As::User(owner_session.clone());
    let ann_session = app.user("ann@notify.test").await;
    app.add_member(org, &ann_session, Role::Member).await;
    let ann = As::User(ann_session.clone());
    let bob_session = app.user("bob@notify.test").await;
    app.add_member(org, &bob_session, Role::Viewer).await;
    let bob = As::User(bob_session.clone());
    // Cid was a member and left; Dan never was one.
    let cid_session = app.user("cid@notify.test").await;
    app.add_member(org, &cid_session, Role::Member).await;
    let (status, _) = app
        .json(
            &owner,
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{}", cid_session.user_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    app.user("dan@notify.test").await;
    let project = app.project(&owner, org, "notify.example").await;
    let p = project["id"].as_str().unwrap();
    let issue_id = issue(&app, &owner, &project, "checkout exploded").await;
    let comments = format!("/api/v1/orgs/{org}/projects/{p}/comments");
    let inbox = format!("/api/v1/orgs/{org}/notifications");
    let comment = |body: &str| json!({"target_kind": "issue", "target_id": issue_id, "body": body});

    // Bob wants no mentions at all; the others keep the defaults.
    let (status, prefs) = app
        .json(
            &bob,
            "PUT",
            &format!("/api/v1/orgs/{org}/notification-preferences"),
            Some(json!({"preferences": [{"kind": "mention", "inbox": false, "email": false}]})),
        )
        .await;
    assert_eq!(status, 200, "{prefs}");
    assert_eq!(
        prefs[0],
        json!({"kind": "mention", "inbox": false, "email": false})
    );
    assert_eq!(
        prefs[3],
        json!({"kind": "issue_state", "inbox": true, "email": false})
    );

    let (status, _) = app
        .json(
            &owner,
            "POST",
            &comments,
            Some(comment(
                "Hi @ANN@notify.test, @bob@notify.test, @cid@notify.test, @dan@notify.test and \
             @owner@notify.test: checkout is down",
            )),
        )
        .await;
    assert_eq!(status, 201);
    // Ann is told; the author, Bob (by his preference), Cid (left) and Dan (never a member)
    // are not.
    let (_, listed) = app.json(&ann, "GET", &inbox, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["kind"], "mention");
    assert_eq!(listed[0]["actor_email"], "owner@notify.test");
    assert_eq!(listed[0]["target_kind"], "issue");
    assert_eq!(listed[0]["target_id"], issue_id.as_str());
    assert!(
        listed[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Hi @ANN@notify.test")
    );
    for nobody in [&owner, &bob] {
        let (_, none) = app
            .json(nobody, "GET", &format!("{inbox}/unread"), None)
            .await;
        assert_eq!(none["unread"], 0);
    }
    assert_eq!(batches(&app, org, cid_session.user_id).await, vec![]);
    assert_eq!(batches(&app, org, bob_session.user_id).await, vec![]);
    // One e-mail batch for Ann, due at the end of the five-minute window.
    let due = batches(&app, org, ann_session.user_id).await;
    assert_eq!(due.len(), 1, "{due:?}");
    assert!((0..=300).contains(&due[0].1), "{due:?}");

    // A burst: two more mentions in the same window join the same batch.
    for text in [
        "@ann@notify.test the logs are in",
        "(@ann@notify.test) fixed?",
    ] {
        app.json(&owner, "POST", &comments, Some(comment(text)))
            .await;
    }
    let keys = |batches: &[(String, i64)]| batches.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&batches(&app, org, ann_session.user_id).await),
        keys(&due)
    );
    let (_, unread) = app
        .json(&ann, "GET", &format!("{inbox}/unread"), None)
        .await;
    assert_eq!(unread["unread"], 3);

    // Ann replies without mentioning: the owner took part, so is told; Bob did not.
    app.json(&ann, "POST", &comments, Some(comment("Looking now")))
        .await;
    let (_, owner_inbox) = app.json(&owner, "GET", &inbox, None).await;
    assert_eq!(owner_inbox[0]["kind"], "reply", "{owner_inbox}");
    assert_eq!(owner_inbox[0]["actor_email"], "ann@notify.test");
    let (_, none) = app
        .json(&bob, "GET", &format!("{inbox}/unread"), None)
        .await;
    assert_eq!(none["unread"], 0);
    // An edit that adds a mention tells the newly mentioned only.
    let (_, thread) = app
        .json(
            &owner,
            "GET",
            &format!("{comments}?target_kind=issue&target_id={issue_id}"),
            None,
        )
        .await;
    let first = thread["comments"][0]["id"].as_str().unwrap();
    // Eve joins and wants mentions in her inbox but not by e-mail.
    let eve_session = app.user("eve@notify.test").await;
    app.add_member(org, &eve_session, Role::Member).await;
    let eve = As::User(eve_session.clone());
    let eve_prefs = json!({"preferences": [{"kind": "mention", "inbox": true, "email": false}]});
    app.json(
        &eve,
        "PUT",
        &format!("/api/v1/orgs/{org}/notification-preferences"),
        Some(eve_prefs),
    )
    .await;
    let (status, _) = app
        .json(&owner, "PATCH", &format!("{comments}/{first}"),
            Some(json!({"body": "Hi @ann@notify.test, @bob@notify.test and @eve@notify.test: checkout is down"})))
        .await;
    assert_eq!(status, 200);
    let (_, eve_inbox) = app.json(&eve, "GET", &inbox, None).await;
    assert_eq!(eve_inbox.as_array().unwrap().len(), 1, "{eve_inbox}");
    assert_eq!(eve_inbox[0]["kind"], "mention");
    assert_eq!(
        batches(&app, org, eve_session.user_id).await,
        vec![],
        "Eve's e-mail is off"
    );
    let (_, none) = app
        .json(&bob, "GET", &format!("{inbox}/unread"), None)
        .await;
    assert_eq!(none["unread"], 0, "Bob was mentioned there already");
    let (_, unread) = app
        .json(&ann, "GET", &format!("{inbox}/unread"), None)
        .await;
    assert_eq!(unread["unread"], 3, "Ann was mentioned there already");

    // The batch sends one e-mail with the three mentions, then nothing is left to send.
    let smtp = SmtpServer::start();
    let ctx = job_context(&app, Some(&smtp.url()));
    let job = worker::jobs::Job::SendNotifications(worker::jobs::SendNotifications {
        org_id: org,
        user_id: ann_session.user_id,
    });
    job.clone().run(&ctx).await.unwrap();
    let mail = smtp
        .wait_for("ann@notify.test", "3 new notifications")
        .await;
    for text in ["Hi @ANN@notify.test", "the logs are in", "fixed?"] {
        assert!(mail.contains(text), "{text} in {mail}");
    }
    assert!(mail.contains(&format!(
        "http://beacon.test/orgs/{org}/projects/{p}/errors/{issue_id}"
    )));
    job.run(&ctx).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let to_ann = smtp
        .messages()
        .into_iter()
        .filter(|m| m.contains("To: ann@notify.test"))
        .count();
    assert_eq!(to_ann, 1);
    // E-mailing does not mark anything read; marking does.
    let (_, unread) = app
        .json(&ann, "GET", &format!("{inbox}/unread?"), None)
        .await;
    assert_eq!(unread["unread"], 3);
    let (_, listed) = app
        .json(&ann, "GET", &format!("{inbox}?unread=true"), None)
        .await;
    let one = listed[0]["id"].as_str().unwrap();
    let (status, after) = app
        .json(
            &ann,
            "POST",
            &format!("{inbox}/read"),
            Some(json!({"ids": [one]})),
        )
        .await;
    assert_eq!((status, after["unread"].clone()), (200, json!(2)));
    let (_, after) = app
        .json(&ann, "POST", &format!("{inbox}/read"), Some(json!({})))
        .await;
    assert_eq!(after["unread"], 0);
    let (_, listed) = app.json(&ann, "GET", &inbox, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 3, "read ones stay listed");
    // Pages: the two newest, then what is older than the last of them.
    let (_, first) = app
        .json(&ann, "GET", &format!("{inbox}?limit=2"), None)
        .await;
    assert_eq!(first.as_array().unwrap().len(), 2);
    assert_eq!(
        (first[0]["id"].clone(), first[1]["id"].clone()),
        (listed[0]["id"].clone(), listed[1]["id"].clone())
    );
    let last = first[1]["id"].as_str().unwrap();
    let (_, rest) = app
        .json(&ann, "GET", &format!("{inbox}?limit=2&before={last}"), None)
        .await;
    let rest: Vec<&Value> = rest.as_array().unwrap().iter().collect();
    assert_eq!(rest, [&listed[2]]);
    // Marking someone else's notification does nothing to it.
    let (_, owner_inbox) = app
        .json(&owner, "GET", &format!("{inbox}?unread=true"), None)
        .await;
    let owners = owner_inbox[0]["id"].as_str().unwrap();
    app.json(
        &ann,
        "POST",
        &format!("{inbox}/read"),
        Some(json!({"ids": [owners]})),
    )
    .await;
    let (_, still) = app
        .json(&owner, "GET", &format!("{inbox}/unread"), None)
        .await;
    assert_eq!(still["unread"], 1);

    // The autocompletion lists current members only.
    let (_, found) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/mentionable?q=notify"),
            None,
        )
        .await;
    let emails: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "ann@notify.test",
            "bob@notify.test",
            "eve@notify.test",
            "owner@notify.test"
        ]
    );
    let (_, found) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/mentionable?q=bo"),
            None,
        )
        .await;
    assert_eq!(found[0]["email"], "bob@notify.test");
    // An API key has no inbox; too many ids are refused.
    let (_, key) = app.api_key(&owner, org, &["read"]).await;
    let resp = app.call(&As::Key(key), "GET", &inbox, None).await;
    assert_problem(resp, 403, "forbidden").await;
    let many: Vec<Uuid> = (0..501).map(|_| Uuid::now_v7()).collect();
    let resp = app
        .call(
            &ann,
            "POST",
            &format!("{inbox}/read"),
            Some(json!({"ids": many})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;

    // A window whose batch has started no longer takes notifications: the next one's does.
    let mut conn = app.owner_conn().await;
    tenant::diesel::sql_query(
        "UPDATE apalis.jobs SET status = 'Running' WHERE idempotency_key = $1",
    )
    .bind::<Text, _>(&due[0].0)
    .execute(&mut conn)
    .await
    .unwrap();
    app.json(
        &owner,
        "POST",
        &comments,
        Some(comment("@ann@notify.test one more")),
    )
    .await;
    let next = batches(&app, org, ann_session.user_id).await;
    assert_eq!(next.len(), 1, "{next:?}");
    assert_ne!(next[0].0, due[0].0);
}
