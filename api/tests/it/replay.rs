//! Session replay over HTTP: the loader's settings, chunk uploads acknowledged once stored (and
//! retried safely), the list with its filters, the player's chunks, errors linked to the
//! recording they happened in by the salted visitor id, deletion of rows and blobs, and bad
//! input refused with nothing partial stored. The real rrweb recorder in Chromium is in
//! `replay_in_chromium`.

use std::io::Write;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{As, TestApp, status_and_json};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const VISITOR_IP: &str = "198.51.100.23";

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A first chunk: the page's meta and full snapshot, a click answered by a mutation.
fn first_chunk(t: i64) -> Value {
    json!([
        {"type": 4, "timestamp": t, "data": {"href": "https://replay.example/cart", "width": 1280, "height": 800}},
        {"type": 2, "timestamp": t + 5, "data": {"node": {"type": 0, "childNodes": [], "id": 1}, "initialOffset": {"top": 0, "left": 0}}},
        {"type": 3, "timestamp": t + 1_000, "data": {"source": 2, "type": 2, "id": 5, "x": 10, "y": 20}},
        {"type": 3, "timestamp": t + 1_100, "data": {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": []}},
    ])
}

/// A second chunk: an SPA navigation, a custom event and a rage click on one element.
fn second_chunk(t: i64) -> Value {
    let mut events = vec![
        json!({"type": 5, "timestamp": t, "data": {"tag": "pageview", "payload": {"href": "https://replay.example/pay"}}}),
        json!({"type": 5, "timestamp": t + 10, "data": {"tag": "checkout", "payload": {}}}),
    ];
    for i in 0..4 {
        events.push(json!({"type": 3, "timestamp": t + 100 + i * 150, "data": {"source": 2, "type": 2, "id": 9, "x": 1, "y": 1}}));
    }
    events.push(json!({"type": 3, "timestamp": t + 3_000, "data": {"source": 0, "adds": [], "removes": [], "texts": [], "attributes": []}}));
    Value::Array(events)
}

async fn upload(
    app: &TestApp,
    domain: &str,
    session: &str,
    seq: i32,
    body: Vec<u8>,
    agent: &str,
) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("/api/replay?d={domain}&s={session}&n={seq}"))
        .header("user-agent", agent)
        .header("x-forwarded-for", VISITOR_IP)
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await;
    status_and_json(resp).await
}

/// Sends one browser error through the Sentry envelope endpoint, as `agent` from the visitor's
/// IP, at `ts` (seconds).
async fn send_error(app: &TestApp, project: &Value, message: &str, ts: f64, agent: &str) {
    let event_id = Uuid::new_v4().simple().to_string();
    let envelope = format!(
        "{{\"event_id\":\"{event_id}\"}}\n{{\"type\":\"event\"}}\n{}\n",
        json!({
            "event_id": event_id, "timestamp": ts, "platform": "javascript", "level": "error",
            "exception": {"values": [{"type": "Error", "value": message}]}
        })
    );
    let resp = app
        .client
        .post(format!(
            "/api/{}/envelope/?sentry_key={}&sentry_version=7",
            project["ingest_id"],
            project["ingest_key"].as_str().unwrap()
        ))
        .header("user-agent", agent)
        .header("x-forwarded-for", VISITOR_IP)
        .body(envelope)
        .send()
        .await;
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200, "{body}");
}

/// A project that records: its organization (`name`), the owner (`email`) and its API base
/// path, with `settings` applied through `PUT …/replay-settings`.
struct RecordingProject {
    owner: As,
    org: Uuid,
    project_id: String,
    base: String,
}

async fn recording_project(
    app: &TestApp,
    email: &str,
    name: &str,
    domain: &str,
    settings: Value,
) -> RecordingProject {
    let user = app.user(email).await;
    let org = app.org(&user, name).await;
    let owner = As::User(user);
    let project = app.project(&owner, org, domain).await;
    let project_id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/orgs/{org}/projects/{project_id}");
    let (status, body) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(settings),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    RecordingProject {
        owner,
        org,
        project_id,
        base,
    }
}

fn kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

#[tokio::test]
async fn recordings_are_stored_listed_played_linked_to_errors_and_deleted() {
    let app = TestApp::new().await;
    let user = app.user("owner@replay.example").await;
    let org = app.org(&user, "Replay Inc").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "replay.example").await;
    let project_id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/orgs/{org}/projects/{project_id}");
    let session = Uuid::new_v4().to_string();
    let t = now_ms() - 60_000;
    let first = serde_json::to_vec(&first_chunk(t)).unwrap();

    // Off by default: the loader is told so, and a chunk is refused.
    let (status, config) = status_and_json(
        app.client
            .get("/api/replay/config?d=replay.example")
            .send()
            .await,
    )
    .await;
    assert_eq!(
        (status, &config["enabled"]),
        (200, &json!(false)),
        "{config}"
    );
    let (status, body) = upload(&app, "replay.example", &session, 0, gzip(&first), CHROME).await;
    assert_eq!((status, kind(&body)), (403, "replay_disabled"), "{body}");

    let (status, settings) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"enabled": true, "sample_rate": 0.5, "unmask_selector": " .public ", "block_selector": ""})),
        )
        .await;
    assert_eq!(status, 200, "{settings}");
    assert_eq!(settings["unmask_selector"], ".public");
    assert_eq!(settings["block_selector"], Value::Null);
    assert_eq!(settings["mask_all_text"], true);
    // The change is read at once (this server forgets its cached settings).
    let (status, config) = status_and_json(
        app.client
            .get("/api/replay/config?d=replay.example")
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["enabled"], true);
    assert_eq!(config["sample_rate"], 0.5);
    assert_eq!(config["unmask_selector"], ".public");

    // Chunk 0 gzip, chunk 1 plain JSON; chunk 0 again is a harmless retry.
    let (status, body) = upload(&app, "replay.example", &session, 0, gzip(&first), CHROME).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("stored")),
        "{body}"
    );
    let second = serde_json::to_vec(&second_chunk(t + 5_000)).unwrap();
    let (status, body) = upload(&app, "replay.example", &session, 1, second.clone(), CHROME).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("stored")),
        "{body}"
    );
    let (status, body) = upload(&app, "replay.example", &session, 0, gzip(&first), CHROME).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("duplicate")),
        "{body}"
    );
    // A bot's chunk is dropped, not stored.
    let (status, body) = upload(
        &app,
        "replay.example",
        &Uuid::new_v4().to_string(),
        0,
        gzip(&first),
        "curl/8.5.0",
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("dropped")),
        "{body}"
    );

    // An error from the same browser during the recording; one from another browser at the
    // same moment (not this visitor) and one from this browser an hour later (not this
    // recording).
    let at = (t + 6_000) as f64 / 1000.0;
    send_error(&app, &project, "Checkout exploded", at, CHROME).await;
    send_error(&app, &project, "Someone else's crash", at, FIREFOX).await;
    send_error(&app, &project, "Much later", at + 3_600.0, CHROME).await;

    let (status, list) = app
        .json(&owner, "GET", &format!("{base}/replays"), None)
        .await;
    assert_eq!(status, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let replay = &items[0];
    assert_eq!(replay["id"], session);
    assert_eq!(replay["pages"], json!(["/cart", "/pay"]));
    assert_eq!(replay["entry_page"], "/cart");
    assert_eq!(replay["errors"], 1, "{replay}");
    assert_eq!(replay["clicks"], 5);
    assert_eq!(replay["rage_clicks"], 1);
    assert_eq!(replay["chunks"], 2);
    assert_eq!(replay["playable"], true);
    assert_eq!(replay["device"], "desktop");
    assert_eq!(replay["browser"], "Chrome");
    assert_eq!(replay["duration_ms"], 8_000);

    for (query, expected) in [
        ("has_error=true", 1),
        ("has_error=false", 0),
        ("page=/pay", 1),
        ("page=/elsewhere", 0),
        ("device=desktop", 1),
        ("device=mobile", 0),
        ("min_duration_s=5", 1),
        ("min_duration_s=60", 0),
        ("days=1", 1),
    ] {
        let (status, body) = app
            .json(&owner, "GET", &format!("{base}/replays?{query}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["items"].as_array().unwrap().len(),
            expected,
            "{query}: {body}"
        );
    }

    // The player's view: chunks in order, markers with the linked error at its moment.
    let (status, detail) = app
        .json(&owner, "GET", &format!("{base}/replays/{session}"), None)
        .await;
    assert_eq!(status, 200, "{detail}");
    let seqs: Vec<i64> = detail["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [0, 1]);
    let markers = detail["markers"].as_array().unwrap();
    let error = markers
        .iter()
        .find(|m| m["kind"] == "error")
        .expect("an error marker");
    assert_eq!(error["label"], "Error: Checkout exploded", "{detail}");
    assert_eq!(error["offset_ms"], 6_000);
    assert!(
        markers
            .iter()
            .any(|m| m["kind"] == "custom" && m["label"] == "checkout")
    );
    assert!(
        markers
            .iter()
            .any(|m| m["kind"] == "page" && m["label"] == "/pay")
    );
    assert_eq!(
        markers.iter().filter(|m| m["kind"] == "error").count(),
        1,
        "{detail}"
    );

    // Each chunk comes back as the events that were sent.
    for (seq, sent) in [(0, &first), (1, &second)] {
        let resp = app
            .call(
                &owner,
                "GET",
                &format!("{base}/replays/{session}/chunks/{seq}"),
                None,
            )
            .await;
        assert_eq!(resp.0.status().as_u16(), 200);
        let bytes = resp.0.into_body().into_vec().await.unwrap();
        let events: Value = serde_json::from_slice(&gunzip(&bytes)).unwrap();
        assert_eq!(&events, &serde_json::from_slice::<Value>(sent).unwrap());
    }
    let (status, _) = app
        .json(
            &owner,
            "GET",
            &format!("{base}/replays/{session}/chunks/7"),
            None,
        )
        .await;
    assert_eq!(status, 404);

    // The issue knows the recording, and where its error happened in it.
    let issue = error["issue_id"].as_str().unwrap();
    let (status, linked) = app
        .json(
            &owner,
            "GET",
            &format!("{base}/issues/{issue}/replays"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked.as_array().unwrap().len(), 1, "{linked}");
    assert_eq!(linked[0]["replay_id"], session);
    assert_eq!(linked[0]["offset_ms"], 6_000);
    // Control: the other browser's issue has no recording.
    let (_, issues) = app
        .json(&owner, "GET", &format!("{base}/issues"), None)
        .await;
    let other = issues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("Someone else"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, linked) = app
        .json(
            &owner,
            "GET",
            &format!("{base}/issues/{other}/replays"),
            None,
        )
        .await;
    assert_eq!(linked, json!([]));

    // Deleting removes the session, its chunks and their blobs (present before: the control).
    let rows = app.tenant_rows(org).await;
    assert_eq!(rows["replay_blobs"].len(), 2);
    assert_eq!(rows["replay_chunks"].len(), 2);
    let (status, _) = app
        .json(&owner, "DELETE", &format!("{base}/replays/{session}"), None)
        .await;
    assert_eq!(status, 204);
    let rows = app.tenant_rows(org).await;
    for table in ["replay_sessions", "replay_chunks", "replay_blobs"] {
        assert!(rows[table].is_empty(), "{table}: {:?}", rows[table]);
    }
    let (status, _) = app
        .json(&owner, "GET", &format!("{base}/replays/{session}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_chunks_are_refused_and_nothing_partial_is_stored() {
    let app = TestApp::new().await;
    let user = app.user("owner@badreplay.example").await;
    let org = app.org(&user, "Bad Replay").await;
    let owner = As::User(user);
    let mut projects = Vec::new();
    for domain in ["badreplay.example", "other.badreplay.example"] {
        let project = app.project(&owner, org, domain).await;
        let id = project["id"].as_str().unwrap().to_owned();
        let (status, body) = app
            .json(
                &owner,
                "PUT",
                &format!("/api/v1/orgs/{org}/projects/{id}/replay-settings"),
                Some(json!({"enabled": true})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        projects.push(id);
    }
    let t = now_ms() - 10_000;
    let good = gzip(&serde_json::to_vec(&first_chunk(t)).unwrap());
    let session = Uuid::new_v4().to_string();
    let domain = "badreplay.example";

    let huge_json = {
        let mut events: Vec<Value> = Vec::new();
        let text = "x".repeat(1_000);
        while events.len() < 9_000 {
            events.push(json!({"type": 3, "timestamp": t, "data": {"source": 0, "texts": [text]}}));
        }
        serde_json::to_vec(&events).unwrap()
    };
    let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
        (
            "corrupt gzip",
            session.clone(),
            vec![0x1f, 0x8b, 8, 0, 9, 9, 9, 9, 9, 9, 9],
            400,
            "invalid_replay",
        ),
        (
            "not an array",
            session.clone(),
            gzip(b"{\"type\": 2}"),
            400,
            "invalid_replay",
        ),
        (
            "not rrweb events",
            session.clone(),
            gzip(b"[{\"hello\": 1}]"),
            400,
            "invalid_replay",
        ),
        ("empty", session.clone(), gzip(b"[]"), 400, "invalid_replay"),
        (
            "a clock a day behind",
            session.clone(),
            gzip(&serde_json::to_vec(&first_chunk(t - 2 * 86_400_000)).unwrap()),
            400,
            "invalid_replay",
        ),
        (
            "decompresses past the cap",
            session.clone(),
            gzip(&huge_json),
            413,
            "payload_too_large",
        ),
        (
            "over the wire limit",
            session.clone(),
            vec![b'['; 3 * 1024 * 1024],
            413,
            "payload_too_large",
        ),
        (
            "longer than an hour",
            session.clone(),
            gzip(
                &serde_json::to_vec(&json!([
                    {"type": 2, "timestamp": t - 2 * 3_600_000, "data": {}},
                    {"type": 3, "timestamp": t, "data": {"source": 1}}
                ]))
                .unwrap(),
            ),
            413,
            "replay_limit_reached",
        ),
    ];
    for (what, session, body, status, expected) in cases {
        let (got, answer) = upload(&app, domain, &session, 0, body, CHROME).await;
        assert_eq!((got, kind(&answer)), (status, expected), "{what}: {answer}");
    }
    for (path, expected) in [
        (
            format!("/api/replay?d=nowhere.example&s={session}&n=0"),
            "unknown_domain",
        ),
        (
            format!("/api/replay?d=not a domain&s={session}&n=0"),
            "invalid_domain",
        ),
        (
            format!("/api/replay?d={domain}&s=not-a-uuid&n=0"),
            "invalid_request",
        ),
        (
            format!("/api/replay?d={domain}&s={session}&n=-1"),
            "invalid_request",
        ),
    ] {
        let resp = app
            .client
            .post(path.replace(' ', "%20"))
            .header("user-agent", CHROME)
            .header("content-type", "text/plain")
            .body(good.clone())
            .send()
            .await;
        let (status, body) = status_and_json(resp).await;
        assert_eq!((status, kind(&body)), (400, expected), "{path}: {body}");
    }
    // Nothing of any refused chunk was stored.
    let rows = app.tenant_rows(org).await;
    for table in ["replay_sessions", "replay_chunks", "replay_blobs"] {
        assert!(rows[table].is_empty(), "{table}: {:?}", rows[table]);
    }

    // The control: the same session's good chunk is stored.
    let (status, body) = upload(&app, domain, &session, 0, good.clone(), CHROME).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (202, Some("stored")),
        "{body}"
    );
    // Its id sent for the organization's other project is refused, and stores nothing there.
    let (status, body) = upload(
        &app,
        "other.badreplay.example",
        &session,
        1,
        good.clone(),
        CHROME,
    )
    .await;
    assert_eq!(
        (status, kind(&body)),
        (409, "replay_session_conflict"),
        "{body}"
    );
    // Over the number of chunks a recording may have.
    let (status, body) = upload(&app, domain, &session, 6_000, good.clone(), CHROME).await;
    assert_eq!(
        (status, kind(&body)),
        (413, "replay_limit_reached"),
        "{body}"
    );
    let rows = app.tenant_rows(org).await;
    assert_eq!(rows["replay_sessions"].len(), 1);
    assert_eq!(rows["replay_chunks"].len(), 1);
    assert_eq!(rows["replay_blobs"].len(), 1);
    assert_eq!(rows["replay_sessions"][0]["project_id"], projects[0]);

    // Settings: a viewer may read but not change them; nonsense is refused.
    let base = format!("/api/v1/orgs/{org}/projects/{}", projects[0]);
    for body in [
        json!({"sample_rate": 1.5}),
        json!({"retention_days": 0}),
        json!({"block_selector": "div { color: red }"}),
        json!({"enabled": "yes"}),
    ] {
        let (status, answer) = app
            .json(
                &owner,
                "PUT",
                &format!("{base}/replay-settings"),
                Some(body.clone()),
            )
            .await;
        assert!(status == 400 || status == 422, "{body}: {status} {answer}");
    }
    let (status, settings) = app
        .json(&owner, "GET", &format!("{base}/replay-settings"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["sample_rate"], 1.0, "nothing changed: {settings}");
    assert_eq!(settings["block_selector"], Value::Null);
}

/// Runs `web/tracker/test/replay.mjs` (the real rrweb recorder through `/js/replay.js` in
/// Chromium) against Beacon on `port`; `dnt` turns Do-Not-Track on.
fn record_in_chromium(port: u16, domain: &str, dsn: &str, dnt: bool) -> Value {
    let output = std::process::Command::new("node")
        .arg(crate::support::web_dir().join("tracker/test/replay.mjs"))
        .arg(port.to_string())
        .arg(domain)
        .arg(dsn)
        .env("BEACON_CHROMIUM", crate::support::chromium())
        .env("REPLAY_DNT", if dnt { "1" } else { "0" })
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    serde_json::from_str(last).unwrap()
}

/// Every stored chunk of a recording, decompressed, as one text.
async fn stored_text(app: &TestApp, owner: &As, base: &str, replay: &str) -> String {
    let (status, detail) = app
        .json(owner, "GET", &format!("{base}/replays/{replay}"), None)
        .await;
    assert_eq!(status, 200, "{detail}");
    let mut text = String::new();
    for chunk in detail["chunks"].as_array().unwrap() {
        let resp = app
            .call(
                owner,
                "GET",
                &format!("{base}/replays/{replay}/chunks/{}", chunk["seq"]),
                None,
            )
            .await;
        assert_eq!(resp.0.status().as_u16(), 200);
        let bytes = resp.0.into_body().into_vec().await.unwrap();
        text.push_str(&String::from_utf8(gunzip(&bytes)).unwrap());
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn rrweb_in_chromium_records_masked_links_the_error_and_plays_in_the_dashboard() {
    let app = TestApp::new().await;
    let email = "owner@shop.example";
    let user = app.user(email).await;
    let org = app.org(&user, "Shop").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "shop.example").await;
    let project_id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/orgs/{org}/projects/{project_id}");
    let (status, body) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let port = app.listen().await;
    let dsn = format!(
        "http://{}@beacon.test:{port}/{}",
        project["ingest_key"].as_str().unwrap(),
        project["ingest_id"]
    );

    let report = record_in_chromium(port, "shop.example", &dsn, false);
    assert_eq!(report["recorder_loaded"], true, "{report}");
    assert_eq!(report["config_status"], 200, "{report}");
    let statuses = report["statuses"].as_array().unwrap();
    assert!(!statuses.is_empty(), "{report}");
    assert!(statuses.iter().all(|s| s == 202), "{report}");
    assert_eq!(report["leaked"], json!([]), "{report}");
    assert_eq!(report["errors_flushed"], true, "{report}");
    let session = report["session"].as_str().unwrap().to_owned();

    // What was stored holds the page's structure but none of its text or typed values.
    let stored = stored_text(&app, &owner, &base, &session).await;
    for secret in [
        "Checkout for Ada",
        "Secret plan number 4242",
        "ada@example.com",
        "hunter2",
        "Blocked content xyz",
        "csrf-9f8e7d",
        "ref-q5ecret",
        "t0ps3cret",
    ] {
        assert!(!stored.contains(secret), "{secret} was stored");
    }
    // Controls: the same search finds what is there: the button's id, the e-mail field, the
    // masked heading (one star per letter) and the SPA navigation.
    assert!(stored.contains("\"buy\""), "the button's id is kept");
    assert!(stored.contains("\"email\""), "the e-mail field is recorded");
    assert!(
        stored.contains("******** *** ***"),
        "the heading is masked letter by letter"
    );
    assert!(stored.contains("/step-2"), "the SPA navigation is recorded");

    let (_, list) = app
        .json(&owner, "GET", &format!("{base}/replays"), None)
        .await;
    let replay = &list["items"][0];
    assert_eq!(replay["id"], session, "{list}");
    assert_eq!(replay["errors"], 1, "{replay}");
    assert_eq!(replay["playable"], true);
    assert!(replay["clicks"].as_i64().unwrap() >= 3, "{replay}");
    assert_eq!(replay["pages"], json!(["/checkout", "/step-2"]), "{replay}");

    // The error the official Sentry SDK reported links the issue to the recording, at its
    // moment: after the typing and the clicks, before the end.
    let (_, issues) = app
        .json(&owner, "GET", &format!("{base}/issues"), None)
        .await;
    let issue = issues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["title"].as_str().unwrap().contains("Replay test boom"))
        .unwrap_or_else(|| panic!("no issue: {issues}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, linked) = app
        .json(
            &owner,
            "GET",
            &format!("{base}/issues/{issue}/replays"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(linked[0]["replay_id"], session, "{linked}");
    let offset = linked[0]["offset_ms"].as_i64().unwrap();
    let duration = replay["duration_ms"].as_i64().unwrap();
    // (The SDK's event may come a few milliseconds after the recording's last event.)
    assert!(
        offset > 1_000 && offset <= duration + 1_000,
        "{offset} of {duration}"
    );

    // Do-Not-Track: nothing is recorded (the first run above is the control).
    let report = record_in_chromium(port, "shop.example", &dsn, true);
    assert_eq!(report["recorder_loaded"], false, "{report}");
    assert_eq!(report["statuses"], json!([]), "{report}");
    let (_, list) = app
        .json(&owner, "GET", &format!("{base}/replays"), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // Unmasking the heading: its text, and only it, is recorded (the leak check's control).
    let (status, body) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"unmask_selector": "h1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let report = record_in_chromium(port, "shop.example", "", false);
    assert_eq!(report["leaked"], json!(["Checkout for Ada"]), "{report}");

    // The dashboard's player rebuilds the recorded page; the issue opens it at the error.
    let journey = crate::support::run_journey(
        "replay.mjs",
        port,
        &std::env::temp_dir(),
        &[
            email.to_owned(),
            crate::support::PASSWORD.to_owned(),
            org.to_string(),
            project_id.clone(),
            session.clone(),
            issue.clone(),
            offset.to_string(),
        ],
    );
    let player = &journey["player"];
    assert_eq!(player["has_buy_button"], true, "{journey}");
    assert_eq!(player["heading_text"], "******** *** ***", "{journey}");
    assert_eq!(player["blocked_present"], false, "{journey}");
    for secret in ["ada@example.com", "hunter2", "Secret plan"] {
        assert!(
            !journey.to_string().contains(secret),
            "{secret} in the player"
        );
    }
    // Under the policy Beacon sends the player's page, the recorded styles apply: no CSP
    // refusal in the console.
    assert_eq!(journey["player_csp"]["count"], 0, "{journey}");
    let at = journey["issue_link"]["current_ms"].as_i64().unwrap();
    assert!(
        (at - offset).abs() <= 1_000,
        "opened at {at}, the error at {offset}"
    );
}

#[tokio::test]
async fn retention_deletes_old_recordings_with_their_blobs_and_keeps_recent_ones() {
    let app = TestApp::new().await;
    let RecordingProject { org, .. } = recording_project(
        &app,
        "owner@kept.example",
        "Retention",
        "kept.example",
        json!({"enabled": true, "retention_days": 1}),
    )
    .await;
    let now = chrono::Utc::now();
    app.set_now(now);
    let old = Uuid::new_v4().to_string();
    for seq in 0..2 {
        let chunk = gzip(
            &serde_json::to_vec(&first_chunk(now.timestamp_millis() - 60_000 + seq * 10)).unwrap(),
        );
        let (status, body) = upload(&app, "kept.example", &old, seq as i32, chunk, CHROME).await;
        assert_eq!(status, 202, "{body}");
    }
    // Two days later: a new recording, then the hourly job.
    let later = now + chrono::Duration::days(2);
    app.set_now(later);
    let recent = Uuid::new_v4().to_string();
    let chunk = gzip(&serde_json::to_vec(&first_chunk(later.timestamp_millis() - 60_000)).unwrap());
    let (status, body) = upload(&app, "kept.example", &recent, 0, chunk, CHROME).await;
    assert_eq!(status, 202, "{body}");
    let rows = app.tenant_rows(org).await;
    assert_eq!(
        rows["replay_blobs"].len(),
        3,
        "before: both recordings' blobs"
    );

    let ctx = crate::support::job_context(&app, None);
    worker::jobs::PruneReplaysAllTenants {}
        .run(&ctx)
        .await
        .unwrap();

    let rows = app.tenant_rows(org).await;
    assert_eq!(rows["replay_sessions"].len(), 1);
    assert_eq!(rows["replay_sessions"][0]["replay_id"], recent);
    assert_eq!(rows["replay_chunks"].len(), 1);
    assert_eq!(rows["replay_blobs"].len(), 1);
    assert!(
        rows["replay_blobs"][0]["blob_key"]
            .as_str()
            .unwrap()
            .contains(&recent)
    );
    // Nothing left to do on a second run.
    worker::jobs::PruneReplaysAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    assert_eq!(app.tenant_rows(org).await["replay_sessions"].len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_blob_store_holds_bodies_and_deletion_retention_and_erasure_remove_them() {
    use tenant::replay::store::BlobStore;
    let (mut moto, ports) = crate::support::start_fake("s3.py", &["recordings".as_ref()]);
    let endpoint = format!("http://127.0.0.1:{}", ports[0]);
    let store = BlobStore::from_url(
        "s3://recordings/beacon",
        &[
            ("endpoint", endpoint.as_str()),
            ("access_key_id", "test"),
            ("secret_access_key", "test"),
            ("region", "us-east-1"),
            ("allow_http", "true"),
        ],
    )
    .unwrap();
    // Lists the bucket's keys with the reference client (boto3), not Beacon's.
    let objects = || {
        let output = std::process::Command::new(
            std::env::var("BEACON_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
        )
        .arg("-c")
        .arg(format!(
            "import boto3; c = boto3.client('s3', endpoint_url='{endpoint}', aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1'); \
             print('\\n'.join(o['Key'] for o in c.list_objects_v2(Bucket='recordings').get('Contents', [])))"
        ))
        .output()
        .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let app = TestApp::new()
        .await
        .reconfigured(|state| state.blobs = store.clone());
    let RecordingProject {
        owner,
        org,
        project_id,
        base,
    } = recording_project(
        &app,
        "owner@s3.example",
        "Objects",
        "s3.example",
        json!({"enabled": true}),
    )
    .await;
    let t = now_ms() - 30_000;
    let first = serde_json::to_vec(&first_chunk(t)).unwrap();
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let session = Uuid::new_v4().to_string();
        let (status, body) = upload(&app, "s3.example", &session, 0, gzip(&first), CHROME).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (202, Some("stored")),
            "{body}"
        );
        sessions.push(session);
    }
    // The bodies are in the bucket, under the prefix, not in PostgreSQL.
    let keys = objects();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with(&format!("beacon/{org}/{project_id}/"))),
        "{keys:?}"
    );
    assert!(app.tenant_rows(org).await["replay_blobs"].is_empty());
    // Played back from the bucket.
    let resp = app
        .call(
            &owner,
            "GET",
            &format!("{base}/replays/{}/chunks/0", sessions[0]),
            None,
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 200);
    let bytes = resp.0.into_body().into_vec().await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&gunzip(&bytes)).unwrap(),
        first_chunk(t)
    );
    // Deleting a recording deletes its object, and only its.
    let (status, _) = app
        .json(
            &owner,
            "DELETE",
            &format!("{base}/replays/{}", sessions[0]),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let keys = objects();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains(&sessions[0])));
    // A deletion the store refuses is owed, not forgotten: with a store that answers every
    // request 403 AccessDenied (as S3 does to a key without the right), the rows go, the object
    // stays, and the deletion waits with its error.
    let refusing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refusing_endpoint = format!("http://{}", refusing.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = refusing.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut request = [0u8; 8192];
                let _ = socket.read(&mut request).await;
                let body =
                    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                let response = format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-type: application/xml\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    let refused = BlobStore::from_url(
        "s3://recordings/beacon",
        &[
            ("endpoint", refusing_endpoint.as_str()),
            ("access_key_id", "test"),
            ("secret_access_key", "test"),
            ("region", "us-east-1"),
            ("allow_http", "true"),
        ],
    )
    .unwrap();
    let (org_id, project) = (
        tenant::OrgId::from_uuid(org),
        tenant::ProjectId::from_uuid(project_id.parse().unwrap()),
    );
    let deleted_at = app.state.clock.now();
    let replay: Uuid = sessions[1].parse().unwrap();
    app.state
        .db
        .scoped(org_id, async |conn| {
            let keys =
                tenant::tables::replays::delete(conn, org_id, project, &[replay], Some(deleted_at))
                    .await?;
            assert_eq!(keys.len(), 1);
            refused
                .delete(conn, org_id, project, &keys, deleted_at)
                .await
                .map_err(|e| tenant::DbError::Pool(e.to_string()))
        })
        .await
        .unwrap();
    let settled = refused
        .settle(&app.state.db, org_id, deleted_at)
        .await
        .unwrap();
    assert_eq!((settled.deleted, settled.failed), (0, 1));
    assert!(objects().iter().any(|k| k.contains(&sessions[1])));
    let owed = &app.tenant_rows(org).await["blob_deletions"];
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(owed[0]["attempts"], 1);
    assert!(!owed[0]["last_error"].as_str().unwrap().is_empty());
    // A process without the store's address says so rather than dropping what is owed.
    let error = BlobStore::Postgres
        .settle(
            &app.state.db,
            org_id,
            deleted_at + chrono::Duration::minutes(5),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("BEACON_BLOB_URL"), "{error}");
    // The hourly job retries once the delay has passed, with the store that works.
    app.set_now(deleted_at + chrono::Duration::minutes(2));
    worker::jobs::PruneReplaysAllTenants {}
        .run(&crate::support::job_context(&app, None))
        .await
        .unwrap();
    assert!(!objects().iter().any(|k| k.contains(&sessions[1])));
    assert!(app.tenant_rows(org).await["blob_deletions"].is_empty());
    // Retention: two days later, with one day kept.
    let (status, _) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"retention_days": 1})),
        )
        .await;
    assert_eq!(status, 200);
    app.set_now(chrono::Utc::now() + chrono::Duration::days(2));
    let recent = Uuid::new_v4().to_string();
    let chunk = gzip(
        &serde_json::to_vec(&first_chunk(
            app.state.clock.now().timestamp_millis() - 1_000,
        ))
        .unwrap(),
    );
    let (status, body) = upload(&app, "s3.example", &recent, 0, chunk, CHROME).await;
    assert_eq!(status, 202, "{body}");
    let ctx = crate::support::job_context(&app, None);
    worker::jobs::PruneReplaysAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    let keys = objects();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].contains(&recent), "{keys:?}");
    assert_eq!(app.tenant_rows(org).await["replay_sessions"].len(), 1);
    // An erased project's objects go with it (by prefix).
    assert_eq!(
        store
            .purge_prefix(&tenant::replay::store::project_prefix(
                tenant::OrgId::from_uuid(org),
                tenant::ProjectId::from_uuid(project_id.parse().unwrap()),
            ))
            .await
            .unwrap(),
        1
    );
    assert!(objects().is_empty());
    moto.kill().unwrap();
}

#[tokio::test]
async fn recordings_are_metered_and_an_organization_over_its_replay_quota_records_nothing() {
    use tenant::diesel_async::SimpleAsyncConnection;
    let app = TestApp::new().await;
    let RecordingProject {
        owner, org, base, ..
    } = recording_project(
        &app,
        "owner@quota-replay.example",
        "Quota Replay",
        "quota-replay.example",
        json!({"enabled": true}),
    )
    .await;
    let chunk = || gzip(&serde_json::to_vec(&first_chunk(now_ms() - 1_000)).unwrap());
    // Under the quota (the control): recorded.
    let (status, body) = upload(
        &app,
        "quota-replay.example",
        &Uuid::new_v4().to_string(),
        0,
        chunk(),
        CHROME,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    // The day's usage counts the recording (the metering job's count; it settles and reports
    // only with billing on).
    let ctx = crate::support::job_context(&app, None);
    worker::jobs::meter_usage_all_tenants::count_all(&ctx.sweeper, chrono::Utc::now())
        .await
        .unwrap();
    let usage = app.tenant_rows(org).await["usage_daily"].clone();
    let replays: Vec<&Value> = usage.iter().filter(|u| u["product"] == "replays").collect();
    assert_eq!(replays.len(), 1, "{usage:?}");
    assert_eq!(replays[0]["quantity"], 1, "{usage:?}");

    // Past the quota (as the metering job leaves it): the loader is told to stay off, and a
    // chunk is refused with nothing stored.
    let mut conn = app.owner_conn().await;
    conn.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.org_id', '{org}', true); \
         INSERT INTO quota_state (org_id, product, period_start, used, quota, over_since, blocked, updated_at) \
         VALUES ('{org}', 'replays', date_trunc('month', now())::date, 1, 1, now() - interval '8 days', true, now()) \
         ON CONFLICT (org_id, product) DO UPDATE SET blocked = true; COMMIT"
    ))
    .await
    .unwrap();
    let ingest_db = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Ingest,
        &tenant::db::PoolConfig::default(),
    )
    .unwrap();
    app.state.ingest.quotas.refresh(&ingest_db).await.unwrap();
    let (_, config) = status_and_json(
        app.client
            .get("/api/replay/config?d=quota-replay.example")
            .send()
            .await,
    )
    .await;
    assert_eq!(config["enabled"], false, "{config}");
    let (status, body) = upload(
        &app,
        "quota-replay.example",
        &Uuid::new_v4().to_string(),
        0,
        chunk(),
        CHROME,
    )
    .await;
    assert_eq!((status, kind(&body)), (402, "quota_exceeded"), "{body}");
    assert_eq!(app.tenant_rows(org).await["replay_sessions"].len(), 1);

    // Retention longer than the plan keeps is refused (self-hosted: unlimited, so a plan is
    // needed to see it; the project settings' own bound is checked above).
    let (status, _) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"retention_days": 365})),
        )
        .await;
    assert_eq!(
        status, 200,
        "without billing every retention up to 365 days is allowed"
    );
}

#[tokio::test]
async fn funnel_drop_offs_and_saved_segments_list_the_recordings_of_their_visitors() {
    let app = TestApp::new().await;
    let domain = "funnel-replay.example";
    let RecordingProject {
        owner, org, base, ..
    } = recording_project(
        &app,
        "owner@funnel-replay.example",
        "Funnel Replay",
        domain,
        json!({"enabled": true}),
    )
    .await;
    let mut goals = Vec::new();
    for path in ["/cart", "/pay", "/thanks"] {
        let (status, goal) = app
            .json(
                &owner,
                "POST",
                &format!("{base}/goals"),
                Some(json!({"page_path": path})),
            )
            .await;
        assert_eq!(status, 201, "{goal}");
        goals.push(goal["id"].clone());
    }
    let (status, funnel) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/funnels"),
            Some(json!({"name": "Checkout", "steps": goals})),
        )
        .await;
    assert_eq!(status, 201, "{funnel}");
    let funnel = funnel["id"].as_str().unwrap().to_owned();
    // Chrome visits the cart and the payment page and leaves; Firefox completes the checkout.
    // Both are recorded.
    let visit = |agent: &'static str, paths: &'static [&'static str]| {
        let app = &app;
        async move {
            for path in paths {
                let resp = app
                    .client
                    .post("/api/event")
                    .header("user-agent", agent)
                    .header("x-forwarded-for", VISITOR_IP)
                    .content_type("text/plain")
                    .body(json!({"n": "pageview", "u": format!("https://{domain}{path}"), "d": domain}).to_string())
                    .send()
                    .await;
                resp.assert_status(poem::http::StatusCode::ACCEPTED);
            }
            let session = Uuid::new_v4().to_string();
            let chunk = gzip(&serde_json::to_vec(&first_chunk(now_ms() - 5_000)).unwrap());
            let (status, body) = upload(app, domain, &session, 0, chunk, agent).await;
            assert_eq!(status, 202, "{body}");
            session
        }
    };
    let dropped = visit(CHROME, &["/cart", "/pay"]).await;
    let completed = visit(FIREFOX, &["/cart", "/pay", "/thanks"]).await;

    let list = |query: String| {
        let (app, owner, base) = (&app, &owner, &base);
        async move {
            let (status, body) = app
                .json(owner, "GET", &format!("{base}/replays?{query}"), None)
                .await;
            (status, body)
        }
    };
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, body) = list(format!("funnel_id={funnel}&dropped_at=3&period=day")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), std::slice::from_ref(&dropped), "{body}");
    // Nobody dropped at step 2 (both paid); without the funnel both are listed (the control).
    let (_, body) = list(format!("funnel_id={funnel}&dropped_at=2&period=day")).await;
    assert!(ids(&body).is_empty(), "{body}");
    let (_, body) = list(String::new()).await;
    let mut all = ids(&body);
    all.sort();
    let mut expected = vec![dropped.clone(), completed.clone()];
    expected.sort();
    assert_eq!(all, expected);
    // A saved segment of the visitors who saw the thank-you page: Firefox only; one of
    // Chrome's pages (the control) selects both.
    let segment = |filters: Value| {
        let (app, owner, base) = (&app, &owner, &base);
        async move {
            let (status, segment) = app
                .json(
                    owner,
                    "POST",
                    &format!("{base}/segments"),
                    Some(json!({"name": "Segment", "filters": filters, "shared": true})),
                )
                .await;
            assert_eq!(status, 201, "{segment}");
            segment["id"].as_str().unwrap().to_owned()
        }
    };
    let thanked = segment(json!([["is", "event:page", ["/thanks"]]])).await;
    let (status, body) = list(format!("segment_id={thanked}&period=day")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), std::slice::from_ref(&completed), "{body}");
    let carted = segment(json!([["is", "event:page", ["/cart"]]])).await;
    let (_, body) = list(format!("segment_id={carted}")).await;
    let mut both = ids(&body);
    both.sort();
    assert_eq!(both, expected);
    // With another filter: both visitors are in the cart segment, one dropped off.
    let (_, body) = list(format!(
        "segment_id={carted}&funnel_id={funnel}&dropped_at=3&period=day"
    ))
    .await;
    assert_eq!(ids(&body), std::slice::from_ref(&dropped), "{body}");
    // A segment that is not there, or is someone else's personal one, is refused.
    let (status, body) = list(format!("segment_id={}", Uuid::new_v4())).await;
    assert_eq!((status, kind(&body)), (400, "invalid_filter"), "{body}");
    let member = app.user("member@funnel-replay.example").await;
    app.add_member(org, &member, tenant::tables::memberships::Role::Member)
        .await;
    let member = As::User(member);
    let (status, personal) = app
        .json(
            &member,
            "POST",
            &format!("{base}/segments"),
            Some(json!({"name": "Mine", "filters": [["is", "event:page", ["/pay"]]]})),
        )
        .await;
    assert_eq!(status, 201, "{personal}");
    let personal = personal["id"].as_str().unwrap();
    let (status, body) = app
        .json(
            &member,
            "GET",
            &format!("{base}/replays?segment_id={personal}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body).len(), 2, "{body}");
    let (status, body) = list(format!("segment_id={personal}")).await;
    assert_eq!((status, kind(&body)), (400, "invalid_filter"), "{body}");
    // Bad combinations.
    let (status, _) = list(format!("funnel_id={funnel}")).await;
    assert_eq!(status, 400);
    let (status, _) = list(format!("funnel_id={funnel}&dropped_at=5")).await;
    assert_eq!(status, 400);
    let (status, _) = list(format!("funnel_id={}&dropped_at=2", Uuid::new_v4())).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_deleted_recording_stays_deleted_a_retry_near_a_limit_is_a_duplicate_and_markers_are_capped()
 {
    use tenant::tables::replays::{self, NewSession, RecordError, Recorded, SessionLimits};
    let app = TestApp::new().await;
    let domain = "integrity.example";
    let RecordingProject {
        owner,
        org,
        project_id,
        base,
    } = recording_project(
        &app,
        "owner@integrity.example",
        "Integrity",
        domain,
        json!({"enabled": true}),
    )
    .await;
    let project_id: Uuid = project_id.parse().unwrap();
    let now = chrono::Utc::now();
    app.set_now(now);
    let t = now.timestamp_millis() - 60_000;

    // Deleted while the visitor is still on the page: the next chunk is refused (409) and
    // re-creates nothing; another recording's next chunk is the control.
    let (deleted, kept) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
    for session in [&deleted, &kept] {
        let chunk = gzip(&serde_json::to_vec(&first_chunk(t)).unwrap());
        let (status, body) = upload(&app, domain, session, 0, chunk, CHROME).await;
        assert_eq!(status, 202, "{body}");
    }
    let (status, _) = app
        .json(&owner, "DELETE", &format!("{base}/replays/{deleted}"), None)
        .await;
    assert_eq!(status, 204);
    for session in [&deleted, &kept] {
        let chunk = gzip(&serde_json::to_vec(&second_chunk(t + 10_000)).unwrap());
        let (status, body) = upload(&app, domain, session, 1, chunk, CHROME).await;
        if session == &deleted {
            assert_eq!((status, kind(&body)), (409, "replay_deleted"), "{body}");
        } else {
            assert_eq!(status, 202, "{body}");
        }
    }
    let rows = app.tenant_rows(org).await;
    assert_eq!(rows["replay_sessions"].len(), 1);
    assert_eq!(rows["replay_sessions"][0]["replay_id"], kept.as_str());
    assert_eq!(
        rows["replay_chunks"].len(),
        2,
        "the kept recording's two chunks"
    );
    assert_eq!(rows["replay_blobs"].len(), 2);
    assert_eq!(rows["replay_tombstones"].len(), 1);
    // The hourly job forgets tombstones after two days (the recording cannot go on by then).
    let ctx = crate::support::job_context(&app, None);
    worker::jobs::PruneReplaysAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    assert_eq!(app.tenant_rows(org).await["replay_tombstones"].len(), 1);
    app.set_now(now + chrono::Duration::days(3));
    worker::jobs::PruneReplaysAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    assert!(app.tenant_rows(org).await["replay_tombstones"].is_empty());
    app.set_now(now);

    // A retry of a stored chunk is a duplicate even when the recording is at its byte limit;
    // a new chunk over it is refused (the control).
    let (org_id, project) = (
        tenant::OrgId::from_uuid(org),
        tenant::ProjectId::from_uuid(project_id),
    );
    let session = NewSession {
        org_id,
        project_id: project,
        replay_id: Uuid::new_v4(),
        visitor_id: 7,
        country: None,
        device: "desktop".into(),
        browser: "Chrome".into(),
        os: "Linux".into(),
    };
    let limits = SessionLimits {
        max_duration_s: 3_600,
        max_bytes: 100,
        max_seq: 10,
    };
    let summary =
        tenant::replay::chunk::summarize(&serde_json::to_vec(&first_chunk(t)).unwrap(), now)
            .unwrap();
    let record = |seq: i32| {
        let (app, session, summary) = (&app, &session, &summary);
        async move {
            app.state
                .db
                .scoped(org_id, async |conn| {
                    Ok::<_, tenant::DbError>(
                        replays::record_chunk(conn, session, seq, summary, 80, limits).await,
                    )
                })
                .await
                .unwrap()
        }
    };
    assert!(matches!(record(0).await, Ok(Recorded::Stored)));
    assert!(matches!(record(0).await, Ok(Recorded::AlreadyStored)));
    assert!(matches!(
        record(1).await,
        Err(RecordError::LimitReached("bytes"))
    ));

    // Markers: at most 200 per chunk and 2,000 per recording; every click is still counted.
    let many = Uuid::new_v4().to_string();
    let clicks = |seq: i64| {
        Value::Array(
            (0..250)
                .map(|i| json!({"type": 3, "timestamp": t + seq * 1_000 + i, "data": {"source": 2, "type": 2, "id": i, "x": 1, "y": 1}}))
                .collect(),
        )
    };
    let markers = || {
        let (app, owner, base, many) = (&app, &owner, &base, &many);
        async move {
            let (status, body) = app
                .json(owner, "GET", &format!("{base}/replays/{many}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            body["markers"].as_array().unwrap().len()
        }
    };
    for seq in 0..10 {
        let chunk = gzip(&serde_json::to_vec(&clicks(seq)).unwrap());
        let (status, body) = upload(&app, domain, &many, seq as i32, chunk, CHROME).await;
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(markers().await, 2_000, "ten chunks of 200 markers each");
    let chunk = gzip(&serde_json::to_vec(&clicks(10)).unwrap());
    let (status, body) = upload(&app, domain, &many, 10, chunk, CHROME).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(markers().await, 2_000, "the eleventh chunk keeps none");
    let (_, detail) = app
        .json(&owner, "GET", &format!("{base}/replays/{many}"), None)
        .await;
    assert_eq!(detail["replay"]["clicks"], 2_750, "{detail}");
}
