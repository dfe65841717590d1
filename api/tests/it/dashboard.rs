//! The web dashboard end to end: real `beacon serve` (its own PostgreSQL, its job workers
//! sending e-mail to a real SMTP server), the real tracker, and the dashboard in Debian's
//! Chromium driven by `web/dashboard/e2e/dashboard.mjs`. Also what the server does for the
//! dashboard's files: client routes get `index.html`, hashed assets are immutable.

use std::path::PathBuf;

use serde_json::Value;
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::{BigInt, Text};
use tenant::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::cli::{DataDir, free_port, serve_with};
use crate::support::{SmtpServer, run_journey};

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn signup_tracking_filters_and_a_viewer_in_chromium() {
    let smtp = SmtpServer::start();
    let data = DataDir::new();
    let port = free_port();
    let public_url = format!("http://beacon.test:{port}");
    let smtp_url = smtp.url();
    let (mut server, _) = serve_with(
        &data.0,
        port,
        &[
            ("BEACON_SMTP_URL", &smtp_url),
            ("BEACON_PUBLIC_URL", &public_url),
        ],
    );
    // Emptied of earlier runs' screenshots by the script, so those checked below are this run's.
    let report = run_journey("dashboard.mjs", port, smtp.maildir(), &[]);
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");

    // The tracker's event was accepted, and the setup page's snippet names the project.
    assert_eq!(report["trackerStatus"], 202);
    let snippet = report["snippet"].as_str().unwrap();
    assert!(
        snippet.contains(r#"data-domain="shop.example""#),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!("{public_url}/js/script.js")),
        "{snippet}"
    );
    // The dashboard showed one visitor with one pageview, the page, the source and the event.
    assert_eq!(report["secondStatus"], 202);
    assert_eq!(report["visitors"], "2");
    assert_eq!(report["pageviews"], "2");
    assert!(report["eventRow"].as_str().unwrap().starts_with("Signup"));
    // One visit came from the newsletter campaign, the other had no referrer: Plausible's
    // "Direct / None".
    let sources: Vec<&str> = report["sourceRows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(
        sources.iter().any(|row| row.starts_with("newsletter")),
        "{sources:?}"
    );
    assert!(
        sources.iter().any(|row| row.starts_with("Direct / None")),
        "{sources:?}"
    );
    // The goal made from the custom event converted one of the two visitors.
    let goal = report["goalRow"].as_str().unwrap();
    assert!(
        goal.contains("event Signup") && goal.contains("50%"),
        "{goal}"
    );
    // The filter lived in the URL, survived a reload, and went away again.
    let filtered = report["filteredUrl"].as_str().unwrap();
    assert!(filtered.contains("f.event%3Apage=%2Flanding"), "{filtered}");
    assert_eq!(report["visitorsFiltered"], "1");
    assert!(!report["unfilteredUrl"].as_str().unwrap().contains("f."));
    assert_eq!(report["firstTab"], "Skip to content");
    // An error sent the way Sentry SDKs send it became an issue with its stack, then resolved.
    assert_eq!(report["sentryStatus"], 200);
    assert_eq!(report["issueCulprit"], 1);
    assert_eq!(report["issueStatus"], "resolved");
    // axe-core finds no WCAG 2.1 A/AA violation (contrast included) on the audited screens,
    // in both themes and at both widths.
    let audits = report["a11y"].as_object().unwrap();
    let mut audited: Vec<&str> = audits.keys().map(String::as_str).collect();
    audited.sort_unstable();
    assert_eq!(
        audited,
        [
            "dashboard-1280-dark",
            "dashboard-1280-light",
            "dashboard-375-dark",
            "dashboard-375-light",
            "goals",
            "issue",
            "login",
            "members",
            "setup",
            "vitals"
        ]
    );
    for (screen, violations) in audits {
        assert_eq!(violations, &Value::Array(vec![]), "{screen}");
    }
    assert_eq!(report["horizontalOverflowAt375"], false);
    // The viewer sees the numbers and none of the controls they cannot use.
    let viewer = &report["viewer"];
    assert_eq!(viewer["sees"], "2");
    assert_eq!(
        viewer["cspViolations"],
        serde_json::json!([]),
        "the page works under its CSP"
    );
    // The same locators on the same pages find each control for the owner, so a control that
    // is renamed or moved fails here instead of passing the viewer's absence check.
    let guarded = [
        "newProjectForm",
        "apiKeysLink",
        "settingsTab",
        "addGoal",
        "issueActions",
        "inviteForm",
        "roleSelects",
        "settingsForm",
    ];
    let owner = report["owner"].as_object().unwrap();
    let mut counted: Vec<&str> = owner.keys().map(String::as_str).collect();
    counted.sort_unstable();
    let mut expected = guarded.to_vec();
    expected.sort_unstable();
    assert_eq!(
        counted, expected,
        "the script counts the controls this test checks"
    );
    for control in guarded {
        assert!(
            owner[control].as_u64().is_some_and(|n| n >= 1),
            "the owner does not see {control}, so the viewer's absence of it proves nothing: {owner:?}"
        );
        assert_eq!(viewer[control], 0, "a viewer sees {control}");
    }
    assert_eq!(viewer["patchStatus"], 403);
    for width in [1280, 375] {
        for scheme in ["light", "dark"] {
            let shot = shots.join(format!("dashboard-{width}-{scheme}.png"));
            assert!(
                std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
                "{}",
                shot.display()
            );
        }
    }

    // What the browsers sent is what Beacon stored: two pageviews and one Signup.
    let url = format!(
        "postgres://beacon@localhost/beacon?host={}",
        data.0.join("run").display()
    );
    let mut db = AsyncPgConnection::establish(&url).await.unwrap();
    let counts: Vec<Count> = tenant::diesel::sql_query(
        "SELECT name, count(*) AS n FROM events WHERE hostname = 'shop.example' \
         GROUP BY name ORDER BY name",
    )
    .load(&mut db)
    .await
    .unwrap();
    let counts: Vec<(String, i64)> = counts.into_iter().map(|c| (c.name, c.n)).collect();
    assert_eq!(
        counts,
        [("Signup".to_owned(), 1), ("pageview".to_owned(), 2)]
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

/// The server side of the dashboard, without a browser: which requests get the page, which
/// never do, and how files are cached.
#[tokio::test]
async fn pages_get_index_html_and_server_paths_never_do() {
    let app = crate::support::TestApp::new().await;
    let page = |path: &'static str| {
        app.client
            .get(path)
            .header("accept", "text/html,application/xhtml+xml")
            .send()
    };
    // A client route: the page, revalidated every time, under a strict policy.
    let resp = page("/orgs/some/projects/thing?period=7d").await;
    assert_eq!(resp.0.status().as_u16(), 200);
    let headers = resp.0.headers().clone();
    assert_eq!(headers["cache-control"], "no-cache");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The replay player's page alone allows inline styles (the recorded page's), never inline
    // scripts; its list page does not.
    let player = page("/orgs/some/projects/thing/replays/a1b2").await;
    let player_csp = player.0.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        player_csp.contains("style-src 'self' 'unsafe-inline';"),
        "{player_csp}"
    );
    assert!(player_csp.contains("script-src 'self';"), "{player_csp}");
    let heatmaps = page("/orgs/some/projects/thing/heatmaps?page=/x").await;
    let heatmaps_csp = heatmaps.0.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        heatmaps_csp, player_csp,
        "the heatmaps page draws over a recorded page too"
    );
    assert!(player_csp.contains("img-src 'self' data:;"), "{player_csp}");
    for path in [
        "/orgs/some/projects/thing/replays",
        "/orgs/some/projects/thing/replays/a/b",
        "/orgs/some/projects/thing/heatmaps/x",
    ] {
        let other = page(path).await;
        let policy = other.0.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
    }
    let html = resp.0.into_body().into_string().await.unwrap();
    assert!(html.contains("<div id=\"root\">"));
    let asset = html
        .split('"')
        .find(|part| part.starts_with("/assets/") && part.ends_with(".js"))
        .expect("the page names its script")
        .to_owned();
    // Server paths are never the page, even for a browser asking for HTML.
    for path in ["/api/v1/nope", "/js/nope.js", "/healthz"] {
        let resp = page(path).await;
        let content_type = resp.0.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            !content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
    }
    // A hashed asset: immutable, gzipped when accepted, 304 when unchanged.
    let resp = app
        .client
        .get(&asset)
        .header("accept-encoding", "gzip")
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 200);
    assert_eq!(
        resp.0.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(resp.0.headers()["content-encoding"], "gzip");
    let etag = resp.0.headers()["etag"].to_str().unwrap().to_owned();
    let resp = app
        .client
        .get(&asset)
        .header("accept-encoding", "gzip")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 304);
    let resp = app.client.head(&asset).send().await;
    assert_eq!(resp.0.status().as_u16(), 200);
    // Not a page and not a file: the API's 404.
    let resp = app
        .client
        .get("/nothing.json")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(resp.0.status().as_u16(), 404);
    assert_eq!(resp.0.headers()["content-type"], "application/problem+json");
}
