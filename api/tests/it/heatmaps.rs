//! Heatmaps: `/js/replay.js` in Chromium reports clicks on known elements at three viewport
//! widths and known scroll depths, and the API's counts, cells and scroll bands are the known
//! answer; the dashboard draws them over a recording's snapshot; bad reports are refused with
//! nothing stored.

use serde_json::{Value, json};

use crate::support::{As, TestApp, status_and_json};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

async fn report(app: &TestApp, body: Value, agent: &str) -> (u16, Value) {
    let resp = app
        .client
        .post("/api/heatmap")
        .header("user-agent", agent)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .await;
    status_and_json(resp).await
}

fn kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
}

async fn heatmap(app: &TestApp, who: &As, base: &str, device: &str) -> Value {
    let (status, body) = app
        .json(
            who,
            "GET",
            &format!("{base}/heatmap?page=/pricing&device={device}&period=day"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn element<'a>(heatmap: &'a Value, selector: &str) -> &'a Value {
    heatmap["elements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["selector"] == selector)
        .unwrap_or_else(|| panic!("no {selector} in {heatmap}"))
}

/// Shares of the ten scroll bands (10 % … 100 %).
fn bands(heatmap: &Value) -> Vec<f64> {
    heatmap["scroll"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["share"].as_f64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn clicks_and_scrolls_in_chromium_at_three_widths_give_the_known_heatmap() {
    let app = TestApp::new().await;
    let email = "owner@pricing.example";
    let user = app.user(email).await;
    let org = app.org(&user, "Pricing").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "pricing.example").await;
    let project_id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/orgs/{org}/projects/{project_id}");
    // Heatmaps for every visitor, and recordings too (for the snapshot the heatmap is drawn on).
    let (status, body) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"heatmaps_enabled": true, "enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let port = app.listen().await;
    let output = std::process::Command::new("node")
        .arg(crate::support::web_dir().join("tracker/test/heatmap.mjs"))
        .arg(port.to_string())
        .arg("pricing.example")
        .env("BEACON_CHROMIUM", crate::support::chromium())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let run: Value =
        serde_json::from_str(stdout.lines().rev().find(|l| !l.is_empty()).unwrap()).unwrap();
    assert_eq!(run["statuses"], json!([202, 202, 202]), "{run}");

    // Desktop: #buy three times at its centre (the third a rage click), the second nav link
    // once; scrolled to (1500 + 800) / 3000 of the page.
    let desktop = heatmap(&app, &owner, &base, "desktop").await;
    assert_eq!(desktop["clicks"], 4, "{desktop}");
    assert_eq!(desktop["rage_clicks"], 1);
    assert_eq!(desktop["pageviews"], 1);
    let buy = element(&desktop, "#buy");
    assert_eq!(
        (buy["clicks"].as_i64(), buy["rage_clicks"].as_i64()),
        (Some(3), Some(1))
    );
    assert_eq!(element(&desktop, "body>nav>a:nth-of-type(2)")["clicks"], 1);
    let cells: Vec<(String, f64, f64, i64)> = desktop["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["selector"].as_str().unwrap().to_owned(),
                c["x"].as_f64().unwrap(),
                c["y"].as_f64().unwrap(),
                c["clicks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(cells.contains(&("#buy".into(), 0.55, 0.55, 3)), "{cells:?}");
    assert_eq!(
        bands(&desktop),
        [
            100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0, 0.0
        ]
    );
    // Tablet: #buy once at 10 % across, half down (cell 1 of row 5); scrolled to the bottom.
    let tablet = heatmap(&app, &owner, &base, "tablet").await;
    assert_eq!(tablet["clicks"], 1, "{tablet}");
    assert_eq!(tablet["cells"][0]["selector"], "#buy");
    assert_eq!(
        (
            tablet["cells"][0]["x"].as_f64(),
            tablet["cells"][0]["y"].as_f64()
        ),
        (Some(0.15), Some(0.55))
    );
    assert_eq!(bands(&tablet), [100.0; 10]);
    // Phone: the second div's paragraph twice, 1.5 s apart (no rage); no scroll (800 / 3000).
    let phone = heatmap(&app, &owner, &base, "phone").await;
    let paragraph = element(&phone, "body>main>div:nth-of-type(2)>p");
    assert_eq!(
        (
            paragraph["clicks"].as_i64(),
            paragraph["rage_clicks"].as_i64()
        ),
        (Some(2), Some(0))
    );
    assert_eq!(phone["clicks"], 2);
    assert_eq!(
        bands(&phone),
        [100.0, 100.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    );

    let (status, pages) = app
        .json(
            &owner,
            "GET",
            &format!("{base}/heatmap/pages?period=day"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{pages}");
    assert_eq!(
        pages,
        json!([{"page": "/pricing", "clicks": 7, "pageviews": 3}])
    );

    // The dashboard draws the desktop clicks over the recorded page.
    assert!(
        desktop["snapshot"].is_object(),
        "a desktop recording of /pricing: {desktop}"
    );
    let journey = crate::support::run_journey(
        "heatmap.mjs",
        port,
        &std::env::temp_dir(),
        &[
            email.to_owned(),
            crate::support::PASSWORD.to_owned(),
            org.to_string(),
            project_id.clone(),
            "/pricing".to_owned(),
        ],
    );
    assert_eq!(journey["snapshot"], true, "{journey}");
    let points = journey["points"].as_array().unwrap();
    let buy_points: i64 = points
        .iter()
        .filter(|p| p["selector"] == "#buy")
        .map(|p| p["clicks"].as_i64().unwrap())
        .sum();
    assert_eq!(buy_points, 3, "{journey}");
    assert_eq!(journey["csp_errors"], 0, "{journey}");
}

#[tokio::test]
async fn bad_reports_are_refused_whole_and_a_returning_visitor_counts_once() {
    let app = TestApp::new().await;
    let user = app.user("owner@heat.example").await;
    let org = app.org(&user, "Heat").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "heat.example").await;
    let base = format!(
        "/api/v1/orgs/{org}/projects/{}",
        project["id"].as_str().unwrap()
    );
    let good = json!({"d": "heat.example", "p": "/pricing", "w": "desktop",
                      "c": [["#buy", 0.5, 0.5, 0]], "s": 0.35});
    // Off by default.
    let (status, body) = report(&app, good.clone(), CHROME).await;
    assert_eq!((status, kind(&body)), (403, "heatmaps_disabled"), "{body}");
    let (status, body) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/replay-settings"),
            Some(json!({"heatmaps_enabled": true})),
        )
        .await;
    assert_eq!(
        (status, &body["heatmaps_enabled"]),
        (200, &json!(true)),
        "{body}"
    );
    let (_, config) = status_and_json(
        app.client
            .get("/api/replay/config?d=heat.example")
            .send()
            .await,
    )
    .await;
    assert_eq!(
        (config["heatmaps"].as_bool(), config["enabled"].as_bool()),
        (Some(true), Some(false))
    );

    for (body, status, expected) in [
        (
            json!({"d": "heat.example", "p": "/x", "w": "desktop", "c": [["#a", 1.5, 0, 0]]}),
            400,
            "invalid_heatmap",
        ),
        (
            json!({"d": "heat.example", "p": "/x", "w": "watch", "s": 0.5}),
            400,
            "invalid_heatmap",
        ),
        (
            json!({"d": "heat.example", "p": "/x", "w": "desktop", "c": [["#a", 0.5, 0.5, 0], ["x{}", 0, 0, 0]]}),
            400,
            "invalid_heatmap",
        ),
        (
            json!({"d": "nowhere.example", "p": "/x", "w": "desktop", "s": 0.5}),
            400,
            "unknown_domain",
        ),
        (
            json!({"p": "/x", "w": "desktop", "s": 0.5}),
            400,
            "invalid_domain",
        ),
    ] {
        let (got, answer) = report(&app, body.clone(), CHROME).await;
        assert_eq!((got, kind(&answer)), (status, expected), "{body}: {answer}");
    }
    let resp = app
        .client
        .post("/api/heatmap")
        .header("user-agent", CHROME)
        .header("content-type", "text/plain")
        .body("{not json")
        .send()
        .await;
    assert_eq!(status_and_json(resp).await.0, 400);
    // A bot's report is dropped.
    let (status, body) = report(&app, good.clone(), "curl/8.5.0").await;
    assert_eq!((status, &body["stored"]), (202, &json!(false)), "{body}");
    let rows = app.tenant_rows(org).await;
    assert!(
        rows["heatmap_clicks"].is_empty() && rows["heatmap_scroll"].is_empty(),
        "nothing stored"
    );

    // The control: stored. Then the same pageview's follow-up (the visitor came back and
    // scrolled further): one pageview, each band once.
    let (status, body) = report(&app, good.clone(), CHROME).await;
    assert_eq!((status, &body["stored"]), (202, &json!(true)), "{body}");
    let follow_up =
        json!({"d": "heat.example", "p": "/pricing", "w": "desktop", "c": [], "s": 0.8, "r": 0.35});
    let (status, body) = report(&app, follow_up, CHROME).await;
    assert_eq!(status, 202, "{body}");
    let map = heatmap(&app, &owner, &base, "desktop").await;
    assert_eq!(map["pageviews"], 1, "{map}");
    assert_eq!(
        bands(&map),
        [
            100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0.0, 0.0
        ]
    );
    assert_eq!(map["clicks"], 1);
    assert_eq!(map["snapshot"], Value::Null, "no recording");
    // A second pageview reaching 20 %: half of the pageviews reach 30 %.
    let (status, _) = report(
        &app,
        json!({"d": "heat.example", "p": "/pricing", "w": "desktop", "s": 0.2}),
        CHROME,
    )
    .await;
    assert_eq!(status, 202);
    let map = heatmap(&app, &owner, &base, "desktop").await;
    assert_eq!(map["pageviews"], 2);
    assert_eq!(bands(&map)[..3], [100.0, 100.0, 50.0]);
    // Other width classes saw nothing.
    assert_eq!(heatmap(&app, &owner, &base, "phone").await["pageviews"], 0);
}
