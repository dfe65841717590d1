//! Billing against a fake Stripe speaking Stripe's wire format (`api/tests/fakes/stripe.py`):
//! checkout and the trial, webhooks signed with Stripe's own scheme (by async-stripe's signer),
//! redelivery and out-of-order delivery, plan limits and downgrades, dunning, quotas with their
//! grace period, per-product drops and e-mails, and usage reported as meter events once.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use stripe_webhook::Webhook;
use tenant::diesel::QueryableByName;
use tenant::diesel::sql_types::BigInt;
use tenant::diesel_async::RunQueryDsl;
use tenant::tables::memberships::Role;
use uuid::Uuid;

use crate::fake_stripe::{FakeStripe, SECRET};
use crate::support::{As, SmtpServer, TestApp, assert_problem, job_context};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.owner_conn().await;
    tenant::diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn execute(app: &TestApp, sql: &str) {
    let mut conn = app.owner_conn().await;
    tenant::diesel::sql_query(sql)
        .execute(&mut conn)
        .await
        .unwrap();
}

/// An organization with an owner (signed in) and one project collecting for `domain`.
struct Org {
    id: Uuid,
    owner: As,
    project: Value,
}

async fn org(app: &TestApp, domain: &str) -> Org {
    let user = app.user(&format!("owner@{domain}")).await;
    let id = app.org(&user, domain).await;
    let owner = As::User(user);
    let project = app.project(&owner, id, domain).await;
    Org { id, owner, project }
}

async fn billing(app: &TestApp, who: &As, org: Uuid) -> Value {
    let (status, body) = app
        .json(who, "GET", &format!("/api/v1/orgs/{org}/billing"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn checkout(app: &TestApp, org: &Org, plan: &str) -> String {
    let (status, body) = app
        .json(
            &org.owner,
            "POST",
            &format!("/api/v1/orgs/{}/billing/checkout", org.id),
            Some(json!({"plan": plan, "interval": "month"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["url"].as_str().unwrap().to_string()
}

/// Posts `payload` to the webhook with `signature`; answers status and body.
async fn deliver(app: &TestApp, payload: &str, signature: &str) -> (u16, Value) {
    let resp = app
        .client
        .post("/api/billing/stripe/webhook")
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(payload.to_string())
        .send()
        .await;
    crate::support::status_and_json(resp).await
}

/// A Stripe event of `kind` about `object`, signed with `secret` at `at` by async-stripe's
/// test signer (Stripe's scheme, not Beacon's code).
fn signed(kind: &str, object: Value, secret: &str, at: DateTime<Utc>) -> (String, String) {
    let payload = json!({
        "id": format!("evt_{}", Uuid::new_v4().simple()),
        "object": "event",
        "type": kind,
        "created": at.timestamp(),
        "data": {"object": object},
    })
    .to_string();
    let header = Webhook::generate_test_header(&payload, secret, Some(at.timestamp()));
    (payload, header)
}

/// Subscribes `org` to `plan` through Checkout and the fake's "Pay" (which posts the signed
/// `checkout.session.completed`); answers the subscription id.
async fn subscribe(app: &TestApp, stripe: &FakeStripe, org: &Org, plan: &str) -> String {
    let url = checkout(app, org, plan).await;
    stripe.pay(&url).await;
    let state = stripe.state().await;
    let webhook = state["webhooks"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(webhook["status"], 200, "{webhook}");
    webhook["event"]["data"]["object"]["subscription"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn pageview(app: &TestApp, domain: &str) -> (u16, Value) {
    let resp = app
        .client
        .post("/api/event")
        .header("user-agent", FIREFOX)
        .content_type("text/plain")
        .body(
            json!({"name": "pageview", "url": format!("https://{domain}/"), "domain": domain})
                .to_string(),
        )
        .send()
        .await;
    crate::support::status_and_json(resp).await
}

async fn refresh_quotas(app: &TestApp) {
    let ingest_db = tenant::Db::connect_as(
        &app.test_db.owner_url,
        tenant::AppRole::Ingest,
        &tenant::db::PoolConfig::default(),
    )
    .unwrap();
    app.state.ingest.quotas.refresh(&ingest_db).await.unwrap();
}

async fn meter(app: &TestApp) {
    let ctx = job_context(app, None);
    worker::jobs::MeterUsageAllTenants {}
        .run(&ctx)
        .await
        .unwrap();
}

#[tokio::test]
async fn without_a_stripe_key_everything_is_unlimited_and_billing_is_hidden() {
    let app = TestApp::new().await;
    let org = org(&app, "selfhosted.example").await;
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(body["enabled"], false);
    assert_eq!(body["plan"], "self_hosted");
    assert_eq!(body["status"], "self_hosted");
    assert_eq!(body["plans"], json!([]));
    assert_eq!(body["can_manage"], false);
    assert!(body["entitlements"]["projects"].is_null());
    assert_eq!(
        body["entitlements"]["features"].as_array().unwrap().len(),
        billing::Feature::ALL.len()
    );
    for path in ["checkout", "portal"] {
        let resp = app
            .call(
                &org.owner,
                "POST",
                &format!("/api/v1/orgs/{}/billing/{path}", org.id),
                Some(json!({"plan": "team", "interval": "month"})),
            )
            .await;
        assert_problem(resp, 404, "billing_not_configured").await;
    }
    // Free allows two projects; self-hosted has no limit (the same requests are refused with
    // billing on, below).
    for n in 0..3 {
        app.project(&org.owner, org.id, &format!("s{n}.selfhosted.example"))
            .await;
    }
}

#[tokio::test]
async fn checkout_creates_one_customer_and_a_trial_and_the_webhook_sets_the_plan() {
    let stripe = FakeStripe::start();
    let app = stripe.app().await;
    stripe.deliver_to(app.listen().await).await;
    let org = org(&app, "buyer.example").await;

    let free = billing(&app, &org.owner, org.id).await;
    assert_eq!(
        (free["enabled"].as_bool(), free["plan"].as_str()),
        (Some(true), Some("free"))
    );
    assert_eq!(free["can_manage"], true);
    assert_eq!(free["plans"].as_array().unwrap().len(), 4);

    let first = checkout(&app, &org, "team").await;
    let second = checkout(&app, &org, "business").await;
    assert_ne!(first, second);
    let state = stripe.state().await;
    let customers = state["customers"].as_object().unwrap();
    assert_eq!(customers.len(), 1, "one customer per organization");
    let customer = customers.values().next().unwrap();
    assert_eq!(customer["metadata"]["org_id"], org.id.to_string());
    assert_eq!(customer["email"], "owner@buyer.example");
    let create = state["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/v1/customers")
        .unwrap();
    assert_eq!(
        create["idempotency_key"],
        format!("beacon-customer-{}", org.id)
    );
    assert_eq!(
        create["authorization"],
        format!("Bearer {}", crate::fake_stripe::KEY)
    );
    let session = state["sessions"]
        .as_object()
        .unwrap()
        .values()
        .find(|s| s["url"] == first)
        .unwrap();
    assert_eq!(session["mode"], "subscription");
    assert_eq!(session["client_reference_id"], org.id.to_string());
    assert_eq!(session["line_items"][0]["price"], "price_beacon_team_month");
    assert_eq!(session["subscription_data"]["trial_period_days"], "14");
    assert_eq!(
        session["subscription_data"]["metadata"]["org_id"],
        org.id.to_string()
    );
    assert_eq!(session["payment_method_collection"], "if_required");
    assert_eq!(
        session["success_url"],
        format!(
            "http://beacon.test/orgs/{}/billing?checkout=success",
            org.id
        )
    );

    let back = stripe.pay(&first).await;
    assert!(back.ends_with("checkout=success"), "{back}");
    let team = billing(&app, &org.owner, org.id).await;
    assert_eq!(team["plan"], "team", "{team}");
    assert_eq!(team["status"], "trialing");
    assert_eq!(team["interval"], "month");
    assert_eq!(team["entitlements"]["projects"], 10);
    assert!(team["trial_end"].is_string());
    let (status, invoices) = app
        .json(
            &org.owner,
            "GET",
            &format!("/api/v1/orgs/{}/billing/invoices", org.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{invoices}");
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1);
    let (status, portal) = app
        .json(
            &org.owner,
            "POST",
            &format!("/api/v1/orgs/{}/billing/portal", org.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "{portal}");
    assert!(portal["url"].as_str().unwrap().contains("/portal/"));
    // Checkouts, the plan Stripe set and the portal are in the audit log with their actors
    // (read from the table: the audit log's API is a Business feature, refused on Team).
    let resp = app
        .call(
            &org.owner,
            "GET",
            &format!("/api/v1/orgs/{}/audit-log", org.id),
            None,
        )
        .await;
    crate::support::assert_problem(resp, 402, "plan_required").await;
    let scoped = tenant::OrgId::from_uuid(org.id);
    let filter = tenant::tables::audit_log::Filter {
        action: Some("billing.".into()),
        ..Default::default()
    };
    let records = app
        .state
        .db
        .scoped(scoped, async |conn| {
            Ok::<_, tenant::DbError>(
                tenant::tables::audit_log::list(conn, scoped, &filter, None, 50).await?,
            )
        })
        .await
        .unwrap();
    let count = |action: &str, actor_kind: &str| {
        records
            .iter()
            .filter(|r| r.action == action && r.actor.starts_with(actor_kind))
            .count()
    };
    assert_eq!(count("billing.checkout_started", "user:"), 2);
    assert_eq!(count("billing.portal_opened", "user:"), 1);
    let changed = records
        .iter()
        .find(|r| r.action == "billing.plan_changed")
        .expect("the webhook's plan change is recorded");
    assert_eq!(changed.actor, "system:stripe_webhook");
    assert_eq!(
        changed.changes["plan"]["after"], "team",
        "{:?}",
        changed.changes
    );

    // The trial is for the first subscription only.
    checkout(&app, &org, "business").await;
    let state = stripe.state().await;
    let last = state["sessions"]
        .as_object()
        .unwrap()
        .values()
        .max_by_key(|s| s["id"].as_str().unwrap().to_string())
        .unwrap()
        .clone();
    assert!(
        last["subscription_data"]["trial_period_days"].is_null(),
        "{last}"
    );

    // Viewers see the plan but no controls, and cannot buy; admins neither.
    for role in [Role::Viewer, Role::Admin] {
        let user = app.user(&format!("{}@buyer.example", role.as_str())).await;
        app.add_member(org.id, &user, role).await;
        let who = As::User(user);
        let seen = billing(&app, &who, org.id).await;
        assert_eq!(seen["plan"], "team");
        assert_eq!(seen["can_manage"], false);
        let resp = app
            .call(
                &who,
                "POST",
                &format!("/api/v1/orgs/{}/billing/checkout", org.id),
                Some(json!({"plan": "team", "interval": "year"})),
            )
            .await;
        assert_problem(resp, 403, "forbidden").await;
    }
}

#[tokio::test]
async fn webhooks_verify_stripes_signature_apply_once_and_never_trust_order() {
    let stripe = FakeStripe::start();
    let config = stripe.config(&["whsec_old_secret", SECRET]);
    let app = TestApp::new().await.reconfigured(move |state| {
        state.billing = Arc::new(billing::Billing::new(&config).unwrap());
        state.public_url = Some("http://beacon.test".into());
    });
    stripe.deliver_to(app.listen().await).await;
    let org = org(&app, "hooks.example").await;
    let subscription = subscribe(&app, &stripe, &org, "team").await;
    let events = || async { count(&app, "SELECT count(*) AS n FROM stripe_events").await };
    assert_eq!(events().await, 1, "the checkout's event is stored");
    let object = json!({"id": subscription, "object": "subscription"});
    let now = Utc::now();

    // A tampered body, the wrong secret, a stale or future timestamp, no header: 400, nothing.
    let (payload, header) = signed("customer.subscription.updated", object.clone(), SECRET, now);
    let tampered = payload.replace("updated", "deleted");
    let (_, wrong) = signed(
        "customer.subscription.updated",
        object.clone(),
        "whsec_wrong",
        now,
    );
    let (stale_payload, stale) = signed(
        "customer.subscription.updated",
        object.clone(),
        SECRET,
        now - Duration::seconds(301),
    );
    let (future_payload, future) = signed(
        "customer.subscription.updated",
        object.clone(),
        SECRET,
        now + Duration::seconds(301),
    );
    for (body, signature) in [
        (tampered.as_str(), header.as_str()),
        (payload.as_str(), wrong.as_str()),
        (stale_payload.as_str(), stale.as_str()),
        (future_payload.as_str(), future.as_str()),
        (payload.as_str(), ""),
    ] {
        let (status, problem) = deliver(&app, body, signature).await;
        assert_eq!(status, 400, "{problem}");
        assert_eq!(
            problem["type"],
            "https://beacon.dev/problems/invalid_signature"
        );
    }
    assert_eq!(events().await, 1, "refused deliveries store nothing");

    // Valid, with either secret of a rotation; a redelivery is a no-op.
    let (status, body) = deliver(&app, &payload, &header).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    let (status, body) = deliver(&app, &payload, &header).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
    let (old_payload, old) = signed(
        "customer.subscription.updated",
        object.clone(),
        "whsec_old_secret",
        now,
    );
    let (status, body) = deliver(&app, &old_payload, &old).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("applied")),
        "{body}"
    );
    assert_eq!(events().await, 3);

    // Out of order: the deletion arrives, then a stale "updated" (and a stale "created")
    // sent while it was still active. Beacon reads the subscription again: it stays canceled.
    stripe
        .post(
            &format!("/_fake/subscriptions/{subscription}"),
            json!({"status": "canceled", "send": "customer.subscription.deleted"}),
        )
        .await;
    assert_eq!(billing(&app, &org.owner, org.id).await["plan"], "free");
    let active = json!({"id": subscription, "object": "subscription", "status": "active"});
    for kind in [
        "customer.subscription.updated",
        "customer.subscription.created",
    ] {
        let (payload, header) = signed(kind, active.clone(), SECRET, Utc::now());
        let (status, body) = deliver(&app, &payload, &header).await;
        assert_eq!(
            (status, body["outcome"].as_str()),
            (200, Some("applied")),
            "{body}"
        );
    }
    let after = billing(&app, &org.owner, org.id).await;
    assert_eq!(
        (after["plan"].as_str(), after["status"].as_str()),
        (Some("free"), Some("canceled")),
        "{after}"
    );

    // An unknown type: 200, ignored, counted.
    let (payload, header) = signed(
        "customer.tax_id.created",
        json!({"id": "txi_1"}),
        SECRET,
        Utc::now(),
    );
    let (status, body) = deliver(&app, &payload, &header).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("ignored")),
        "{body}"
    );
    let resp = app.client.get("/metrics").send().await;
    let metrics = resp.0.into_body().into_string().await.unwrap();
    assert!(
        metrics.contains("beacon_stripe_webhooks_total{outcome=\"ignored\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("beacon_stripe_webhooks_total{outcome=\"refused\"} 5"),
        "{metrics}"
    );
}

#[tokio::test]
async fn plan_limits_refuse_the_next_project_and_seat_and_a_downgrade_makes_the_excess_read_only() {
    let stripe = FakeStripe::start();
    let app = stripe.app().await;
    stripe.deliver_to(app.listen().await).await;
    let org = org(&app, "limits.example").await;
    // Free: two projects, two seats.
    app.project(&org.owner, org.id, "two.limits.example").await;
    let resp = app
        .call(
            &org.owner,
            "POST",
            &format!("/api/v1/orgs/{}/projects", org.id),
            Some(json!({"name": "Third", "domains": ["three.limits.example"], "timezone": "UTC"})),
        )
        .await;
    let problem = assert_problem(resp, 402, "plan_limit_reached").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Team"),
        "{problem}"
    );
    let invite = |email: &str| {
        let body = json!({"email": email, "role": "member"});
        let path = format!("/api/v1/orgs/{}/invitations", org.id);
        let app = &app;
        let owner = org.owner.clone();
        async move { app.call(&owner, "POST", &path, Some(body)).await }
    };
    assert_eq!(invite("second@limits.example").await.0.status(), 201);
    assert_problem(
        invite("third@limits.example").await,
        402,
        "plan_limit_reached",
    )
    .await;
    // Retention: Free keeps 180 days.
    let retention = |days: i64| {
        let path = format!(
            "/api/v1/orgs/{}/projects/{}",
            org.id,
            org.project["id"].as_str().unwrap()
        );
        let app = &app;
        let owner = org.owner.clone();
        async move {
            app.call(
                &owner,
                "PATCH",
                &path,
                Some(json!({"retention_days": days})),
            )
            .await
        }
    };
    assert_eq!(retention(180).await.0.status(), 200);
    let problem = assert_problem(retention(365).await, 402, "plan_limit_reached").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("Team"),
        "{problem}"
    );

    // Team: room for more.
    let subscription = subscribe(&app, &stripe, &org, "team").await;
    for n in 3..=5 {
        app.project(&org.owner, org.id, &format!("p{n}.limits.example"))
            .await;
    }
    assert_eq!(invite("third@limits.example").await.0.status(), 201);
    assert_eq!(retention(365).await.0.status(), 200);

    // Canceled: back to Free. Nothing is deleted; what is over is said, and projects past
    // the first two are read-only (but can be deleted).
    stripe
        .post(
            &format!("/_fake/subscriptions/{subscription}"),
            json!({"status": "canceled", "send": "customer.subscription.deleted"}),
        )
        .await;
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(body["plan"], "free");
    let over = body["over"].as_array().unwrap();
    assert!(
        over.contains(&json!({"what": "projects", "limit": 2, "used": 5})),
        "{body}"
    );
    assert!(
        over.contains(&json!({"what": "seats", "limit": 2, "used": 3})),
        "{body}"
    );
    let (status, projects) = app
        .json(
            &org.owner,
            "GET",
            &format!("/api/v1/orgs/{}/projects", org.id),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let ids: Vec<String> = projects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5, "nothing deleted");
    let first = org.project["id"].as_str().unwrap();
    let goal = |project: String| {
        let path = format!("/api/v1/orgs/{}/projects/{project}/goals", org.id);
        let app = &app;
        let owner = org.owner.clone();
        async move {
            app.call(&owner, "POST", &path, Some(json!({"event_name": "Signup"})))
                .await
        }
    };
    assert_eq!(
        goal(first.to_string()).await.0.status(),
        201,
        "the first projects stay writable"
    );
    let newest = app
        .json(
            &org.owner,
            "GET",
            &format!("/api/v1/orgs/{}/projects", org.id),
            None,
        )
        .await
        .1["items"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|p| p["created_at"].as_str().unwrap().to_string())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_problem(goal(newest.clone()).await, 402, "plan_limit_reached").await;
    let (status, _) = app
        .json(
            &org.owner,
            "GET",
            &format!("/api/v1/orgs/{}/projects/{newest}/goals", org.id),
            None,
        )
        .await;
    assert_eq!(status, 200, "read-only projects stay readable");
    let (status, body) = app
        .json(
            &org.owner,
            "DELETE",
            &format!("/api/v1/orgs/{}/projects/{newest}", org.id),
            Some(json!({"confirm_name": "Site"})),
        )
        .await;
    assert_eq!(status, 202, "erasing the excess is allowed: {body}");
    // A project on its way out does not count: cancelling its erasure needs room again.
    let resp = app
        .call(
            &org.owner,
            "POST",
            &format!("/api/v1/orgs/{}/projects/{newest}/erasure/cancel", org.id),
            None,
        )
        .await;
    assert_problem(resp, 402, "plan_limit_reached").await;
}

#[tokio::test]
async fn past_due_keeps_the_plan_for_seven_days_mails_the_owners_then_restricts() {
    let stripe = FakeStripe::start();
    let app = stripe.app().await;
    stripe.deliver_to(app.listen().await).await;
    let smtp = SmtpServer::start();
    let org = org(&app, "dunning.example").await;
    let subscription = subscribe(&app, &stripe, &org, "business").await;
    stripe
        .post(
            &format!("/_fake/subscriptions/{subscription}"),
            json!({"send": "customer.subscription.trial_will_end"}),
        )
        .await;
    stripe
        .post(
            &format!("/_fake/subscriptions/{subscription}"),
            json!({"status": "past_due", "send": "invoice.payment_failed"}),
        )
        .await;
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(
        (body["plan"].as_str(), body["status"].as_str()),
        (Some("business"), Some("past_due"))
    );
    assert_eq!(body["restricted"], false);
    let since: DateTime<Utc> = body["past_due_since"].as_str().unwrap().parse().unwrap();
    let grace: DateTime<Utc> = body["grace_ends_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(grace - since, Duration::days(7));
    let workers = crate::support::Workers::start(&app, &smtp);
    // Two e-mails, in either order: each found by its subject.
    let mail = smtp
        .wait_for(
            "owner@dunning.example",
            "Subject: Payment failed for dunning.example",
        )
        .await;
    assert!(mail.contains("Everything keeps working until"), "{mail}");
    let mail = smtp
        .wait_for(
            "owner@dunning.example",
            "Subject: Your Beacon trial for dunning.example ends soon",
        )
        .await;
    assert!(
        mail.contains("The Business trial of dunning.example ends on"),
        "{mail}"
    );
    workers.stop().await;

    app.set_now(since + Duration::days(8));
    app.state.billing.forget(tenant::OrgId::from_uuid(org.id));
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(body["restricted"], true, "{body}");
    assert_eq!(
        body["entitlements"]["projects"], 2,
        "Free's limits while restricted"
    );
    assert_eq!(body["entitlements"]["features"], json!([]));
    assert_eq!(
        body["entitlements"]["events_per_month"], 2_000_000,
        "quotas stay the plan's"
    );
    // Paid again: the plan is back (the clock back at the time the fake signs with).
    app.set_now(Utc::now());
    stripe
        .post(
            &format!("/_fake/subscriptions/{subscription}"),
            json!({"status": "active", "send": "invoice.paid"}),
        )
        .await;
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(
        (body["restricted"].as_bool(), body["status"].as_str()),
        (Some(false), Some("active"))
    );
}

#[tokio::test]
async fn over_quota_a_product_is_stored_for_the_grace_period_then_dropped_alone_and_counted() {
    let stripe = FakeStripe::start();
    let app = stripe.app().await;
    let smtp = SmtpServer::start();
    let start: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
    app.set_now(start);
    let org = org(&app, "quota.example").await;
    let domain = "quota.example";
    // Earlier this month (outside the days the job recounts): 8,500 of Free's 10,000.
    let day = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap();
    execute(&app, &format!("INSERT INTO usage_daily (org_id, product, day, quantity) VALUES ('{}', 'events', '{day}', 8500)", org.id)).await;
    meter(&app).await;
    let usage = |body: &Value, product: &str| {
        body["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["product"] == product)
            .unwrap()
            .clone()
    };
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(usage(&body, "events")["used"], 8500, "{body}");
    assert_eq!(usage(&body, "events")["quota"], 10_000);
    let workers = crate::support::Workers::start(&app, &smtp);
    let mail = smtp.wait_for("owner@quota.example", "80%").await;
    assert!(
        mail.contains("8,500 of its 10,000 pageviews and custom events"),
        "{mail}"
    );

    // Over the quota: still stored during the grace period.
    execute(
        &app,
        &format!(
            "UPDATE usage_daily SET quantity = 10000 WHERE org_id = '{}'",
            org.id
        ),
    )
    .await;
    meter(&app).await;
    meter(&app).await;
    smtp.wait_for("owner@quota.example", "used all of its")
        .await;
    let (status, body) = pageview(&app, domain).await;
    assert_eq!(
        (status, body["accepted"].as_i64()),
        (202, Some(1)),
        "{body}"
    );
    let stored = || async {
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM events WHERE org_id = '{}'",
                org.id
            ),
        )
        .await
    };
    assert_eq!(stored().await, 1);

    // Past the grace period: pageviews are answered 202 but not stored, and counted.
    app.set_now(start + Duration::days(8));
    meter(&app).await;
    refresh_quotas(&app).await;
    let (status, body) = pageview(&app, domain).await;
    assert_eq!(
        (
            status,
            body["accepted"].as_i64(),
            body["over_quota"].as_i64()
        ),
        (202, Some(0), Some(1)),
        "{body}"
    );
    assert_eq!(stored().await, 1, "nothing stored over quota");
    refresh_quotas(&app).await;
    let body = billing(&app, &org.owner, org.id).await;
    assert_eq!(usage(&body, "events")["blocked"], true, "{body}");
    assert_eq!(usage(&body, "events")["dropped"], 1, "{body}");

    // Errors have their own quota: still accepted (positive control for the drop below).
    let key = org.project["ingest_key"].as_str().unwrap();
    let ingest_id = org.project["ingest_id"].as_i64().unwrap();
    let envelope =
        |message: &str| format!("{{}}\n{{\"type\":\"event\"}}\n{{\"message\":\"{message}\"}}");
    let path = format!("/api/{ingest_id}/envelope/?sentry_key={key}");
    let resp = app.client.post(&path).body(envelope("first")).send().await;
    assert_eq!(resp.0.status(), 200);
    let errors = || async {
        count(
            &app,
            &format!(
                "SELECT count(*) AS n FROM error_events WHERE org_id = '{}'",
                org.id
            ),
        )
        .await
    };
    assert_eq!(errors().await, 1);
    execute(&app, &format!("INSERT INTO usage_daily (org_id, product, day, quantity) VALUES ('{}', 'errors', '{day}', 6000)", org.id)).await;
    meter(&app).await;
    app.set_now(start + Duration::days(16));
    meter(&app).await;
    refresh_quotas(&app).await;
    let resp = app.client.post(&path).body(envelope("second")).send().await;
    assert_eq!(resp.0.status(), 429);
    let limits = resp.0.headers()["x-sentry-rate-limits"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(limits, "300:error:organization:usage_exceeded");
    assert_eq!(errors().await, 1, "the error was not stored");
    // Each threshold e-mail went out once.
    workers.stop().await;
    let messages = smtp.messages();
    let subjects = |needle: &str| messages.iter().filter(|m| m.contains(needle)).count();
    assert_eq!(subjects("has used 80% of its Beacon pageviews"), 1);
    assert_eq!(subjects("has used all of its Beacon pageviews"), 1);
    assert_eq!(subjects("has used all of its Beacon error events"), 1);
}

#[tokio::test]
async fn finished_days_are_reported_to_stripe_once_per_product_and_day() {
    let stripe = FakeStripe::start();
    let app = stripe.app().await;
    stripe.deliver_to(app.listen().await).await;
    let org = org(&app, "meter.example").await;
    subscribe(&app, &stripe, &org, "team").await;
    let now: DateTime<Utc> = "2026-11-18T12:00:00Z".parse().unwrap();
    app.set_now(now);
    let day = |back: i64| (now - Duration::days(back)).date_naive();
    // Days the job no longer recounts keep these counts; today is not finished, so it is not
    // reported yet.
    for (product, back, n) in [("errors", 5, 3), ("events", 4, 42), ("events", 0, 7)] {
        execute(&app, &format!("INSERT INTO usage_daily (org_id, product, day, quantity) VALUES ('{}', '{product}', '{}', {n})", org.id, day(back))).await;
    }
    meter(&app).await;
    meter(&app).await;
    let state = stripe.state().await;
    let events = state["meter_events"].as_object().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    let reported = &events[&format!("{}:errors:{}", org.id, day(5))];
    assert_eq!(reported["event_name"], "beacon_errors");
    assert_eq!(reported["payload"]["value"], "3");
    assert!(
        reported["payload"]["stripe_customer_id"]
            .as_str()
            .unwrap()
            .starts_with("cus_")
    );
    assert_eq!(
        events[&format!("{}:events:{}", org.id, day(4))]["payload"]["value"],
        "42"
    );
    // A re-run that lost its record of the report (a crash between the two) does not bill
    // twice: the same identifier and idempotency key.
    execute(&app, "UPDATE usage_daily SET reported_at = NULL").await;
    meter(&app).await;
    assert_eq!(
        stripe.state().await["meter_events"]
            .as_object()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM usage_daily WHERE reported_at IS NOT NULL"
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn choosing_a_plan_and_paying_in_chromium() {
    use crate::cli::{DataDir, free_port, serve_with};

    let smtp = SmtpServer::start();
    let stripe = FakeStripe::start();
    let data = DataDir::new();
    let port = free_port();
    stripe.deliver_to(port).await;
    let (public_url, smtp_url, api_base) = (
        format!("http://beacon.test:{port}"),
        smtp.url(),
        stripe.base(),
    );
    let (_server, _) = serve_with(
        &data.0,
        port,
        &[
            ("BEACON_SMTP_URL", &smtp_url),
            ("BEACON_PUBLIC_URL", &public_url),
            ("BEACON_STRIPE_SECRET_KEY", crate::fake_stripe::KEY),
            ("BEACON_STRIPE_WEBHOOK_SECRET", SECRET),
            ("BEACON_STRIPE_API_BASE", &api_base),
        ],
    );
    let report = crate::support::run_journey(
        "billing.mjs",
        port,
        smtp.maildir(),
        &[stripe.port.to_string()],
    );
    assert_eq!(report["offered"], "Continue with Team");
    assert_eq!(report["freeUsage"], 1);
    assert_eq!(report["checkoutPrice"], "beacon_team_month");
    assert_eq!(report["checkoutTrial"], "14-day trial");
    assert_eq!(report["currentPlan"], 1);
    assert_eq!(report["trialBanner"], 1);
    assert_eq!(report["status"], "trialing");
    assert_eq!(report["manage"], 1);
    assert_eq!(report["invoices"], 1);
    assert_eq!(report["billingLink"], 1);
    // The viewer sees the plan's banner but no billing link or control; the owner, on the same
    // page, can choose Business or Enterprise.
    assert_eq!(report["viewerBillingLink"], 0);
    assert_eq!(report["viewerPlanCards"], 0);
    assert_eq!(report["viewerManage"], 0);
    assert_eq!(report["viewerInvoices"], 0);
    assert_eq!(report["ownerPlanCards"], 2);
    // What Stripe was asked: one customer, for this organization.
    let state = stripe.state().await;
    assert_eq!(state["customers"].as_object().unwrap().len(), 1);
    assert_eq!(state["webhooks"][0]["status"], 200);
}
