//! AI insights against a local fake of the OpenAI chat completions API
//! (`tests/fakes/openai.py`, its documented wire format, streaming included). Production code
//! is the same; only the base URL differs.
//!
//! What is checked: nothing is sent before an owner switches AI on; the prompts carry Beacon's
//! figures and none of the forbidden data (checked against strings that are really in Beacon's
//! database, so the check can find them); streamed answers arrive in pieces; every figure the
//! answer quotes is in the prompt, and one that is not is flagged; answers are cached; 429 and
//! 5xx are retried, a timeout and a dead endpoint give a clear problem; the monthly budget
//! stops requests; the report e-mail carries the highlights, labelled by who wrote them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::alerts::{Receivers, pageviews_of};
use crate::support::{As, SmtpServer, TestApp, Workers, assert_problem};

const MODEL: &str = "test-model";
const KEY: &str = "sk-test-secret";

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// An app whose AI endpoint is the fake, with quick retries and a timeout long enough for a
/// loaded machine.
async fn ai_app(fake: &Receivers) -> TestApp {
    ai_app_timing_out_after(fake, Duration::from_secs(20)).await
}

/// An app whose AI endpoint is the fake, with quick retries and `timeout` per attempt.
async fn ai_app_timing_out_after(fake: &Receivers, timeout: Duration) -> TestApp {
    let ai = worker::ai::Ai::new(worker::ai::AiConfig {
        base_url: fake.url("/v1"),
        api_key: Some(KEY.into()),
        model: MODEL.into(),
        timeout,
        attempts: 3,
        first_retry: Duration::from_millis(20),
    })
    .unwrap();
    TestApp::new()
        .await
        .reconfigured(|state| state.ai = Some(ai))
}

/// Switches AI insights on for `org`, as its owner `who`.
async fn switch_ai_on(app: &TestApp, who: &As, org: uuid::Uuid) {
    let path = format!("/api/v1/orgs/{org}/ai");
    let (status, body) = app
        .json(who, "PUT", &path, Some(json!({"enabled": true})))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The requests the fake received.
async fn received(fake: &Receivers) -> Vec<Value> {
    fake.state().await["received"].as_array().unwrap().clone()
}

/// The events of a server-sent event stream, in order.
async fn sse(app: &TestApp, who: &As, path: &str) -> Vec<Value> {
    let resp = app.call(who, "POST", path, None).await;
    assert_eq!(resp.0.status().as_u16(), 200, "{path}");
    let kind = resp
        .0
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let body = resp.0.into_body().into_string().await.unwrap();
    body.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data: ")))
        .map(|data| serde_json::from_str(data).unwrap())
        .collect()
}

/// The finished answer of a stream, and the text pieces before it.
fn done(events: &[Value]) -> (Value, Vec<String>) {
    let last = events.last().expect("events");
    assert_eq!(last["kind"], "done", "{events:?}");
    let pieces = events
        .iter()
        .filter(|e| e["kind"] == "text")
        .map(|e| e["text"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(pieces.concat(), last["answer"]["text"].as_str().unwrap());
    (last["answer"].clone(), pieces)
}

/// Which of `needles` occur in `haystack`.
fn found<'a>(haystack: &str, needles: &[&'a str]) -> Vec<&'a str> {
    needles
        .iter()
        .copied()
        .filter(|n| haystack.contains(n))
        .collect()
}

/// A Sentry event with personal data in every place the SDKs put it.
async fn error_event(app: &TestApp, project: &Value, ts: DateTime<Utc>) {
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
        "release": "shop@1.4.2",
        "user": {"id": "user-8812", "email": "alice@private.test", "ip_address": "203.0.113.77"},
        "request": {"url": "https://shop.example/checkout?coupon=SECRETCOUPON", "headers": {"User-Agent": "AgentOfAlice/1.0"}},
        "breadcrumbs": {"values": [{"message": "clicked BREADCRUMBMARK", "category": "ui.click"}]},
        "extra": {"cart": "EXTRAMARK"},
        "tags": {"browser": "Chrome 131", "customer_tier": "TAGMARK"},
        "exception": {"values": [{"type": "TypeError", "value": "cart.items is undefined",
            "mechanism": {"type": "onerror", "handled": false},
            "stacktrace": {"frames": [
                {"filename": "vendor.js", "function": "dispatch", "lineno": 1, "colno": 10, "in_app": false},
                {"filename": "app.js", "function": "checkout", "lineno": 42, "colno": 17, "in_app": true,
                 "pre_context": ["// PRECONTEXTMARK"], "context_line": "const n = cart.items.length;",
                 "post_context": ["POSTCONTEXTMARK();"]}
            ]}}]},
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
async fn highlights_stream_beacons_figures_and_only_aggregates_and_are_cached() {
    let fake = Receivers::start_script("openai.py");
    let app = ai_app(&fake).await;
    let owner = app.user("owner@ai.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Insightful").await;
    let project = app.project(&who, org, "shop.example").await;
    let p = project["id"].as_str().unwrap();
    // The week before and this week (the project is in Europe/Berlin).
    for (when, page, n) in [
        ("2026-11-10T10:00:00Z", "/pricing", 2),
        ("2026-11-17T10:00:00Z", "/pricing", 6),
        ("2026-11-18T10:00:00Z", "/blog/launch", 3),
    ] {
        app.set_now(at(when));
        pageviews_of(&app, "shop.example", page, n).await;
    }
    error_event(&app, &project, at("2026-11-18T11:00:00Z")).await;
    app.set_now(at("2026-11-20T12:00:00Z"));
    let highlights =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-16,2026-11-22");

    // Off by default: Beacon's own summary, labelled, and nothing sent.
    let (answer, _) = done(&sse(&app, &who, &highlights).await);
    assert_eq!(answer["author"], "statistical");
    assert_eq!(
        answer["label"],
        "Statistical summary computed by Beacon (no AI)"
    );
    assert!(
        answer["notice"]
            .as_str()
            .unwrap()
            .contains("off for this organization")
    );
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Visits rose to 9 from 2 (+350%) [F2]."),
        "{answer}"
    );
    assert!(
        received(&fake).await.is_empty(),
        "nothing is sent while AI is off"
    );

    // Only an owner switches it on.
    let member = app.user("member@ai.test").await;
    app.add_member(org, &member, tenant::tables::memberships::Role::Admin)
        .await;
    let on = json!({"enabled": true});
    let resp = app
        .call(
            &As::User(member),
            "PUT",
            &format!("/api/v1/orgs/{org}/ai"),
            Some(on.clone()),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let (status, settings) = app
        .json(&who, "PUT", &format!("/api/v1/orgs/{org}/ai"), Some(on))
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(
        (settings["enabled"].clone(), settings["configured"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(settings["model"], MODEL);

    // Streamed in pieces from the endpoint.
    let (answer, pieces) = done(&sse(&app, &who, &highlights).await);
    assert!(pieces.len() >= 2, "streamed in pieces: {pieces:?}");
    assert_eq!(answer["author"], "ai");
    assert_eq!(
        answer["label"],
        format!("Written by AI ({MODEL}) from Beacon's figures")
    );
    assert_eq!(answer["cached"], false);
    let requests = received(&fake).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["headers"]["authorization"], format!("Bearer {KEY}"));
    assert_eq!(request["body"]["model"], MODEL);
    assert_eq!(request["body"]["stream"], true);
    let prompt = request["body"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();

    // The figures are the Stats API's for the same days.
    let (status, stats) = app
        .json(&who, "POST", "/api/v2/query", Some(json!({
            "site_id": "shop.example", "metrics": ["visitors"], "date_range": ["2026-11-16", "2026-11-22"],
        })))
        .await;
    assert_eq!(status, 200, "{stats}");
    let visitors = stats["results"][0]["metrics"][0].as_i64().unwrap();
    assert_eq!(visitors, 6);
    assert!(
        prompt.contains(&format!(
            "[F1] Unique visitors: {visitors} (previous period 2, +200%)"
        )),
        "{prompt}"
    );
    assert!(
        prompt.contains("Page /pricing: 6 visitors (previous period 2)"),
        "{prompt}"
    );
    assert!(
        prompt.contains("New error issue \"TypeError: cart.items is undefined\""),
        "{prompt}"
    );
    // Every figure the answer quotes is one of the prompt's, and the citations are linked.
    assert_eq!(answer["unverified"], json!([]));
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("[F1]"), "{text}");
    let first = &answer["facts"][0];
    assert_eq!(first["id"], "F1");
    assert_eq!(
        first["link"],
        format!("/orgs/{org}/projects/{p}?period=2026-11-16,2026-11-22&metric=visitors")
    );

    // Privacy: none of the visitor or raw event data is in the request. The control: the same
    // check finds each of these strings in the error event Beacon stored.
    let forbidden = [
        "alice@private.test",
        "203.0.113.77",
        "AgentOfAlice",
        "SECRETCOUPON",
        "BREADCRUMBMARK",
        "EXTRAMARK",
        "TAGMARK",
        "owner@ai.test",
        "user-8812",
    ];
    let raw = request["raw"].as_str().unwrap();
    assert_eq!(found(raw, &forbidden), Vec::<&str>::new(), "{raw}");
    let mut conn = app.owner_conn().await;
    use tenant::diesel_async::RunQueryDsl;
    #[derive(tenant::diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = tenant::diesel::sql_types::Text)]
        text: String,
    }
    let stored: Stored = tenant::diesel::sql_query(
        "SELECT (SELECT string_agg(data::text, ' ') FROM error_events) || ' ' || \
                (SELECT string_agg(email, ' ') FROM users) AS text",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    let in_beacon = found(&stored.text, &forbidden);
    assert!(
        in_beacon.contains(&"TAGMARK")
            && in_beacon.contains(&"BREADCRUMBMARK")
            && in_beacon.contains(&"owner@ai.test"),
        "{in_beacon:?}"
    );
    assert!(
        found(raw, &["Unique visitors", "/pricing"]).len() == 2,
        "the check finds what is there"
    );

    // The same question again: from the cache, nothing sent, nothing counted.
    let (status, before) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/ai"), None)
        .await;
    assert_eq!(status, 200);
    let used = before["used_this_month"].as_i64().unwrap();
    assert!(used > 0);
    assert_eq!(
        used,
        answer["prompt_tokens"].as_i64().unwrap() + answer["completion_tokens"].as_i64().unwrap()
    );
    let (again, _) = done(&sse(&app, &who, &highlights).await);
    assert_eq!(again["cached"], true);
    assert_eq!(again["text"], answer["text"]);
    assert_eq!(received(&fake).await.len(), 1);
    let (_, after) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/ai"), None)
        .await;
    assert_eq!(after["used_this_month"], before["used_this_month"]);
    assert_eq!(after["usage"][0]["requests"], 1);

    // A figure the model made up is flagged (another period: not cached).
    fake.control(
        "/_script",
        json!({"steps": [{"text": "Visitors rose to 987,654 [F1]."}]}),
    )
    .await;
    let other =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-09,2026-11-15");
    let (lie, _) = done(&sse(&app, &who, &other).await);
    assert_eq!(lie["unverified"], json!(["987654"]));
}

#[tokio::test]
async fn retries_timeouts_a_dead_endpoint_and_the_budget_give_clear_answers() {
    let fake = Receivers::start_script("openai.py");
    let app = ai_app_timing_out_after(&fake, Duration::from_secs(4)).await;
    let owner = app.user("owner@retry.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Retrying").await;
    let project = app.project(&who, org, "retry.example").await;
    let p = project["id"].as_str().unwrap();
    app.set_now(at("2026-11-18T10:00:00Z"));
    pageviews_of(&app, "retry.example", "/", 3).await;
    error_event(&app, &project, at("2026-11-18T11:00:00Z")).await;
    switch_ai_on(&app, &who, org).await;
    let (_, issues) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}/issues"),
            None,
        )
        .await;
    let issue = issues["items"][0]["id"].as_str().unwrap().to_owned();
    let explain = format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/ai/explanation");

    // 429, then 500, then an answer: retried with backoff.
    fake.control(
        "/_script",
        json!({"steps": [{"status": 429}, {"status": 500}]}),
    )
    .await;
    let (answer, _) = done(&sse(&app, &who, &explain).await);
    assert_eq!(answer["author"], "ai");
    assert_eq!(received(&fake).await.len(), 3);
    // The explanation's payload: the grouped issue and the stack, not the event's payload.
    let request = received(&fake).await.pop().unwrap();
    let prompt = request["body"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        prompt.contains("app.js:42:17 in checkout [in app] — `const n = cart.items.length;`"),
        "{prompt}"
    );
    assert!(
        prompt.contains("By browser: Chrome 131 in 1 events"),
        "{prompt}"
    );
    assert!(prompt.contains("release shop@1.4.2"), "{prompt}");
    let raw = request["raw"].as_str().unwrap();
    let forbidden = [
        "alice@private.test",
        "203.0.113.77",
        "AgentOfAlice",
        "SECRETCOUPON",
        "BREADCRUMBMARK",
        "EXTRAMARK",
        "TAGMARK",
        "PRECONTEXTMARK",
        "POSTCONTEXTMARK",
        "user-8812",
    ];
    assert_eq!(found(raw, &forbidden), Vec::<&str>::new(), "{raw}");
    let (_, events) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}/issues/{issue}/events"),
            None,
        )
        .await;
    assert!(
        found(&events.to_string(), &forbidden).len() >= 5,
        "the check finds them in the stored event: {events}"
    );

    // Down: three 503s. A clear problem for the explanation, Beacon's summary for the highlights.
    fake.control("/_reset", json!({})).await;
    fake.control(
        "/_script",
        json!({"steps": [{"status": 503}, {"status": 503}, {"status": 503}, {"status": 503}]}),
    )
    .await;
    let resp = app
        .call(&who, "POST", &format!("{explain}?again=1"), None)
        .await;
    // (A query string changes nothing: the prompt, and so the cache key, is the same.)
    let (status, _) = (resp.0.status().as_u16(), ());
    assert_eq!(status, 200, "the cached explanation needs no endpoint");
    let highlights =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-16,2026-11-22");
    let (fallback, _) = done(&sse(&app, &who, &highlights).await);
    assert_eq!(
        fallback["author"],
        "statistical",
        "{:?}",
        received(&fake)
            .await
            .iter()
            .map(|r| r["path"].clone())
            .collect::<Vec<_>>()
    );
    assert!(
        fallback["notice"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{fallback}"
    );
    assert_eq!(
        received(&fake).await.len(),
        4,
        "the first attempt and three retries"
    );
    let vitals = format!("/api/v1/orgs/{org}/projects/{p}/ai/vitals-hints");
    let resp = app.call(&who, "POST", &vitals, None).await;
    assert_problem(resp, 422, "invalid_request").await;

    // A second issue, asked while the endpoint is down: 503 with Retry-After.
    fake.control("/_reset", json!({})).await;
    fake.control(
        "/_script",
        json!({"steps": [{"status": 500}, {"status": 500}, {"status": 500}, {"status": 500}]}),
    )
    .await;
    app.set_now(at("2026-11-19T10:00:00Z"));
    switch_ai_on(&app, &who, org).await;
    let fresh =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-18,2026-11-18");
    let (fallback, _) = done(&sse(&app, &who, &fresh).await);
    assert_eq!(fallback["author"], "statistical");

    // A timeout: every attempt sleeps past the 4 s limit.
    fake.control("/_reset", json!({})).await;
    fake.control(
        "/_script",
        json!({"steps": [{"sleep": 6}, {"sleep": 6}, {"sleep": 6}]}),
    )
    .await;
    let other =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-17,2026-11-18");
    let (fallback, _) = done(&sse(&app, &who, &other).await);
    assert_eq!(fallback["author"], "statistical");
    assert!(
        fallback["notice"]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{fallback}"
    );

    // A wrong key is not retried, and says what to check.
    tokio::time::sleep(Duration::from_secs(6)).await;
    fake.control("/_reset", json!({})).await;
    fake.control("/_script", json!({"steps": [{"status": 401}]}))
        .await;
    let (refused, _) = done(&sse(&app, &who, &other).await);
    let notice = refused["notice"].as_str().unwrap();
    assert!(
        notice.contains("refused the request: HTTP 401 (invalid_request_error)"),
        "{refused}"
    );
    // The endpoint's own words (which may quote the operator's key) stay in the log.
    assert!(!notice.contains("sk-te"), "{notice}");
    assert_eq!(received(&fake).await.len(), 1, "a refusal is not retried");
    // The control: the endpoint's answer did quote it.
    fake.control("/_script", json!({"steps": [{"status": 401}]}))
        .await;
    let raw = reqwest::Client::new()
        .post(fake.url("/v1/chat/completions"))
        .body("{}")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains("sk-te"), "{raw}");

    // The budget: used up, further questions are refused until next month.
    let (_, settings) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/ai"), None)
        .await;
    assert!(settings["used_this_month"].as_i64().unwrap() > 0);
    let resp = app
        .call(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/ai"),
            Some(json!({"enabled": true, "monthly_token_budget": 0})),
        )
        .await;
    assert_problem(resp, 422, "invalid_request").await;
    let (status, _) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/ai"),
            Some(json!({"enabled": true, "monthly_token_budget": 1})),
        )
        .await;
    assert_eq!(status, 200);
    fake.control("/_reset", json!({})).await;
    let week =
        format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=2026-11-12,2026-11-18");
    let (capped, _) = done(&sse(&app, &who, &week).await);
    assert_eq!(capped["author"], "statistical");
    assert!(
        capped["notice"]
            .as_str()
            .unwrap()
            .contains("of its 1 AI tokens this month"),
        "{capped}"
    );
    assert!(
        received(&fake).await.is_empty(),
        "nothing is sent past the budget"
    );
    let (status, _) = app
        .json(
            &who,
            "PUT",
            &format!("/api/v1/orgs/{org}/ai"),
            Some(json!({"enabled": true, "monthly_token_budget": 1000000})),
        )
        .await;
    assert_eq!(status, 200);
    let (answer, _) = done(&sse(&app, &who, &week).await);
    assert_eq!(
        answer["author"], "ai",
        "the control: the same question passes with budget left"
    );
}

#[tokio::test]
async fn the_report_email_carries_ai_highlights_when_on_and_beacons_summary_otherwise() {
    let fake = Receivers::start_script("openai.py");
    let app = ai_app(&fake).await;
    let smtp = SmtpServer::start();
    let owner = app.user("owner@mail-ai.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Mailed").await;
    let project = app.project(&who, org, "mailed.example").await;
    let p = project["id"].as_str().unwrap();
    app.set_now(at("2026-11-17T10:00:00Z"));
    pageviews_of(&app, "mailed.example", "/pricing", 4).await;
    app.set_now(at("2026-11-24T10:00:00Z"));
    let base = format!("/api/v1/orgs/{org}/projects/{p}/reports");
    let (status, _) = app
        .json(
            &who,
            "POST",
            &format!("{base}/preview"),
            Some(json!({"cadence": "weekly"})),
        )
        .await;
    assert_eq!(status, 202);
    let workers = Workers::start(&app, &smtp);
    let mail = smtp.wait_for("owner@mail-ai.test", "weekly report").await;
    assert!(
        mail.contains("Statistical summary computed by Beacon"),
        "{mail}"
    );
    assert!(mail.contains("Unique visitors rose to 4 from 0"), "{mail}");
    assert!(received(&fake).await.is_empty());

    switch_ai_on(&app, &who, org).await;
    let (status, _) = app
        .json(
            &who,
            "POST",
            &format!("{base}/preview"),
            Some(json!({"cadence": "weekly"})),
        )
        .await;
    assert_eq!(status, 202);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let written = smtp
            .messages()
            .iter()
            .filter(|m| m.contains(&format!("Written by AI ({MODEL})")))
            .count();
        if written == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the AI highlights e-mail within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    workers.stop().await;
    let requests = received(&fake).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0]["body"]["stream"],
        json!(null),
        "the e-mail asks for the whole answer"
    );
}

/// A Web Vitals sample of `page` with web-vitals' attribution.
async fn vital(app: &TestApp, page: &str, value: f64, attribution: Value) {
    let body = json!({"d": "vitals.example", "u": format!("https://vitals.example{page}"),
        "m": [{"n": "LCP", "v": value, "a": attribution}]});
    let resp = app
        .client
        .post("/api/vitals")
        .header(
            "user-agent",
            "AgentOfAlice/1.0 (X11; Linux x86_64) Chrome/131.0.0.0",
        )
        .content_type("text/plain")
        .body(body.to_string())
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::ACCEPTED);
}

#[tokio::test]
async fn vitals_hints_send_the_slow_pages_and_their_attribution_only() {
    let fake = Receivers::start_script("openai.py");
    let app = ai_app(&fake).await;
    let owner = app.user("owner@vitals-ai.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Vital").await;
    let project = app.project(&who, org, "vitals.example").await;
    let p = project["id"].as_str().unwrap();
    switch_ai_on(&app, &who, org).await;
    let hints = format!("/api/v1/orgs/{org}/projects/{p}/ai/vitals-hints?period=7d");
    // No samples yet: a clear refusal, and nothing sent.
    let resp = app.call(&who, "POST", &hints, None).await;
    let problem = assert_problem(resp, 422, "invalid_request").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no Web Vitals samples")
    );
    assert!(received(&fake).await.is_empty());

    // /pricing is slow (a hero image), /fast is good.
    let slow = json!({"target": "main>img.hero", "url": "https://cdn.example/hero.jpg",
        "resourceLoadDuration": 2900, "elementRenderDelay": 150});
    for value in [4800.0, 5200.0, 5000.0, 4600.0, 5100.0, 4900.0] {
        vital(&app, "/pricing", value, slow.clone()).await;
    }
    for _ in 0..6 {
        vital(&app, "/fast", 900.0, json!({"target": "h1"})).await;
    }
    let (answer, _) = done(&sse(&app, &who, &hints).await);
    assert_eq!(answer["author"], "ai");
    let request = received(&fake).await.pop().unwrap();
    let prompt = request["body"]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        prompt.contains("[F1] LCP site-wide: p75 4.9 s, rated poor; 12 samples, 50% poor"),
        "{prompt}"
    );
    assert!(
        prompt.contains("LCP on /pricing: p75 5.1 s, rated poor; 6 samples, 100% poor"),
        "{prompt}"
    );
    assert!(
        prompt.contains("target = main>img.hero in 6 of 6 slow samples"),
        "{prompt}"
    );
    assert!(prompt.contains("resourceLoadDuration 2,900 ms"), "{prompt}");
    assert!(
        !prompt.contains("LCP on /fast"),
        "a good page is not a bottleneck: {prompt}"
    );
    assert_eq!(answer["unverified"], json!([]));
    // No user agent (the control: Beacon did receive it, as the ingest request's header).
    let raw = request["raw"].as_str().unwrap();
    assert_eq!(
        found(raw, &["AgentOfAlice", "Chrome/131"]),
        Vec::<&str>::new()
    );
    assert_eq!(found(&prompt, &["main>img.hero"]), ["main>img.hero"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ai_insights_in_chromium() {
    let fake = Receivers::start_script("openai.py");
    let app = ai_app(&fake).await;
    let owner = app.user("owner@browser-ai.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Browsing").await;
    let project = app.project(&who, org, "shop.example").await;
    let p = project["id"].as_str().unwrap().to_owned();
    for (when, page, n) in [
        ("2026-11-10T10:00:00Z", "/pricing", 2),
        ("2026-11-17T10:00:00Z", "/pricing", 6),
    ] {
        app.set_now(at(when));
        pageviews_of(&app, "shop.example", page, n).await;
    }
    error_event(&app, &project, at("2026-11-18T11:00:00Z")).await;
    app.set_now(at("2026-11-20T12:00:00Z"));
    let (_, issues) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}/issues"),
            None,
        )
        .await;
    let issue = issues["items"][0]["id"].as_str().unwrap().to_owned();
    let port = app.listen().await;
    let scratch = std::env::temp_dir();
    let project_path = format!("/orgs/{org}/projects/{p}");
    let report = tokio::task::spawn_blocking(move || {
        crate::support::run_journey(
            "ai.mjs",
            port,
            &scratch,
            &[
                "owner@browser-ai.test".into(),
                crate::support::PASSWORD.into(),
                org.to_string(),
                project_path,
                issue,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert!(
        report["before"]
            .as_str()
            .unwrap()
            .contains("AI insights are off"),
        "{report:#}"
    );
    assert!(
        report["after"]
            .as_str()
            .unwrap()
            .contains("AI insights are on"),
        "{report:#}"
    );
    assert_eq!(
        report["highlightsLabel"]
            .as_str()
            .unwrap()
            .split(" · ")
            .next()
            .unwrap(),
        format!("Written by AI ({MODEL}) from Beacon's figures")
    );
    assert!(
        report["highlights"]
            .as_str()
            .unwrap()
            .contains("Unique visitors: 6"),
        "{report:#}"
    );
    assert_eq!(
        report["citationTitle"],
        "Unique visitors: 6 (previous period 2, +200%)"
    );
    assert_eq!(
        report["afterCitation"],
        "?period=2026-11-16,2026-11-22&metric=visitors"
    );
    assert!(
        report["explanation"]
            .as_str()
            .unwrap()
            .contains("TypeError: cart.items is undefined"),
        "{report:#}"
    );
    let usage = report["usage"].as_array().unwrap();
    assert_eq!(usage.len(), 2, "{report:#}");
    assert!(
        usage[0]
            .as_str()
            .unwrap()
            .starts_with("Highlights: 1 answer, "),
        "{report:#}"
    );
    assert!(
        usage[1]
            .as_str()
            .unwrap()
            .starts_with("Error explanations: 1 answer, "),
        "{report:#}"
    );
    let a11y = report["a11y"].as_object().unwrap();
    assert_eq!(a11y.len(), 4, "{report:#}");
    for (screen, violations) in a11y {
        assert_eq!(violations, &json!([]), "{screen}: {report:#}");
    }
    assert_eq!(received(&fake).await.len(), 2);
}

#[tokio::test]
async fn with_billing_ai_insights_need_a_plan_that_has_them() {
    let fake = Receivers::start_script("openai.py");
    let stripe = crate::fake_stripe::FakeStripe::start();
    let ai = worker::ai::Ai::new(worker::ai::AiConfig {
        base_url: fake.url("/v1"),
        api_key: Some(KEY.into()),
        model: MODEL.into(),
        timeout: Duration::from_secs(20),
        attempts: 1,
        first_retry: Duration::from_millis(20),
    })
    .unwrap();
    let app = stripe.app().await.reconfigured(|state| state.ai = Some(ai));
    let owner = app.user("owner@free-ai.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Free").await;
    let project = app.project(&who, org, "free.example").await;
    let p = project["id"].as_str().unwrap();
    let settings = format!("/api/v1/orgs/{org}/ai");
    // The Free plan has no AI summaries: switching on is refused, naming the plan that has them.
    let resp = app
        .call(&who, "PUT", &settings, Some(json!({"enabled": true})))
        .await;
    let problem = assert_problem(resp, 402, "plan_required").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Business"),
        "{problem}"
    );
    // The control: the same call switching off (nothing to gate) goes through.
    let (status, body) = app
        .json(&who, "PUT", &settings, Some(json!({"enabled": false})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["plan_allows"], false);
    // The highlights are Beacon's own, saying why; the explanation is refused; nothing is sent.
    let highlights = format!("/api/v1/orgs/{org}/projects/{p}/ai/highlights?period=7d");
    let (answer, _) = done(&sse(&app, &who, &highlights).await);
    assert_eq!(answer["author"], "statistical");
    assert!(
        answer["notice"].as_str().unwrap().contains("plan"),
        "{answer}"
    );
    let resp = app
        .call(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/projects/{p}/ai/vitals-hints"),
            None,
        )
        .await;
    assert_problem(resp, 402, "plan_required").await;
    assert!(received(&fake).await.is_empty());
}
