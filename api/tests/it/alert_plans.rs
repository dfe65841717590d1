//! Alerts follow the plan: an organization whose plan lost the `alerts` feature (a downgrade,
//! an unpaid invoice) keeps its rules and channels, but its schedules pass unevaluated and
//! nothing is sent but a "send test" — and all of it comes back with the feature.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;

use crate::alerts::{Receivers, alerts_app, create, pageviews, sender};
use crate::support::{As, SmtpServer, job_context};

/// Billing configured (a Stripe key), so an organization without a subscription is on the
/// free plan, which has no alerts. Entitlements come from the database: Stripe is not called.
fn billing_configured() -> Arc<billing::Billing> {
    let config = billing::BillingConfig {
        secret_key: Some("sk_test_plans".into()),
        webhook_secrets: vec!["whsec_plans".into()],
        api_base: Some("http://127.0.0.1:9".into()),
    };
    Arc::new(billing::Billing::new(&config).unwrap())
}

#[tokio::test]
async fn without_the_alerts_feature_nothing_is_evaluated_or_sent_but_tests() {
    let app = alerts_app().await;
    let smtp = SmtpServer::start();
    let receivers = Receivers::start();
    let owner = app.user("owner@plans.test").await;
    let who = As::User(owner.clone());
    let org = app.org(&owner, "Plans").await;
    let project = app.project(&who, org, "plans.example").await;
    let p = project["id"].as_str().unwrap();
    let channels = format!("/api/v1/orgs/{org}/channels");
    let slack = create(
        &app,
        &who,
        &channels,
        json!({"name": "#ops", "kind": "slack", "url": receivers.url("/slack/T/B/plans")}),
    )
    .await["channel"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    pageviews(&app, "plans.example", 3).await;
    create(
        &app,
        &who,
        &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
        json!({"name": "Traffic", "metric": "pageviews", "window_minutes": 60,
               "condition": "above", "warning": 2, "channel_ids": [slack]}),
    )
    .await;
    let ctx = job_context(&app, Some(&smtp.url()));
    let free = billing_configured();
    let now = Utc::now();

    // On the free plan the due slot passes unevaluated…
    let round = worker::alerts::evaluate_due(
        &ctx.db,
        &ctx.sweeper,
        &free,
        now + Duration::minutes(5),
        "http://beacon.test",
    )
    .await
    .unwrap();
    assert_eq!(round.evaluated, 0, "{round:?}");
    let (_, alert) = app
        .json(
            &who,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{p}/alerts"),
            None,
        )
        .await;
    assert_eq!(alert[0]["state"], "ok");
    // …and is not run later for that slot, while the next slot with the feature is (the
    // positive control of the same count).
    let allowed = |at| {
        worker::alerts::evaluate_due(
            &ctx.db,
            &ctx.sweeper,
            &ctx.billing,
            at,
            "http://beacon.test",
        )
    };
    assert_eq!(
        allowed(now + Duration::minutes(5)).await.unwrap().evaluated,
        0
    );
    let round = allowed(now + Duration::minutes(10)).await.unwrap();
    assert_eq!((round.evaluated, round.queued), (1, 1), "{round:?}");

    // Queued notifications are not sent on the free plan: each fails with the plan's reason,
    // and the channel stays on.
    let mut send = sender(&app, &smtp, true);
    send.billing = free.clone();
    assert_eq!(
        worker::notify::deliver_due(&send, Utc::now())
            .await
            .unwrap(),
        1
    );
    assert!(receivers.received("slack").await.is_empty());
    let (_, log) = app
        .json(&who, "GET", &format!("{channels}/{slack}/deliveries"), None)
        .await;
    assert_eq!(log[0]["status"], "failed", "{log}");
    assert!(
        log[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("needs the Team plan"),
        "{log}"
    );
    let (_, listed) = app.json(&who, "GET", &channels, None).await;
    assert_eq!(listed[0]["enabled"], true);
    // A "send test" still goes (the same sender, the same fake).
    let (status, _) = app
        .json(&who, "POST", &format!("{channels}/{slack}/test"), None)
        .await;
    assert_eq!(status, 202);
    worker::notify::deliver_due(&send, Utc::now())
        .await
        .unwrap();
    let got = receivers.received("slack").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0]["body"].to_string().contains("Test notification"));
}
