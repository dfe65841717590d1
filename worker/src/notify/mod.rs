//! Sending notifications: the queued deliveries (an alert's state change, a new or regressed
//! error issue, a "send test") go to their channel — an e-mail, a Slack, Microsoft Teams or
//! Discord incoming webhook, a generic webhook signed with the Standard Webhooks scheme, or a
//! Jira or GitHub Issues connector, which makes a ticket or comments on one ([`connectors`]).
//!
//! A loop in every worker process looks for due deliveries every few seconds (and at once when
//! an evaluation queued some). Each is sent under its row lock (`FOR UPDATE SKIP LOCKED`), so
//! two workers never send the same one. A failure is retried on the Standard Webhooks schedule
//! ([`crate::audit_stream::RETRY_SCHEDULE`]); when the retries run out, or at once when the
//! receiver answers 410 Gone, the channel is turned off, its pending deliveries are given up,
//! the turning off is recorded in the audit log and the owners are e-mailed. URLs are opened
//! from their sealed form only here, and every request goes through [`Outbound`] (public
//! addresses only, unless the operator allows private ones). An organization whose plan no
//! longer has the `alerts` feature is sent nothing but "send test" (each delivery fails with
//! the plan's reason, and the channel stays on).

pub mod connectors;
pub mod format;

use std::sync::Arc;
use std::time::Duration;

use billing::Feature;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tenant::audit::{self, Action, Changes, Entry};
use tenant::sealed::SealingKey;
use tenant::tables::notification_channels::{
    self as channels, Channel, ConnectorSettings, seal_context,
};
use tenant::tables::notification_deliveries::{self as deliveries, Delivery, Outcome};
use tenant::tables::{issue_tickets, memberships};
use tenant::{Actor, Db, DbError, OrgId};
use tokio::sync::Notify;

use crate::audit_stream::{RETRY_SCHEDULE, sign};
use crate::jobs::{Job, SendChannelDisabledNotice};
use crate::mailer::Mailer;
use crate::outbound::Outbound;

/// How often the loop looks for due deliveries when nothing woke it.
pub const POLL_EVERY: Duration = Duration::from_secs(5);
/// Most deliveries looked at per round.
pub const BATCH: i64 = 200;

/// What sending needs.
#[derive(Clone)]
pub struct Sender {
    /// Application pool.
    pub db: Db,
    /// Sweeper pool (finds due deliveries in every organization).
    pub sweeper: Db,
    /// The client for customer-given URLs.
    pub outbound: Outbound,
    /// Opens sealed URLs and secrets.
    pub sealing_key: Arc<SealingKey>,
    /// Sends e-mail channels' messages.
    pub mailer: Arc<Mailer>,
    /// Plans: an organization whose plan lost the `alerts` feature is sent nothing but tests.
    pub billing: Arc<billing::Billing>,
}

/// Sends every due delivery once; answers how many were attempted.
pub async fn deliver_due(sender: &Sender, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let due = sender
        .sweeper
        .unscoped(async |conn| Ok::<_, DbError>(deliveries::due(conn, now, BATCH).await?))
        .await?;
    let mut attempted = 0;
    for found in due {
        match deliver(sender, found.org_id, found.delivery_id, now).await {
            Ok(true) => attempted += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(org_id = %found.org_id, error = %format!("{error:#}"), "notification delivery failed");
            }
        }
    }
    Ok(attempted)
}

/// One attempt at one delivery, under its row lock; whether it was attempted.
pub async fn deliver(
    sender: &Sender,
    org: OrgId,
    delivery: uuid::Uuid,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let actor = Actor::System("notifications");
    sender
        .db
        .scoped_as(org, &actor, async |conn| {
            let Some(found) = deliveries::take(conn, org, delivery, now).await? else {
                return Ok(false);
            };
            let Some(channel) = channels::find(conn, org, found.channel_id).await? else {
                return Ok(false);
            };
            if found.kind != "test"
                && let Err(refusal) = sender
                    .billing
                    .entitlements(conn, org, now)
                    .await?
                    .require(Feature::Alerts)
            {
                // Not the channel's fault: it stays on, and the log says why.
                let outcome = Outcome::Failed {
                    status: None,
                    error: refusal.detail,
                };
                deliveries::record(conn, org, found.delivery_id, now, &outcome).await?;
                return Ok(true);
            }
            let (outcome, ticket, channel_fault) = if channel.enabled {
                let recipients = if channel.kind == "email" {
                    let members = memberships::emails_of(conn, org, &channel.member_ids).await?;
                    let mut all = channel.emails.clone();
                    all.extend(members);
                    all.sort();
                    all.dedup();
                    all
                } else {
                    Vec::new()
                };
                if channels::is_connector(&channel.kind) {
                    serialize_tickets(conn, &found).await?;
                    let prior = prior_ticket(conn, org, &found).await?;
                    send_to_tracker(sender, &channel, &found, prior, now).await
                } else {
                    let outcome = send(sender, &channel, &found, &recipients, now).await;
                    (outcome, None, true)
                }
            } else {
                let error = "the channel is turned off".to_owned();
                (
                    Outcome::Failed {
                        status: None,
                        error,
                    },
                    None,
                    true,
                )
            };
            deliveries::record(conn, org, found.delivery_id, now, &outcome).await?;
            if let Some(ticket) = &ticket {
                deliveries::set_ticket(conn, org, found.delivery_id, &ticket.key, &ticket.url)
                    .await?;
                if let Some(issue) = found.issue_id {
                    issue_tickets::record(
                        conn,
                        org,
                        issue,
                        channel.channel_id,
                        &ticket.key,
                        &ticket.url,
                    )
                    .await?;
                }
            }
            let (failed, disable) = match &outcome {
                Outcome::Delivered { .. } => (false, None),
                Outcome::Retry { .. } => return Ok(true),
                Outcome::Failed { error, .. } => (true, Some(error.clone())),
            };
            if !channel.enabled || !channel_fault {
                return Ok(true);
            }
            let turned_off =
                channels::record_outcome(conn, org, channel.channel_id, failed, disable.as_deref())
                    .await?;
            if let (true, Some(reason)) = (turned_off, disable) {
                deliveries::fail_pending(
                    conn,
                    org,
                    channel.channel_id,
                    "the channel was turned off",
                )
                .await?;
                let changes = Changes::default()
                    .set("enabled", json!(true), json!(false))
                    .set("disabled_reason", json!(null), json!(reason));
                audit::record(
                    conn,
                    org,
                    Entry::new(Action::ChannelDisabled, channel.channel_id).with(changes),
                )
                .await?;
                let notice = Job::SendChannelDisabledNotice(SendChannelDisabledNotice {
                    org_id: org.uuid(),
                    channel_id: channel.channel_id,
                });
                crate::queue::enqueue(conn, &notice).await?;
            }
            Ok::<_, anyhow::Error>(true)
        })
        .await
}

/// A failed attempt: retried on the schedule, or final (`gone`, or no retries left).
fn failure(
    found: &Delivery,
    status: Option<u16>,
    error: String,
    gone: bool,
    now: DateTime<Utc>,
) -> Outcome {
    let status = status.map(i32::from);
    let wait = usize::try_from(found.attempts)
        .ok()
        .and_then(|attempts| RETRY_SCHEDULE.get(attempts).copied());
    match wait {
        Some(wait) if !gone => Outcome::Retry {
            status,
            error,
            retry_at: now + chrono::Duration::seconds(wait),
        },
        _ => Outcome::Failed { status, error },
    }
}

/// The ticket already made in the delivery's connector for its error issue or alert.
async fn prior_ticket(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    org: OrgId,
    found: &Delivery,
) -> Result<Option<connectors::Ticket>, DbError> {
    let ticket = match (found.issue_id, found.alert_id) {
        (Some(issue), _) => issue_tickets::find(conn, org, issue, found.channel_id)
            .await?
            .map(|ticket| (ticket.ticket_key, ticket.ticket_url)),
        (None, Some(alert)) => deliveries::alert_ticket(conn, org, alert, found.channel_id).await?,
        (None, None) => None,
    };
    Ok(ticket.map(|(key, url)| connectors::Ticket { key, url }))
}

/// Holds, until the transaction ends, the lock of the delivery's ticket: one per error issue
/// (or alert) and connector, so two workers sending two deliveries about the same issue (a
/// notice and a ticket asked for on its page) make one ticket, the second seeing the first's.
async fn serialize_tickets(
    conn: &mut tenant::diesel_async::AsyncPgConnection,
    found: &Delivery,
) -> Result<(), DbError> {
    use tenant::diesel_async::RunQueryDsl;
    let Some(subject) = found.issue_id.or(found.alert_id) else {
        return Ok(());
    };
    tenant::diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<tenant::diesel::sql_types::Text, _>(format!(
            "ticket:{subject}:{}",
            found.channel_id
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A delivery to a Jira or GitHub connector: the outcome, the ticket made or commented on, and
/// whether a failure is the connector's (else it stays out of its failure count).
async fn send_to_tracker(
    sender: &Sender,
    channel: &Channel,
    found: &Delivery,
    prior: Option<connectors::Ticket>,
    now: DateTime<Utc>,
) -> (Outcome, Option<connectors::Ticket>, bool) {
    let action = connectors::action(found, prior);
    let opened = open(sender, channel, channel.url_sealed.as_deref(), "url").zip(open(
        sender,
        channel,
        channel.secret_sealed.as_deref(),
        "secret",
    ));
    let Some((url, token)) = opened else {
        let why =
            "the connector's URL or token cannot be opened with this server's BEACON_SECRET_KEY";
        return (failure(found, None, why.into(), true, now), None, true);
    };
    let Ok(base) = reqwest::Url::parse(&url) else {
        return (
            failure(
                found,
                None,
                "the connector's URL is not a URL".into(),
                true,
                now,
            ),
            None,
            true,
        );
    };
    if let Err(why) = sender.outbound.check(&base) {
        return (failure(found, None, why, false, now), None, true);
    }
    let target = connectors::Target {
        channel,
        settings: ConnectorSettings::of(channel),
        base,
        token,
    };
    match connectors::perform(sender.outbound.http(), &target, &action, &found.payload).await {
        Ok(ticket) => (Outcome::Delivered { status: None }, ticket, true),
        Err(refused) => (
            failure(found, refused.status, refused.error, refused.permanent, now),
            None,
            refused.connector_fault,
        ),
    }
}

fn open(sender: &Sender, channel: &Channel, sealed: Option<&[u8]>, what: &str) -> Option<String> {
    let org = OrgId::from_uuid(channel.org_id);
    let context = seal_context(org, channel.channel_id, what);
    let bytes = sender.sealing_key.open(sealed?, &context).ok()?;
    String::from_utf8(bytes).ok()
}

/// The Standard Webhooks signature header: the current secret's signature, and the previous
/// secret's while a rotation's overlap lasts (space-separated, as the scheme allows).
fn signatures(
    sender: &Sender,
    channel: &Channel,
    id: &str,
    at: i64,
    body: &str,
    now: DateTime<Utc>,
) -> Option<String> {
    let current = open(sender, channel, channel.secret_sealed.as_deref(), "secret")?;
    let mut header = sign(&current, id, at, body)?;
    if channel
        .previous_secret_until
        .is_some_and(|until| until > now)
        && let Some(previous) = open(
            sender,
            channel,
            channel.previous_secret_sealed.as_deref(),
            "secret",
        )
        && let Some(signature) = sign(&previous, id, at, body)
    {
        header.push(' ');
        header.push_str(&signature);
    }
    Some(header)
}

async fn send(
    sender: &Sender,
    channel: &Channel,
    found: &Delivery,
    recipients: &[String],
    now: DateTime<Utc>,
) -> Outcome {
    let payload = &found.payload;
    if channel.kind == "email" {
        return send_email(sender, found, recipients, now).await;
    }
    let Some(url) = open(sender, channel, channel.url_sealed.as_deref(), "url") else {
        return failure(
            found,
            None,
            "the channel's URL cannot be opened with this server's BEACON_SECRET_KEY".into(),
            true,
            now,
        );
    };
    let Ok(target) = reqwest::Url::parse(&url) else {
        return failure(
            found,
            None,
            "the channel's URL is not a URL".into(),
            true,
            now,
        );
    };
    if let Err(why) = sender.outbound.check(&target) {
        return failure(found, None, why, false, now);
    }
    let body: Value = match channel.kind.as_str() {
        "slack" => format::slack(payload),
        "teams" => format::teams(payload),
        "discord" => format::discord(payload),
        _ => format::webhook(payload, now),
    };
    let body = body.to_string();
    let mut request = sender
        .outbound
        .http()
        .post(target)
        .header("content-type", "application/json");
    if channel.kind == "webhook" {
        let id = format!("msg_{}", found.delivery_id.simple());
        let timestamp = now.timestamp();
        let Some(signature) = signatures(sender, channel, &id, timestamp, &body, now) else {
            return failure(
                found,
                None,
                "the channel's signing secret cannot be opened".into(),
                true,
                now,
            );
        };
        request = request
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature);
    }
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => Outcome::Delivered {
            status: Some(i32::from(response.status().as_u16())),
        },
        Ok(response) => {
            let status = response.status();
            failure(
                found,
                Some(status.as_u16()),
                format!("the receiver answered {status}"),
                status == reqwest::StatusCode::GONE,
                now,
            )
        }
        Err(error) => failure(found, None, crate::outbound::describe(&error), false, now),
    }
}

async fn send_email(
    sender: &Sender,
    found: &Delivery,
    recipients: &[String],
    now: DateTime<Utc>,
) -> Outcome {
    if recipients.is_empty() {
        return failure(
            found,
            None,
            "the channel has no recipients (members who left are skipped)".into(),
            false,
            now,
        );
    }
    let payload = &found.payload;
    let subject = format::title(payload);
    let mut context = tera::Context::new();
    context.insert("subject", &subject);
    context.insert(
        "headline",
        payload
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    let facts: Vec<String> = format::facts(payload)
        .into_iter()
        .map(|(label, value)| format!("{label}: {value}"))
        .collect();
    context.insert("paragraphs", &facts);
    context.insert(
        "link",
        payload
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    context.insert("link_label", format::link_label(payload));
    for to in recipients {
        if let Err(error) = sender
            .mailer
            .send(to, &subject, "owner_notice", &context)
            .await
        {
            return failure(found, None, format!("{error:#}"), false, now);
        }
    }
    Outcome::Delivered { status: None }
}

/// Sends due deliveries every [`POLL_EVERY`], or at once when `wake` is notified, until the
/// process ends (spawned by the workers).
pub async fn run(sender: Sender, clock: tenant::Clock, wake: Arc<Notify>) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = wake.notified() => {}
        }
        if let Err(error) = deliver_due(&sender, clock.now()).await {
            tracing::warn!(error = %format!("{error:#}"), "looking for due notifications failed");
        }
    }
}
