//! E-mail reports end to end: subscriptions through the API, slots claimed by the worker's
//! report loop on a settable clock, the real job worker composing the report and mailing it to
//! a real SMTP server (aiosmtpd). The numbers in the e-mail are checked against the Stats API's
//! answers for the same days; the week of a daylight-saving change sends once, at 07:00 local;
//! the unsubscribe link works without signing in; "skip when there was no traffic", previews and
//! members who leave behave as documented.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::alerts::{create, pageviews};
use crate::support::{As, SmtpServer, TestApp, Workers, assert_problem, job_context, token_from};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The report loop's step, as the worker runs it every minute.
async fn queue_due(ctx: &worker::JobContext, now: DateTime<Utc>) -> usize {
    worker::reports::queue_due(&ctx.db, &ctx.sweeper, now)
        .await
        .unwrap()
}

/// A project's Stats API answer for `days` (its own time zone).
async fn stats(app: &TestApp, who: &As, site: &str, days: [&str; 2], body: Value) -> Value {
    let mut body = body;
    body["site_id"] = json!(site);
    body["date_range"] = json!(days);
    let (status, answer) = app.json(who, "POST", "/api/v2/query", Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn thousands(value: i64) -> String {
    tenant::reports::content::thousands(value)
}

/// Sends a Sentry event stamped `ts` to the project.
async fn error_event(app: &TestApp, project: &Value, title: &str, ts: DateTime<Utc>) {
    let path = format!(
        "/api/{}/store/?sentry_key={}",
        project["ingest_id"],
        project["ingest_key"].as_str().unwrap()
    );
    let body = json!({
        "event_id": uuid::Uuid::new_v4().simple().to_string(),
        "timestamp": ts.timestamp(),
        "level": "error",
        "platform": "javascript",
        "exception": {"values": [{"type": "TypeError", "value": title}]},
    });
    let resp = app
        .client
        .post(path)
        .content_type("application/json")
        .body(body.to_string())
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 200);
}

#[tokio::test]
async fn the_weekly_report_of_a_daylight_saving_week_goes_once_with_the_stats_apis_numbers() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let owner = app.user("owner@reports.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Reporting").await;
    // Europe/Berlin: summer time ends on Sunday 2026-10-25 (that day has 25 hours).
    let project = app.project(&who, org, "reports.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}/reports");

    app.set_now(at("2026-10-20T10:00:00Z"));
    let mine = create(
        &app,
        &who,
        &format!("{base}/subscriptions"),
        json!({"cadence": "weekly"}),
    )
    .await;
    assert_eq!(mine["email"], "owner@reports.test");
    assert_eq!(mine["mine"], true);
    let added = create(
        &app,
        &who,
        &format!("{base}/subscriptions"),
        json!({"cadence": "weekly", "email": "Board@Example.com", "skip_empty": false}),
    )
    .await;
    assert_eq!(added["email"], "board@example.com");
    assert_eq!(added["mine"], false);

    // Traffic: 3 pageviews on Tuesday of the week, 4 late on Sunday 25th (23:30 local, after
    // the change: 22:30 UTC), and 5 just after the week ends (Monday 00:30 local), which the
    // report must not count; 2 the week before (the comparison).
    for (when, n) in [
        ("2026-10-13T09:00:00Z", 2),
        ("2026-10-20T09:00:00Z", 3),
        ("2026-10-25T22:30:00Z", 4),
        ("2026-10-25T23:30:00Z", 5),
    ] {
        app.set_now(at(when));
        pageviews(&app, "reports.example", n).await;
    }
    error_event(
        &app,
        &project,
        "checkout exploded",
        at("2026-10-21T12:00:00Z"),
    )
    .await;

    // The worker's loop runs every hour from Saturday to Tuesday: one slot, Monday 07:00 local
    // (06:00 UTC in winter time), and one job.
    let ctx = job_context(&app, None);
    let mut queued = Vec::new();
    let mut now = at("2026-10-24T00:00:00Z");
    while now < at("2026-10-27T00:00:00Z") {
        let n = queue_due(&ctx, now).await;
        if n > 0 {
            queued.push((now, n));
        }
        now += Duration::hours(1);
    }
    assert_eq!(queued, vec![(at("2026-10-26T06:00:00Z"), 1)]);

    app.set_now(at("2026-10-26T06:01:00Z"));
    let workers = Workers::start(&app, &smtp);
    let mail = smtp.wait_for("owner@reports.test", "weekly report").await;
    let board = smtp.wait_for("board@example.com", "weekly report").await;
    workers.stop().await;

    // The numbers are the Stats API's for the same days.
    let week = ["2026-10-19", "2026-10-25"];
    let totals = stats(
        &app,
        &who,
        "reports.example",
        week,
        json!({"metrics": ["visitors", "pageviews"]}),
    )
    .await;
    let visitors = totals["results"][0]["metrics"][0].as_i64().unwrap();
    let views = totals["results"][0]["metrics"][1].as_i64().unwrap();
    assert_eq!(
        views, 7,
        "3 on Tuesday and 4 late on Sunday; not Monday's 5"
    );
    assert!(visitors > 0);
    for message in [&mail, &board] {
        assert!(message.contains("Site: weekly report"), "{message}");
        assert!(
            message.contains("2026-10-19 – 2026-10-25, compared with 2026-10-12 – 2026-10-18"),
            "{message}"
        );
        assert!(
            message.contains(&format!("Unique visitors: {}", thousands(visitors))),
            "{message}"
        );
        assert!(
            message.contains(&format!("Pageviews: {} (+250%, was 2)", thousands(views))),
            "{message}"
        );
        assert!(
            message.contains("New: TypeError: checkout exploded (error, 1 events)"),
            "{message}"
        );
        assert!(message.contains("Errors: 1 events"), "{message}");
        // The daily list: Sunday the 25th has the late 4; Monday the 26th is not in it.
        assert!(message.contains("2026-10-25: 4"), "{message}");
        assert!(!message.contains("2026-10-26:"), "{message}");
        // Chart attached inline and referenced by the HTML; one-click unsubscribe headers.
        assert!(message.contains("Content-Type: image/png"), "{message}");
        assert!(
            message.contains("Content-ID: <visitors-chart>"),
            "{message}"
        );
        assert!(message.contains("src=\"cid:visitors-chart\""), "{message}");
        // (The helper undoes quoted-printable everywhere, so the header's `=` is not compared.)
        let headers = &message[..message.find("\r\n\r\n").unwrap_or(message.len())];
        assert!(
            headers
                .contains("List-Unsubscribe: <http://beacon.test/api/v1/reports/unsubscribe?token"),
            "{headers}"
        );
        assert!(
            headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{headers}"
        );
    }
    let top_pages = stats(
        &app,
        &who,
        "reports.example",
        week,
        json!({"metrics": ["visitors"], "dimensions": ["event:page"]}),
    )
    .await;
    let top = &top_pages["results"][0];
    assert!(mail.contains(&format!(
        "  {}: {}",
        top["dimensions"][0].as_str().unwrap(),
        top["metrics"][0]
    )));

    // The slot is done: later rounds queue nothing, and a second run of the job (a retry)
    // mails no one again.
    assert_eq!(queue_due(&ctx, at("2026-10-26T08:00:00Z")).await, 0);
    let sent = smtp.messages().len();
    let job = worker::jobs::SendReport {
        org_id: org,
        project_id: p.parse().unwrap(),
        cadence: "weekly".into(),
        slot: at("2026-10-26T06:00:00Z"),
        preview_to: None,
    };
    worker::Job::SendReport(job.clone())
        .run(&job_context(&app, Some(&smtp.url())))
        .await
        .unwrap();
    assert_eq!(smtp.messages().len(), sent);
    let (_, listed) = app.json(&who, "GET", &base, None).await;
    assert_eq!(listed["timezone"], "Europe/Berlin");
    assert_eq!(listed["send_time"], "07:00");
    assert!(
        listed["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s["last_sent_at"].is_null())
    );

    // The unsubscribe link works without signing in, once; a made-up token is refused.
    let token = token_from(&board[board.find("Unsubscribe: ").unwrap()..]);
    let app = &app;
    let unsubscribe = |token: String| async move {
        let path = format!("/api/v1/reports/unsubscribe?token={token}");
        app.call(&As::Nobody, "POST", &path, None).await
    };
    let (status, body) = crate::support::status_and_json(unsubscribe(token.clone()).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"project": "Site", "cadence": "weekly"}));
    let (status, body) = crate::support::status_and_json(unsubscribe(token).await).await;
    assert_eq!(
        (status, body),
        (200, json!({"project": null, "cadence": null}))
    );
    assert_problem(unsubscribe("made-up".into()).await, 400, "token_invalid").await;
    let (_, listed) = app.json(&who, "GET", &base, None).await;
    let left: Vec<&str> = listed["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["email"].as_str().unwrap())
        .collect();
    assert_eq!(left, vec!["owner@reports.test"]);
}

#[tokio::test]
async fn quiet_periods_previews_and_people_who_leave() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let owner = app.user("owner@quiet.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Quiet").await;
    let project = app.project(&who, org, "quiet.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}/reports");
    let member = app.user("member@quiet.test").await;
    app.add_member(org, &member, tenant::tables::memberships::Role::Viewer)
        .await;
    let member_as = As::User(member.clone());

    app.set_now(at("2026-11-03T10:00:00Z"));
    // A viewer subscribes themselves but may not add other addresses or remove others'.
    let theirs = create(
        &app,
        &member_as,
        &format!("{base}/subscriptions"),
        json!({"cadence": "monthly"}),
    )
    .await;
    let (status, _) = app
        .json(
            &member_as,
            "POST",
            &format!("{base}/subscriptions"),
            Some(json!({"cadence": "monthly", "email": "x@example.com"})),
        )
        .await;
    assert_eq!(status, 403);
    let quiet = create(
        &app,
        &who,
        &format!("{base}/subscriptions"),
        json!({"cadence": "monthly"}),
    )
    .await;
    let loud = create(
        &app,
        &who,
        &format!("{base}/subscriptions"),
        json!({"cadence": "monthly", "email": "always@example.com", "skip_empty": false}),
    )
    .await;
    let (status, _) = app
        .json(
            &member_as,
            "DELETE",
            &format!(
                "{base}/subscriptions/{}",
                loud["subscription_id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 403);
    assert_problem(
        app.call(
            &who,
            "POST",
            &format!("{base}/subscriptions"),
            Some(json!({"cadence": "daily"})),
        )
        .await,
        422,
        "invalid_request",
    )
    .await;

    // The member leaves: their subscription goes with them (it was listed before).
    let (_, listed) = app.json(&who, "GET", &base, None).await;
    assert!(
        listed["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["subscription_id"] == theirs["subscription_id"])
    );
    let (status, _) = app
        .json(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}/members/{}", member.user_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, listed) = app.json(&who, "GET", &base, None).await;
    assert!(
        !listed["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["subscription_id"] == theirs["subscription_id"])
    );
    assert_eq!(listed["subscriptions"].as_array().unwrap().len(), 2);

    let ctx = job_context(&app, None);
    // December 1st, for a November without traffic: "skip when there was no traffic" skips
    // the owner; the address added with skip_empty false gets the report (the control).
    assert_eq!(queue_due(&ctx, at("2026-12-01T06:00:00Z")).await, 1);
    app.set_now(at("2026-12-01T06:01:00Z"));
    let workers = Workers::start(&app, &smtp);
    let sent = smtp.wait_for("always@example.com", "monthly report").await;
    assert!(sent.contains("November 2026"), "{sent}");
    assert!(sent.contains("Unique visitors: 0"), "{sent}");
    let (_, listed) = app.json(&who, "GET", &base, None).await;
    let owners = listed["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subscription_id"] == quiet["subscription_id"])
        .unwrap()
        .clone();
    assert!(
        owners["last_sent_at"].is_null(),
        "skipped, not sent: {owners}"
    );
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("To: owner@quiet.test"))
    );
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("To: member@quiet.test"))
    );

    // "Send now": a preview of the last complete month to the caller, whatever skip_empty says.
    let resp = app
        .call(
            &who,
            "POST",
            &format!("{base}/preview"),
            Some(json!({"cadence": "monthly"})),
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 202);
    let preview = smtp
        .wait_for("owner@quiet.test", "PREVIEW sent at your request")
        .await;
    assert!(preview.contains("November 2026"), "{preview}");
    assert!(
        !preview.contains("List-Unsubscribe"),
        "a preview has no subscription to stop"
    );
    workers.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reports_card_and_the_unsubscribe_page_in_chromium() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let owner = app.user("owner@card.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Card").await;
    let project = app.project(&who, org, "card.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}/reports");
    // A weekly report already went to an address an admin added.
    app.set_now(at("2026-11-18T10:00:00Z"));
    create(
        &app,
        &who,
        &format!("{base}/subscriptions"),
        json!({"cadence": "weekly", "email": "board@example.com", "skip_empty": false}),
    )
    .await;
    app.set_now(at("2026-11-20T10:00:00Z"));
    pageviews(&app, "card.example", 2).await;
    let ctx = job_context(&app, None);
    assert_eq!(queue_due(&ctx, at("2026-11-23T06:00:00Z")).await, 1);
    app.set_now(at("2026-11-23T06:01:00Z"));
    let workers = Workers::start(&app, &smtp);
    let mail = smtp.wait_for("board@example.com", "weekly report").await;
    let token = token_from(&mail[mail.find("Unsubscribe: ").unwrap()..]);

    let port = app.listen().await;
    let maildir = smtp.maildir().to_owned();
    let settings = format!("/orgs/{org}/projects/{p}/settings");
    let report = tokio::task::spawn_blocking(move || {
        crate::support::run_journey(
            "reports.mjs",
            port,
            &maildir,
            &[
                "owner@card.test".into(),
                crate::support::PASSWORD.into(),
                settings,
                token,
            ],
        )
    })
    .await
    .unwrap();
    workers.stop().await;
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(report["longPdfStart"], "%PDF-", "{report:#}");
    assert!(
        report["longPdfName"]
            .as_str()
            .unwrap()
            .starts_with("Site-2025-"),
        "the last 12 months: {report:#}"
    );
    let progress = report["pdfProgress"].as_str().unwrap();
    assert!(
        progress.starts_with("Queued") || progress.starts_with("Preparing:"),
        "{progress}"
    );
    let first = report["firstRows"].as_array().unwrap();
    assert_eq!(first.len(), 1, "{report:#}");
    assert!(first[0].as_str().unwrap().contains("board@example.com"));
    assert!(
        !first[0].as_str().unwrap().contains("not yet"),
        "sent: {first:?}"
    );
    let rows = report["rows"].to_string();
    assert!(
        rows.contains("owner@card.test") && rows.contains("(you)"),
        "{rows}"
    );
    assert!(rows.contains("cfo@example.com"), "{rows}");
    assert_eq!(report["previewArrived"], true);
    assert_eq!(
        report["chartShown"], true,
        "the inline chart decodes in Chromium"
    );
    assert_eq!(
        report["zipName"], "Site-2026-10-25-2026-11-23.zip",
        "{report:#}"
    );
    assert!(report["zipBytes"].as_u64().unwrap() > 1_000, "{report:#}");
    assert_eq!(report["csvName"], "card.example-event-page.csv");
    assert_eq!(report["pdfName"], "Site-2026-10-25-2026-11-23.pdf");
    assert_eq!(report["pdfStart"], "%PDF-");
    assert_eq!(report["csv"], "event:page,visitors\n/,2\n");
    assert_eq!(
        report["changedBeforeClick"], false,
        "opening the link alone changes nothing"
    );
    assert_eq!(
        report["unsubscribed"],
        "You will no longer receive the weekly report of Site."
    );
    assert!(
        report["tampered"].as_str().unwrap().contains("not valid"),
        "{report:#}"
    );
    let after = report["rowsAfter"].to_string();
    assert!(
        !after.contains("board@example.com") && after.contains("cfo@example.com"),
        "{after}"
    );
    for (screen, violations) in report["a11y"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {screen}");
    }
    assert_eq!(report["a11y"].as_object().unwrap().len(), 4);
}
