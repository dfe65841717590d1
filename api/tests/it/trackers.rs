//! Error issues reach people: new and regressed issues notify the project's chosen channels
//! within an hourly cap, and Jira and GitHub Issues connectors (fake servers speaking each
//! service's documented API, `tests/fakes/trackers.py`) make one ticket per issue, from the
//! issue's page or from a notice, comment on it when the issue regresses or is resolved, and
//! make and comment on tickets for alert rules. Connector tokens never appear in an answer.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use crate::alerts::{Receivers, alerts_app, create, pageviews, sender};
use crate::support::{As, SmtpServer, TestApp, assert_problem, job_context};

const JIRA_TOKEN: &str = "ATATT3xJiraSecretToken";
const GITHUB_TOKEN: &str = "github_pat_SecretToken42";

/// The fake trackers (`tests/fakes/trackers.py`), accepting the tests' tokens.
async fn start_trackers() -> Receivers {
    let trackers = Receivers::start_script("trackers.py");
    trackers
        .control(
            "/_accounts",
            json!({
                "jira": {"email": "ops@acme.test", "token": JIRA_TOKEN, "projects": ["OPS"]},
                "github": {"token": GITHUB_TOKEN, "repos": ["acme/web"]},
            }),
        )
        .await;
    trackers
}

/// A project and how to send it error events.
struct Project {
    org: uuid::Uuid,
    id: String,
    ingest_id: i64,
    key: String,
}

impl Project {
    async fn new(app: &TestApp, who: &As, org: uuid::Uuid, domain: &str) -> Self {
        let project = app.project(who, org, domain).await;
        Self {
            org,
            id: project["id"].as_str().unwrap().to_owned(),
            ingest_id: project["ingest_id"].as_i64().unwrap(),
            key: project["ingest_key"].as_str().unwrap().to_owned(),
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/v1/orgs/{}/projects/{}{rest}", self.org, self.id)
    }

    /// Sends an error event of type `kind` (one issue per kind); answers its issue's id.
    async fn error(&self, app: &TestApp, who: &As, kind: &str) -> String {
        let event = json!({
            "event_id": uuid::Uuid::new_v4().simple().to_string(),
            "platform": "javascript",
            "level": "error",
            "release": "web@1.0.0",
            "exception": {"values": [{"type": kind, "value": "x is undefined",
                "stacktrace": {"frames": [{"filename": "app.js", "function": "render", "lineno": 3, "in_app": true}]}}]},
        });
        let resp = app
            .client
            .post(format!(
                "/api/{}/store/?sentry_key={}",
                self.ingest_id, self.key
            ))
            .content_type("application/json")
            .body(event.to_string())
            .send()
            .await;
        resp.assert_status_is_ok();
        let (_, issues) = app
            .json(
                who,
                "GET",
                &self.path(&format!("/issues?query={kind}")),
                None,
            )
            .await;
        issues["items"][0]["id"].as_str().unwrap().to_owned()
    }
}

async fn deliveries(app: &TestApp, who: &As, org: uuid::Uuid, channel: &str) -> Vec<Value> {
    let (status, log) = app
        .json(
            who,
            "GET",
            &format!("/api/v1/orgs/{org}/channels/{channel}/deliveries"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{log}");
    log.as_array().unwrap().clone()
}

#[tokio::test]
async fn new_and_regressed_issues_notify_their_channels_within_the_hourly_cap() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = app.user("owner@issues.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Issues").await;
    let project = Project::new(&app, &who, org, "issues.example").await;
    let slack = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/channels"),
        json!({"name": "#errors", "kind": "slack", "url": receivers.url("/slack/T1/B1/secret")}),
    )
    .await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let settings = project.path("/issue-notifications");
    let (_, defaults) = app.json(&who, "GET", &settings, None).await;
    assert_eq!(
        defaults,
        json!({"on_new": true, "on_regression": true, "channel_ids": [], "hourly_cap": 20,
               "sent_this_hour": 0, "held_back_this_hour": 0})
    );

    // Before any channel is chosen, a new issue queues nothing.
    project.error(&app, &who, "EarlyError").await;
    assert!(deliveries(&app, &who, org, &slack).await.is_empty());

    // Another organization's channel cannot be chosen.
    let stranger = app.user("stranger@issues.test").await;
    let other_org = app.org(&stranger, "Other").await;
    let foreign = create(
        &app,
        &As::User(stranger),
        &format!("/api/v1/orgs/{other_org}/channels"),
        json!({"name": "theirs", "kind": "slack", "url": receivers.url("/slack/T9/B9/x")}),
    )
    .await;
    let resp = app
        .call(
            &who,
            "PUT",
            &settings,
            Some(json!({"channel_ids": [foreign["channel"]["id"]]})),
        )
        .await;
    assert_problem(resp, 422, "invalid_alert").await;

    let (status, saved) = app
        .json(
            &who,
            "PUT",
            &settings,
            Some(json!({"channel_ids": [slack], "hourly_cap": 2})),
        )
        .await;
    assert_eq!((status, &saved["hourly_cap"]), (200, &json!(2)), "{saved}");

    // Two new issues are told; the same issue again is not; a third is held back by the cap.
    let first = project.error(&app, &who, "TypeError").await;
    project.error(&app, &who, "TypeError").await;
    project.error(&app, &who, "RangeError").await;
    project.error(&app, &who, "SyntaxError").await;
    let log = deliveries(&app, &who, org, &slack).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|d| d["kind"] == "issue"));
    let (_, counted) = app.json(&who, "GET", &settings, None).await;
    assert_eq!(
        (&counted["sent_this_hour"], &counted["held_back_this_hour"]),
        (&json!(2), &json!(1))
    );
    let send = sender(&app, &smtp, true);
    assert_eq!(
        worker::notify::deliver_due(&send, Utc::now())
            .await
            .unwrap(),
        2
    );
    let got = receivers.received("slack").await;
    assert_eq!(got.len(), 2);
    let text = got[1]["body"].to_string();
    assert_eq!(got[1]["problem"], Value::Null, "{text}");
    for needle in [
        "New issue: TypeError: x is undefined",
        "Culprit",
        "Open in Beacon",
        &format!(
            "http://beacon.test/orgs/{org}/projects/{}/errors/{first}",
            project.id
        ),
    ] {
        assert!(
            got.iter().any(|m| m["body"].to_string().contains(needle)),
            "{needle}: {got:?}"
        );
    }

    // An hour later, a regression is told, and says what the cap held back.
    app.state
        .db
        .scoped(tenant::OrgId::from_uuid(org), async |conn| {
            use tenant::diesel_async::RunQueryDsl;
            tenant::diesel::sql_query(
                "UPDATE issue_notifications SET window_start = window_start - interval '61 minutes'",
            )
            .execute(conn)
            .await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
    let path = project.path(&format!("/issues/{first}"));
    let (status, _) = app
        .json(&who, "PATCH", &path, Some(json!({"status": "resolved"})))
        .await;
    assert_eq!(status, 200);
    project.error(&app, &who, "TypeError").await;
    let log = deliveries(&app, &who, org, &slack).await;
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["payload"]["type"], "issue.regressed");
    let summary = log[0]["payload"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("held back 1 notice after the last one sent"),
        "{summary}"
    );

    // Regressions can be left out.
    let (_, _) = app
        .json(
            &who,
            "PUT",
            &settings,
            Some(json!({"channel_ids": [slack], "hourly_cap": 20, "on_regression": false})),
        )
        .await;
    app.json(&who, "PATCH", &path, Some(json!({"status": "resolved"})))
        .await;
    project.error(&app, &who, "TypeError").await;
    assert_eq!(deliveries(&app, &who, org, &slack).await.len(), 3);
    // …while new issues still are (the positive control of the same check).
    project.error(&app, &who, "EvalError").await;
    assert_eq!(deliveries(&app, &who, org, &slack).await.len(), 4);

    // Deleting the channel takes it out of the settings.
    let (status, _) = app
        .json(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}/channels/{slack}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, after) = app.json(&who, "GET", &settings, None).await;
    assert_eq!(after["channel_ids"], json!([]));
}

#[tokio::test]
async fn jira_and_github_connectors_make_one_ticket_per_issue_and_comment_on_it() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let trackers = start_trackers().await;
    let owner = app.user("owner@tickets.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Tickets").await;
    let project = Project::new(&app, &who, org, "tickets.example").await;
    let channels = format!("/api/v1/orgs/{org}/channels");
    let send = sender(&app, &smtp, true);

    // Bad settings are refused with what is wrong.
    for (body, says) in [
        (
            json!({"name": "J", "kind": "jira", "url": trackers.url("/jira"), "token": JIRA_TOKEN,
                   "connector": {"account_email": "ops@acme.test", "project_key": "ops"}}),
            "project_key",
        ),
        (
            json!({"name": "J", "kind": "jira", "url": trackers.url("/jira"),
                   "connector": {"account_email": "ops@acme.test", "project_key": "OPS"}}),
            "token",
        ),
        (
            json!({"name": "G", "kind": "github", "url": trackers.url("/github"), "token": GITHUB_TOKEN,
                   "connector": {"repository": "acme"}}),
            "owner/repository",
        ),
        (
            json!({"name": "S", "kind": "slack", "url": trackers.url("/slack"), "token": "x"}),
            "no `token`",
        ),
    ] {
        let resp = app.call(&who, "POST", &channels, Some(body)).await;
        let problem = assert_problem(resp, 422, "invalid_channel").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }

    let jira = create(
        &app,
        &who,
        &channels,
        json!({"name": "Jira OPS", "kind": "jira", "url": trackers.url("/jira"), "token": JIRA_TOKEN,
               "connector": {"account_email": "ops@acme.test", "project_key": "OPS", "labels": ["beacon", "errors"]}}),
    )
    .await;
    assert_eq!(jira["secret"], Value::Null);
    assert_eq!(jira["channel"]["connector"]["project_key"], "OPS");
    assert_eq!(jira["channel"]["connector"]["issue_type"], "Bug");
    let jira = jira["channel"]["id"].as_str().unwrap().to_owned();
    let github = create(
        &app,
        &who,
        &channels,
        json!({"name": "GitHub web", "kind": "github", "url": trackers.url("/github"), "token": GITHUB_TOKEN,
               "connector": {"repository": "acme/web", "labels": ["bug"]}}),
    )
    .await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // "Send test" reads the project and the repository: the token and settings work.
    for id in [&jira, &github] {
        let (status, _) = app
            .json(&who, "POST", &format!("{channels}/{id}/test"), None)
            .await;
        assert_eq!(status, 202);
    }
    assert_eq!(
        worker::notify::deliver_due(&send, Utc::now())
            .await
            .unwrap(),
        2
    );
    let state = trackers.state().await;
    let paths: Vec<&str> = state["received"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/rest/api/3/project/OPS", "/repos/acme/web"]);
    assert!(state["tickets"].as_object().unwrap().is_empty());

    // A ticket from the issue's page: queued once, made once, linked on the issue.
    let issue = project.error(&app, &who, "TypeError").await;
    let tickets = project.path(&format!("/issues/{issue}/tickets"));
    let (status, _) = app
        .json(&who, "POST", &tickets, Some(json!({"channel_id": jira})))
        .await;
    assert_eq!(status, 202);
    let resp = app
        .call(&who, "POST", &tickets, Some(json!({"channel_id": jira})))
        .await;
    assert_problem(resp, 409, "conflict").await;
    let (_, listed) = app.json(&who, "GET", &tickets, None).await;
    assert_eq!(listed["requests"][0]["status"], "pending", "{listed}");
    assert_eq!(
        worker::notify::deliver_due(&send, Utc::now())
            .await
            .unwrap(),
        1
    );
    let (_, listed) = app.json(&who, "GET", &tickets, None).await;
    assert_eq!(listed["requests"], json!([]), "{listed}");
    assert_eq!(listed["tickets"][0]["key"], "OPS-1");
    assert_eq!(
        listed["tickets"][0]["url"],
        trackers.url("/jira/browse/OPS-1")
    );
    let resp = app
        .call(&who, "POST", &tickets, Some(json!({"channel_id": jira})))
        .await;
    let problem = assert_problem(resp, 409, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("OPS-1"));
    let state = trackers.state().await;
    let made = &state["tickets"]["jira:OPS-1"]["fields"];
    assert_eq!(made["summary"], "TypeError: x is undefined");
    assert_eq!(made["labels"], json!(["beacon", "errors"]));
    assert_eq!(made["issuetype"]["name"], "Bug");
    assert!(
        made["description"].to_string().contains(&format!(
            "http://beacon.test/orgs/{org}/projects/{}/errors/{issue}",
            project.id
        )),
        "{made}"
    );

    // A new issue notice to the GitHub connector makes a ticket there, stored on the issue.
    let (status, _) = app
        .json(
            &who,
            "PUT",
            &project.path("/issue-notifications"),
            Some(json!({"channel_ids": [github]})),
        )
        .await;
    assert_eq!(status, 200);
    let second = project.error(&app, &who, "RangeError").await;
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let (_, listed) = app
        .json(
            &who,
            "GET",
            &project.path(&format!("/issues/{second}/tickets")),
            None,
        )
        .await;
    assert_eq!(listed["tickets"][0]["key"], "acme/web#1", "{listed}");
    assert_eq!(
        listed["tickets"][0]["url"],
        "https://github.test/acme/web/issues/1"
    );
    let state = trackers.state().await;
    let made = &state["tickets"]["github:acme/web#1"]["issue"];
    assert_eq!(made["title"], "RangeError: x is undefined");
    assert_eq!(made["labels"], json!(["bug"]));
    assert!(made["body"].as_str().unwrap().contains("**Level:** error"));

    // Resolving in Beacon comments on each ticket; a regression comments, it makes no new one.
    let path = project.path(&format!("/issues/{second}"));
    app.json(&who, "PATCH", &path, Some(json!({"status": "resolved"})))
        .await;
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    project.error(&app, &who, "RangeError").await;
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let state = trackers.state().await;
    let comments = state["tickets"]["github:acme/web#1"]["comments"]
        .as_array()
        .unwrap();
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[0].as_str().unwrap().contains("Resolved in Beacon"));
    assert!(
        comments[1]
            .as_str()
            .unwrap()
            .contains("Regressed error issue")
    );
    assert!(state["tickets"]["github:acme/web#2"].is_null());
    // Every request the fakes received was as their service documents it.
    for request in state["received"].as_array().unwrap() {
        assert_eq!(request["problem"], Value::Null, "{request}");
    }

    // Someone deletes the ticket in GitHub: resolving again fails that comment alone (404);
    // the connector stays on.
    trackers
        .control("/_delete", json!({"ticket": "github:acme/web#1"}))
        .await;
    app.json(&who, "PATCH", &path, Some(json!({"status": "resolved"})))
        .await;
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let log = deliveries(&app, &who, org, &github).await;
    assert_eq!(
        (log[0]["kind"].as_str(), log[0]["status"].as_str()),
        (Some("comment"), Some("failed")),
        "{log:?}"
    );
    assert!(log[0]["last_error"].as_str().unwrap().contains("404"));
    let (_, listed) = app.json(&who, "GET", &channels, None).await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|channel| channel["enabled"] == true),
        "{listed}"
    );

    // A connector pointed elsewhere needs its token again (it would go to the new place).
    let resp = app
        .call(
            &who,
            "PATCH",
            &format!("{channels}/{github}"),
            Some(json!({"url": trackers.url("/github-enterprise")})),
        )
        .await;
    let problem = assert_problem(resp, 422, "invalid_channel").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`token` again")
    );

    // A token that stops working turns the connector off at once, with the tracker's words.
    let (status, _) = app
        .json(
            &who,
            "PATCH",
            &format!("{channels}/{github}"),
            Some(json!({"token": "github_pat_revoked"})),
        )
        .await;
    assert_eq!(status, 200);
    app.json(&who, "POST", &format!("{channels}/{github}/test"), None)
        .await;
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let (_, listed) = app.json(&who, "GET", &channels, None).await;
    let connector = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == github.as_str())
        .unwrap();
    assert_eq!(connector["enabled"], false);
    assert!(
        connector["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("Bad credentials"),
        "{connector}"
    );

    // No answer ever holds a token.
    let mut answers = listed.to_string();
    for id in [&jira, &github] {
        answers.push_str(&Value::Array(deliveries(&app, &who, org, id).await).to_string());
    }
    let (_, audit) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/audit-log"), None)
        .await;
    answers.push_str(&audit.to_string());
    assert!(answers.contains("OPS-1"), "the control: answers were read");
    for token in [JIRA_TOKEN, GITHUB_TOKEN, "github_pat_revoked"] {
        assert!(!answers.contains(token), "{token} in an answer");
    }
}

#[tokio::test]
async fn an_alert_rule_makes_a_ticket_when_it_fires_and_comments_when_it_resolves() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let trackers = start_trackers().await;
    let owner = app.user("owner@alert-tickets.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Alert tickets").await;
    let project = Project::new(&app, &who, org, "alert-tickets.example").await;
    let jira = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/channels"),
        json!({"name": "Jira OPS", "kind": "jira", "url": trackers.url("/jira"), "token": JIRA_TOKEN,
               "connector": {"account_email": "ops@acme.test", "project_key": "OPS", "issue_type": "Task"}}),
    )
    .await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    pageviews(&app, "alert-tickets.example", 3).await;
    create(
        &app,
        &who,
        &project.path("/alerts"),
        json!({"name": "Traffic spike", "metric": "pageviews", "window_minutes": 60,
               "condition": "above", "warning": 2, "channel_ids": [jira]}),
    )
    .await;
    let ctx = job_context(&app, Some(&smtp.url()));
    let send = sender(&app, &smtp, true);
    let now = Utc::now();
    let evaluate = async |at| {
        worker::alerts::evaluate_due(
            &ctx.db,
            &ctx.sweeper,
            &ctx.billing,
            at,
            "http://beacon.test",
        )
        .await
        .unwrap()
    };
    assert_eq!(evaluate(now + Duration::minutes(5)).await.transitions, 1);
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let state = trackers.state().await;
    let made = &state["tickets"]["jira:OPS-1"]["fields"];
    assert_eq!(made["issuetype"]["name"], "Task");
    assert_eq!(made["summary"], "Firing (warning): Traffic spike · Site");
    let log = deliveries(&app, &who, org, &jira).await;
    assert_eq!(log[0]["ticket_key"], "OPS-1", "{log:?}");

    // Two hours on, the window is empty: resolved, told as a comment on the same ticket.
    assert_eq!(evaluate(now + Duration::minutes(125)).await.transitions, 1);
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let state = trackers.state().await;
    let comments = state["tickets"]["jira:OPS-1"]["comments"]
        .as_array()
        .unwrap();
    assert_eq!(comments.len(), 1, "{state}");
    assert!(comments[0].to_string().contains("Resolved"), "{comments:?}");
    assert!(state["tickets"]["jira:OPS-2"].is_null());
    for request in state["received"].as_array().unwrap() {
        assert_eq!(request["problem"], Value::Null, "{request}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tickets_journey_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};

    let smtp = SmtpServer::start();
    let trackers = start_trackers().await;
    let data = DataDir::new();
    let port = free_port();
    let public_url = format!("http://beacon.test:{port}");
    let (_server, _) = serve_with(
        &data.0,
        port,
        &[
            ("BEACON_SMTP_URL", &smtp.url()),
            ("BEACON_PUBLIC_URL", &public_url),
            ("BEACON_ALLOW_PRIVATE_OUTBOUND", "true"),
        ],
    );
    let report = crate::support::run_journey(
        "tickets.mjs",
        port,
        smtp.maildir(),
        &[
            format!("http://127.0.0.1:{}", trackers.port),
            format!("http://127.0.0.1:{}", trackers.control),
        ],
    );
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(report["tokenShown"], false, "{report:#}");
    assert_eq!(report["eventStatus"], 200);
    assert_eq!(report["secondEventStatus"], 200);
    assert_eq!(
        report["buttonTicketHref"],
        trackers.url("/jira/browse/OPS-1")
    );
    assert_eq!(report["ticketHref"], trackers.url("/jira/browse/OPS-2"));
    assert_eq!(report["ticketSummary"], "TypeError: cart is undefined");
    assert_eq!(report["ticketLabels"], json!(["beacon", "errors"]));
    assert_eq!(report["comments"], 1, "{report:#}");
    assert_eq!(report["fakeProblems"], json!([]));
    for (screen, violations) in report["a11y"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {screen}");
    }
    assert_eq!(report["a11y"].as_object().unwrap().len(), 4);
}
