//! The e-mail flows end to end: the API queues a job in its transaction, the real worker sends
//! the e-mail to a real SMTP server (aiosmtpd), and the link's token does what it says, once.

use serde_json::json;

use crate::support::{As, PASSWORD, SmtpServer, TestApp, Workers, assert_problem, token_from};

#[tokio::test]
async fn signup_verification_and_password_reset() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let workers = Workers::start(&app, &smtp);

    let (status, _) = app
        .json(
            &As::Nobody,
            "POST",
            "/api/v1/auth/signup",
            Some(json!({"email": "Lin@Example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 201);
    let mail = smtp
        .wait_for("lin@example.com", "/verify-email?token=")
        .await;
    assert!(mail.contains("Confirm your e-mail"), "{mail}");
    assert!(mail.contains("Content-Type: text/html") && mail.contains("Content-Type: text/plain"));
    let token = token_from(&mail);

    let verify = |token: String| {
        app.call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/verify-email",
            Some(json!({"token": token})),
        )
    };
    assert_eq!(verify(token.clone()).await.0.status().as_u16(), 204);
    assert_problem(verify(token).await, 410, "token_used").await;
    assert_problem(verify("made-up".into()).await, 400, "token_invalid").await;
    app.login("lin@example.com", PASSWORD).await;

    // Password reset: unknown addresses get the same answer and no e-mail.
    for email in ["lin@example.com", "nobody@example.com"] {
        let resp = app
            .call(
                &As::Nobody,
                "POST",
                "/api/v1/auth/password-reset",
                Some(json!({"email": email})),
            )
            .await;
        assert_eq!(resp.0.status().as_u16(), 202);
    }
    let mail = smtp
        .wait_for("lin@example.com", "/reset-password?token=")
        .await;
    let token = token_from(&mail);
    let old_session = app.login("lin@example.com", PASSWORD).await;
    let confirm = |token: String, password: &str| {
        app.call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "password": password})),
        )
    };
    assert_problem(confirm(token.clone(), "short").await, 422, "weak_password").await;
    assert_eq!(
        confirm(token.clone(), "a brand new passphrase")
            .await
            .0
            .status()
            .as_u16(),
        204
    );
    assert_problem(
        confirm(token, "another new passphrase").await,
        410,
        "token_used",
    )
    .await;
    // Old password and old sessions are gone.
    let old = app
        .call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/login",
            Some(json!({"email": "lin@example.com", "password": PASSWORD})),
        )
        .await;
    assert_problem(old, 401, "unauthorized").await;
    assert_problem(
        app.call(&As::User(old_session), "GET", "/api/v1/auth/me", None)
            .await,
        401,
        "unauthorized",
    )
    .await;
    app.login("lin@example.com", "a brand new passphrase").await;

    workers.stop().await;
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.contains("To: nobody@example.com"))
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let app = TestApp::new().await;
    let session = app.user("late@example.com").await;
    let mut conn = app.state.db.conn().await.unwrap();
    let token = tenant::tables::user_tokens::issue(
        &mut conn,
        tenant::UserId::from_uuid(session.user_id),
        tenant::tables::user_tokens::Purpose::ResetPassword,
        chrono::Duration::seconds(-1),
    )
    .await
    .unwrap();
    drop(conn);
    let resp = app
        .call(
            &As::Nobody,
            "POST",
            "/api/v1/auth/password-reset/confirm",
            Some(json!({"token": token, "password": "whatever passphrase"})),
        )
        .await;
    assert_problem(resp, 410, "token_expired").await;
}

#[tokio::test]
async fn invitation_is_emailed_and_accepted_as_viewer() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let workers = Workers::start(&app, &smtp);
    let owner = app.user("boss@example.com").await;
    let org = app.org(&owner, "Acme Analytics").await;
    let (status, invitation) = app
        .json(
            &As::User(owner.clone()),
            "POST",
            &format!("/api/v1/orgs/{org}/invitations"),
            Some(json!({"email": "Guest@Example.com", "role": "viewer"})),
        )
        .await;
    assert_eq!(status, 201, "{invitation}");
    let mail = smtp
        .wait_for("guest@example.com", "/invitations/accept?token=")
        .await;
    assert!(mail.contains("Acme Analytics"), "{mail}");
    // A 7-day invitation, e-mailed moments after it was made.
    assert!(mail.contains("The invitation expires in 7 days."), "{mail}");
    let token = token_from(&mail);

    // Someone else cannot use it.
    let stranger = app.user("stranger@example.com").await;
    let resp = app
        .call(
            &As::User(stranger),
            "POST",
            "/api/v1/invitations/accept",
            Some(json!({"token": token})),
        )
        .await;
    assert_problem(resp, 403, "invitation_email_mismatch").await;

    let guest = app.user("guest@example.com").await;
    let (status, joined) = app
        .json(
            &As::User(guest.clone()),
            "POST",
            "/api/v1/invitations/accept",
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["role"], "viewer");
    assert_eq!(joined["name"], "Acme Analytics");
    let resp = app
        .call(
            &As::User(guest.clone()),
            "POST",
            "/api/v1/invitations/accept",
            Some(json!({"token": token})),
        )
        .await;
    assert_problem(resp, 410, "token_used").await;

    let (_, orgs) = app
        .json(&As::User(guest.clone()), "GET", "/api/v1/orgs", None)
        .await;
    assert_eq!(orgs["items"][0]["id"], org.to_string());
    let resp = app
        .call(
            &As::User(guest),
            "PATCH",
            &format!("/api/v1/orgs/{org}"),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    workers.stop().await;
}
