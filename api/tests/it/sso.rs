//! Single sign-on over OIDC against a scriptable provider the test runs
//! (`tests/fakes/oidc_idp.mjs`, Node's own crypto): just-in-time provisioning, group-to-role
//! mapping, linking a password account, the SSO session's age, every refusal (nonce, issuer,
//! audience, expiry, unsigned and foreign-key tokens, unverified or foreign e-mail, replayed or
//! foreign state), required SSO with the owners' way back in, and the isolation of one
//! organization's sign-ins from another's. The browser journey against the real
//! `oidc-provider` is `dashboard::the_sso_journey_in_chromium`.

use std::process::Child;
use std::time::Duration;

use poem::test::TestResponse;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{As, Session, TestApp, assert_problem, status_and_json};

/// The test's OIDC provider.
pub struct Idp {
    child: Child,
    pub issuer: String,
}

impl Idp {
    pub fn start() -> Self {
        let (child, ports) =
            crate::support::start_fake("oidc_idp.mjs", &["beacon".as_ref(), "s3cret".as_ref()]);
        Self {
            child,
            issuer: format!("http://127.0.0.1:{}", ports[0]),
        }
    }

    /// What the next ID token says (`mode`, `email`, `groups`, `sub`).
    pub async fn next(&self, scenario: Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/_mode", self.issuer))
            .body(scenario.to_string())
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An app that may reach the loopback provider, with a public URL for redirects.
pub async fn sso_app() -> TestApp {
    TestApp::new().await.reconfigured(|state| {
        state.outbound =
            worker::outbound::Outbound::new(None, true, Duration::from_secs(10)).unwrap();
        state.public_url = Some("http://beacon.test".into());
    })
}

/// Marks `domain` verified for `org` (as a found DNS proof would).
pub async fn verified_domain(app: &TestApp, org: Uuid, domain: &str) {
    let org = tenant::OrgId::from_uuid(org);
    let domain = domain.to_owned();
    app.state
        .db
        .scoped(org, async |conn| {
            tenant::tables::org_domains::add(conn, org, &domain).await?;
            tenant::tables::org_domains::record_check(conn, org, &domain, chrono::Utc::now(), None)
                .await?;
            Ok::<_, tenant::DbError>(())
        })
        .await
        .unwrap();
}

/// Connects `org` to `idp` as its owner.
pub async fn connect(app: &TestApp, owner: &Session, org: Uuid, idp: &Idp) -> Value {
    let (status, body) = app
        .json(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/oidc"),
            Some(json!({
                "issuer": idp.issuer, "client_id": "beacon", "client_secret": "s3cret",
                "groups_claim": "groups",
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A started sign-in: the provider's URL and the state cookie.
struct Started {
    redirect_url: String,
    cookie: String,
}

async fn start(app: &TestApp, email: &str) -> Started {
    let resp = app
        .client
        .post("/api/v1/auth/sso/start")
        .body_json(&json!({ "email": email }))
        .send()
        .await;
    let cookie = resp
        .0
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned());
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, 200, "{body}");
    Started {
        redirect_url: body["redirect_url"].as_str().unwrap().to_owned(),
        cookie: cookie.unwrap(),
    }
}

/// Follows the provider's redirect back: the callback's path and query on Beacon.
async fn provider_answer(started: &Started) -> String {
    let resp = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&started.redirect_url)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap())
}

async fn callback(app: &TestApp, path: &str, cookie: Option<&str>) -> TestResponse {
    let mut req = app.client.get(path);
    if let Some(cookie) = cookie {
        req = req.header("cookie", cookie);
    }
    req.send().await
}

/// A whole sign-in as `email`; the callback's response.
async fn sign_in(app: &TestApp, email: &str) -> TestResponse {
    let started = start(app, email).await;
    let back = provider_answer(&started).await;
    callback(app, &back, Some(&started.cookie)).await
}

/// The session a successful callback set, as a signed-in `Session`.
pub(crate) async fn session_of(app: &TestApp, resp: &TestResponse) -> Session {
    assert_eq!(resp.0.status(), 303, "{:?}", resp.0.headers());
    let set = resp.0.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, body) = status_and_json(
        app.client
            .get("/api/v1/auth/session")
            .header("cookie", &cookie)
            .send()
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    Session {
        user_id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

pub(crate) async fn actions(app: &TestApp, owner: &Session, org: Uuid) -> Vec<String> {
    let (status, body) = app
        .json(
            &As::User(owner.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?limit=200"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn member_role(
    app: &TestApp,
    owner: &Session,
    org: Uuid,
    email: &str,
) -> Option<String> {
    let (_, body) = app
        .json(
            &As::User(owner.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/members"),
            None,
        )
        .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == email)
        .map(|m| m["role"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn oidc_provisions_maps_groups_links_password_accounts_and_seals_the_secret() {
    let idp = Idp::start();
    // Without permission to reach private addresses, a loopback issuer is refused (SSRF).
    let plain = TestApp::new().await;
    let owner = plain.user("owner@acme.test").await;
    let org = plain.org(&owner, "Acme").await;
    let resp = plain
        .call(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/oidc"),
            Some(json!({"issuer": idp.issuer, "client_id": "beacon", "client_secret": "s3cret"})),
        )
        .await;
    let body = assert_problem(resp, 422, "invalid_sso_settings").await;
    assert!(
        body["detail"].as_str().unwrap().contains("discovery"),
        "{body}"
    );

    let app = sso_app().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    // No verified domain yet: the login page offers the password.
    let resp = app
        .client
        .post("/api/v1/auth/sso/start")
        .body_json(&json!({ "email": "ann@acme.test" }))
        .send()
        .await;
    assert_problem(resp, 404, "sso_not_configured").await;
    verified_domain(&app, org, "acme.test").await;
    // A new connection needs its secret.
    let resp = app
        .call(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/oidc"),
            Some(json!({"issuer": idp.issuer, "client_id": "beacon"})),
        )
        .await;
    assert_problem(resp, 422, "invalid_sso_settings").await;
    let saved = connect(&app, &owner, org, &idp).await;
    assert_eq!(saved["has_client_secret"], true);
    assert!(!saved.to_string().contains("s3cret"), "{saved}");
    // The secret is sealed in the database (positive control: the issuer is there in clear).
    let rows = app.tenant_rows(org).await;
    let stored = rows["sso_connections"][0].to_string();
    assert!(stored.contains("127.0.0.1"), "{stored}");
    assert!(
        !stored.contains("s3cret") && !stored.contains(&hex::encode("s3cret")),
        "{stored}"
    );

    let (status, _) = app
        .json(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/group-roles"),
            Some(json!({"mappings": [{"group": "beacon-admins", "role": "admin"}]})),
        )
        .await;
    assert_eq!(status, 200);

    // A first sign-in creates the user (address verified) and the membership, by group.
    idp.next(
        json!({"mode": "good", "email": "ann@acme.test", "sub": "sub-ann",
        "groups": ["staff", "beacon-admins"]}),
    )
    .await;
    let resp = sign_in(&app, "ann@acme.test").await;
    assert_eq!(
        resp.0.headers()["location"],
        format!("/orgs/{org}").as_str()
    );
    let cookie = resp.0.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=86400"), "{cookie}");
    let ann = session_of(&app, &resp).await;
    assert_eq!(
        member_role(&app, &owner, org, "ann@acme.test")
            .await
            .as_deref(),
        Some("admin")
    );
    let (status, _) = app
        .json(
            &As::User(ann.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/projects"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, me) = app
        .json(&As::User(ann.clone()), "GET", "/api/v1/auth/me", None)
        .await;
    assert_eq!(me["email_verified"], true);
    // The account has no password that works.
    let resp = app
        .client
        .post("/api/v1/auth/login")
        .body_json(&json!({"email": "ann@acme.test", "password": "!sso"}))
        .send()
        .await;
    assert_problem(resp, 401, "unauthorized").await;

    // The next sign-in of the same subject is the same user; a changed group moves the role.
    idp.next(json!({"groups": []})).await;
    let again = session_of(&app, &sign_in(&app, "ann@acme.test").await).await;
    assert_eq!(again.user_id, ann.user_id);
    assert_eq!(
        member_role(&app, &owner, org, "ann@acme.test")
            .await
            .as_deref(),
        Some("admin")
    );

    // A password account of the domain is linked, not duplicated, and joins as the default.
    let bob = app.user("bob@acme.test").await;
    idp.next(json!({"email": "bob@acme.test", "sub": "sub-bob", "groups": []}))
        .await;
    let linked = session_of(&app, &sign_in(&app, "bob@acme.test").await).await;
    assert_eq!(linked.user_id, bob.user_id);
    assert_eq!(
        member_role(&app, &owner, org, "bob@acme.test")
            .await
            .as_deref(),
        Some("member")
    );

    // The connection can be removed (nothing requires it).
    let (status, _) = app
        .json(
            &As::User(owner.clone()),
            "DELETE",
            &format!("/api/v1/orgs/{org}/sso/oidc"),
            None,
        )
        .await;
    assert_eq!(status, 204);

    let log = actions(&app, &owner, org).await;
    for action in [
        "sso.connection_deleted",
        "sso.connection_saved",
        "sso.group_roles_changed",
        "member.provisioned",
        "user.sso_signed_in",
    ] {
        assert!(
            log.iter().any(|a| a == action),
            "{action} missing from {log:?}"
        );
    }
    assert_eq!(log.iter().filter(|a| *a == "member.provisioned").count(), 2);
}

#[tokio::test]
async fn every_bad_answer_is_refused_and_leaves_only_a_failed_sign_in_record() {
    let idp = Idp::start();
    let app = sso_app().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    verified_domain(&app, org, "acme.test").await;
    connect(&app, &owner, org, &idp).await;
    let before = app.tenant_rows(org).await;

    let cases = [
        ("wrong_nonce", 401, "sso_token_invalid", "nonce"),
        ("wrong_issuer", 401, "sso_token_invalid", "issuer"),
        ("wrong_audience", 401, "sso_token_invalid", "audience"),
        ("expired", 401, "sso_token_invalid", "xpired"),
        ("unsigned", 401, "sso_token_invalid", ""),
        ("foreign_key", 401, "sso_token_invalid", "ignature"),
        ("no_email", 403, "sso_identity_refused", "e-mail"),
        (
            "unverified_email",
            403,
            "sso_identity_refused",
            "not verified",
        ),
        (
            "other_domain",
            403,
            "sso_identity_refused",
            "elsewhere.test",
        ),
    ];
    for (mode, status, kind, says) in cases {
        idp.next(json!({"mode": mode, "email": "ann@acme.test", "sub": "sub-ann"}))
            .await;
        let body = assert_problem(sign_in(&app, "ann@acme.test").await, status, kind).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{mode}: {detail}");
        eprintln!("{mode}: {status} {kind}: {detail}");
    }
    // Nothing but the failures' records was written: no user, no membership, no identity.
    let after = app.tenant_rows(org).await;
    for (table, rows) in &after {
        if table == "audit_log" || table == "audit_heads" || table == "sso_logins" {
            continue;
        }
        assert_eq!(rows, &before[table], "{table} changed");
    }
    let log = actions(&app, &owner, org).await;
    assert_eq!(
        log.iter()
            .filter(|a| *a == "user.sso_sign_in_failed")
            .count(),
        cases.len(),
        "{log:?}"
    );
    assert!(!log.iter().any(|a| a == "member.provisioned"));
    let mut conn = app.state.db.conn().await.unwrap();
    assert!(
        tenant::tables::users::find_by_email(&mut conn, "ann@acme.test")
            .await
            .unwrap()
            .is_none()
    );
    drop(conn);

    // A state works once, only in the browser that started it, only at its organization.
    idp.next(json!({"mode": "good"})).await;
    let started = start(&app, "ann@acme.test").await;
    let back = provider_answer(&started).await;
    assert_problem(callback(&app, &back, None).await, 400, "sso_state_invalid").await;
    let other_owner = app.user("owner@other.test").await;
    let other = app.org(&other_owner, "Other").await;
    let elsewhere = back.replace(&org.to_string(), &other.to_string());
    assert_problem(
        callback(&app, &elsewhere, Some(&started.cookie)).await,
        400,
        "sso_state_invalid",
    )
    .await;
    // Positive control: the same answer at the right place signs in, once.
    let ok = callback(&app, &back, Some(&started.cookie)).await;
    session_of(&app, &ok).await;
    assert_problem(
        callback(&app, &back, Some(&started.cookie)).await,
        400,
        "sso_state_invalid",
    )
    .await;

    // A browser is sent back to the login page with the reason instead of a JSON document.
    idp.next(json!({"mode": "expired"})).await;
    let started = start(&app, "ann@acme.test").await;
    let back = provider_answer(&started).await;
    let resp = app
        .client
        .get(&back)
        .header("cookie", &started.cookie)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await;
    assert_eq!(resp.0.status(), 303);
    let location = resp.0.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with("/login?sso_error=sso_token_invalid&sso_detail="),
        "{location}"
    );

    // Malformed callbacks are 4xx, never 5xx.
    for path in [
        format!("/api/v1/sso/oidc/{org}/callback"),
        format!("/api/v1/sso/oidc/{org}/callback?state=x&code=y"),
        "/api/v1/sso/oidc/not-a-uuid/callback?state=x&code=y".to_string(),
        format!("/api/v1/sso/oidc/{org}/callback?state={}", "x".repeat(5000)),
    ] {
        let status = callback(&app, &path, Some("beacon_sso_state=x"))
            .await
            .0
            .status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
}

#[tokio::test]
async fn required_sso_refuses_passwords_except_owners_and_sessions_age_out() {
    let idp = Idp::start();
    let app = sso_app().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    let member = app.user("mia@acme.test").await;
    app.add_member(org, &member, tenant::tables::memberships::Role::Member)
        .await;
    let policy = format!("/api/v1/orgs/{org}/sso/policy");
    let who = As::User(owner.clone());
    // Requiring SSO needs a connection and a verified domain.
    let resp = app
        .call(
            &who,
            "PUT",
            &policy,
            Some(json!({"enforced": true, "session_hours": 8})),
        )
        .await;
    assert_problem(resp, 409, "conflict").await;
    verified_domain(&app, org, "acme.test").await;
    connect(&app, &owner, org, &idp).await;
    // Before it is required, the member's password session works (positive control).
    let projects = format!("/api/v1/orgs/{org}/projects");
    let (status, _) = app
        .json(&As::User(member.clone()), "GET", &projects, None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = app
        .json(
            &who,
            "PUT",
            &policy,
            Some(json!({"enforced": true, "session_hours": 8})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // The member's password sign-in and password session are refused; the owner's are not.
    let resp = app
        .client
        .post("/api/v1/auth/login")
        .body_json(&json!({"email": "mia@acme.test", "password": crate::support::PASSWORD}))
        .send()
        .await;
    assert_problem(resp, 403, "sso_required").await;
    let resp = app
        .call(&As::User(member.clone()), "GET", &projects, None)
        .await;
    assert_problem(resp, 403, "sso_required").await;
    app.login("owner@acme.test", crate::support::PASSWORD).await;
    let (status, _) = app.json(&who, "GET", &projects, None).await;
    assert_eq!(status, 200);
    // The connection cannot be removed while it is required.
    let resp = app
        .call(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}/sso/oidc"),
            None,
        )
        .await;
    assert_problem(resp, 409, "conflict").await;

    // Through SSO the member is in, for the policy's eight hours.
    idp.next(json!({"mode": "good", "email": "mia@acme.test", "sub": "sub-mia"}))
        .await;
    let resp = sign_in(&app, "mia@acme.test").await;
    let cookie = resp.0.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Max-Age=28800"), "{cookie}");
    let sso = session_of(&app, &resp).await;
    assert_eq!(sso.user_id, member.user_id);
    let (status, _) = app
        .json(&As::User(sso.clone()), "GET", &projects, None)
        .await;
    assert_eq!(status, 200);
    // The session ends eight hours after the sign-in.
    let mut conn = app.state.db.conn().await.unwrap();
    let token = sso.cookie.split_once('=').unwrap().1.to_owned();
    let hash = tenant::secrets::token_hash(&token);
    use tenant::diesel::prelude::*;
    use tenant::diesel_async::RunQueryDsl;
    let expires: chrono::DateTime<chrono::Utc> = tenant::schema::user_sessions::table
        .filter(tenant::schema::user_sessions::token_hash.eq(hash))
        .select(tenant::schema::user_sessions::expires_at)
        .first(&mut conn)
        .await
        .unwrap();
    let hours = (expires - chrono::Utc::now()).num_minutes();
    assert!((470..=481).contains(&hours), "expires in {hours} minutes");

    // An SSO session of this organization does not pass another one's requirement.
    let other_owner = app.user("owner@other.test").await;
    let other = app.org(&other_owner, "Other").await;
    app.add_member(other, &member, tenant::tables::memberships::Role::Member)
        .await;
    verified_domain(&app, other, "other.test").await;
    connect(&app, &other_owner, other, &idp).await;
    let (status, _) = app
        .json(
            &As::User(other_owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{other}/sso/policy"),
            Some(json!({"enforced": true, "session_hours": 24})),
        )
        .await;
    assert_eq!(status, 200);
    let resp = app
        .call(
            &As::User(sso),
            "GET",
            &format!("/api/v1/orgs/{other}/projects"),
            None,
        )
        .await;
    assert_problem(resp, 403, "sso_required").await;
}

/// The browser journey (`web/dashboard/e2e/sso.mjs`): a real `beacon serve`, the real
/// `oidc-provider`, the test's DNS server for the domain proof, headless Chromium.
#[tokio::test]
async fn the_sso_journey_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};
    use crate::support::SmtpServer;

    let smtp = SmtpServer::start();
    let dns = crate::domains::Dns::start();
    let data = DataDir::new();
    let port = free_port();
    let public_url = format!("http://beacon.test:{port}");
    let dns_server = format!("127.0.0.1:{}", dns.port);
    let (_server, _) = serve_with(
        &data.0,
        port,
        &[
            ("BEACON_SMTP_URL", &smtp.url()),
            ("BEACON_PUBLIC_URL", &public_url),
            ("BEACON_DNS_SERVER", &dns_server),
            ("BEACON_ALLOW_PRIVATE_OUTBOUND", "true"),
        ],
    );
    let records = dns.records.to_string_lossy().into_owned();
    let report = crate::support::run_journey("sso.mjs", port, smtp.maildir(), &[records]);
    assert_eq!(report["redirectShown"], 1);
    assert_eq!(report["testEmail"], "owner@acme.test");
    assert_eq!(report["testGroups"], json!(["staff"]));
    assert_eq!(
        (
            report["startStatus"].as_u64(),
            report["callbackStatus"].as_u64()
        ),
        (Some(200), Some(303))
    );
    assert_eq!(report["annRole"], "admin", "created just in time, by group");
    assert_eq!(report["policyStatus"], 200);
    assert_eq!(report["annAfterPolicy"], 200);
    assert_eq!(report["failureShown"], 1);
    assert_eq!(report["scimCreated"], 201);
    assert_eq!(
        report["managedShown"], 1,
        "bob, provisioned by SCIM, is marked"
    );
    assert_eq!(report["problems"], json!([]), "{report}");
    // The secret key was created in the data directory, private to its owner.
    let key = data.0.join("secret.key");
    assert!(key.exists(), "no {}", key.display());
}
