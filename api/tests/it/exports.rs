//! Organization data exports: an owner asks, the job writes a `.tar.gz` that Python's own
//! `tarfile` reads, the link arrives by e-mail (a real SMTP server), and the archive holds every
//! row of every table the application can read for the organization — and nothing of another
//! organization, and no secret.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::deletion::{populate, populate_audit, populate_billing};
use crate::support::{As, SmtpServer, TestApp, assert_problem, job_context, token_from};

/// Reads the archive with Python's `tarfile`: every member's name and its lines (JSON Lines
/// parsed, other files as text lines).
fn read_archive(bytes: &[u8]) -> BTreeMap<String, Vec<String>> {
    let path =
        std::env::temp_dir().join(format!("beacon-export-{}.tar.gz", Uuid::new_v4().simple()));
    std::fs::write(&path, bytes).unwrap();
    let python = std::env::var("BEACON_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import json, sys, tarfile\n\
             with tarfile.open(sys.argv[1], 'r:gz') as t:\n\
             \x20   print(json.dumps({m.name: t.extractfile(m).read().decode().splitlines() for m in t.getmembers()}))",
        )
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn an_export_holds_every_row_of_the_organization_and_nothing_else() {
    let smtp = SmtpServer::start();
    let app = TestApp::new().await;
    let owner = app.user("owner@export.example").await;
    let admin = app.user("admin@export.example").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Exported").await;
    app.add_member(org, &admin, tenant::tables::memberships::Role::Admin)
        .await;
    populate(&app, &who, org, "exported.example").await;
    populate_billing(&app, org).await;
    populate_audit(&app, org).await;
    let (_, key) = app.api_key(&who, org, &["read"]).await;
    let other_owner = app.user("owner@other-export.example").await;
    let other = app.org(&other_owner, "Other").await;
    populate(&app, &As::User(other_owner), other, "other-export.example").await;

    // Owners only, one at a time.
    let (status, _) = app
        .json(
            &As::User(admin),
            "POST",
            &format!("/api/v1/orgs/{org}/exports"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, export) = app
        .json(&who, "POST", &format!("/api/v1/orgs/{org}/exports"), None)
        .await;
    assert_eq!(
        (status, export["status"].as_str()),
        (202, Some("pending")),
        "{export}"
    );
    let resp = app
        .call(&who, "POST", &format!("/api/v1/orgs/{org}/exports"), None)
        .await;
    assert_problem(resp, 409, "conflict").await;

    // The job writes it and e-mails the link.
    let ctx = job_context(&app, Some(&smtp.url()));
    let export_id: Uuid = export["id"].as_str().unwrap().parse().unwrap();
    worker::jobs::ExportOrganization {
        org_id: org,
        export_id,
    }
    .run(&ctx)
    .await
    .unwrap();
    let message = smtp.wait_for("owner@export.example", "Data export").await;
    let token = token_from(&message);
    let (_, listed) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/exports"), None)
        .await;
    assert_eq!(listed["items"][0]["status"], "ready", "{listed}");

    let resp = app
        .client
        .get(format!("/api/v1/exports/download?token={token}"))
        .send()
        .await;
    resp.assert_status_is_ok();
    assert_eq!(
        resp.0.headers().get("content-type").unwrap(),
        "application/gzip"
    );
    let bytes = resp.0.into_body().into_bytes().await.unwrap();
    let archive = read_archive(&bytes);

    // Every table the application can read has its file with exactly the organization's rows.
    let rows = app.tenant_rows(org).await;
    for (table, table_rows) in &rows {
        if table == "project_salts" {
            assert!(
                !archive.contains_key("project_salts.jsonl"),
                "salts are never exported"
            );
            continue;
        }
        let file = format!("{table}.jsonl");
        let lines = archive
            .get(&file)
            .unwrap_or_else(|| panic!("{file} is missing: {:?}", archive.keys()));
        // The export's own audit records (requested, ready) were written after `rows` was read
        // for audit_log; everything else is as read.
        if table != "audit_log" && table != "audit_heads" && table != "org_exports" {
            assert_eq!(lines.len(), table_rows.len(), "{file}");
        }
        for line in lines {
            let row: Value = serde_json::from_str(line).unwrap();
            assert_eq!(row["org_id"], json!(org.to_string()), "{file}: {line}");
        }
    }
    let all = serde_json::to_string(&archive).unwrap();
    assert!(
        all.contains(&org.to_string()),
        "positive control: the organization's id is there"
    );
    assert!(
        !all.contains(&other.to_string()),
        "nothing of the other organization"
    );
    assert!(!all.contains(&key), "no API key secret");
    assert!(
        !all.contains("secret_hash") && !all.contains("token_hash"),
        "no secret hashes"
    );
    assert!(!all.contains("whsec_"), "no stream secret");
    assert!(!all.contains("error_user_key"), "no hashing key");
    assert!(
        !all.contains("url_sealed") && !all.contains("secret_sealed"),
        "no notification channel URL or signing secret, even sealed"
    );
    assert!(
        archive["notification_channels.jsonl"]
            .iter()
            .any(|l| l.contains("93.184.216.34")),
        "positive control: the webhook channel is there, by its host"
    );
    assert!(
        archive["members.jsonl"]
            .iter()
            .any(|l| l.contains("owner@export.example"))
    );
    assert!(archive["rollups_hourly.csv"][0].starts_with("project_id,hour_utc,dimension"));
    assert!(
        archive["README.txt"]
            .iter()
            .any(|l| l.starts_with("events.jsonl: ")),
        "{:?}",
        archive["README.txt"]
    );

    // The download is recorded; a wrong or expired link gets nothing.
    let (_, log) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=organization."),
            None,
        )
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        &actions[..3],
        [
            "organization.export_downloaded",
            "organization.export_ready",
            "organization.export_requested"
        ]
    );
    let wrong = format!("{}x", &token[..token.len() - 1]);
    let resp = app
        .client
        .get(format!("/api/v1/exports/download?token={wrong}"))
        .send()
        .await;
    assert_problem(resp, 404, "token_invalid").await;
    app.set_now(chrono::Utc::now() + chrono::Duration::days(8));
    let resp = app
        .client
        .get(format!("/api/v1/exports/download?token={token}"))
        .send()
        .await;
    assert_problem(resp, 404, "token_invalid").await;
}
