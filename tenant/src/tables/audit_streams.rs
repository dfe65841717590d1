//! `audit_streams`: where an organization's audit records are pushed (one HTTPS endpoint,
//! signed with the Standard Webhooks scheme) and how far delivery got. The delivery job moves
//! `delivered_seq` forward only after the receiver acknowledged the records up to it.

use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rand::RngCore;

use crate::OrgId;
use crate::schema::audit_streams;

/// An organization's audit stream.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_streams)]
pub struct Stream {
    /// Organization.
    pub org_id: OrgId,
    /// The receiver (`https://…`).
    pub url: String,
    /// Signing secret (`whsec_<base64>`); never answered after creation.
    pub secret: String,
    /// Delivering (off after persistent failure, or by the owner).
    pub enabled: bool,
    /// Records up to this sequence number were acknowledged.
    pub delivered_seq: i64,
    /// Failed attempts in a row.
    pub failures: i32,
    /// The next attempt is not made before this.
    pub next_attempt_at: DateTime<Utc>,
    /// Last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Last acknowledged delivery.
    pub last_success_at: Option<DateTime<Utc>>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// What went wrong in the last attempt.
    pub last_error: Option<String>,
    /// Set up at.
    pub created_at: DateTime<Utc>,
}

/// A new signing secret: `whsec_` and 32 random bytes in base64 (Standard Webhooks).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// The organization's stream, locked for update when `lock` (the delivery job holds it while
/// it sends, so two workers never send the same records).
pub async fn get(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    lock: bool,
) -> QueryResult<Option<Stream>> {
    let query = audit_streams::table.find(org).select(Stream::as_select());
    if lock {
        query
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional()
    } else {
        query.first(conn).await.optional()
    }
}

/// Sets up the stream with a new `secret`, or changes its URL and whether it delivers (the
/// secret stays). A new stream starts with the records after `from_seq`; a changed stream is
/// retried at once.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    url: &str,
    enabled: bool,
    secret: &str,
    from_seq: i64,
) -> QueryResult<Stream> {
    diesel::insert_into(audit_streams::table)
        .values((
            audit_streams::org_id.eq(org),
            audit_streams::url.eq(url),
            audit_streams::secret.eq(secret),
            audit_streams::enabled.eq(enabled),
            audit_streams::delivered_seq.eq(from_seq),
        ))
        .on_conflict(audit_streams::org_id)
        .do_update()
        .set((
            audit_streams::url.eq(url),
            audit_streams::enabled.eq(enabled),
            audit_streams::failures.eq(0),
            audit_streams::next_attempt_at.eq(diesel::dsl::now),
            audit_streams::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Stream::as_returning())
        .get_result(conn)
        .await
}

/// Replaces the signing secret.
pub async fn set_secret(conn: &mut AsyncPgConnection, org: OrgId, secret: &str) -> QueryResult<()> {
    diesel::update(audit_streams::table.find(org))
        .set((
            audit_streams::secret.eq(secret),
            audit_streams::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes the stream; whether there was one.
pub async fn delete(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<bool> {
    diesel::delete(audit_streams::table.find(org))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// What one delivery attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When.
    pub at: DateTime<Utc>,
    /// HTTP status, if the receiver answered.
    pub status: Option<i32>,
    /// The records up to here were acknowledged (success), or `None` (failure).
    pub delivered_seq: Option<i64>,
    /// What went wrong.
    pub error: Option<String>,
    /// When to try again after a failure.
    pub retry_at: DateTime<Utc>,
    /// Turn the stream off (persistent failure, or the receiver answered 410 Gone).
    pub disable: bool,
}

/// Stores the outcome of an attempt.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    attempt: &Attempt,
) -> QueryResult<()> {
    let row = audit_streams::table.find(org);
    match attempt.delivered_seq {
        Some(seq) => diesel::update(row)
            .set((
                audit_streams::delivered_seq.eq(seq),
                audit_streams::failures.eq(0),
                audit_streams::last_attempt_at.eq(attempt.at),
                audit_streams::last_success_at.eq(attempt.at),
                audit_streams::last_status.eq(attempt.status),
                audit_streams::last_error.eq(None::<String>),
                audit_streams::next_attempt_at.eq(attempt.at),
            ))
            .execute(conn)
            .await
            .map(drop),
        None => diesel::update(row)
            .set((
                audit_streams::failures.eq(audit_streams::failures + 1),
                audit_streams::last_attempt_at.eq(attempt.at),
                audit_streams::last_status.eq(attempt.status),
                audit_streams::last_error.eq(attempt.error.as_deref()),
                audit_streams::next_attempt_at.eq(attempt.retry_at),
                audit_streams::enabled.eq(!attempt.disable),
            ))
            .execute(conn)
            .await
            .map(drop),
    }
}

/// Organizations whose stream is due (enabled, retry time passed), for the delivery job on
/// the sweeper's connection (which may read only these columns).
pub async fn due(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<Vec<OrgId>> {
    audit_streams::table
        .filter(audit_streams::enabled.eq(true))
        .filter(audit_streams::next_attempt_at.le(now))
        .select(audit_streams::org_id)
        .load(conn)
        .await
}
