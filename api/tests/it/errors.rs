//! Sentry-compatible error ingestion, with the official @sentry/node SDK (unchanged) and with
//! hand-made bad input: grouping, issue states and regressions, scrubbing (nothing personal
//! reaches the database), rate limits the SDK understands, and clear 4xx answers.

use std::io::Write;
use std::process::Command;

use serde_json::{Value, json};
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::Text;
use tenant::diesel_async::RunQueryDsl;

use crate::support::web_dir;
use crate::support::{As, TestApp};

struct Setup {
    app: TestApp,
    owner: As,
    org: uuid::Uuid,
    project: uuid::Uuid,
    key: String,
    ingest_id: i64,
}

async fn setup() -> Setup {
    let app = TestApp::new().await;
    let user = app.user("owner@errors.example").await;
    let org = app.org(&user, "Errors Inc").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "errors.example").await;
    Setup {
        owner,
        org,
        project: project["id"].as_str().unwrap().parse().unwrap(),
        key: project["ingest_key"].as_str().unwrap().to_owned(),
        ingest_id: project["ingest_id"].as_i64().unwrap(),
        app,
    }
}

impl Setup {
    fn issues_path(&self) -> String {
        format!("/api/v1/orgs/{}/projects/{}/issues", self.org, self.project)
    }

    async fn issues(&self) -> Vec<Value> {
        let (status, body) = self
            .app
            .json(&self.owner, "GET", &self.issues_path(), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    }

    async fn set_status(&self, issue: &str, body: Value) -> Value {
        let path = format!("{}/{issue}", self.issues_path());
        let (status, body) = self.app.json(&self.owner, "PATCH", &path, Some(body)).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Everything stored about error events, as text.
    async fn stored_text(&self) -> String {
        #[derive(QueryableByName)]
        struct Dump {
            #[diesel(sql_type = Text)]
            text: String,
        }
        let org = tenant::OrgId::from_uuid(self.org);
        let dump: Dump = self
            .app
            .state
            .db
            .scoped(org, async |conn| {
                Ok::<_, tenant::DbError>(
                    tenant::diesel::sql_query(
                        "SELECT coalesce((SELECT string_agg(e::text, ' ') FROM error_events e), '') || ' ' || \
                                coalesce((SELECT string_agg(i::text, ' ') FROM error_issues i), '') AS text",
                    )
                    .get_result(conn)
                    .await?,
                )
            })
            .await
            .unwrap();
        dump.text
    }

    fn run_node_sdk(&self, port: u16, release: &str) -> Value {
        let dsn = format!("http://{}@127.0.0.1:{port}/{}", self.key, self.ingest_id);
        let output = Command::new("node")
            .arg(web_dir().join("errors/test/node-sdk.mjs"))
            .arg(&dsn)
            .env("BEACON_TEST_RELEASE", release)
            .env_remove("http_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("SENTRY_DSN")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "node SDK run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(report["flushed"], true, "{report}");
        report
    }
}

fn find<'a>(issues: &'a [Value], title_start: &str) -> &'a Value {
    issues
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with(title_start))
        .unwrap_or_else(|| panic!("no issue {title_start:?} in {issues:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_node_sdk_is_grouped_scrubbed_and_resolvable() {
    assert!(
        web_dir().join("node_modules/@sentry/node").exists(),
        "@sentry/node is missing: run `npm ci --prefix web` (scripts/test does)"
    );
    let s = setup().await;
    let port = s.app.listen().await;
    s.run_node_sdk(port, "shop-api@2.0.0");

    // Two charges (different amounts) are one issue; the empty cart another; the message,
    // sent twice, a third.
    let issues = s.issues().await;
    assert_eq!(issues.len(), 3, "{issues:#?}");
    let charge = find(&issues, "TypeError: cannot charge");
    assert_eq!(charge["events"], 2);
    assert_eq!(charge["users"], 1);
    assert_eq!(charge["culprit"], "chargeCard (node-sdk.mjs)");
    assert_eq!(charge["daily"].as_array().unwrap().len(), 14);
    assert_eq!(charge["daily"][13], 2);
    assert_eq!(find(&issues, "RangeError: cart is empty")["events"], 1);
    let message = find(&issues, "payment provider slow");
    assert_eq!(
        (message["events"].clone(), message["level"].clone()),
        (json!(2), json!("warning"))
    );

    // The detail: release, environment, tags; the stack with the original lines.
    let charge_id = charge["id"].as_str().unwrap().to_owned();
    let (status, detail) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}/{charge_id}", s.issues_path()),
            None,
        )
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(
        detail["releases"],
        json!([{"value": "shop-api@2.0.0", "events": 2, "users": 1}])
    );
    assert_eq!(detail["environments"][0]["value"], "test");
    let tier = detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "tier")
        .unwrap();
    assert_eq!(tier["values"][0]["value"], "gold");
    let frames = detail["latest_event"]["exceptions"][0]["frames"]
        .as_array()
        .unwrap();
    let top = frames.last().unwrap();
    assert_eq!(top["function"], "chargeCard");
    assert!(
        top["context_line"]
            .as_str()
            .unwrap()
            .contains("throw new TypeError"),
        "{top}"
    );
    let (status, events) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}/{charge_id}/events?limit=1", s.issues_path()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(events["items"].as_array().unwrap().len(), 1);
    let next = events["next_cursor"].as_str().unwrap();
    let (_, rest) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!(
                "{}/{charge_id}/events?limit=1&cursor={next}",
                s.issues_path()
            ),
            None,
        )
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_ne!(rest["items"][0]["id"], events["items"][0]["id"]);
    assert!(rest["next_cursor"].is_null());

    // Nothing personal reached the database.
    let stored = s.stored_text().await;
    for secret in [
        "jane.doe@example.com",
        "203.0.113.7",
        "4111 1111 1111 1111",
        "hunter2",
        "198.51.100.23",
        "abc123secret",
    ] {
        assert!(!stored.contains(secret), "{secret} was stored");
    }
    assert!(stored.contains("[Filtered]") && stored.contains("[email]") && stored.contains("[ip]"));

    // Resolved in the next release: the same release does not reopen it…
    let resolved = s
        .set_status(
            &charge_id,
            json!({"status": "resolved", "in_next_release": true}),
        )
        .await;
    assert_eq!(resolved["status"], "resolved");
    let cart_id = find(&issues, "RangeError")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    s.set_status(&cart_id, json!({"status": "ignored"})).await;
    s.run_node_sdk(port, "shop-api@2.0.0");
    let issues = s.issues().await;
    assert_eq!(find(&issues, "TypeError")["status"], "resolved");
    assert_eq!(find(&issues, "TypeError")["events"], 4);
    // …a new release does (a regression); an ignored issue stays ignored.
    s.run_node_sdk(port, "shop-api@2.1.0");
    let issues = s.issues().await;
    assert_eq!(find(&issues, "TypeError")["status"], "unresolved");
    assert_eq!(find(&issues, "RangeError")["status"], "ignored");
    // Filters and sorting.
    let (_, unresolved) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}?status=ignored", s.issues_path()),
            None,
        )
        .await;
    assert_eq!(unresolved["items"].as_array().unwrap().len(), 1);
    let (_, by_events) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}?sort=events", s.issues_path()),
            None,
        )
        .await;
    let counts: Vec<i64> = by_events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["events"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [6, 6, 3], "most events first");
    let (_, by_release) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}?release=shop-api%402.1.0&query=cart", s.issues_path()),
            None,
        )
        .await;
    assert_eq!(by_release["items"].as_array().unwrap().len(), 1);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn post(
    s: &Setup,
    path: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (u16, Value, poem::http::HeaderMap) {
    let mut req = s.app.client.post(path).body(body);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await;
    let status = resp.0.status().as_u16();
    let headers = resp.0.headers().clone();
    let bytes = resp.0.into_body().into_vec().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

#[tokio::test]
async fn bad_envelopes_get_clear_4xx_and_nothing_is_half_stored() {
    let s = setup().await;
    let path = format!(
        "/api/{}/envelope/?sentry_key={}&sentry_version=7",
        s.ingest_id, s.key
    );
    let event = |message: &str| {
        format!(
            "{{\"event_id\":\"{}\",\"message\":\"{message}\"}}",
            uuid::Uuid::new_v4().simple()
        )
    };
    let problem = |body: &Value| {
        body["type"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned()
    };

    // (case, path, body, headers, status, problem kind)
    type Case<'a> = (
        &'a str,
        String,
        Vec<u8>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    // Another project's ingest key, sent for this project.
    let other = s.app.project(&s.owner, s.org, "other.errors.example").await;
    let other_key = other["ingest_key"].as_str().unwrap().to_owned();
    let many_items = format!("{{}}\n{}", "{\"type\":\"session\"}\n{}\n".repeat(101));
    // Every input of the bad-input table in docs/errors.md, in its order, and then some.
    let cases: Vec<Case<'_>> = vec![
        (
            "truncated envelope",
            path.clone(),
            b"{\"event_id\":\"ab".to_vec(),
            vec![],
            400,
            "invalid_envelope",
        ),
        (
            "header not a JSON object",
            path.clone(),
            format!("[1]\n{{\"type\":\"event\"}}\n{}", event("x")).into_bytes(),
            vec![],
            400,
            "invalid_envelope",
        ),
        (
            "length that lies",
            path.clone(),
            b"{}\n{\"type\":\"event\",\"length\":500}\n{\"message\":\"x\"}".to_vec(),
            vec![],
            400,
            "invalid_envelope",
        ),
        (
            "more than 100 items",
            path.clone(),
            many_items.into_bytes(),
            vec![],
            400,
            "invalid_envelope",
        ),
        (
            "invalid UTF-8",
            path.clone(),
            [
                b"{}\n{\"type\":\"event\"}\n{\"message\":\"".as_slice(),
                &[0xff, 0xfe],
                b"\"}",
            ]
            .concat(),
            vec![],
            400,
            "invalid_event",
        ),
        (
            "event not JSON",
            path.clone(),
            b"{}\n{\"type\":\"event\"}\nnot json".to_vec(),
            vec![],
            400,
            "invalid_event",
        ),
        (
            "event not an object",
            path.clone(),
            b"{}\n{\"type\":\"event\"}\n[\"message\"]".to_vec(),
            vec![],
            400,
            "invalid_event",
        ),
        (
            "event without content",
            path.clone(),
            b"{}\n{\"type\":\"event\"}\n{\"level\":\"error\"}".to_vec(),
            vec![],
            400,
            "invalid_event",
        ),
        (
            "decompression bomb",
            path.clone(),
            gzip(&vec![b' '; 30 * 1024 * 1024]),
            vec![("content-encoding", "gzip")],
            413,
            "payload_too_large",
        ),
        (
            "body over 1 MiB (a 10 MB stack trace)",
            path.clone(),
            format!(
                "{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"{}\"}}",
                "x".repeat(10 * 1024 * 1024)
            )
            .into_bytes(),
            vec![],
            413,
            "payload_too_large",
        ),
        (
            // Small on the wire and within 4 MiB decompressed, but one event of 2 MiB.
            "event over 1 MiB",
            path.clone(),
            gzip(
                format!(
                    "{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"{}\"}}",
                    "x".repeat(2 * 1024 * 1024)
                )
                .as_bytes(),
            ),
            vec![("content-encoding", "gzip")],
            413,
            "payload_too_large",
        ),
        (
            "unknown encoding",
            path.clone(),
            b"{}".to_vec(),
            vec![("content-encoding", "zstd")],
            415,
            "unsupported_encoding",
        ),
        (
            "corrupt gzip",
            path.clone(),
            b"not gzip".to_vec(),
            vec![("content-encoding", "gzip")],
            400,
            "unreadable_body",
        ),
        (
            "unknown project",
            format!("/api/999999/envelope/?sentry_key={}", s.key),
            b"{}".to_vec(),
            vec![],
            404,
            "unknown_project",
        ),
        (
            "not a project id",
            "/api/abc/envelope/".to_owned(),
            b"{}".to_vec(),
            vec![],
            404,
            "unknown_project",
        ),
        (
            "wrong key",
            format!("/api/{}/envelope/?sentry_key=nope", s.ingest_id),
            b"{}".to_vec(),
            vec![],
            401,
            "invalid_key",
        ),
        (
            "another project's key",
            format!("/api/{}/envelope/?sentry_key={other_key}", s.ingest_id),
            format!("{{}}\n{{\"type\":\"event\"}}\n{}", event("x")).into_bytes(),
            vec![],
            401,
            "invalid_key",
        ),
        (
            "no key",
            format!("/api/{}/envelope/", s.ingest_id),
            b"{}".to_vec(),
            vec![],
            401,
            "missing_key",
        ),
        // A good event next to a bad one: neither is stored.
        (
            "half good",
            path.clone(),
            format!(
                "{{}}\n{{\"type\":\"event\"}}\n{}\n{{\"type\":\"event\"}}\n[1]",
                event("good")
            )
            .into_bytes(),
            vec![],
            400,
            "invalid_event",
        ),
    ];
    for (name, path, body, headers, status, kind) in cases {
        let (got, body, _) = post(&s, &path, body, &headers).await;
        assert_eq!(
            (got, problem(&body).as_str()),
            (status, kind),
            "{name}: {body}"
        );
    }
    assert!(s.issues().await.is_empty(), "nothing was stored");

    // Unknown item types are accepted (and counted), not failed.
    let (status, body, _) = post(&s, &path, b"{}\n{\"type\":\"client_report\"}\n{}\n{\"type\":\"brand_new\"}\n{}\n{\"type\":\"session\"}\n{}".to_vec(), &[]).await;
    assert_eq!((status, body), (200, json!({})));
    // Auth by header, by the envelope's DSN, and the store endpoint; gzip and deflate.
    let auth = format!("Sentry sentry_version=7, sentry_key={}", s.key);
    let (status, _, _) = post(
        &s,
        &format!("/api/{}/envelope/", s.ingest_id),
        gzip(format!("{{}}\n{{\"type\":\"event\"}}\n{}", event("by header")).as_bytes()),
        &[("x-sentry-auth", &auth), ("content-encoding", "gzip")],
    )
    .await;
    assert_eq!(status, 200);
    let dsn_envelope = format!(
        "{{\"dsn\":\"https://{}@beacon.example/{}\"}}\n{{\"type\":\"event\"}}\n{}",
        s.key,
        s.ingest_id,
        event("by dsn")
    );
    let (status, body, _) = post(
        &s,
        &format!("/api/{}/envelope", s.ingest_id),
        dsn_envelope.into_bytes(),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"].as_str().unwrap().len(), 32);
    let (status, body, _) = post(
        &s,
        &format!("/api/{}/store/?sentry_key={}", s.ingest_id, s.key),
        event("by store").into_bytes(),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.issues().await.len(), 3);

    // CORS for browsers: preflight, and the rate-limit headers readable.
    let resp = s
        .app
        .client
        .options(&path)
        .header("origin", "https://shop.example")
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 204);
    let expose = resp
        .0
        .headers()
        .get("access-control-expose-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(expose.contains("x-sentry-rate-limits") && expose.contains("retry-after"));
}

#[tokio::test]
async fn over_its_rate_a_project_tells_sdks_to_back_off() {
    let s = setup().await;
    let (status, _) = s
        .app
        .json(
            &s.owner,
            "PATCH",
            &format!("/api/v1/orgs/{}/projects/{}", s.org, s.project),
            Some(json!({"error_events_per_minute": 2})),
        )
        .await;
    assert_eq!(status, 200);
    let path = format!("/api/{}/envelope/?sentry_key={}", s.ingest_id, s.key);
    let envelope = || {
        format!(
            "{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"m {}\"}}",
            uuid::Uuid::new_v4()
        )
        .into_bytes()
    };
    for _ in 0..2 {
        assert_eq!(post(&s, &path, envelope(), &[]).await.0, 200);
    }
    let (status, body, headers) = post(&s, &path, envelope(), &[]).await;
    assert_eq!(status, 429, "{body}");
    let limits = headers
        .get("x-sentry-rate-limits")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        limits.ends_with(":error;default:project:rate_limited"),
        "{limits}"
    );
    let wait: u64 = limits.split(':').next().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert!(headers.get("retry-after").is_some());
    // Sessions and client reports are never limited.
    let (status, _, _) = post(&s, &path, b"{}\n{\"type\":\"session\"}\n{}".to_vec(), &[]).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_official_browser_sdk_with_uploaded_source_maps_shows_original_lines() {
    let chromium = crate::support::chromium();
    let s = setup().await;
    let port = s.app.listen().await;
    let build = std::env::temp_dir().join(format!("beacon-sdk-{}", uuid::Uuid::new_v4().simple()));
    let script = web_dir().join("errors/test/browser-sdk.mjs");
    let built = Command::new("node")
        .arg(&script)
        .arg("build")
        .arg(&build)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    // The build's files, uploaded as CI would: `beacon sourcemaps upload` with an API key.
    let (_, key) = s.app.api_key(&s.owner, s.org, &["write"]).await;
    let upload = Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args(["sourcemaps", "upload", "--release", "shop-web@1.0.0"])
        .arg(build.join("static"))
        .args(["--url-prefix", "~/static"])
        .env("BEACON_URL", format!("http://127.0.0.1:{port}"))
        .env("BEACON_API_KEY", &key)
        .env("BEACON_ORG", s.org.to_string())
        .env("BEACON_PROJECT", s.project.to_string())
        .output()
        .unwrap();
    let uploaded = String::from_utf8_lossy(&upload.stdout);
    assert!(
        upload.status.success(),
        "{uploaded}{}",
        String::from_utf8_lossy(&upload.stderr)
    );
    assert!(
        uploaded.contains("uploaded ~/static/app.min.js\n")
            && uploaded.contains("uploaded ~/static/app.min.js.map"),
        "{uploaded}"
    );

    let dsn = format!("http://{}@beacon.test:{port}/{}", s.key, s.ingest_id);
    let output = Command::new("node")
        .arg(&script)
        .arg("run")
        .arg(&build)
        .arg(&dsn)
        .env("BEACON_CHROMIUM", &chromium)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&build);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["flushed"], true, "{report}");

    let issues = s.issues().await;
    assert_eq!(issues.len(), 2, "{issues:#?}");
    let s = &s;
    let top_frame = |title: &str| {
        let issue = find(&issues, title)["id"].as_str().unwrap().to_owned();
        let path = format!("{}/{issue}", s.issues_path());
        async move {
            let (status, detail) = s.app.json(&s.owner, "GET", &path, None).await;
            assert_eq!(status, 200, "{detail}");
            let event = detail["latest_event"].clone();
            let exception = event["exceptions"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            let frame = exception["frames"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            (exception, frame)
        }
    };
    // The thrown TypeError: the top frame is checkout.js line 4, with its source around it.
    let (exception, frame) = top_frame("TypeError").await;
    assert!(
        frame["abs_path"].as_str().unwrap().ends_with("checkout.js"),
        "{frame}"
    );
    assert_eq!(frame["lineno"], 4, "{frame}");
    assert!(
        frame["context_line"]
            .as_str()
            .unwrap()
            .contains("item.price.amount"),
        "{frame}"
    );
    assert!(
        frame["minified"]
            .as_str()
            .unwrap()
            .contains("/static/app.min.js:1:"),
        "{frame}"
    );
    assert_eq!(exception["handled"], false);
    // The unhandled rejection: caught by the SDK's global handler, mapped to line 13.
    let (exception, frame) = top_frame("Error: profile service unavailable").await;
    assert!(
        exception["mechanism"]
            .as_str()
            .unwrap()
            .contains("onunhandledrejection"),
        "{exception}"
    );
    assert!(
        frame["abs_path"].as_str().unwrap().ends_with("checkout.js"),
        "{frame}"
    );
    assert_eq!(frame["lineno"], 13, "{frame}");
    assert_eq!(frame["function"], "loadProfile", "{frame}");
    // The browser SDK sends no browser context: Beacon derived it from the user agent.
    let issue = find(&issues, "TypeError")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, detail) = s
        .app
        .json(
            &s.owner,
            "GET",
            &format!("{}/{issue}", s.issues_path()),
            None,
        )
        .await;
    let browser = detail["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "browser")
        .unwrap();
    assert_eq!(browser["values"][0]["value"], "Chrome");
    let contexts = &detail["latest_event"]["contexts"];
    assert_eq!(
        contexts["browser"],
        json!({"name": "Chrome", "version": "156.0.0.0"})
    );
}
