//! Sign-up, sign-in, sessions, CSRF, keys, and the bad input around them.

use serde_json::json;

use crate::support::{As, PASSWORD, TestApp, assert_problem};

#[tokio::test]
async fn signup_validates_and_refuses_duplicates() {
    let app = TestApp::new().await;
    let signup = |body| app.call(&As::Nobody, "POST", "/api/v1/auth/signup", Some(body));
    let resp = signup(json!({"email": "Ada@Example.com", "password": PASSWORD})).await;
    let (status, body) = crate::support::status_and_json(resp).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["email_verified"], false);

    assert_problem(
        signup(json!({"email": "ADA@example.com", "password": PASSWORD})).await,
        409,
        "email_taken",
    )
    .await;
    assert_problem(
        signup(json!({"email": "not-an-email", "password": PASSWORD})).await,
        422,
        "invalid_email",
    )
    .await;
    assert_problem(
        signup(json!({"email": "b@example.com", "password": "short"})).await,
        422,
        "weak_password",
    )
    .await;
    assert_problem(
        signup(json!({"email": "b@example.com"})).await,
        400,
        "invalid_request",
    )
    .await;

    // Exactly one account, and one verification job for it.
    let mut conn = app.owner_conn().await;
    use tenant::diesel_async::RunQueryDsl;
    #[derive(tenant::diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = tenant::diesel::sql_types::BigInt)]
        n: i64,
    }
    let users: N = tenant::diesel::sql_query("SELECT count(*) AS n FROM users")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(users.n, 1);
    let jobs: N = tenant::diesel::sql_query("SELECT count(*) AS n FROM apalis.jobs")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(jobs.n, 1);
}

#[tokio::test]
async fn malformed_bodies_get_problems() {
    let app = TestApp::new().await;
    let resp = app
        .client
        .post("/api/v1/auth/signup")
        .content_type("application/json")
        .body("{not json")
        .send()
        .await;
    assert_problem(resp, 400, "invalid_request").await;

    let resp = app
        .client
        .post("/api/v1/auth/signup")
        .content_type("text/plain")
        .body("hello")
        .send()
        .await;
    let (status, _) = crate::support::status_and_json(resp).await;
    assert!(status == 400 || status == 415, "{status}");

    let big = "x".repeat(70 * 1024);
    let resp = app
        .client
        .post("/api/v1/auth/signup")
        .content_type("application/json")
        .body(format!("{{\"email\":\"{big}\",\"password\":\"x\"}}"))
        .send()
        .await;
    assert_problem(resp, 413, "payload_too_large").await;

    let resp = app.call(&As::Nobody, "GET", "/api/v1/nope", None).await;
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn login_logout_and_session() {
    let app = TestApp::new().await;
    let session = app.user("grace@example.com").await;
    let who = As::User(session.clone());
    let (status, me) = app.json(&who, "GET", "/api/v1/auth/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "grace@example.com");

    let resp = app
        .client
        .post("/api/v1/auth/login")
        .body_json(&json!({"email": "grace@example.com", "password": "wrong password"}))
        .send()
        .await;
    assert_problem(resp, 401, "unauthorized").await;

    // Cookie writes need the CSRF token.
    let resp = app
        .client
        .post("/api/v1/orgs")
        .header("cookie", &session.cookie)
        .body_json(&json!({"name": "No CSRF"}))
        .send()
        .await;
    assert_problem(resp, 403, "csrf_failed").await;

    let resp = app.call(&who, "POST", "/api/v1/auth/logout", None).await;
    assert_eq!(resp.0.status().as_u16(), 204);
    let cookie = resp
        .0
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cookie.contains("Max-Age=0")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    assert_problem(
        app.call(&who, "GET", "/api/v1/auth/me", None).await,
        401,
        "unauthorized",
    )
    .await;
}

#[tokio::test]
async fn session_cookie_is_secure_behind_tls() {
    let app = TestApp::new().await;
    app.user("tls@example.com").await;
    let resp = app
        .client
        .post("/api/v1/auth/login")
        .header("x-forwarded-proto", "https")
        .body_json(&json!({"email": "tls@example.com", "password": PASSWORD}))
        .send()
        .await;
    resp.assert_status_is_ok();
    let cookie = resp
        .0
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn unverified_accounts_cannot_sign_in() {
    let app = TestApp::new().await;
    app.call(
        &As::Nobody,
        "POST",
        "/api/v1/auth/signup",
        Some(json!({"email": "new@example.com", "password": PASSWORD})),
    )
    .await;
    let resp = app
        .call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "new@example.com", "password": PASSWORD})),
        )
        .await;
    assert_problem(resp, 403, "email_not_verified").await;
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account() {
    let app = TestApp::new().await;
    app.user("target@example.com").await;
    for _ in 0..api::auth::throttle::LOGIN_FAILURES_PER_ACCOUNT.max {
        let resp = app
            .call(
                &As::Nobody,
                "POST",
                "/api/v1/auth/login",
                Some(json!({"email": "target@example.com", "password": "wrong wrong"})),
            )
            .await;
        assert_eq!(resp.0.status().as_u16(), 401);
    }
    // Even the right password waits now.
    let resp = app
        .call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "target@example.com", "password": PASSWORD})),
        )
        .await;
    let retry_after: u64 = resp
        .0
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0);
    assert_problem(resp, 429, "too_many_requests").await;
}

#[tokio::test]
async fn api_keys_authenticate_until_revoked() {
    let app = TestApp::new().await;
    let owner = app.user("owner@example.com").await;
    let org = app.org(&owner, "Keys").await;
    let who = As::User(owner);
    let (key_id, secret) = app.api_key(&who, org, &["read"]).await;
    let key = As::Key(secret.clone());
    let (status, list) = app
        .json(&key, "GET", &format!("/api/v1/orgs/{org}/projects"), None)
        .await;
    assert_eq!(status, 200, "{list}");

    let (_, keys) = app
        .json(&who, "GET", &format!("/api/v1/orgs/{org}/api-keys"), None)
        .await;
    let listed = &keys["items"][0];
    assert!(listed["last_used_at"].is_string(), "{listed}");
    assert!(
        !keys.to_string().contains(&secret),
        "the secret is never listed"
    );
    // Marked used to the minute: a second use within it does not write the key again; once
    // the mark is over a minute old, the next use moves it (the control).
    let last_used = async || {
        let (_, keys) = app
            .json(&who, "GET", &format!("/api/v1/orgs/{org}/api-keys"), None)
            .await;
        keys["items"][0]["last_used_at"].clone()
    };
    let first = last_used().await;
    let projects = format!("/api/v1/orgs/{org}/projects");
    assert_eq!(app.json(&key, "GET", &projects, None).await.0, 200);
    assert_eq!(last_used().await, first, "rewritten within the minute");
    use tenant::diesel_async::RunQueryDsl;
    let mut conn = app.owner_conn().await;
    tenant::diesel::sql_query(
        "UPDATE api_keys SET last_used_at = last_used_at - interval '2 minutes' WHERE key_id = $1",
    )
    .bind::<tenant::diesel::sql_types::Uuid, _>(key_id)
    .execute(&mut conn)
    .await
    .unwrap();
    let pushed_back = last_used().await;
    assert_ne!(pushed_back, first);
    assert_eq!(app.json(&key, "GET", &projects, None).await.0, 200);
    let moved = last_used().await;
    let at = |value: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(value.as_str().unwrap()).unwrap()
    };
    assert!(at(&moved) > at(&pushed_back), "{pushed_back} then {moved}");

    // A read key cannot write.
    let resp = app
        .call(
            &key,
            "POST",
            &format!("/api/v1/orgs/{org}/projects"),
            Some(json!({"name": "x", "domains": ["x.example"]})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;

    let resp = app
        .call(
            &who,
            "DELETE",
            &format!("/api/v1/orgs/{org}/api-keys/{key_id}"),
            None,
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 204);
    let resp = app
        .call(&key, "GET", &format!("/api/v1/orgs/{org}/projects"), None)
        .await;
    assert_problem(resp, 401, "unauthorized").await;
    let resp = app
        .call(&As::Key("bk_garbage".into()), "GET", "/api/v1/orgs", None)
        .await;
    assert_problem(resp, 401, "unauthorized").await;
}

#[tokio::test]
async fn project_limited_keys_see_only_their_projects() {
    let app = TestApp::new().await;
    let owner = app.user("limits@example.com").await;
    let org = app.org(&owner, "Limits").await;
    let who = As::User(owner);
    let a = app.project(&who, org, "a.example").await;
    let b = app.project(&who, org, "b.example").await;
    let (status, body) = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "only a", "scopes": ["read", "write"], "project_ids": [a["id"]]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let key = As::Key(body["secret"].as_str().unwrap().to_owned());
    let (_, list) = app
        .json(&key, "GET", &format!("/api/v1/orgs/{org}/projects"), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], a["id"]);
    let b_id = b["id"].as_str().unwrap();
    assert_problem(
        app.call(
            &key,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{b_id}"),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;

    let resp = app
        .json(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "bad", "scopes": ["read"], "project_ids": [uuid::Uuid::new_v4()]})),
        )
        .await;
    assert_eq!(resp.0, 422, "{}", resp.1);
    let resp = app
        .call(
            &who,
            "POST",
            &format!("/api/v1/orgs/{org}/api-keys"),
            Some(json!({"name": "bad", "scopes": ["superuser"]})),
        )
        .await;
    assert_problem(resp, 400, "invalid_request").await;
}

#[tokio::test]
async fn projects_validate_domains_and_timezones() {
    let app = TestApp::new().await;
    let owner = app.user("tz@example.com").await;
    let org = app.org(&owner, "TZ").await;
    let who = As::User(owner);
    let path = format!("/api/v1/orgs/{org}/projects");
    let project = app.project(&who, org, "Shop.Example.com").await;
    assert_eq!(project["domains"], json!(["shop.example.com"]));
    assert_eq!(project["timezone"], "Europe/Berlin");
    assert!(project["ingest_id"].as_i64().unwrap() > 0);
    assert!(project["ingest_key"].as_str().unwrap().starts_with("pk_"));

    let bad_tz = app
        .call(
            &who,
            "POST",
            &path,
            Some(json!({"name": "x", "domains": ["x.example"], "timezone": "Mars/Olympus"})),
        )
        .await;
    assert_problem(bad_tz, 422, "invalid_timezone").await;
    let nul = app
        .call(
            &who,
            "POST",
            "/api/v1/orgs",
            Some(json!({"name": "bad\u{0}name"})),
        )
        .await;
    assert_problem(nul, 422, "invalid_name").await;
    let nul_tz = app
        .call(
            &who,
            "POST",
            &path,
            Some(json!({"name": "x", "domains": ["x.example"], "timezone": "UTC\u{0}"})),
        )
        .await;
    assert_problem(nul_tz, 422, "invalid_timezone").await;
    let nul_login = app
        .call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "a\u{0}@x.io", "password": "whatever pw"})),
        )
        .await;
    assert_problem(nul_login, 401, "unauthorized").await;
    let bad_domain = app
        .call(
            &who,
            "POST",
            &path,
            Some(json!({"name": "x", "domains": ["https://x.example/path"]})),
        )
        .await;
    assert_problem(bad_domain, 422, "invalid_domain").await;
    let taken = app
        .call(
            &who,
            "POST",
            &path,
            Some(json!({"name": "x", "domains": ["shop.example.com"]})),
        )
        .await;
    assert_problem(taken, 409, "domain_taken").await;

    // Paginated listing.
    for i in 0..3 {
        app.project(&who, org, &format!("p{i}.example")).await;
    }
    let (_, first) = app
        .json(&who, "GET", &format!("{path}?limit=2"), None)
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let (_, second) = app
        .json(
            &who,
            "GET",
            &format!("{path}?limit=2&cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second["next_cursor"].is_null());
    let bad = app
        .call(&who, "GET", &format!("{path}?cursor=nope"), None)
        .await;
    assert_problem(bad, 400, "invalid_cursor").await;
}

/// A probe of the hardening review, kept: 40 simultaneous wrong guesses for one account. Each
/// is counted before its password is checked, so exactly the account's 5 allowed failures are
/// verified (401) and the rest are refused at once (429); checked then counted, all 40 were
/// verified.
#[tokio::test]
async fn simultaneous_guesses_cannot_pass_the_account_limit() {
    let app = TestApp::new().await;
    app.user("raced@example.com").await;
    let guesses = (0..40).map(|i| {
        app.call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "raced@example.com", "password": format!("wrong guess {i}")})),
        )
    });
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .iter()
        .map(|resp| resp.0.status().as_u16())
        .collect();
    let count = |status| statuses.iter().filter(|s| **s == status).count();
    assert_eq!(
        (count(401), count(429)),
        (
            api::auth::throttle::LOGIN_FAILURES_PER_ACCOUNT.max as usize,
            35
        ),
        "{statuses:?}"
    );
}

/// A probe of the hardening review, kept: a burst of logins (to unknown addresses, each an
/// argon2id check of about 19 MiB) beyond what the hashing bound runs and queues gets 503 with
/// `Retry-After` at once instead of piling up in memory.
#[tokio::test]
async fn logins_beyond_the_hashing_bound_get_503_with_retry_after() {
    let app = TestApp::new().await.reconfigured(|state| {
        state.password_hashing =
            std::sync::Arc::new(api::auth::password_hashing::PasswordHashing::new(
                1,
                2,
                std::time::Duration::from_secs(10),
            ));
    });
    let logins = (0..40).map(|i| {
        app.client
            .post("/api/v1/auth/login")
            .body_json(
                &json!({"email": format!("nobody{i}@burst.example"), "password": "wrong password"}),
            )
            .send()
    });
    let responses = futures::future::join_all(logins).await;
    let mut served = 0;
    let mut refused = 0;
    for resp in responses {
        match resp.0.status().as_u16() {
            401 => served += 1,
            503 => {
                assert_eq!(resp.0.headers().get("retry-after").unwrap(), "1");
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    // One runs and two wait at a time: most of a simultaneous burst of 40 is refused, and
    // what was admitted was answered.
    assert!(served >= 3, "{served} served, {refused} refused");
    assert!(refused >= 20, "{served} served, {refused} refused");
}

#[tokio::test]
async fn a_user_exports_their_data_and_deletes_the_account_unless_last_owner() {
    use tenant::tables::memberships::Role;
    let app = TestApp::new().await;
    let leaver = app.user("leaver@account.example").await;
    let other = app.user("other@account.example").await;
    let me = As::User(leaver.clone());
    let org = app.org(&leaver, "Shared").await;

    let (status, export) = app.json(&me, "GET", "/api/v1/auth/me/export", None).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["user"]["email"], "leaver@account.example");
    assert_eq!(export["memberships"][0]["org_name"], "Shared");
    assert_eq!(export["memberships"][0]["role"], "owner");
    assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
    assert!(
        !export.to_string().contains(&leaver.csrf),
        "no session secret in the export"
    );

    let resp = app
        .call(
            &me,
            "DELETE",
            "/api/v1/auth/me",
            Some(json!({"password": "not the password"})),
        )
        .await;
    assert_problem(resp, 422, "confirmation_mismatch").await;
    let resp = app
        .call(
            &me,
            "DELETE",
            "/api/v1/auth/me",
            Some(json!({"password": crate::support::PASSWORD})),
        )
        .await;
    let problem = assert_problem(resp, 409, "last_owner").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Shared"),
        "{problem}"
    );

    // With a second owner, the account goes: the membership, the sessions, the sign-in.
    app.add_member(org, &other, Role::Owner).await;
    let resp = app
        .call(
            &me,
            "DELETE",
            "/api/v1/auth/me",
            Some(json!({"password": crate::support::PASSWORD})),
        )
        .await;
    assert_eq!(resp.0.status().as_u16(), 204);
    let (status, _) = app.json(&me, "GET", "/api/v1/auth/me", None).await;
    assert_eq!(status, 401, "the session ended with the account");
    let (status, _) = app
        .json(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "leaver@account.example", "password": crate::support::PASSWORD})),
        )
        .await;
    assert_eq!(status, 401);
    let (_, members) = app
        .json(
            &As::User(other.clone()),
            "GET",
            &format!("/api/v1/orgs/{org}/members"),
            None,
        )
        .await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1, "{members}");
    let (_, log) = app
        .json(
            &As::User(other),
            "GET",
            &format!("/api/v1/orgs/{org}/audit-log?action=user.deleted"),
            None,
        )
        .await;
    assert_eq!(
        log["items"][0]["actor"]["id"],
        leaver.user_id.to_string(),
        "{log}"
    );
}
