//! Verified domains: a claim, its DNS TXT proof checked against a DNS server the test runs
//! (`tests/fakes/dns_server.py`, dnslib), on demand and by the hourly job; one verified domain
//! belongs to one organization.

use std::process::Child;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{As, TestApp, assert_problem, job_context};

/// The test's DNS server and the records it serves.
pub(crate) struct Dns {
    child: Child,
    pub(crate) port: u16,
    pub(crate) records: std::path::PathBuf,
}

impl Dns {
    pub(crate) fn start() -> Self {
        let records =
            std::env::temp_dir().join(format!("beacon-dns-{}.json", Uuid::new_v4().simple()));
        std::fs::write(&records, "{}").unwrap();
        let (child, ports) = crate::support::start_fake(
            "dns_server.py",
            &["--records".as_ref(), records.as_os_str()],
        );
        let port = ports[0];
        Self {
            child,
            port,
            records,
        }
    }

    /// Serves exactly `records` from now on.
    fn serve(&self, records: Value) {
        std::fs::write(&self.records, records.to_string()).unwrap();
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.records);
    }
}

#[tokio::test]
async fn a_domain_is_verified_by_its_txt_record_and_by_one_organization_only() {
    let dns = Dns::start();
    let server = format!("127.0.0.1:{}", dns.port).parse().unwrap();
    let app = TestApp::new()
        .await
        .reconfigured(|state| state.dns = worker::dns::TxtChecker::new(Some(server)).unwrap());
    let owner = app.user("owner@acme.example").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Acme").await;
    let base = format!("/api/v1/orgs/{org}/domains");

    let resp = app
        .call(&who, "POST", &base, Some(json!({"domain": "not a domain"})))
        .await;
    assert_problem(resp, 422, "invalid_domain").await;
    let (status, claim) = app
        .json(
            &who,
            "POST",
            &base,
            Some(json!({"domain": "Acme.Example."})),
        )
        .await;
    assert_eq!(status, 201, "{claim}");
    assert_eq!(
        (claim["domain"].as_str(), claim["verified"].as_bool()),
        (Some("acme.example"), Some(false))
    );
    let value = claim["txt_value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("beacon-verification="), "{value}");
    let resp = app
        .call(&who, "POST", &base, Some(json!({"domain": "acme.example"})))
        .await;
    assert_problem(resp, 409, "conflict").await;

    // Nothing published yet, then another token: refused, saying what DNS answered.
    let verify = format!("{base}/acme.example/verify");
    let problem = assert_problem(
        app.call(&who, "POST", &verify, None).await,
        422,
        "domain_not_verified",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no TXT record"),
        "{problem}"
    );
    dns.serve(json!({"acme.example": ["v=spf1 -all", "beacon-verification=someone-else"]}));
    let problem = assert_problem(
        app.call(&who, "POST", &verify, None).await,
        422,
        "domain_not_verified",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("someone-else"),
        "{problem}"
    );
    // The record published: verified, and recorded.
    dns.serve(json!({"acme.example": ["v=spf1 -all", value]}));
    let (status, verified) = app.json(&who, "POST", &verify, None).await;
    assert_eq!(
        (status, verified["verified"].as_bool()),
        (200, Some(true)),
        "{verified}"
    );
    let (_, log) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=domain."),
            None,
        )
        .await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["domain.verified", "domain.added"]);

    // A second organization may claim it, but not prove it while the first holds it.
    let other_owner = app.user("owner@rival.example").await;
    let rival = As::User(other_owner.clone());
    let other = app.org(&other_owner, "Rival").await;
    let (_, rival_claim) = app
        .json(
            &rival,
            "POST",
            &format!("/api/v1/orgs/{other}/domains"),
            Some(json!({"domain": "acme.example"})),
        )
        .await;
    dns.serve(json!({"acme.example": [value, rival_claim["txt_value"]]}));
    let resp = app
        .call(
            &rival,
            "POST",
            &format!("/api/v1/orgs/{other}/domains/acme.example/verify"),
            None,
        )
        .await;
    assert_problem(resp, 409, "domain_taken").await;

    // The hourly job verifies a claim whose record appears later (and not before it does).
    let (_, later) = app
        .json(
            &who,
            "POST",
            &base,
            Some(json!({"domain": "later.example"})),
        )
        .await;
    let ctx = job_context(&app, None);
    worker::jobs::VerifyDomainsAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    let listed = |body: Value, domain: &str| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["domain"] == domain)
            .cloned()
            .unwrap()
    };
    let (_, list) = app.json(&who, "GET", &base, None).await;
    let pending = listed(list, "later.example");
    assert_eq!(pending["verified"], false);
    assert!(pending["last_error"].as_str().is_some(), "{pending}");
    dns.serve(json!({"acme.example": [value], "later.example": [later["txt_value"]]}));
    worker::jobs::VerifyDomainsAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
    let (_, list) = app.json(&who, "GET", &base, None).await;
    assert_eq!(listed(list, "later.example")["verified"], true);

    // Dropping a claim frees the domain for the rival.
    let (status, _) = app
        .json(&who, "DELETE", &format!("{base}/acme.example"), None)
        .await;
    assert_eq!(status, 204);
    dns.serve(json!({"acme.example": [rival_claim["txt_value"]]}));
    let (status, taken) = app
        .json(
            &rival,
            "POST",
            &format!("/api/v1/orgs/{other}/domains/acme.example/verify"),
            None,
        )
        .await;
    assert_eq!(
        (status, taken["verified"].as_bool()),
        (200, Some(true)),
        "{taken}"
    );
    let resp = app
        .call(&who, "DELETE", &format!("{base}/acme.example"), None)
        .await;
    assert_problem(resp, 404, "not_found").await;
}

/// A site domain another organization's project claimed without proof moves to the project of
/// the organization that verified it (or a parent domain); the loser's owners are told by
/// e-mail and in their audit log.
#[tokio::test]
async fn a_verified_domain_takes_a_squatted_site_domain_over() {
    use crate::support::{SmtpServer, Workers};
    let app = TestApp::new().await;
    let squatter = app.user("owner@squatter.test").await;
    let squat_org = app.org(&squatter, "Squatter").await;
    let squat = app
        .project(&As::User(squatter.clone()), squat_org, "www.acme.test")
        .await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    let who = As::User(owner.clone());
    let project = app.project(&who, org, "app.acme.test").await;
    let project_id = project["id"].as_str().unwrap();
    let take = |domain: &str| {
        format!("/api/v1/orgs/{org}/projects/{project_id}/domains/{domain}/take-over")
    };

    // Without DNS proof, nothing moves.
    let resp = app.call(&who, "POST", &take("www.acme.test"), None).await;
    assert_problem(resp, 422, "domain_not_verified").await;
    crate::sso::verified_domain(&app, org, "acme.test").await;
    // The proof covers subdomains, not other domains.
    let resp = app
        .call(&who, "POST", &take("www.elsewhere.test"), None)
        .await;
    assert_problem(resp, 422, "domain_not_verified").await;

    let (status, body) = app.json(&who, "POST", &take("www.acme.test"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["proved_by"], "acme.test");
    assert_eq!(body["taken_from_another_organization"], true);
    let (_, mine) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{project_id}"),
            None,
        )
        .await;
    assert!(
        mine["domains"].to_string().contains("www.acme.test"),
        "{mine}"
    );
    let squat_path = format!(
        "/api/v1/orgs/{squat_org}/projects/{}",
        squat["id"].as_str().unwrap()
    );
    let (_, theirs) = app
        .json(&As::User(squatter.clone()), "GET", &squat_path, None)
        .await;
    assert!(
        !theirs["domains"].to_string().contains("www.acme.test"),
        "{theirs}"
    );

    // The squatter's owners hear of it, and their audit log says so.
    let smtp = SmtpServer::start();
    let workers = Workers::start(&app, &smtp);
    let mail = smtp.wait_for("owner@squatter.test", "www.acme.test").await;
    assert!(mail.contains("proved it controls"), "{mail}");
    workers.stop().await;
    let (_, log) = app
        .json(
            &As::User(squatter),
            "GET",
            &format!("/api/v1/orgs/{squat_org}/audit-log"),
            None,
        )
        .await;
    assert!(log.to_string().contains("project.domain_lost"), "{log}");
    let (_, log) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/audit-log"), None)
        .await;
    assert!(
        log.to_string().contains("project.domain_taken_over"),
        "{log}"
    );
}
