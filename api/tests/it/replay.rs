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
