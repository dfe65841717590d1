//! Single sign-on over SAML 2.0 against a real identity provider the test runs: pysaml2
//! (`tests/fakes/saml_idp.py`, signing with Debian's xmlsec1). Beacon's SP metadata, the
//! connection (metadata by URL, certificate pinning), just-in-time provisioning with group
//! roles through a signed assertion and through a signed response, the test sign-in, and every
//! refusal: unsigned, another SP's audience, expired, a wrong InResponseTo, a key that is not
//! the pinned one, SHA-1, signature wrapping, a replay (of the sign-in and of an IdP-initiated
//! assertion), IdP-initiated while off, a response posted into another browser (login CSRF)
//! or to another organization, and malformed or oversized XML. The browser journey is
//! `saml::the_saml_journey_in_chromium`.

use std::process::Child;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use poem::test::TestResponse;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::sso::{actions, member_role, session_of, sso_app, verified_domain};
use crate::support::{As, Session, TestApp, assert_problem, status_and_json};

/// The test's SAML identity provider.
pub struct SamlIdp {
    child: Child,
    pub url: String,
}

impl SamlIdp {
    pub fn start() -> Self {
        let (child, ports) = crate::support::start_fake("saml_idp.py", &[]);
        Self {
            child,
            url: format!("http://127.0.0.1:{}", ports[0]),
        }
    }

    async fn post(&self, path: &str, body: String) -> reqwest::Response {
        let resp = reqwest::Client::new()
            .post(format!("{}{path}", self.url))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp
    }

    /// Tells the IdP about Beacon's SP metadata for `org`.
    pub async fn know(&self, app: &TestApp, org: Uuid) {
        let resp = app
            .client
            .get(format!("/api/v1/sso/saml/{org}/metadata"))
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_content_type("application/samlmetadata+xml");
        let xml = resp.0.into_body().into_string().await.unwrap();
        self.post("/_sp", xml).await;
    }

    /// What the next response says.
    pub async fn next(&self, scenario: Value) {
        self.post("/_next", scenario.to_string()).await;
    }

    /// An IdP-initiated response for `org` (no InResponseTo).
    async fn unsolicited(&self, org: Uuid) -> Posted {
        let base = format!("http://beacon.test/api/v1/sso/saml/{org}");
        let page = self
            .post(
                "/_unsolicited",
                json!({"entity_id": format!("{base}/metadata"), "acs_url": format!("{base}/acs")})
                    .to_string(),
            )
            .await
            .text()
            .await
            .unwrap();
        Posted::from_page(&page)
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the IdP's page posts to Beacon's ACS.
#[derive(Debug, Clone)]
struct Posted {
    acs_path: String,
    saml_response: String,
    relay_state: Option<String>,
}

impl Posted {
    fn from_page(page: &str) -> Self {
        let field = |name: &str| {
            let marker = format!("name=\"{name}\" value=\"");
            page.find(&marker).map(|at| {
                let rest = &page[at + marker.len()..];
                rest[..rest.find('"').unwrap()].replace("&quot;", "\"")
            })
        };
        let action = {
            let at = page
                .find("action=\"")
                .unwrap_or_else(|| panic!("no form: {page}"))
                + 8;
            page[at..at + page[at..].find('"').unwrap()].to_owned()
        };
        Self {
            acs_path: action.trim_start_matches("http://beacon.test").to_owned(),
            saml_response: field("SAMLResponse").unwrap(),
            relay_state: field("RelayState"),
        }
    }

    /// The same post with another response.
    fn with_response(&self, saml_response: &str) -> Self {
        Self {
            saml_response: saml_response.to_owned(),
            ..self.clone()
        }
    }
}

/// Connects `org` to `idp` by its metadata URL, as its owner.
async fn connect(app: &TestApp, owner: &Session, org: Uuid, idp: &SamlIdp, extra: Value) -> Value {
    let mut body = json!({
        "metadata_url": format!("{}/metadata", idp.url), "email_attribute": "email",
        "groups_attribute": "groups",
    });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let (status, saved) = app
        .json(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/saml"),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    saved
}

/// A started sign-in: the IdP's URL and the state cookie.
struct Started {
    redirect_url: String,
    cookie: String,
    test_id: Option<String>,
}

async fn started(resp: TestResponse) -> Started {
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
        test_id: body["test_id"].as_str().map(str::to_owned),
    }
}

async fn start(app: &TestApp, email: &str) -> Started {
    started(
        app.client
            .post("/api/v1/auth/sso/start")
            .body_json(&json!({ "email": email }))
            .send()
            .await,
    )
    .await
}

/// The IdP's answer to a started sign-in: what its page posts.
async fn idp_answer(started: &Started) -> Posted {
    assert!(
        started.redirect_url.contains("SAMLRequest="),
        "{}",
        started.redirect_url
    );
    let resp = reqwest::get(&started.redirect_url).await.unwrap();
    let status = resp.status();
    let page = resp.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    Posted::from_page(&page)
}

async fn post_acs(app: &TestApp, posted: &Posted) -> TestResponse {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("SAMLResponse", &posted.saml_response);
    if let Some(relay) = &posted.relay_state {
        form.append_pair("RelayState", relay);
    }
    app.client
        .post(&posted.acs_path)
        .content_type("application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
}

/// The ACS sent the browser on: to where.
fn location(resp: &TestResponse) -> String {
    assert_eq!(resp.0.status(), 303, "{:?}", resp.0.headers());
    resp.0.headers()["location"].to_str().unwrap().to_owned()
}

/// The cookie a response set (`name=value`).
fn cookie_set(resp: &TestResponse) -> String {
    resp.0.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The finishing step, with these cookies.
async fn finish(app: &TestApp, path: &str, cookies: &[&str]) -> TestResponse {
    let mut req = app.client.get(path);
    if !cookies.is_empty() {
        req = req.header("cookie", cookies.join("; "));
    }
    req.send().await
}

/// A whole sign-in as `email`: the finishing step's response.
async fn sign_in(app: &TestApp, email: &str) -> TestResponse {
    let started = start(app, email).await;
    let posted = idp_answer(&started).await;
    let at_acs = post_acs(app, &posted).await;
    let to = location(&at_acs);
    finish(app, &to, &[&started.cookie, &cookie_set(&at_acs)]).await
}

/// An organization with a verified `acme.test` and a SAML connection to `idp`.
async fn connected(app: &TestApp, idp: &SamlIdp, extra: Value) -> (Session, Uuid) {
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    verified_domain(app, org, "acme.test").await;
    idp.know(app, org).await;
    connect(app, &owner, org, idp, extra).await;
    (owner, org)
}

#[tokio::test]
async fn saml_provisions_maps_groups_and_tests_the_connection() {
    let idp = SamlIdp::start();
    let app = sso_app().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    verified_domain(&app, org, "acme.test").await;
    idp.know(&app, org).await;
    let path = format!("/api/v1/orgs/{org}/sso/saml");
    // Bad settings: no metadata, a pin that is not in it, metadata without a certificate.
    for (body, says) in [
        (json!({}), "needs metadata_url or metadata_xml"),
        (
            json!({"metadata_url": format!("{}/metadata", idp.url), "certificate_sha256": "ab".repeat(32)}),
            "pinned",
        ),
        (json!({"metadata_xml": "<not-metadata/>"}), "entityID"),
    ] {
        let resp = app
            .call(&As::User(owner.clone()), "PUT", &path, Some(body))
            .await;
        let problem = assert_problem(resp, 422, "invalid_sso_settings").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    // Metadata with two signing certificates (the IdP's and a rogue one): both are pinned...
    let both = connect(
        &app,
        &owner,
        org,
        &idp,
        json!({"metadata_url": format!("{}/metadata?with_rogue=1", idp.url)}),
    )
    .await;
    assert_eq!(both["pinned_sha256"].as_array().unwrap().len(), 2, "{both}");
    // ...unless one is pinned (with colons, upper case): only it is then trusted.
    let saved = connect(&app, &owner, org, &idp, json!({})).await;
    let pin = saved["pinned_sha256"][0].as_str().unwrap().to_owned();
    assert_eq!(saved["allow_idp_initiated"], false);
    assert!(saved["sso_url"].as_str().unwrap().ends_with("/sso"));
    let colons: Vec<String> = pin
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect();
    let saved = connect(
        &app,
        &owner,
        org,
        &idp,
        json!({"metadata_url": format!("{}/metadata?with_rogue=1", idp.url),
            "certificate_sha256": colons.join(":")}),
    )
    .await;
    assert_eq!(saved["pinned_sha256"], json!([pin]));
    // Saving again without new metadata or pin keeps the one pin (not both certificates).
    let saved = connect(
        &app,
        &owner,
        org,
        &idp,
        json!({"metadata_url": null, "email_attribute": "email"}),
    )
    .await;
    assert_eq!(saved["pinned_sha256"], json!([pin]));
    let (_, sso) = app
        .json(
            &As::User(owner.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/sso"),
            None,
        )
        .await;
    assert_eq!(
        sso["saml_acs_url"],
        format!("http://beacon.test/api/v1/sso/saml/{org}/acs")
    );
    assert_eq!(
        sso["saml_metadata_url"],
        format!("http://beacon.test/api/v1/sso/saml/{org}/metadata")
    );
    assert_eq!(
        sso["saml"]["idp_entity_id"],
        format!("{}/metadata", idp.url)
    );
    let (status, _) = app
        .json(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/group-roles"),
            Some(json!({"mappings": [{"group": "staff", "role": "admin"}]})),
        )
        .await;
    assert_eq!(status, 200);

    // A test sign-in shows what the IdP sent, and signs no one in.
    idp.next(json!({"email": "ann@acme.test", "groups": ["staff"]}))
        .await;
    let test = started(
        app.call(
            &As::User(owner.clone()),
            "POST",
            &format!("/api/v1/orgs/{org}/sso/saml/test"),
            None,
        )
        .await,
    )
    .await;
    let back = location(&post_acs(&app, &idp_answer(&test).await).await);
    let test_id = test.test_id.unwrap();
    assert_eq!(back, format!("/orgs/{org}/sso?sso_test={test_id}"));
    let (_, outcome) = app
        .json(
            &As::User(owner.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/sso/tests/{test_id}"),
            None,
        )
        .await;
    assert_eq!(outcome["ok"], true, "{outcome}");
    eprintln!("test sign-in: {outcome}");
    assert_eq!(outcome["outcome"]["email"], "ann@acme.test");
    assert_eq!(outcome["outcome"]["groups"], json!(["staff"]));
    assert_eq!(
        outcome["outcome"]["claims"]["attributes"]["email"],
        json!(["ann@acme.test"])
    );
    assert_eq!(member_role(&app, &owner, org, "ann@acme.test").await, None);

    // A signed assertion: ann is created just in time, as an admin through her group.
    let clock = Instant::now();
    let resp = sign_in(&app, "ann@acme.test").await;
    eprintln!(
        "SAML sign-in through the in-process app: {:?}",
        clock.elapsed()
    );
    let ann = session_of(&app, &resp).await;
    assert_eq!(location(&resp), format!("/orgs/{org}"));
    assert_eq!(
        member_role(&app, &owner, org, "ann@acme.test")
            .await
            .as_deref(),
        Some("admin")
    );
    let (status, _) = app
        .json(
            &As::User(ann),
            "GET",
            &format!("/api/v1/orgs/{org}/projects"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // A signed response (the assertion inside unsigned) is taken too; no group: the default.
    idp.next(json!({"email": "bob@acme.test", "mode": "signed_response"}))
        .await;
    session_of(&app, &sign_in(&app, "bob@acme.test").await).await;
    assert_eq!(
        member_role(&app, &owner, org, "bob@acme.test")
            .await
            .as_deref(),
        Some("member")
    );
    let log = actions(&app, &owner, org).await;
    for action in [
        "sso.connection_saved",
        "member.provisioned",
        "user.sso_signed_in",
    ] {
        assert!(log.iter().any(|a| a == action), "{action}: {log:?}");
    }
}

#[tokio::test]
async fn every_bad_saml_response_is_refused_and_leaves_only_a_failed_sign_in_record() {
    let idp = SamlIdp::start();
    let app = sso_app().await;
    let (owner, org) = connected(&app, &idp, json!({})).await;
    let before = app.tenant_rows(org).await;

    let cases = [
        ("unsigned", json!({"mode": "unsigned"}), "signature"),
        (
            "other SP's audience",
            json!({"mode": "other_audience"}),
            "udience",
        ),
        ("expired", json!({"lifetime_minutes": -10}), "xpired"),
        (
            "wrong InResponseTo",
            json!({"in_response_to": "_not-this-sign-in"}),
            "InResponseTo",
        ),
        ("key not pinned", json!({"mode": "rogue_key"}), "signature"),
        ("RSA-SHA1", json!({"mode": "sha1"}), "signature"),
    ];
    for (mode, extra, says) in &cases {
        let mut scenario = json!({"email": "ann@acme.test"});
        scenario
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        idp.next(scenario).await;
        let posted = idp_answer(&start(&app, "ann@acme.test").await).await;
        let body = assert_problem(post_acs(&app, &posted).await, 401, "sso_token_invalid").await;
        let detail = body["detail"].as_str().unwrap();
        eprintln!("{mode}: 401 sso_token_invalid: {detail}");
        assert!(detail.contains(says), "{mode}: {detail}");
    }
    // An e-mail outside the organization's verified domains is refused when signing in.
    idp.next(json!({"email": "eve@elsewhere.test"})).await;
    let body = assert_problem(
        sign_in(&app, "ann@acme.test").await,
        403,
        "sso_identity_refused",
    )
    .await;
    eprintln!("other domain: 403 sso_identity_refused: {}", body["detail"]);

    // Malformed and oversized responses: 4xx, never 5xx.
    let posted = idp_answer(&start(&app, "ann@acme.test").await).await;
    for garbage in [
        "not base64!",
        "PG5vdC14bWw=",
        "PD94bWwgdmVyc2lvbj0iMS4wIj8+PGEK",
    ] {
        let resp = post_acs(&app, &posted.with_response(garbage)).await;
        let status = resp.0.status().as_u16();
        assert!((400..500).contains(&status), "{garbage}: {status}");
    }
    // A signature pointing outside the response (a file, an internal address) is refused
    // before xmlsec would follow it.
    idp.next(json!({"email": "ann@acme.test"})).await;
    for target in [
        "file:///etc/passwd",
        "http://169.254.169.254/latest/meta-data/",
    ] {
        let real = idp_answer(&start(&app, "ann@acme.test").await).await;
        let xml = String::from_utf8(BASE64.decode(&real.saml_response).unwrap()).unwrap();
        let at = xml.find("URI=\"#").expect("a signed response") + 5;
        let end = at + xml[at..].find('"').unwrap();
        let forged = format!("{}{target}{}", &xml[..at], &xml[end..]);
        let body = assert_problem(
            post_acs(&app, &real.with_response(&BASE64.encode(forged))).await,
            401,
            "sso_token_invalid",
        )
        .await;
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("not to an element"),
            "{body}"
        );
    }
    // Over the handler's 256 KiB of base64, then over the ACS's 320 KiB body limit.
    for size in [300 * 1024, 400 * 1024] {
        let huge = "A".repeat(size);
        let resp = post_acs(&app, &posted.with_response(&huge)).await;
        assert_problem(resp, 413, "payload_too_large").await;
    }
    let resp = app
        .client
        .post(&posted.acs_path)
        .content_type("application/x-www-form-urlencoded")
        .body("RelayState=x")
        .send()
        .await;
    assert_eq!(resp.0.status(), 400);

    // Nothing was written but sign-ins in flight, the replay cache and the failure records.
    let after = app.tenant_rows(org).await;
    for (table, rows) in &after {
        if ["audit_log", "audit_heads", "sso_logins", "saml_assertions"].contains(&table.as_str()) {
            continue;
        }
        assert_eq!(rows, &before[table], "{table} changed");
    }
    let failures = actions(&app, &owner, org)
        .await
        .iter()
        .filter(|a| *a == "user.sso_sign_in_failed")
        .count();
    // One per case, the foreign domain, the two references outside the response, and the
    // first malformed response (which used up its sign-in; the later ones name a used sign-in
    // and are refused before anything is read).
    assert_eq!(failures, cases.len() + 4);

    // Signature wrapping: an unsigned assertion naming victim@ before the signed one for
    // mallory@. Only what the pinned key signed is read: mallory signs in, the victim does not.
    idp.next(json!({"mode": "wrapped", "email": "mallory@acme.test"}))
        .await;
    let resp = sign_in(&app, "mallory@acme.test").await;
    session_of(&app, &resp).await;
    assert_eq!(
        member_role(&app, &owner, org, "victim@acme.test").await,
        None
    );
    // Positive control: the same check finds mallory.
    assert_eq!(
        member_role(&app, &owner, org, "mallory@acme.test")
            .await
            .as_deref(),
        Some("member")
    );
}

#[tokio::test]
async fn replays_other_browsers_and_other_organizations_get_nowhere() {
    let idp = SamlIdp::start();
    let app = sso_app().await;
    let (owner, org) = connected(&app, &idp, json!({})).await;
    idp.next(json!({"email": "ann@acme.test"})).await;

    // The ACS signs no one in: only the browser that both started the sign-in (its state
    // cookie) and posted the answer (the ACS's handoff cookie) finishes it, once.
    let started_here = start(&app, "ann@acme.test").await;
    let posted = idp_answer(&started_here).await;
    let at_acs = post_acs(&app, &posted).await;
    let to = location(&at_acs);
    let handoff = cookie_set(&at_acs);
    assert!(handoff.starts_with("beacon_sso_handoff="), "{handoff}");
    assert!(
        to.starts_with(&format!("/api/v1/sso/saml/{org}/finish?state=")),
        "{to}"
    );
    let other = start(&app, "ann@acme.test").await;
    for (who, cookies) in [
        ("no cookie", vec![]),
        // A response pushed into another browser (login CSRF): it posted, it did not start.
        ("only the handoff", vec![handoff.as_str()]),
        (
            "another sign-in's state",
            vec![other.cookie.as_str(), handoff.as_str()],
        ),
        // A sign-in an attacker started and sent to a victim, who answered it at the IdP: the
        // attacker holds the state, not the victim's handoff.
        ("only the state", vec![started_here.cookie.as_str()]),
        (
            "a forged handoff",
            vec![started_here.cookie.as_str(), "beacon_sso_handoff=forged"],
        ),
    ] {
        let body =
            assert_problem(finish(&app, &to, &cookies).await, 400, "sso_state_invalid").await;
        eprintln!(
            "finish with {who}: 400 sso_state_invalid: {}",
            body["detail"]
        );
    }
    // Positive control: the browser that started and answered it signs in, once.
    let both = [started_here.cookie.as_str(), handoff.as_str()];
    session_of(&app, &finish(&app, &to, &both).await).await;
    assert_problem(finish(&app, &to, &both).await, 400, "sso_state_invalid").await;
    // The same response again: its sign-in was used.
    let body = assert_problem(post_acs(&app, &posted).await, 400, "sso_state_invalid").await;
    eprintln!(
        "replayed sign-in: 400 sso_state_invalid: {}",
        body["detail"]
    );

    // IdP-initiated sign-in is off: refused.
    let unsolicited = idp.unsolicited(org).await;
    let body = assert_problem(post_acs(&app, &unsolicited).await, 400, "sso_state_invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("IdP-initiated"),
        "{body}"
    );
    // The owner turns it on: the unsolicited assertion is checked and spent, and the browser
    // is sent to start a sign-in of its own at the IdP, which it then finishes.
    connect(
        &app,
        &owner,
        org,
        &idp,
        json!({"allow_idp_initiated": true}),
    )
    .await;
    let unsolicited = idp.unsolicited(org).await;
    let resp = post_acs(&app, &unsolicited).await;
    let bounced = Started {
        redirect_url: location(&resp),
        cookie: cookie_set(&resp),
        test_id: None,
    };
    assert!(
        bounced.redirect_url.starts_with(&idp.url),
        "{}",
        bounced.redirect_url
    );
    let answered = post_acs(&app, &idp_answer(&bounced).await).await;
    let to = location(&answered);
    session_of(
        &app,
        &finish(&app, &to, &[&bounced.cookie, &cookie_set(&answered)]).await,
    )
    .await;
    let body = assert_problem(post_acs(&app, &unsolicited).await, 401, "sso_token_invalid").await;
    assert!(
        body["detail"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    eprintln!(
        "replayed assertion: 401 sso_token_invalid: {}",
        body["detail"]
    );
    // A response for this sign-in in flight cannot be taken as IdP-initiated either.
    let solicited = idp_answer(&start(&app, "ann@acme.test").await).await;
    let stripped = Posted {
        relay_state: None,
        ..solicited
    };
    let body = assert_problem(post_acs(&app, &stripped).await, 401, "sso_token_invalid").await;
    eprintln!("solicited as unsolicited: {}", body["detail"]);

    // Another organization, with its own connection to the same IdP and IdP-initiated on,
    // takes none of Acme's responses: they name Acme's ACS and audience.
    let other_owner = app.user("owner@globex.test").await;
    let globex = app.org(&other_owner, "Globex").await;
    verified_domain(&app, globex, "globex.test").await;
    connect(
        &app,
        &other_owner,
        globex,
        &idp,
        json!({"allow_idp_initiated": true}),
    )
    .await;
    let for_acme = idp.unsolicited(org).await;
    let at_globex = Posted {
        acs_path: format!("/api/v1/sso/saml/{globex}/acs"),
        ..for_acme.clone()
    };
    let body = assert_problem(post_acs(&app, &at_globex).await, 401, "sso_token_invalid").await;
    eprintln!("Acme's response at Globex: {}", body["detail"]);
    // And a sign-in started at Acme, posted to Globex, finds no sign-in there.
    idp.next(json!({"email": "ann@acme.test"})).await;
    let acme_started = start(&app, "ann@acme.test").await;
    let acme_posted = idp_answer(&acme_started).await;
    let relayed = Posted {
        acs_path: format!("/api/v1/sso/saml/{globex}/acs"),
        ..acme_posted
    };
    let resp = post_acs(&app, &relayed).await;
    assert_eq!(resp.0.status(), 401, "refused by Globex's checks");
    assert_eq!(
        member_role(&app, &other_owner, globex, "ann@acme.test").await,
        None
    );
}

#[tokio::test]
async fn saml_needs_the_sso_feature_when_billing_is_on() {
    let stripe = crate::fake_stripe::FakeStripe::start();
    let app = stripe.app().await;
    let owner = app.user("owner@acme.test").await;
    let org = app.org(&owner, "Acme").await;
    let resp = app
        .call(
            &As::User(owner.clone()),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/saml"),
            Some(json!({"metadata_xml": "<x/>"})),
        )
        .await;
    assert_problem(resp, 402, "plan_required").await;
    // Nor does its ACS take a response, even one that would name a sign-in.
    let posted = Posted {
        acs_path: format!("/api/v1/sso/saml/{org}/acs"),
        saml_response: "PGEvPg==".into(),
        relay_state: Some("x".into()),
    };
    assert_problem(post_acs(&app, &posted).await, 404, "sso_not_configured").await;
    // Positive control: self-hosted (no billing), the same PUT reaches the metadata check.
    let free = TestApp::new().await;
    let owner = free.user("owner@acme.test").await;
    let org = free.org(&owner, "Acme").await;
    let resp = free
        .call(
            &As::User(owner),
            "PUT",
            &format!("/api/v1/orgs/{org}/sso/saml"),
            Some(json!({"metadata_xml": "<x/>"})),
        )
        .await;
    assert_problem(resp, 422, "invalid_sso_settings").await;
}

/// The browser journey (`web/dashboard/e2e/saml.mjs`): a real `beacon serve`, the pysaml2 IdP
/// with its sign-in page, the test's DNS server for the domain proof, headless Chromium.
#[tokio::test]
async fn the_saml_journey_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};
    use crate::support::SmtpServer;

    let idp = SamlIdp::start();
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
    let report = crate::support::run_journey(
        "saml.mjs",
        port,
        smtp.maildir(),
        &[records, idp.url.clone()],
    );
    assert!(
        report["metadataUrl"]
            .as_str()
            .unwrap()
            .ends_with("/metadata")
    );
    assert_eq!(report["pinned"], 1, "the IdP's certificate is pinned");
    assert_eq!(report["testEmail"], "owner@acme.test");
    assert_eq!(report["testGroups"], json!(["staff"]));
    assert_eq!(
        (
            report["startStatus"].as_u64(),
            report["acsStatus"].as_u64(),
            report["finishStatus"].as_u64()
        ),
        (Some(200), Some(303), Some(303))
    );
    assert_eq!(report["annRole"], "admin", "created just in time, by group");
    assert_eq!(report["idpInitiatedSaved"], 200);
    assert_eq!(
        report["carolRole"], "admin",
        "signed in from the IdP's tile, by group"
    );
    assert_eq!(report["failureType"], "sso_token_invalid");
    assert_eq!(report["failureShown"], 1);
    assert_eq!(
        report["bobSession"], 401,
        "the refused response signed no one in"
    );
    assert_eq!(report["problems"], json!([]), "{report}");
}
