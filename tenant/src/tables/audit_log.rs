//! `audit_log`, `audit_heads` and `audit_checkpoints`: the stored chain, read for lists,
//! exports and verification. Records are appended only by [`crate::audit::record`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::OrgId;
use crate::schema::{audit_checkpoints, audit_heads, audit_log};

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct Record {
    /// Organization.
    pub org_id: OrgId,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// `user:<id>`, `api_key:<id>`, `system:<job>`, …
    pub actor: String,
    /// Stable dotted action name.
    pub action: String,
    /// Target type.
    pub target_type: String,
    /// Target id.
    pub target_id: Option<String>,
    /// Changed fields.
    pub changes: Value,
    /// Request id.
    pub request_id: Option<String>,
    /// Client IP (audit records only).
    pub client_ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Hash of the previous record.
    pub prev_hash: Vec<u8>,
    /// Hash of this record.
    pub hash: Vec<u8>,
}

impl Record {
    /// The actor's kind (`user`, `api_key`, `system`, …) and id or name.
    pub fn actor_parts(&self) -> (&str, &str) {
        self.actor
            .split_once(':')
            .unwrap_or(("system", &self.actor))
    }

    /// The record as JSON, as the API lists it and exports and streams carry it: the actor
    /// split into `kind` and `id`, hashes in hex.
    pub fn to_json(&self) -> Value {
        let (kind, id) = self.actor_parts();
        serde_json::json!({
            "seq": self.seq,
            "recorded_at": self.recorded_at,
            "actor": {"kind": kind, "id": id},
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "changes": self.changes,
            "request_id": self.request_id,
            "client_ip": self.client_ip,
            "user_agent": self.user_agent,
            "prev_hash": hex::encode(&self.prev_hash),
            "hash": hex::encode(&self.hash),
        })
    }
}

/// The newest record of a chain.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_heads)]
pub struct Head {
    /// Its sequence number (0: none yet).
    pub seq: i64,
    /// Its hash.
    pub hash: Vec<u8>,
}

/// A signed checkpoint left by retention.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_checkpoints)]
pub struct Checkpoint {
    /// The last pruned record's sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: Vec<u8>,
    /// Its time.
    pub recorded_at: DateTime<Utc>,
    /// HMAC-SHA256 of the above under the server's key.
    pub signature: Vec<u8>,
}

/// Filters of an audit log listing or export; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Exact actor (`user:<id>`).
    pub actor: Option<String>,
    /// Exact action (`api_key.created`), or every action of a kind (`api_key.`).
    pub action: Option<String>,
    /// Target type.
    pub target_type: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
}

fn filtered<'a>(org: OrgId, filter: &'a Filter) -> audit_log::BoxedQuery<'a, diesel::pg::Pg> {
    let mut query = audit_log::table
        .filter(audit_log::org_id.eq(org))
        .into_boxed();
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = match action.strip_suffix('.') {
            Some(kind) => query.filter(audit_log::action.like(format!("{kind}.%"))),
            None => query.filter(audit_log::action.eq(action)),
        };
    }
    if let Some(target_type) = &filter.target_type {
        query = query.filter(audit_log::target_type.eq(target_type));
    }
    if let Some(target_id) = &filter.target_id {
        query = query.filter(audit_log::target_id.eq(target_id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::recorded_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::recorded_at.lt(to));
    }
    query
}

/// Records matching `filter`, newest first, before the sequence number `before` (the cursor).
pub async fn list(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    filter: &Filter,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Record>> {
    let mut query = filtered(org, filter);
    if let Some(before) = before {
        query = query.filter(audit_log::seq.lt(before));
    }
    query
        .order(audit_log::seq.desc())
        .limit(limit)
        .select(Record::as_select())
        .load(conn)
        .await
}

/// Records matching `filter`, oldest first, after the sequence number `after` (exports and
/// streaming read in this order).
pub async fn ascending(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Record>> {
    filtered(org, filter)
        .filter(audit_log::seq.gt(after))
        .order(audit_log::seq.asc())
        .limit(limit)
        .select(Record::as_select())
        .load(conn)
        .await
}

/// The whole chain after `after`, oldest first (verification).
pub async fn chain_after(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Record>> {
    ascending(conn, org, &Filter::default(), after, limit).await
}

/// The chain's head, if any record was ever written.
pub async fn head(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Option<Head>> {
    audit_heads::table
        .find(org)
        .select(Head::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest checkpoint, if retention ever pruned the chain.
pub async fn newest_checkpoint(
    conn: &mut AsyncPgConnection,
    org: OrgId,
) -> QueryResult<Option<Checkpoint>> {
    audit_checkpoints::table
        .filter(audit_checkpoints::org_id.eq(org))
        .order(audit_checkpoints::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .await
        .optional()
}

/// The newest record recorded before `before`, the end of the segment retention removes.
pub async fn last_before(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    before: DateTime<Utc>,
) -> QueryResult<Option<Record>> {
    audit_log::table
        .filter(audit_log::org_id.eq(org))
        .filter(audit_log::recorded_at.lt(before))
        .order(audit_log::seq.desc())
        .select(Record::as_select())
        .first(conn)
        .await
        .optional()
}

/// Removes the records up to `upto` and keeps it as a checkpoint with `signature`
/// (`beacon_audit_prune`, the only way records leave); returns how many were removed.
pub async fn prune(conn: &mut AsyncPgConnection, upto: i64, signature: &[u8]) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Removed {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        removed: i64,
    }
    let row: Removed = diesel::sql_query("SELECT beacon_audit_prune($1, $2) AS removed")
        .bind::<diesel::sql_types::Int8, _>(upto)
        .bind::<diesel::sql_types::Bytea, _>(signature)
        .get_result(conn)
        .await?;
    Ok(row.removed)
}

/// Every organization with an audit chain, for sweeping jobs and `beacon audit verify`
/// (on the sweeper's connection, which may read the heads' organization ids only).
pub async fn organizations_with_chain(conn: &mut AsyncPgConnection) -> QueryResult<Vec<OrgId>> {
    audit_heads::table
        .select(audit_heads::org_id)
        .order(audit_heads::org_id)
        .load(conn)
        .await
}
