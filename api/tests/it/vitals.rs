//! Core Web Vitals with Google's web-vitals in Chromium, through `/js/vitals.js`, into
//! `POST /api/vitals`; then the percentiles and ratings the API answers; and bad input.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::web_dir;
use crate::support::{As, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn google_web_vitals_in_chromium_are_stored_and_summarized() {
    let chromium = crate::support::chromium();
    let app = TestApp::new().await;
    let user = app.user("owner@vitals.example").await;
    let org = app.org(&user, "Vitals Inc").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "vitals.example").await;
    let project = project["id"].as_str().unwrap().to_owned();
    let port = app.listen().await;

    let output = Command::new("node")
        .arg(web_dir().join("tracker/test/vitals.mjs"))
        .arg(port.to_string())
        .arg("vitals.example")
        .env("BEACON_CHROMIUM", &chromium)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["statuses"][0], 202, "{report}");
    let sent: Vec<&str> = report["body"]["m"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["n"].as_str().unwrap())
        .collect();
    for metric in ["LCP", "CLS", "FCP", "TTFB", "INP"] {
        assert!(sent.contains(&metric), "{metric} not sent: {report}");
    }

    let summary = |metric: &str, group: &str| {
        let path = format!(
            "/api/v1/orgs/{org}/projects/{project}/vitals?metric={metric}&group={group}&period=day"
        );
        let app = &app;
        let owner = &owner;
        async move {
            let (status, body) = app.json(owner, "GET", &path, None).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    for metric in ["LCP", "CLS", "FCP", "TTFB", "INP"] {
        let body = summary(metric, "page").await;
        assert_eq!(body["rows"][0]["key"], "/article", "{metric}: {body}");
        assert_eq!(body["rows"][0]["samples"], 1, "{metric}: {body}");
        let p75 = body["total"]["p75"].as_f64().unwrap();
        assert!(p75 >= 0.0);
        let shares =
            ["good", "needs_improvement", "poor"].map(|k| body["total"][k].as_f64().unwrap());
        assert_eq!(shares.iter().sum::<f64>(), 100.0, "{body}");
    }
    // The layout shift and the slow click were measured.
    assert!(
        summary("CLS", "page").await["total"]["p75"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        summary("INP", "page").await["total"]["p75"]
            .as_f64()
            .unwrap()
            >= 200.0
    );
    assert_eq!(summary("LCP", "device").await["rows"][0]["key"], "desktop");
    let by_day = summary("TTFB", "day").await;
    assert_eq!(by_day["rows"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn vitals_are_rated_by_google_thresholds_and_bad_input_is_refused() {
    let app = TestApp::new().await;
    let user = app.user("owner@rated.example").await;
    let org = app.org(&user, "Rated").await;
    let owner = As::User(user);
    let project = app.project(&owner, org, "rated.example").await;
    let project = project["id"].as_str().unwrap().to_owned();
    let send = |body: Value| {
        let client = &app.client;
        async move {
            let resp = client
                .post("/api/vitals")
                .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
                .header("content-type", "text/plain")
                .body(body.to_string())
                .send()
                .await;
            crate::support::status_and_json(resp).await
        }
    };
    // Boundaries count as good; the server rates, whatever the client said.
    let (status, body) = send(
        json!({"d": "rated.example", "u": "https://rated.example/a", "m": [
            {"n": "LCP", "v": 2500, "r": "poor"}, {"n": "LCP", "v": 2501}, {"n": "LCP", "v": 4001},
            {"n": "CLS", "v": 0.1}, {"n": "CLS", "v": 0.3}
        ]}),
    )
    .await;
    assert_eq!(
        (status, body["accepted"].as_i64()),
        (202, Some(5)),
        "{body}"
    );
    let (_, lcp) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{project}/vitals?metric=LCP&period=day"),
            None,
        )
        .await;
    assert_eq!(lcp["total"]["samples"], 3);
    assert_eq!(lcp["total"]["p50"], 2501.0);
    assert_eq!(
        [
            lcp["total"]["good"].clone(),
            lcp["total"]["needs_improvement"].clone(),
            lcp["total"]["poor"].clone()
        ],
        [json!(33.3), json!(33.3), json!(33.3)]
    );
    assert_eq!(
        (lcp["good_up_to"].clone(), lcp["poor_above"].clone()),
        (json!(2500.0), json!(4000.0))
    );

    for (body, kind) in [
        (
            json!({"u": "https://rated.example/", "m": [{"n": "LCP", "v": 1}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "ftp://x", "m": [{"n": "LCP", "v": 1}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": []}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "FID", "v": 1}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "CLS", "v": -1}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "LCP", "v": 1e12}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "nobody.example", "u": "https://nobody.example/", "m": [{"n": "LCP", "v": 1}]}),
            "unknown_domain",
        ),
        // PostgreSQL cannot store U+0000: refused with a reason, not a 500.
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "LCP", "v": 1, "a": {"element\u{0}": "img"}}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "LCP", "v": 1, "a": {"element": "img\u{0}"}}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "rated.example", "u": "https://rated.example/", "m": [{"n": "LCP", "v": 1, "t": "navigate\u{0}"}]}),
            "invalid_vitals",
        ),
        (
            json!({"d": "x".repeat(60_000), "u": "https://rated.example/", "m": [{"n": "LCP", "v": 1}]}),
            "invalid_domain",
        ),
    ] {
        let (status, problem) = send(body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(
            problem["type"].as_str().unwrap().ends_with(kind),
            "{body}: {problem}"
        );
    }
    // A bad sample refuses the whole request: nothing more was stored.
    let (_, lcp) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{project}/vitals?metric=LCP&period=day"),
            None,
        )
        .await;
    assert_eq!(lcp["total"]["samples"], 3);
}
