//! The tracker: how `/js/…` serves it (size budget, caching, versions), and the real script
//! in headless Chromium sending pageviews, SPA and hash navigation, custom events, tagged
//! elements, downloads and outbound links across origins to a running `beacon serve`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{Nullable, Text};
use tenant::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::cli::{DataDir, free_port, seed, serve};
use crate::support::web_dir;
use crate::support::{As, TestApp};

/// The core script's budget, gzipped, as served.
const CORE_BUDGET: usize = 1000;

#[tokio::test]
async fn core_script_is_served_gzipped_within_budget_and_cached() {
    let app = TestApp::new().await;
    let resp = app
        .client
        .get("/js/script.js")
        .header("accept-encoding", "gzip, br")
        .send()
        .await;
    resp.assert_status_is_ok();
    let headers = resp.0.headers().clone();
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(
        headers["content-type"],
        "application/javascript; charset=utf-8"
    );
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=86400")
    );
    let gzipped = resp.0.into_body().into_vec().await.unwrap();
    assert!(
        gzipped.len() <= CORE_BUDGET,
        "script.js is {} bytes gzipped, over the {CORE_BUDGET}-byte budget",
        gzipped.len()
    );
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert!(plain.contains("/api/event") && plain.contains("pageview"));
    eprintln!(
        "script.js: {} bytes, {} gzipped",
        plain.len(),
        gzipped.len()
    );

    // Without gzip: the same script, uncompressed. With the ETag: 304.
    let resp = app.client.get("/js/script.js").send().await;
    resp.assert_status_is_ok();
    let etag = resp.0.headers()["etag"].to_str().unwrap().to_owned();
    assert!(resp.0.headers().get("content-encoding").is_none());
    assert_eq!(resp.0.into_body().into_string().await.unwrap(), plain);
    let resp = app
        .client
        .get("/js/script.js")
        .header("if-none-match", &etag)
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::NOT_MODIFIED);

    // The versioned URL is immutable; modes in any order name the same file.
    let version = api::tracker::version();
    let resp = app
        .client
        .get(format!("/js/v/{version}/script.hash.outbound-links.js"))
        .send()
        .await;
    resp.assert_status_is_ok();
    assert!(
        resp.0.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let versioned = resp.0.into_body().into_string().await.unwrap();
    let resp = app
        .client
        .get("/js/script.outbound-links.hash.js")
        .send()
        .await;
    assert_eq!(resp.0.into_body().into_string().await.unwrap(), versioned);
    assert_ne!(versioned, plain);

    // Each encoding has its own ETag: the plain tag does not validate the gzip copy.
    let resp = app
        .client
        .get("/js/script.js")
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_ne!(resp.0.headers()["etag"].to_str().unwrap(), etag);

    // An old version is redirected to the current one; unknown names are 404 problems.
    let resp = app
        .client
        .get("/js/v/000000000000/script.hash.js")
        .send()
        .await;
    resp.assert_status(poem::http::StatusCode::FOUND);
    assert_eq!(
        resp.0.headers()["location"],
        format!("/js/v/{version}/script.hash.js").as_str()
    );
    for path in [
        "/js/v/000000000000/script.bogus.js".to_owned(),
        "/js/script.bogus.js".to_owned(),
        "/js/script.hash.hash.js".to_owned(),
    ] {
        let (status, body) = app.json(&As::Nobody, "GET", &path, None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["type"], "https://beacon.dev/problems/not_found");
    }
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Stored {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    hostname: String,
    #[diesel(sql_type = Text)]
    pathname: String,
    #[diesel(sql_type = Text)]
    props: String,
    #[diesel(sql_type = Nullable<Text>)]
    revenue: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    utm_source: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    browser: Option<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn tracker_in_chromium_sends_every_kind_of_event_across_origins() {
    let chromium = crate::support::chromium();
    assert!(
        web_dir().join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci --prefix web` (scripts/test does)"
    );
    let data = DataDir::new();
    let port = free_port();
    let (mut server, _) = serve(&data.0, port);
    seed(
        &data.0,
        &["--domain", "shop.example", "--email", "shop@example.com"],
    );

    // The script prints its report, then keeps Chromium open until its stdin closes: the
    // outbound link's request outlives its page, so only the stored rows show it has arrived.
    let mut browser = Command::new("node")
        .arg(web_dir().join("tracker/test/browser.mjs"))
        .arg(port.to_string())
        .env("BEACON_CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = browser.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let Ok(report) = serde_json::from_str::<Value>(line.trim()) else {
        let output = browser.wait_with_output().unwrap();
        panic!(
            "browser script failed ({}):\n{line}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    // The queued event's callback saw the answer: CORS let the page read it.
    assert_eq!(report["queued"]["status"], 202, "{report}");
    assert_eq!(report["optout"]["ignored"], "opted out", "{report}");
    assert_eq!(report["local"]["ignored"], "localhost", "{report}");

    let url = format!(
        "postgres://beacon@localhost/beacon?host={}",
        data.0.join("run").display()
    );
    let mut db = AsyncPgConnection::establish(&url).await.unwrap();
    let query = "SELECT name, hostname, pathname, props::text AS props, \
                 revenue_amount::text || ' ' || revenue_currency AS revenue, utm_source, browser \
                 FROM events WHERE hostname <> 'demo.example' ORDER BY ts, name";
    let deadline = Instant::now() + Duration::from_secs(10);
    let stored: Vec<Stored> = loop {
        let stored: Vec<Stored> = tenant::diesel::sql_query(query)
            .load(&mut db)
            .await
            .unwrap();
        if stored.len() >= 8 || Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(browser.stdin.take());
    let output = browser.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "browser script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Vec<(String, String, String)> = stored
        .iter()
        .map(|e| (e.name.clone(), e.pathname.clone(), e.props.clone()))
        .collect();
    let has = |name: &str, path: &str| {
        stored
            .iter()
            .filter(|e| e.name == name && e.pathname == path)
            .count()
    };
    assert_eq!(has("pageview", "/landing"), 1, "{summary:#?}");
    assert_eq!(has("Signup", "/landing"), 1, "{summary:#?}");
    assert_eq!(has("pageview", "/pricing"), 1, "{summary:#?}");
    assert_eq!(has("Newsletter Signup", "/pricing"), 1, "{summary:#?}");
    assert_eq!(has("File Download", "/pricing"), 1, "{summary:#?}");
    assert_eq!(has("Outbound Link: Click", "/pricing"), 1, "{summary:#?}");
    assert_eq!(has("pageview", "/hash#/one"), 1, "{summary:#?}");
    assert_eq!(has("pageview", "/hash#/two"), 1, "{summary:#?}");
    assert_eq!(
        stored.len(),
        8,
        "nothing else (opt-out, localhost): {summary:#?}"
    );

    let find = |name: &str| stored.iter().find(|e| e.name == name).unwrap();
    let signup = find("Signup");
    assert_eq!(signup.props, r#"{"plan": "pro"}"#);
    assert_eq!(signup.revenue.as_deref(), Some("19.9900 EUR"));
    assert_eq!(signup.utm_source.as_deref(), Some("newsletter"));
    assert_eq!(find("Newsletter Signup").props, r#"{"position": "footer"}"#);
    let download: Value = serde_json::from_str(&find("File Download").props).unwrap();
    let download = download["url"].as_str().unwrap();
    assert!(
        download.starts_with("http://shop.example:") && download.ends_with("/files/report.pdf"),
        "the query string (a token) is not sent: {download}"
    );
    let outbound: Value = serde_json::from_str(&find("Outbound Link: Click").props).unwrap();
    assert!(
        outbound["url"]
            .as_str()
            .unwrap()
            .starts_with("http://elsewhere.example:")
    );
    for event in &stored {
        assert_eq!(event.hostname, "shop.example");
        assert_eq!(event.browser.as_deref(), Some("Chrome"));
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
