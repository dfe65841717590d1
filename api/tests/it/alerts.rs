//! Alerts end to end: rules through the API, evaluation at schedule slots by the worker's
//! step, and notifications delivered to fake Slack, Teams and Discord incoming webhooks, a
//! webhook receiver that verifies signatures with the reference Standard Webhooks library,
//! and a real SMTP server. Also: channel URLs must resolve to public addresses, a slot is
//! evaluated once by any number of workers, a receiver that is gone turns its channel off, and
//! channel secrets never appear in an API answer.

use std::process::Child;

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{As, SmtpServer, TestApp, assert_problem, job_context};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/// A secret part of each chat URL, which must never come back from the API.
const URL_SECRET: &str = "XyZsecretTOKEN42";

/// A fake service with a control port: the chat receivers (`tests/fakes/chat_receivers.py`),
/// or another script of `tests/fakes` with the same `/_state` control (`trackers.py`).
pub(crate) struct Receivers {
    child: Child,
    pub(crate) port: u16,
    pub(crate) control: u16,
}

impl Receivers {
    pub(crate) fn start() -> Self {
        Self::start_script("chat_receivers.py")
    }

    pub(crate) fn start_script(script: &str) -> Self {
        let (child, ports) = crate::support::start_fake(script, &[]);
        Self {
            child,
            port: ports[0],
            control: ports[1],
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub(crate) async fn state(&self) -> Value {
        reqwest::get(format!("http://127.0.0.1:{}/_state", self.control))
            .await
            .unwrap()
            .bytes()
            .await
            .map(|body| serde_json::from_slice(&body).unwrap())
            .unwrap()
    }

    pub(crate) async fn received(&self, service: &str) -> Vec<Value> {
        self.state().await["received"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["service"] == service)
            .cloned()
            .collect()
    }

    pub(crate) async fn control(&self, path: &str, body: Value) {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}{path}", self.control))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Receivers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app that may reach the loopback receivers (as a self-hosted installation that set
/// `BEACON_ALLOW_PRIVATE_OUTBOUND`), with links to `http://beacon.test`.
pub(crate) async fn alerts_app() -> TestApp {
    TestApp::new().await.reconfigured(|state| {
        state.outbound =
            worker::outbound::Outbound::new(None, true, std::time::Duration::from_secs(10))
                .unwrap();
        state.public_url = Some("http://beacon.test".into());
    })
}

pub(crate) fn sender(
    app: &TestApp,
    smtp: &SmtpServer,
    allow_private: bool,
) -> worker::notify::Sender {
    let ctx = job_context(app, Some(&smtp.url()));
    worker::notify::Sender {
        db: ctx.db,
        sweeper: ctx.sweeper,
        outbound: worker::outbound::Outbound::new(
            None,
            allow_private,
            std::time::Duration::from_secs(10),
        )
        .unwrap(),
        sealing_key: ctx.sealing_key,
        mailer: ctx.mailer,
        billing: ctx.billing,
    }
}

/// `n` pageviews from `n` visitors on `domain`, now.
pub(crate) async fn pageviews(app: &TestApp, domain: &str, n: usize) {
    pageviews_of(app, domain, "/", n).await;
}

/// `n` pageviews of `path` from `n` visitors on `domain`, now.
pub(crate) async fn pageviews_of(app: &TestApp, domain: &str, path: &str, n: usize) {
    for i in 0..n {
        let body = json!({"n": "pageview", "u": format!("https://{domain}{path}"), "d": domain});
        app.client
            .post("/api/event")
            .header("user-agent", CHROME)
            .header("x-forwarded-for", format!("203.0.113.{}", i + 1))
            .content_type("text/plain")
            .body(body.to_string())
            .send()
            .await
            .assert_status(poem::http::StatusCode::ACCEPTED);
    }
}

pub(crate) async fn create(app: &TestApp, who: &As, path: &str, body: Value) -> Value {
    let (status, answer) = app.json(who, "POST", path, Some(body)).await;
    assert_eq!(status, 201, "{path}: {answer}");
    answer
}

#[tokio::test]
async fn an_alert_fires_and_resolves_once_in_every_channel_in_its_format() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = app.user("owner@alerting.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Alerting").await;
    let project = app.project(&who, org, "alerting.example").await;
    let p = project["id"].as_str().unwrap();
    let channels = format!("/api/v1/orgs/{org}/channels");

    let mut ids = Vec::new();
    for (kind, path) in [
        ("slack", format!("/slack/T01/B02/{URL_SECRET}")),
        ("teams", format!("/teams/workflows/{URL_SECRET}")),
        ("discord", format!("/discord/123/{URL_SECRET}")),
        ("webhook", format!("/webhook/{URL_SECRET}")),
    ] {
        let made = create(
            &app,
            &who,
            &channels,
            json!({"name": kind, "kind": kind, "url": receivers.url(&path)}),
        )
        .await;
        if kind == "webhook" {
            let secret = made["secret"].as_str().unwrap();
            assert!(secret.starts_with("whsec_"), "{made}");
            receivers
                .control("/_secrets", json!({"secrets": [secret]}))
                .await;
        } else {
            assert_eq!(made["secret"], Value::Null, "{made}");
        }
        assert_eq!(made["channel"]["url_host"], "127.0.0.1", "{made}");
        ids.push(made["channel"]["id"].clone());
    }
    let email = create(
        &app,
        &who,
        &channels,
        json!({"name": "Owners", "kind": "email", "member_ids": [owner.user_id], "emails": ["oncall@alerting.test"]}),
    )
    .await;
    ids.push(email["channel"]["id"].clone());

    // Three pageviews now; the rule fires above 2 in the last hour.
    pageviews(&app, "alerting.example", 3).await;
    let alert = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
        json!({"name": "Traffic spike", "metric": "pageviews", "window_minutes": 60,
               "condition": "above", "warning": 2, "critical": 10, "channel_ids": ids}),
    )
    .await;
    assert_eq!(alert["state"], "ok");
    assert_eq!(
        alert["resolve"], 2.0,
        "the resolve threshold defaults to the warning's"
    );

    let ctx = job_context(&app, Some(&smtp.url()));
    let send = sender(&app, &smtp, true);
    let now = Utc::now();
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        now + Duration::minutes(5),
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!(
        (round.evaluated, round.transitions, round.queued),
        (1, 1, 5),
        "{round:?}"
    );
    // Deliveries are due at once and signed with the real time (receivers check its age).
    let sent = worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    assert_eq!(sent, 5);

    // Each service got one message in its own format, which its fake accepted.
    for service in ["slack", "teams", "discord", "webhook"] {
        let got = receivers.received(service).await;
        assert_eq!(got.len(), 1, "{service}: {got:?}");
        let message = &got[0];
        assert_eq!(message["problem"], Value::Null, "{service}: {message}");
        assert_eq!(message["headers"]["content-type"], "application/json");
        let text = message["body"].to_string();
        for needle in [
            "Traffic spike",
            "above the warning threshold of 2",
            "is 3",
            "http://beacon.test/orgs/",
        ] {
            assert!(text.contains(needle), "{service} lacks {needle:?}: {text}");
        }
    }
    let hook = &receivers.received("webhook").await[0];
    assert_eq!(hook["verified_with"], json!([0]));
    assert_eq!(hook["body"]["type"], "alert.firing");
    assert_eq!(hook["body"]["data"]["value"], 3.0);
    assert_eq!(hook["body"]["data"]["threshold"], 2.0);
    assert_eq!(hook["body"]["data"]["level"], "warning");
    // The e-mail channel reached the member and the address.
    for to in ["owner@alerting.test", "oncall@alerting.test"] {
        let mail = smtp.wait_for(to, "Traffic spike").await;
        assert!(mail.contains("above the warning threshold of 2"), "{mail}");
    }

    // The next slot sees the same breach: no change, nothing sent.
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        now + Duration::minutes(10),
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!(
        (round.evaluated, round.transitions, round.queued),
        (1, 0, 0)
    );
    // An hour later the window is empty: it resolves, once, everywhere.
    let later = now + Duration::minutes(70);
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        later,
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!((round.transitions, round.queued), (1, 5));
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    for service in ["slack", "teams", "discord", "webhook"] {
        let got = receivers.received(service).await;
        assert_eq!(got.len(), 2, "{service}");
        assert_eq!(got[1]["problem"], Value::Null, "{service}: {}", got[1]);
        assert!(
            got[1]["body"].to_string().contains("Resolved"),
            "{service}: {}",
            got[1]
        );
    }

    // The history and the status say the same.
    let base = format!(
        "/api/v1/orgs/{org}/projects/{p}/alerts/{}",
        alert["id"].as_str().unwrap()
    );
    let (_, history) = app
        .json(&who, "GET", &format!("{base}/history"), None)
        .await;
    let changes: Vec<(&str, &str, bool)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from_state"].as_str().unwrap(),
                e["to_state"].as_str().unwrap(),
                e["notified"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![("firing", "resolved", true), ("ok", "firing", true)]
    );
    let (_, now_alert) = app.json(&who, "GET", &base, None).await;
    assert_eq!(now_alert["state"], "resolved");
    assert_eq!(now_alert["last_value"], 0.0);

    // The delivery log shows each attempt; no answer holds a URL's secret part or a signing
    // secret (the fakes were reached at those URLs, so the check would find them).
    let (_, listed) = app.json(&who, "GET", &channels, None).await;
    let mut answers = vec![listed];
    for id in &ids {
        let (status, log) = app
            .json(
                &who,
                "GET",
                &format!("{channels}/{}/deliveries", id.as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .all(|d| d["status"] == "delivered"),
            "{log}"
        );
        answers.push(log);
    }
    let everything = answers.iter().map(Value::to_string).collect::<String>();
    assert!(
        receivers.state().await.to_string().contains(URL_SECRET),
        "positive control"
    );
    assert!(
        !everything.contains(URL_SECRET),
        "a channel URL leaked: {everything}"
    );
    assert!(!everything.contains("whsec_"), "a signing secret leaked");
}

#[tokio::test]
async fn muted_alerts_record_changes_without_notifying() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let owner = app.user("owner@muted.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Muted").await;
    let project = app.project(&who, org, "muted.example").await;
    let p = project["id"].as_str().unwrap();
    let email = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/channels"),
        json!({"name": "Me", "kind": "email", "emails": ["me@muted.test"]}),
    )
    .await;
    let alert = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
        json!({"name": "Quiet", "metric": "visitors", "window_minutes": 60, "condition": "below",
               "warning": 1, "channel_ids": [email["channel"]["id"]]}),
    )
    .await;
    let base = format!(
        "/api/v1/orgs/{org}/projects/{p}/alerts/{}",
        alert["id"].as_str().unwrap()
    );
    let (status, muted) = app
        .json(
            &who,
            "PUT",
            &format!("{base}/mute"),
            Some(json!({"until": Utc::now() + Duration::days(1)})),
        )
        .await;
    assert_eq!(status, 200, "{muted}");
    let ctx = job_context(&app, Some(&smtp.url()));
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        Utc::now() + Duration::minutes(5),
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!(
        (round.transitions, round.queued),
        (1, 0),
        "fired (no visitors) but muted"
    );
    let (_, history) = app
        .json(&who, "GET", &format!("{base}/history"), None)
        .await;
    assert_eq!(history[0]["to_state"], "firing");
    assert_eq!(history[0]["notified"], false);
}

#[tokio::test]
async fn two_workers_evaluate_each_slot_once() {
    let app = alerts_app().await;
    let owner = app.user("owner@twice.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Twice").await;
    let project = app.project(&who, org, "twice.example").await;
    let p = project["id"].as_str().unwrap();
    let email = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/channels"),
        json!({"name": "Me", "kind": "email", "emails": ["me@twice.test"]}),
    )
    .await;
    for i in 0..20 {
        create(
            &app,
            &who,
            &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
            json!({"name": format!("Rule {i}"), "metric": "visitors", "window_minutes": 60,
                   "condition": "below", "warning": 1, "channel_ids": [email["channel"]["id"]]}),
        )
        .await;
    }
    // Two worker processes (two pools each) run the same slot at the same time.
    let first = job_context(&app, None);
    let second = job_context(&app, None);
    let at = Utc::now() + Duration::minutes(5);
    let (a, b) = tokio::join!(
        worker::alerts::evaluate_due(
            &first.db,
            &first.sweeper,
            &first.billing,
            at,
            "http://beacon.test"
        ),
        worker::alerts::evaluate_due(
            &second.db,
            &second.sweeper,
            &second.billing,
            at,
            "http://beacon.test"
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.evaluated + b.evaluated, 20, "{a:?} {b:?}");
    assert_eq!(
        a.queued + b.queued,
        20,
        "one delivery per alert: {a:?} {b:?}"
    );
    // Again at the same instant: nothing is due any more.
    let again = worker::alerts::evaluate_due(
        &first.db,
        &first.sweeper,
        &first.billing,
        at,
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!(again.evaluated, 0);
    let (_, log) = app
        .json(
            &who,
            "GET",
            &format!(
                "/api/v1/orgs/{org}/channels/{}/deliveries?limit=200",
                email["channel"]["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(log.as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn channel_urls_must_resolve_to_public_addresses_unless_allowed() {
    // The default app: private targets not allowed.
    let app = TestApp::new().await;
    let owner = app.user("owner@ssrf.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Ssrf").await;
    let channels = format!("/api/v1/orgs/{org}/channels");
    for url in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "http://93.184.216.34/hook",
        "https://user:pw@93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
    ] {
        let resp = app
            .call(
                &who,
                "POST",
                &channels,
                Some(json!({"name": "x", "kind": "webhook", "url": url})),
            )
            .await;
        let problem = assert_problem(resp, 422, "invalid_channel").await;
        assert!(
            problem["detail"].as_str().unwrap().contains("url"),
            "{url}: {problem}"
        );
    }
    // Control: a public address is taken.
    let made = create(
        &app,
        &who,
        &channels,
        json!({"name": "Public", "kind": "slack", "url": "https://93.184.216.34/services/T/B/x"}),
    )
    .await;
    assert_eq!(made["channel"]["url_host"], "93.184.216.34");

    // At connect time the resolver refuses a name that resolves to loopback (a rebinding name
    // saved while it resolved publicly): saved here through an app that allowed it, then sent
    // by a sender that does not.
    let allowing = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = allowing.user("owner@rebind.test").await;
    let who = As::User(owner.clone());
    let org = allowing.org(&owner, "Rebind").await;
    let url = format!("http://localhost:{}/slack/T/B/x", receivers.port);
    let made = create(
        &allowing,
        &who,
        &format!("/api/v1/orgs/{org}/channels"),
        json!({"name": "Rebinding", "kind": "slack", "url": url}),
    )
    .await;
    let id = made["channel"]["id"].as_str().unwrap().to_owned();
    let (status, _) = allowing
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/channels/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, 202);
    let strict = sender(&allowing, &smtp, false);
    worker::notify::deliver_due(&strict, Utc::now())
        .await
        .unwrap();
    let (_, log) = allowing
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/channels/{id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(log[0]["status"], "pending", "retried later: {log}");
    assert!(
        log[0]["last_error"].as_str().unwrap().contains("private"),
        "{log}"
    );
    assert!(receivers.received("slack").await.is_empty());
    // Control: the allowing sender delivers the same message.
    let lenient = sender(&allowing, &smtp, true);
    worker::notify::deliver_due(&lenient, Utc::now() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(receivers.received("slack").await.len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_gone_turns_its_channel_off_and_tells_the_owners() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = app.user("owner@gone.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Gone").await;
    let channels = format!("/api/v1/orgs/{org}/channels");
    let made = create(
        &app,
        &who,
        &channels,
        json!({"name": "Old Discord", "kind": "discord", "url": receivers.url("/discord/1/abc")}),
    )
    .await;
    let id = made["channel"]["id"].as_str().unwrap().to_owned();
    let send = sender(&app, &smtp, true);

    // A failure that is not final is retried on the Standard Webhooks schedule.
    receivers
        .control("/_status", json!({"service": "discord", "status": 500}))
        .await;
    let (status, _) = app
        .json(&who, "POST", &format!("{channels}/{id}/test"), None)
        .await;
    assert_eq!(status, 202);
    let now = Utc::now();
    worker::notify::deliver_due(&send, now).await.unwrap();
    let (_, log) = app
        .json(&who, "GET", &format!("{channels}/{id}/deliveries"), None)
        .await;
    assert_eq!(
        (
            log[0]["status"].as_str(),
            log[0]["attempts"].as_i64(),
            log[0]["last_status"].as_i64()
        ),
        (Some("pending"), Some(1), Some(500))
    );
    // Not before its time…
    assert_eq!(
        worker::notify::deliver_due(&send, now + Duration::seconds(1))
            .await
            .unwrap(),
        0
    );
    // …then 410 Gone: final, and the channel is turned off.
    receivers
        .control("/_status", json!({"service": "discord", "status": 410}))
        .await;
    assert_eq!(
        worker::notify::deliver_due(&send, now + Duration::seconds(6))
            .await
            .unwrap(),
        1
    );
    let (_, log) = app
        .json(&who, "GET", &format!("{channels}/{id}/deliveries"), None)
        .await;
    assert_eq!(log[0]["status"], "failed", "{log}");
    let (_, listed) = app.json(&who, "GET", &channels, None).await;
    assert_eq!(listed[0]["enabled"], false);
    assert!(
        listed[0]["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"),
        "{listed}"
    );
    let (_, records) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=channel.disabled"),
            None,
        )
        .await;
    assert_eq!(
        records["items"][0]["actor"]["id"], "notifications",
        "{records}"
    );
    // The owners' notice (the job the turning off queued).
    let ctx = job_context(&app, Some(&smtp.url()));
    worker::jobs::SendChannelDisabledNotice {
        org_id: org,
        channel_id: id.parse().unwrap(),
    }
    .run(&ctx)
    .await
    .unwrap();
    smtp.wait_for("owner@gone.test", "Old Discord").await;
    // A turned-off channel takes no test until it is turned on again (which clears the count).
    let resp = app
        .call(&who, "POST", &format!("{channels}/{id}/test"), None)
        .await;
    assert_problem(resp, 409, "conflict").await;
    let (status, on) = app
        .json(
            &who,
            "PATCH",
            &format!("{channels}/{id}"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(
        (status, &on["enabled"], &on["disabled_reason"]),
        (200, &json!(true), &Value::Null)
    );
}

#[tokio::test]
async fn a_rotated_webhook_secret_signs_beside_the_old_one() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = app.user("owner@rotate.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Rotate").await;
    let channels = format!("/api/v1/orgs/{org}/channels");
    let made = create(
        &app,
        &who,
        &channels,
        json!({"name": "Hook", "kind": "webhook", "url": receivers.url("/webhook/in")}),
    )
    .await;
    let id = made["channel"]["id"].as_str().unwrap().to_owned();
    let old = made["secret"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .json(
            &who,
            "POST",
            &format!("{channels}/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["channel"]["previous_secret_until"].is_string());
    receivers
        .control("/_secrets", json!({"secrets": [old, new]}))
        .await;
    app.json(&who, "POST", &format!("{channels}/{id}/test"), None)
        .await;
    worker::notify::deliver_due(&sender(&app, &smtp, true), Utc::now())
        .await
        .unwrap();
    let got = receivers.received("webhook").await;
    assert_eq!(
        got[0]["verified_with"],
        json!([0, 1]),
        "both secrets verify: {got:?}"
    );
    assert_eq!(got[0]["body"]["type"], "test");
    let signatures = got[0]["headers"]["webhook-signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2, "{signatures}");
    // A receiver that knows neither secret refuses it (the check can fail).
    receivers
        .control(
            "/_secrets",
            json!({"secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}),
        )
        .await;
    app.json(&who, "POST", &format!("{channels}/{id}/test"), None)
        .await;
    worker::notify::deliver_due(&sender(&app, &smtp, true), Utc::now())
        .await
        .unwrap();
    let got = receivers.received("webhook").await;
    assert_eq!(got[1]["verified_with"], json!([]));
}

#[tokio::test]
async fn rules_are_validated_and_edits_never_overwrite_each_other() {
    let app = alerts_app().await;
    let owner = app.user("owner@rules.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Rules").await;
    let project = app.project(&who, org, "rules.example").await;
    let p = project["id"].as_str().unwrap();
    let alerts = format!("/api/v1/orgs/{org}/projects/{p}/alerts");
    for (body, reason) in [
        (
            json!({"name": "x", "metric": "revenue", "window_minutes": 60, "condition": "above", "warning": 1}),
            "unknown metric",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 60, "condition": "above"}),
            "set `warning`",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 60, "condition": "above", "warning": 5, "critical": 2}),
            "`critical`",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 60, "condition": "decrease_pct", "warning": 20}),
            "baseline",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 1, "condition": "above", "warning": 1}),
            "window_minutes",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 60, "condition": "above", "warning": 1, "filters": [["is", "visit:nowhere", ["x"]]]}),
            "visit:nowhere",
        ),
        (
            json!({"name": "x", "metric": "visitors", "window_minutes": 60, "condition": "above", "warning": 1, "channel_ids": [Uuid::now_v7()]}),
            "channel",
        ),
    ] {
        let resp = app.call(&who, "POST", &alerts, Some(body.clone())).await;
        let (status, problem) = crate::support::status_and_json(resp).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(reason),
            "{reason}: {problem}"
        );
    }
    let rule = json!({"name": "Drop", "metric": "visitors", "window_minutes": 60,
                      "condition": "decrease_pct", "baseline": "last_week", "warning": 30});
    let alert = create(&app, &who, &alerts, rule.clone()).await;
    let path = format!("{alerts}/{}", alert["id"].as_str().unwrap());
    let mut first = rule.clone();
    first["warning"] = json!(40);
    first["version"] = json!(1);
    let (status, saved) = app.json(&who, "PUT", &path, Some(first.clone())).await;
    assert_eq!((status, &saved["version"]), (200, &json!(2)), "{saved}");
    // A second editor who started from version 1 gets a conflict, and nothing changes.
    let mut second = rule;
    second["warning"] = json!(50);
    second["version"] = json!(1);
    let resp = app.call(&who, "PUT", &path, Some(second)).await;
    let problem = assert_problem(resp, 409, "conflict").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("version 2"),
        "{problem}"
    );
    let (_, now) = app.json(&who, "GET", &path, None).await;
    assert_eq!(now["warning"], 40.0);
    // The preview measures without storing: 24 windows, the last ending now.
    let (status, preview) = app
        .json(&who, "POST", &format!("{alerts}/preview"), Some(first))
        .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["points"].as_array().unwrap().len(), 24);
    let rows = app.tenant_rows(org).await;
    assert_eq!(rows["alerts"].len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_alerts_journey_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};

    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
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
        "alerts.mjs",
        port,
        smtp.maildir(),
        &[
            format!("http://127.0.0.1:{}", receivers.port),
            format!("http://127.0.0.1:{}", receivers.control),
        ],
    );
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(report["testDelivered"], true);
    assert_eq!(
        (
            report["previewStatus"].as_u64(),
            report["createStatus"].as_u64(),
            report["eventStatus"].as_u64()
        ),
        (Some(200), Some(201), Some(202))
    );
    assert!(
        report["previewText"]
            .as_str()
            .unwrap()
            .contains("of the last 24 windows breached"),
        "{report}"
    );
    assert!(
        report["historyRows"].as_u64().unwrap() >= 2,
        "a header and the firing change"
    );
    let texts = report["slackTexts"].as_array().unwrap();
    assert!(
        texts
            .iter()
            .any(|t| t.as_str().unwrap().contains("Test notification")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t
            .as_str()
            .unwrap()
            .contains("Firing (warning): Any traffic")),
        "{texts:?}"
    );
    assert_eq!(
        report["slackProblems"],
        json!([]),
        "the fake accepted Beacon's messages"
    );
    assert_eq!(report["mailed"], true);
    for (screen, violations) in report["a11y"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {screen}");
    }
    assert_eq!(report["a11y"].as_object().unwrap().len(), 6);
}

/// Pageviews of a site with a daily rhythm, `days` days back from `end` (an hour boundary),
/// as the ingest role writes them; the last hour gets `last_hour` pageviews.
async fn seasonal_traffic(
    app: &TestApp,
    (org, project): (Uuid, Uuid),
    end: chrono::DateTime<Utc>,
    days: i64,
    last_hour: usize,
) {
    let ingest = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Ingest,
        &Default::default(),
    )
    .unwrap();
    let mut events = Vec::new();
    for hour in 0..days * 24 {
        let at = end - Duration::hours(days * 24 - hour);
        let hour_of_day = (hour % 24) as f64;
        let expected = 30.0 + 20.0 * ((hour_of_day - 6.0) / 24.0 * std::f64::consts::TAU).sin();
        let count = if hour == days * 24 - 1 {
            last_hour
        } else {
            expected.round() as usize
        };
        for i in 0..count {
            events.push(tenant::tables::events::NewEvent {
                org_id: org,
                project_id: project,
                ts: at + Duration::seconds(i as i64 * 50),
                event_id: Uuid::now_v7(),
                name: "pageview".into(),
                visitor_id: hour * 1_000 + i as i64,
                hostname: "anomaly.example".into(),
                pathname: "/".into(),
                referrer_host: None,
                source: None,
                utm_source: None,
                utm_medium: None,
                utm_campaign: None,
                utm_content: None,
                utm_term: None,
                browser: Some("Firefox".into()),
                browser_version: None,
                os: Some("Linux".into()),
                os_version: None,
                device: Some("desktop".into()),
                country: Some("DE".into()),
                region: None,
                city: None,
                props: json!({}),
                revenue_amount: None,
                revenue_currency: None,
                interactive: true,
            });
        }
    }
    let mut conn = ingest.conn().await.unwrap();
    for chunk in events.chunks(2_000) {
        tenant::tables::events::insert_batch(&mut conn, chunk)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn an_anomaly_alert_learns_from_history_and_says_when_it_has_too_little() {
    let app = alerts_app().await;
    let owner = app.user("owner@anomaly.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Anomaly").await;
    let project = app.project(&who, org, "anomaly.example").await;
    let p: Uuid = project["id"].as_str().unwrap().parse().unwrap();
    let rule = json!({"name": "Unusual traffic", "metric": "pageviews", "window_minutes": 60,
                      "condition": "anomaly", "sensitivity": "low"});
    let alert = create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
        rule,
    )
    .await;
    assert_eq!(
        (alert["sensitivity"].as_str(), alert["warning"].as_f64()),
        (Some("low"), Some(1.0))
    );
    let ctx = job_context(&app, None);
    // Anomaly rules run on the hour: the next two hours' evaluations.
    let hour = {
        use chrono::DurationRound;
        Utc::now().duration_trunc(Duration::hours(1)).unwrap()
    };
    assert_eq!(alert["every_minutes"], 60);
    let base = format!(
        "/api/v1/orgs/{org}/projects/{p}/alerts/{}",
        alert["id"].as_str().unwrap()
    );

    // A project without data has no history to learn from, and says so.
    worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        hour + Duration::hours(1) + Duration::minutes(1),
        "http://beacon.test",
    )
    .await
    .unwrap();
    let (_, young) = app.json(&who, "GET", &base, None).await;
    assert!(
        young["last_error"]
            .as_str()
            .unwrap()
            .contains("needs 14 days of history"),
        "{young}"
    );
    assert_eq!(young["state"], "ok");

    // Sixteen days of a daily rhythm (older than the project: imported data counts), then an
    // hour with no traffic at all.
    seasonal_traffic(&app, (org, p), hour + Duration::hours(2), 16, 0).await;
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &ctx.billing,
        hour + Duration::hours(2) + Duration::minutes(1),
        "http://beacon.test",
    )
    .await
    .unwrap();
    let (_, fired) = app.json(&who, "GET", &base, None).await;
    assert_eq!(round.transitions, 1, "{round:?}: {fired}");
    assert_eq!(fired["state"], "firing", "{fired}");
    assert_eq!(fired["last_value"], 0.0);
    let (_, history) = app
        .json(&who, "GET", &format!("{base}/history"), None)
        .await;
    let event = &history[0];
    let (predicted, edge) = (
        event["baseline_value"].as_f64().unwrap(),
        event["threshold"].as_f64().unwrap(),
    );
    assert!(
        predicted > edge && edge > 0.0,
        "the band was expected around the rhythm: {event}"
    );
    // The preview draws the band.
    let (status, preview) = app
        .json(&who, "POST", &format!("/api/v1/orgs/{org}/projects/{p}/alerts/preview"),
            Some(json!({"name": "x", "metric": "pageviews", "window_minutes": 60, "condition": "anomaly"})))
        .await;
    assert_eq!(status, 200, "{preview}");
    let last = &preview["points"][23];
    assert!(
        last["lower"].is_number() && last["upper"].is_number(),
        "{last}"
    );
}
