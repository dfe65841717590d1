//! `notification_deliveries`: the outbox and delivery log of notifications. A delivery is
//! written in the same transaction as what caused it (an alert's state change, a "send test"),
//! then sent by the worker under the row's lock and retried on the Standard Webhooks schedule;
//! the row keeps what was sent, every attempt's outcome and how it ended.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::OrgId;
use crate::schema::notification_deliveries as deliveries;

/// A delivery.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    /// Organization.
    pub org_id: Uuid,
    /// Id (also the `webhook-id` of webhook deliveries).
    pub delivery_id: Uuid,
    /// Channel.
    pub channel_id: Uuid,
    /// The alert that caused it, if one did.
    pub alert_id: Option<Uuid>,
    /// `alert`, `test`, `issue` (a new or regressed error issue, or a ticket asked for) or
    /// `comment` (an issue resolved, told to its tickets).
    pub kind: String,
    /// What is sent (the notification, before each channel's formatting).
    pub payload: Value,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// The next attempt is not made before this.
    pub next_attempt_at: DateTime<Utc>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// What went wrong in the last attempt.
    pub last_error: Option<String>,
    /// When the receiver acknowledged it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The error issue it concerns, if one.
    pub issue_id: Option<Uuid>,
    /// The ticket a connector created or commented on (`ABC-12`, `acme/web#34`).
    pub ticket_key: Option<String>,
    /// That ticket's address.
    pub ticket_url: Option<String>,
}

/// What a delivery is about: an alert, an error issue, or neither (a test).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subject {
    /// The alert.
    pub alert: Option<Uuid>,
    /// The error issue.
    pub issue: Option<Uuid>,
}

/// Queues a notification to `channel`, due at once.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    subject: Subject,
    kind: &str,
    payload: &Value,
) -> QueryResult<Uuid> {
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::org_id.eq(org),
            deliveries::delivery_id.eq(Uuid::now_v7()),
            deliveries::channel_id.eq(channel),
            deliveries::alert_id.eq(subject.alert),
            deliveries::issue_id.eq(subject.issue),
            deliveries::kind.eq(kind),
            deliveries::payload.eq(payload),
        ))
        .returning(deliveries::delivery_id)
        .get_result(conn)
        .await
}

/// Queues `payload` to each of `channels` that is turned on (one turned off, or deleted since it
/// was chosen, is skipped); answers how many deliveries were queued.
pub async fn enqueue_to_enabled(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channels: &[Uuid],
    subject: Subject,
    kind: &str,
    payload: &Value,
) -> QueryResult<usize> {
    use crate::schema::notification_channels as chosen;
    let enabled: Vec<Uuid> = chosen::table
        .filter(chosen::org_id.eq(org))
        .filter(chosen::channel_id.eq_any(channels))
        .filter(chosen::enabled.eq(true))
        .select(chosen::channel_id)
        .load(conn)
        .await?;
    for channel in &enabled {
        enqueue(conn, org, *channel, subject, kind, payload).await?;
    }
    Ok(enabled.len())
}

/// A due delivery somewhere, as the sweeper sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable)]
pub struct Due {
    /// Organization.
    pub org_id: OrgId,
    /// Delivery.
    pub delivery_id: Uuid,
}

/// Pending deliveries due at `now` in every organization, oldest first (the sweeper's
/// connection).
pub async fn due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Due>> {
    deliveries::table
        .filter(deliveries::status.eq("pending"))
        .filter(deliveries::next_attempt_at.le(now))
        .order(deliveries::next_attempt_at.asc())
        .limit(limit)
        .select((deliveries::org_id, deliveries::delivery_id))
        .load(conn)
        .await
}

/// The delivery, locked, if it is still pending and due and no other worker holds it.
pub async fn take(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    delivery: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<Delivery>> {
    deliveries::table
        .find((org, delivery))
        .filter(deliveries::status.eq("pending"))
        .filter(deliveries::next_attempt_at.le(now))
        .select(Delivery::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Acknowledged.
    Delivered {
        /// HTTP status (none for e-mail).
        status: Option<i32>,
    },
    /// Failed; tried again at `retry_at`.
    Retry {
        /// HTTP status, if the receiver answered.
        status: Option<i32>,
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: DateTime<Utc>,
    },
    /// Failed for good (retries exhausted, 410 Gone, a channel that cannot send).
    Failed {
        /// HTTP status, if the receiver answered.
        status: Option<i32>,
        /// What went wrong.
        error: String,
    },
}

/// Stores an attempt's outcome.
pub async fn record(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    delivery: Uuid,
    at: DateTime<Utc>,
    outcome: &Outcome,
) -> QueryResult<()> {
    let row = deliveries::table.find((org, delivery));
    // What a receiver said may hold anything (a NUL byte PostgreSQL refuses, a megabyte).
    let clip = |error: &str| {
        error
            .chars()
            .filter(|c| !c.is_control())
            .take(500)
            .collect::<String>()
    };
    let attempts = deliveries::attempts.eq(deliveries::attempts + 1);
    match outcome {
        Outcome::Delivered { status } => diesel::update(row)
            .set((
                attempts,
                deliveries::status.eq("delivered"),
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(None::<String>),
                deliveries::delivered_at.eq(at),
            ))
            .execute(conn)
            .await
            .map(drop),
        Outcome::Retry {
            status,
            error,
            retry_at,
        } => diesel::update(row)
            .set((
                attempts,
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(clip(error)),
                deliveries::next_attempt_at.eq(retry_at),
            ))
            .execute(conn)
            .await
            .map(drop),
        Outcome::Failed { status, error } => diesel::update(row)
            .set((
                attempts,
                deliveries::status.eq("failed"),
                deliveries::last_status.eq(status),
                deliveries::last_error.eq(clip(error)),
            ))
            .execute(conn)
            .await
            .map(drop),
    }
}

/// A channel's deliveries, newest first.
pub async fn log(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    deliveries::table
        .filter(deliveries::org_id.eq(org))
        .filter(deliveries::channel_id.eq(channel))
        .order(deliveries::delivery_id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)
        .await
}

/// Gives up the channel's pending deliveries (it was turned off); how many.
pub async fn fail_pending(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    channel: Uuid,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::org_id.eq(org))
            .filter(deliveries::channel_id.eq(channel))
            .filter(deliveries::status.eq("pending")),
    )
    .set((
        deliveries::status.eq("failed"),
        deliveries::last_error.eq(reason),
    ))
    .execute(conn)
    .await
}

/// Notes the ticket a connector's delivery created or commented on.
pub async fn set_ticket(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    delivery: Uuid,
    key: &str,
    url: &str,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find((org, delivery)))
        .set((
            deliveries::ticket_key.eq(key),
            deliveries::ticket_url.eq(url),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The ticket the alert's latest delivery to `channel` created or commented on (where a
/// resolution or escalation comments), if any.
pub async fn alert_ticket(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    alert: Uuid,
    channel: Uuid,
) -> QueryResult<Option<(String, String)>> {
    deliveries::table
        .filter(deliveries::org_id.eq(org))
        .filter(deliveries::alert_id.eq(alert))
        .filter(deliveries::channel_id.eq(channel))
        .filter(deliveries::ticket_key.is_not_null())
        .order(deliveries::created_at.desc())
        .select((
            deliveries::ticket_key.assume_not_null(),
            deliveries::ticket_url.assume_not_null(),
        ))
        .first(conn)
        .await
        .optional()
}

/// The issue's deliveries to `channels` (its connectors), newest first: how asking for a
/// ticket went.
pub async fn for_issue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue: Uuid,
    channels: &[Uuid],
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    deliveries::table
        .filter(deliveries::org_id.eq(org))
        .filter(deliveries::issue_id.eq(issue))
        .filter(deliveries::channel_id.eq_any(channels))
        .order(deliveries::delivery_id.desc())
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)
        .await
}

/// Whether a delivery about `issue` to `channel` is still pending (a ticket being made).
pub async fn pending_for_issue(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    issue: Uuid,
    channel: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        deliveries::table
            .filter(deliveries::org_id.eq(org))
            .filter(deliveries::issue_id.eq(issue))
            .filter(deliveries::channel_id.eq(channel))
            .filter(deliveries::status.eq("pending")),
    ))
    .get_result(conn)
    .await
}
