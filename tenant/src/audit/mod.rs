//! The audit log: who changed what in an organization, provably intact.
//!
//! A change and its audit record are written by the same transaction ([`record`] runs on the
//! request's scoped connection), so a change without its record cannot exist. The record takes
//! its actor, request id, client IP and user agent from the transaction's settings, set once by
//! the scope that opened it ([`crate::ScopedTransaction::act_as`]), so handlers name only what
//! happened: an [`Action`], its target and the changed fields ([`Changes`]).
//!
//! Records form a hash chain per organization ([`chain`]): each stores the SHA-256 of its own
//! content and its predecessor's hash, so editing or deleting a record breaks the chain exactly
//! there, and [`chain::verify`] names the first broken link. The application's database role
//! may only INSERT and SELECT records (migration 15); retention removes old segments only
//! through a signed checkpoint ([`checkpoint`]).

pub mod action;
pub mod chain;
pub mod changes;
pub mod checkpoint;

pub use action::Action;
pub use changes::Changes;

use diesel::sql_types::{Bytea, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{QueryableByName, sql_types::Int8};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::OrgId;
use chrono::{DateTime, Utc};

/// What a request adds to its audit records: set as transaction-local settings next to the
/// actor (`app.request_id`, `app.client_ip`, `app.user_agent`).
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// The request id (`X-Request-Id`).
    pub request_id: Option<String>,
    /// The client's IP address: stored only in audit records (docs/privacy.md).
    pub client_ip: Option<String>,
    /// The client's `User-Agent`, cut to [`MAX_USER_AGENT`] bytes.
    pub user_agent: Option<String>,
}

/// Longest user agent kept in a record.
pub const MAX_USER_AGENT: usize = 512;

impl RequestContext {
    /// The context of a request, with the user agent cut at a character boundary.
    pub fn new(
        request_id: Option<String>,
        client_ip: Option<String>,
        user_agent: Option<&str>,
    ) -> Self {
        let user_agent = user_agent.filter(|ua| !ua.is_empty()).map(|ua| {
            let mut end = ua.len().min(MAX_USER_AGENT);
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua[..end].replace('\0', "")
        });
        Self {
            request_id,
            client_ip,
            user_agent,
        }
    }
}

/// One audited change: the action, its target and the changed fields.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What happened.
    pub action: Action,
    /// The id of what it happened to (the target's type is the action's).
    pub target_id: Option<String>,
    /// The changed fields.
    pub changes: Changes,
}

impl Entry {
    /// An entry for `action` on the target `target_id`.
    pub fn new(action: Action, target_id: impl ToString) -> Self {
        Self {
            action,
            target_id: Some(target_id.to_string()),
            changes: Changes::default(),
        }
    }

    /// The same entry with its changed fields.
    pub fn with(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }
}

/// The actor recorded when a transaction has none set (a job that forgot to say who it is);
/// the audit coverage test makes sure no request path records it.
pub const UNATTRIBUTED: &str = "system:unattributed";

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = Int8)]
    seq: i64,
    #[diesel(sql_type = Bytea)]
    hash: Vec<u8>,
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    actor: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    request_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client_ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    user_agent: Option<String>,
}

fn setting(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Appends `entry` to the organization's chain in the caller's transaction; returns its
/// sequence number. Appending locks the chain's head row until the transaction ends, so the
/// records of one organization are numbered without gaps in commit order.
pub async fn record(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    entry: Entry,
) -> diesel::QueryResult<i64> {
    let head: Head = diesel::sql_query(
        "INSERT INTO audit_heads (org_id, seq, hash) VALUES ($1, 0, $2) \
         ON CONFLICT (org_id) DO UPDATE SET seq = audit_heads.seq \
         RETURNING seq, hash, date_trunc('microseconds', clock_timestamp()) AS now, \
           current_setting('app.actor', true) AS actor, \
           current_setting('app.request_id', true) AS request_id, \
           current_setting('app.client_ip', true) AS client_ip, \
           current_setting('app.user_agent', true) AS user_agent",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<Bytea, _>(chain::GENESIS.to_vec())
    .get_result(conn)
    .await?;
    let record = chain::Content {
        org,
        seq: head.seq + 1,
        recorded_at: head.now,
        actor: setting(head.actor).unwrap_or_else(|| UNATTRIBUTED.to_owned()),
        action: entry.action.as_str().to_owned(),
        target_type: entry.action.target_type().to_owned(),
        target_id: entry.target_id,
        changes: entry.changes.into_value(),
        request_id: setting(head.request_id),
        client_ip: setting(head.client_ip),
        user_agent: setting(head.user_agent),
    };
    let hash = record.hash(&head.hash);
    diesel::sql_query(
        "WITH appended AS ( \
           INSERT INTO audit_log (org_id, seq, recorded_at, actor, action, target_type, target_id, \
             changes, request_id, client_ip, user_agent, prev_hash, hash) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)) \
         UPDATE audit_heads SET seq = $2, hash = $13 WHERE org_id = $1",
    )
    .bind::<SqlUuid, _>(org)
    .bind::<Int8, _>(record.seq)
    .bind::<Timestamptz, _>(record.recorded_at)
    .bind::<Text, _>(&record.actor)
    .bind::<Text, _>(&record.action)
    .bind::<Text, _>(&record.target_type)
    .bind::<Nullable<Text>, _>(record.target_id.as_deref())
    .bind::<Jsonb, _>(&record.changes)
    .bind::<Nullable<Text>, _>(record.request_id.as_deref())
    .bind::<Nullable<Text>, _>(record.client_ip.as_deref())
    .bind::<Nullable<Text>, _>(record.user_agent.as_deref())
    .bind::<Bytea, _>(head.hash.as_slice())
    .bind::<Bytea, _>(hash.as_slice())
    .execute(conn)
    .await?;
    Ok(record.seq)
}
