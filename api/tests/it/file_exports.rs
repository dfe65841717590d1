//! File exports through the API: every row of a Stats API query as CSV and JSON (the same
//! numbers as `POST /api/v2/query`, past its page limit), the error issues with times in the
//! project's time zone, and the ZIP of every breakdown; each export audited, and none reaching
//! another organization's project.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::alerts::pageviews_of as views;
use crate::support::{As, TestApp, assert_problem};

/// Status, headers and body text of a request.
async fn fetch(
    app: &TestApp,
    who: &As,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, poem::http::HeaderMap, Vec<u8>) {
    let resp = app.call(who, method, path, body).await;
    let status = resp.0.status().as_u16();
    let headers = resp.0.headers().clone();
    let bytes = resp.0.into_body().into_vec().await.unwrap();
    (status, headers, bytes)
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[tokio::test]
async fn every_row_of_a_query_as_csv_and_json_with_the_apis_numbers() {
    let app = TestApp::new().await;
    let owner = app.user("owner@files.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Files").await;
    app.project(&who, org, "files.example").await;
    app.set_now(at("2026-11-20T10:00:00Z"));
    // 15 pages (more than the request's page of 10), one with a comma and a formula-like name.
    for i in 0..14 {
        views(&app, "files.example", &format!("/p{i:02}"), 1 + i % 3).await;
    }
    views(&app, "files.example", "/a,b=c", 4).await;
    let query = json!({
        "site_id": "files.example", "metrics": ["visitors", "pageviews"],
        "dimensions": ["event:page"], "date_range": ["2026-11-01", "2026-11-30"],
        "pagination": {"limit": 10},
    });
    let (status, headers, csv) = fetch(
        &app,
        &who,
        "POST",
        "/api/v2/query/export?format=csv",
        Some(query.clone()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"files.example-2026-11-01-2026-11-30.csv\""
    );
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "event:page,visitors,pageviews");
    assert_eq!(
        lines.len(),
        16,
        "a header and all 15 pages, past the page of 10: {csv}"
    );
    assert!(lines.contains(&"\"/a,b=c\",4,4"), "{csv}");

    // The same rows and numbers as the Stats API's answer.
    let mut all = query.clone();
    all["pagination"] = json!({"limit": 100});
    let (status, answer) = app.json(&who, "POST", "/api/v2/query", Some(all)).await;
    assert_eq!(status, 200);
    let expected: Vec<String> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let page = row["dimensions"][0].as_str().unwrap();
            let page = tenant::csv::field(page);
            format!("{page},{},{}", row["metrics"][0], row["metrics"][1])
        })
        .collect();
    assert_eq!(lines[1..].to_vec(), expected);

    let (status, headers, json) = fetch(
        &app,
        &who,
        "POST",
        "/api/v2/query/export?format=json",
        Some(query),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    let json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["results"], answer["results"]);
    assert_eq!(json["timezone"], "Europe/Berlin");
    assert_eq!(
        (json["rows"].clone(), json["complete"].clone()),
        (json!(15), json!(true))
    );

    // Past the API's largest page (10,000): 12,000 more pages, written as the ingest would.
    {
        use tenant::diesel_async::SimpleAsyncConnection;
        let mut owner_conn = app.owner_conn().await;
        owner_conn
            .batch_execute(&format!(
                "BEGIN; SELECT set_config('app.org_id', '{org}', true); \
                 INSERT INTO events (org_id, project_id, ts, event_id, name, visitor_id, hostname, \
                   pathname, browser, os, device, country, interactive) \
                 SELECT p.org_id, p.project_id, '2026-11-21T10:00:00Z'::timestamptz, gen_random_uuid(), \
                   'pageview', 1000 + i, 'files.example', '/many/' || i, 'Chrome', 'Linux', \
                   'desktop', 'DE', true \
                 FROM generate_series(1, 12000) AS i, projects p WHERE p.org_id = '{org}'; COMMIT"
            ))
            .await
            .unwrap();
    }
    let every = json!({"site_id": "files.example", "metrics": ["visitors"],
                       "dimensions": ["event:page"], "date_range": ["2026-11-01", "2026-11-30"]});
    let (status, _, csv) = fetch(
        &app,
        &who,
        "POST",
        "/api/v2/query/export?format=csv",
        Some(every),
    )
    .await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 15 + 12_000);
    assert!(csv.contains("\n/many/11999,1\n"));

    // Bad queries are refused before anything is streamed; another organization's member
    // finds no such site.
    let bad = json!({"site_id": "files.example", "metrics": ["money"], "date_range": "7d"});
    assert_problem(
        app.call(&who, "POST", "/api/v2/query/export?format=csv", Some(bad))
            .await,
        400,
        "invalid_metric",
    )
    .await;
    let stranger = app.user("stranger@files.test").await;
    app.org(&stranger, "Elsewhere").await;
    let theirs = json!({"site_id": "files.example", "metrics": ["visitors"], "date_range": "7d"});
    assert_problem(
        app.call(
            &As::User(stranger),
            "POST",
            "/api/v2/query/export?format=csv",
            Some(theirs),
        )
        .await,
        404,
        "not_found",
    )
    .await;

    // Recorded: who exported what.
    let (_, records) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=stats.exported"),
            None,
        )
        .await;
    let items = records["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{records}");
    assert_eq!(
        items[0]["changes"]["dimensions"]["after"],
        json!(["event:page"])
    );
}

#[tokio::test]
async fn issues_export_with_times_in_the_projects_zone_and_the_breakdowns_zip() {
    let app = TestApp::new().await;
    let owner = app.user("owner@zip.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Zip").await;
    let project = app.project(&who, org, "zip.example").await;
    let p = project["id"].as_str().unwrap();
    let store = format!(
        "/api/{}/store/?sentry_key={}",
        project["ingest_id"],
        project["ingest_key"].as_str().unwrap()
    );
    // Two issues: one in summer time (+02:00), one in winter time (+01:00).
    // (Sentry timestamps older than the ingest window are moved to the arrival time, so both
    // are recent; the summer-time offset is checked on the SQL function below.)
    for (title, ts) in [
        ("summer, bug", "2026-11-19T10:00:00Z"),
        ("winter", "2026-11-20T10:00:00Z"),
    ] {
        app.set_now(at(ts));
        let body = json!({
            "event_id": uuid::Uuid::new_v4().simple().to_string(),
            "timestamp": at(ts).timestamp(), "level": "error",
            "exception": {"values": [{"type": "Error", "value": title}]},
        });
        let resp = app
            .client
            .post(&store)
            .content_type("application/json")
            .body(body.to_string())
            .send()
            .await;
        assert_eq!(resp.0.status().as_u16(), 200);
    }
    let base = format!("/api/v1/orgs/{org}/projects/{p}");
    let (status, _, csv) = fetch(
        &app,
        &who,
        "GET",
        &format!("{base}/issues/export?format=csv"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.starts_with("issue_id,title,culprit,level,status,first_seen,"),
        "{csv}"
    );
    assert!(csv.contains("\"Error: summer, bug\""), "{csv}");
    assert!(csv.contains(",2026-11-19T11:00:00+01:00,"), "{csv}");
    assert!(csv.contains(",2026-11-20T11:00:00+01:00,"), "{csv}");
    assert_eq!(csv.lines().count(), 3);
    {
        use tenant::diesel::QueryableByName;
        use tenant::diesel_async::RunQueryDsl;
        #[derive(QueryableByName)]
        struct Shown {
            #[diesel(sql_type = tenant::diesel::sql_types::Text)]
            summer: String,
            #[diesel(sql_type = tenant::diesel::sql_types::Text)]
            fallback: String,
        }
        let shown: Shown = tenant::diesel::sql_query(
            "SELECT beacon_local_iso('2026-07-01T10:00:00Z', 'Europe/Berlin') AS summer, \
                    beacon_local_iso('2026-10-25T01:30:00Z', 'Europe/Berlin') AS fallback",
        )
        .get_result(&mut app.owner_conn().await)
        .await
        .unwrap();
        assert_eq!(shown.summer, "2026-07-01T12:00:00+02:00");
        // The hour that happens twice: the second time, an hour after 00:30 UTC.
        assert_eq!(shown.fallback, "2026-10-25T02:30:00+01:00");
    }
    let (_, _, json) = fetch(
        &app,
        &who,
        "GET",
        &format!("{base}/issues/export?format=json&status=unresolved"),
        None,
    )
    .await;
    let json: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["timezone"], "Europe/Berlin");
    assert_eq!(json["issues"].as_array().unwrap().len(), 2, "{json}");
    let (_, _, none) = fetch(
        &app,
        &who,
        "GET",
        &format!("{base}/issues/export?format=json&status=resolved"),
        None,
    )
    .await;
    let none: Value = serde_json::from_slice(&none).unwrap();
    assert_eq!(none["issues"], json!([]));
    assert_problem(
        app.call(
            &who,
            "GET",
            &format!("{base}/issues/export?format=csv&status=lost"),
            None,
        )
        .await,
        422,
        "invalid_request",
    )
    .await;

    // The ZIP: one CSV per breakdown, each with every row.
    app.set_now(at("2026-11-20T10:00:00Z"));
    views(&app, "zip.example", "/", 3).await;
    views(&app, "zip.example", "/pricing", 2).await;
    let (status, headers, zip) = fetch(
        &app,
        &who,
        "GET",
        &format!("{base}/exports/breakdowns?period=2026-11-01,2026-11-30"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Site-2026-11-01-2026-11-30.zip\""
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    assert_eq!(names.len(), 18, "{names:?}");
    let mut pages = String::new();
    archive
        .by_name("pages.csv")
        .unwrap()
        .read_to_string(&mut pages)
        .unwrap();
    assert_eq!(
        pages,
        "event:page,visitors,pageviews\n/,3,3\n/pricing,2,2\n"
    );
    let mut days = String::new();
    archive
        .by_name("visitors.csv")
        .unwrap()
        .read_to_string(&mut days)
        .unwrap();
    assert!(days.contains("2026-11-20,3,3,5,"), "{days}");
    assert_problem(
        app.call(
            &who,
            "GET",
            &format!("{base}/exports/breakdowns?period=forever"),
            None,
        )
        .await,
        400,
        "invalid_date_range",
    )
    .await;
    // Nothing is left behind in the export directory.
    let left: Vec<_> = std::fs::read_dir(&app.state.exports_dir)
        .map(|dir| {
            dir.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("breakdowns-"))
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

/// The text of page `page` (from 1) of `pdf`, as poppler's `pdftotext -layout` reads it.
fn pdf_text(pdf: &std::path::Path, page: Option<usize>) -> String {
    let mut command = std::process::Command::new("pdftotext");
    command.arg("-layout");
    if let Some(page) = page {
        command.args(["-f", &page.to_string(), "-l", &page.to_string()]);
    }
    let output = command
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils; scripts/test installs it)");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_dashboard_pdf_holds_the_numbers_and_cuts_no_row_across_pages() {
    let app = TestApp::new().await;
    let owner = app.user("owner@pdf.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Pdf").await;
    let project = app.project(&who, org, "pdf.example").await;
    let p = project["id"].as_str().unwrap();
    app.set_now(at("2026-11-20T10:00:00Z"));
    for i in 0..12 {
        views(&app, "pdf.example", &format!("/guide/{i:02}"), 1 + i % 4).await;
    }
    let base = format!("/api/v1/orgs/{org}/projects/{p}/exports/dashboard");
    // Kept beside the journeys' screenshots, for a look.
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, pages) = app
        .json(
            &who,
            "POST",
            "/api/v2/query",
            Some(json!({"site_id": "pdf.example", "metrics": ["visitors"],
                        "dimensions": ["event:page"], "date_range": ["2026-11-01", "2026-11-30"]})),
        )
        .await;
    for paper in ["a4", "letter"] {
        let (status, headers, bytes) = fetch(
            &app,
            &who,
            "GET",
            &format!("{base}?period=2026-11-01,2026-11-30&paper={paper}"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/pdf");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"Site-2026-11-01-2026-11-30.pdf\""
        );
        let path = dir.join(format!("dashboard-{paper}.pdf"));
        std::fs::write(&path, &bytes).unwrap();
        let text = pdf_text(&path, None);
        for needle in [
            "Site: dashboard",
            "November 2026, compared with 2026-10-02 – 2026-10-31",
            "Headline metrics",
            "Unique visitors per day",
            "Top pages",
            "Entry pages",
            "Exit pages",
            "Top sources",
            "Top countries",
            "Devices",
            "Browsers",
            "Operating systems",
            "Goal conversions",
            "Errors: 0 events",
            "Web Vitals (75th percentile)",
            "Highest day: 4",
        ] {
            assert!(text.contains(needle), "{paper}: no {needle:?} in\n{text}");
        }
        // The figures: each top page with its visitors on one line, as the Stats API says,
        // and on exactly one page (rows are never cut; the top 10 of 12 pages are listed).
        let page_count = text.matches('\u{c}').count().max(1);
        let per_page: Vec<String> = (1..=page_count).map(|n| pdf_text(&path, Some(n))).collect();
        assert!(page_count >= 2, "{paper}: {page_count} page(s)");
        // The Top pages table, wherever its rows fell: from its title to the next table's.
        let all = per_page.concat();
        let section = &all[all.find("Top pages").unwrap()..all.find("Top sources").unwrap()];
        let expected = pages["results"].as_array().unwrap();
        assert_eq!(expected.len(), 12);
        for row in expected.iter().take(10) {
            let (name, visitors) = (row["dimensions"][0].as_str().unwrap(), &row["metrics"][0]);
            let lines: Vec<&str> = section
                .lines()
                .filter(|line| line.split_whitespace().next() == Some(name))
                .collect();
            assert_eq!(lines.len(), 1, "{paper}: {name} in\n{section}");
            assert_eq!(
                lines[0].split_whitespace().last(),
                Some(visitors.to_string().as_str()),
                "{paper}: {}",
                lines[0]
            );
        }
        let footer = format!("page {page_count} of {page_count}");
        assert!(per_page[page_count - 1].contains(&footer), "{paper}");
    }
    assert_problem(
        app.call(&who, "GET", &format!("{base}?paper=a3"), None)
            .await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_long_periods_pdf_is_made_in_the_background_with_its_progress() {
    let app = TestApp::new().await;
    let owner = app.user("owner@pdf-job.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "PdfJob").await;
    let project = app.project(&who, org, "pdfjob.example").await;
    let p = project["id"].as_str().unwrap();
    for (when, page, n) in [
        ("2026-03-10T10:00:00Z", "/spring", 3),
        ("2026-11-20T10:00:00Z", "/autumn", 5),
    ] {
        app.set_now(at(when));
        views(&app, "pdfjob.example", page, n).await;
    }
    let base = format!("/api/v1/orgs/{org}/projects/{p}/exports/dashboard");
    let period = "period=2026-01-01,2026-11-30&paper=letter";
    let (status, job) = app
        .json(&who, "POST", &format!("{base}/jobs?{period}"), None)
        .await;
    assert_eq!(status, 202, "{job}");
    assert_eq!(job["status"], "pending");
    assert_eq!(
        (job["from"].clone(), job["to"].clone()),
        (json!("2026-01-01"), json!("2026-11-30"))
    );
    assert_eq!(job["download_url"], Value::Null);
    let id = job["export_id"].as_str().unwrap();
    let resp = app
        .call(&who, "GET", &format!("{base}/jobs/{id}/file"), None)
        .await;
    assert_problem(resp, 404, "not_found").await;

    // The worker's job, as the queue runs it.
    let ctx = crate::support::job_context(&app, None);
    let render = worker::jobs::RenderDashboardPdf {
        org_id: org,
        project_id: p.parse().unwrap(),
        export_id: id.parse().unwrap(),
    };
    worker::Job::RenderDashboardPdf(render.clone())
        .run(&ctx)
        .await
        .unwrap();
    let (status, done) = app
        .json(&who, "GET", &format!("{base}/jobs/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "ready", "{done}");
    // Every query of the composition reported its progress.
    assert_eq!(
        (done["steps_done"].clone(), done["steps_total"].clone()),
        (json!(19), json!(19))
    );
    let url = done["download_url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("{base}/jobs/{id}/file"));
    // Running it again (a retried job) changes nothing.
    worker::Job::RenderDashboardPdf(render)
        .run(&ctx)
        .await
        .unwrap();

    // The same PDF as the direct download of the same period.
    let (status, headers, background) = fetch(&app, &who, "GET", &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"Site-2026-01-01-2026-11-30.pdf\""
    );
    let (status, _, direct) = fetch(&app, &who, "GET", &format!("{base}?{period}"), None).await;
    assert_eq!(status, 200);
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let (a, b) = (
        dir.join("pdf-job-background.pdf"),
        dir.join("pdf-job-direct.pdf"),
    );
    std::fs::write(&a, &background).unwrap();
    std::fs::write(&b, &direct).unwrap();
    let text = pdf_text(&a, None);
    assert_eq!(text, pdf_text(&b, None));
    assert!(
        text.contains("/autumn") && text.contains("/spring"),
        "{text}"
    );

    // The audit log has it, marked as made in the background.
    let (_, records) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=stats.dashboard_exported"),
            None,
        )
        .await;
    let background = records["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["changes"]["background"]["after"] == json!(true))
        .count();
    assert_eq!(background, 1, "{records}");
}
