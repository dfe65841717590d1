//! The hash chain: how a record's hash is computed, and how a chain is checked.
//!
//! A record's hash is SHA-256 over its canonical content, a JSON array of its fields in a fixed
//! order (objects inside `changes` with sorted keys, as `serde_json` writes them), ending with
//! the previous record's hash in hex. The first record of an organization follows
//! [`GENESIS`] (32 zero bytes); after retention, the first remaining record follows the newest
//! checkpoint's hash.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::checkpoint::{self, CheckpointKey};
use crate::OrgId;
use crate::tables::audit_log::{self, Record};

/// The hash the first record of every chain follows.
pub const GENESIS: [u8; 32] = [0; 32];

/// Version of the canonical form, first in the hashed array.
const FORMAT: u32 = 1;

/// A record's hashed content (everything but the hashes).
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Organization.
    pub org: OrgId,
    /// Position in the organization's chain, from 1.
    pub seq: i64,
    /// When it was recorded (microseconds).
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
    /// Client IP.
    pub client_ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

impl Content {
    /// The canonical bytes hashed (see the module docs).
    pub fn canonical(&self, prev: &[u8]) -> String {
        json!([
            FORMAT,
            self.org,
            self.seq,
            self.recorded_at.timestamp_micros(),
            self.actor,
            self.action,
            self.target_type,
            self.target_id,
            self.changes,
            self.request_id,
            self.client_ip,
            self.user_agent,
            hex::encode(prev),
        ])
        .to_string()
    }

    /// SHA-256 of the canonical content following `prev`.
    pub fn hash(&self, prev: &[u8]) -> [u8; 32] {
        Sha256::digest(self.canonical(prev).as_bytes()).into()
    }

    /// The content of a stored record.
    pub fn of(record: &Record) -> Self {
        Self {
            org: record.org_id,
            seq: record.seq,
            recorded_at: record.recorded_at,
            actor: record.actor.clone(),
            action: record.action.clone(),
            target_type: record.target_type.clone(),
            target_id: record.target_id.clone(),
            changes: record.changes.clone(),
            request_id: record.request_id.clone(),
            client_ip: record.client_ip.clone(),
            user_agent: record.user_agent.clone(),
        }
    }
}

/// Why a chain is not intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The record's content does not match its hash (it was edited).
    ContentAltered,
    /// The record does not follow its predecessor's hash (a record before it was removed or
    /// replaced).
    LinkBroken,
    /// A sequence number is missing (a record was deleted).
    RecordMissing,
    /// The chain ends before its head says it does (its newest records were deleted).
    TailMissing,
    /// The checkpoint's signature is not the server's (it was forged or edited).
    CheckpointForged,
}

/// The first broken link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// What is wrong there.
    pub fault: Fault,
}

/// The outcome of checking an organization's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Records checked.
    pub checked: i64,
    /// First record checked.
    pub first_seq: Option<i64>,
    /// Last record checked.
    pub last_seq: Option<i64>,
    /// The checkpoint the chain was checked from (after retention), if any.
    pub checkpoint_seq: Option<i64>,
    /// Whether the checkpoint's signature could be checked (no key configured: it could not).
    pub checkpoint_signature_checked: bool,
    /// The first broken link; `None` when the chain is intact.
    pub broken: Option<Break>,
}

impl Verification {
    /// Whether the chain is intact.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Records read per query while verifying.
const BATCH: i64 = 1_000;

/// Checks `org`'s chain from its newest checkpoint (or the genesis) to its head, in the
/// caller's scoped transaction, reading [`BATCH`] records at a time. `key` checks the
/// checkpoint's signature when given.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    key: Option<&CheckpointKey>,
) -> diesel::QueryResult<Verification> {
    let checkpoint = audit_log::newest_checkpoint(conn, org).await?;
    let mut outcome = Verification {
        checked: 0,
        first_seq: None,
        last_seq: None,
        checkpoint_seq: checkpoint.as_ref().map(|c| c.seq),
        checkpoint_signature_checked: false,
        broken: None,
    };
    let (mut prev, mut expected) = match &checkpoint {
        Some(cp) => {
            if let Some(key) = key {
                outcome.checkpoint_signature_checked = true;
                if !checkpoint::is_signed(key, org, cp) {
                    outcome.broken = Some(Break {
                        seq: cp.seq,
                        fault: Fault::CheckpointForged,
                    });
                    return Ok(outcome);
                }
            }
            (cp.hash.clone(), cp.seq + 1)
        }
        None => (GENESIS.to_vec(), 1),
    };
    loop {
        let batch = audit_log::chain_after(conn, org, expected - 1, BATCH).await?;
        let done = (batch.len() as i64) < BATCH;
        for record in batch {
            let fault = if record.seq != expected {
                Some((expected, Fault::RecordMissing))
            } else if record.prev_hash != prev {
                Some((record.seq, Fault::LinkBroken))
            } else if Content::of(&record).hash(&prev).as_slice() != record.hash.as_slice() {
                Some((record.seq, Fault::ContentAltered))
            } else {
                None
            };
            if let Some((seq, fault)) = fault {
                outcome.broken = Some(Break { seq, fault });
                return Ok(outcome);
            }
            outcome.checked += 1;
            outcome.first_seq.get_or_insert(record.seq);
            outcome.last_seq = Some(record.seq);
            prev = record.hash;
            expected += 1;
        }
        if done {
            break;
        }
    }
    // The head pins the newest record: deleted newest records, or a rewritten chain whose
    // hashes were all recomputed, no longer end where the head says.
    let last = expected - 1;
    if let Some(head) = audit_log::head(conn, org).await? {
        if head.seq > last {
            outcome.broken = Some(Break {
                seq: expected,
                fault: Fault::TailMissing,
            });
        } else if head.seq == last && head.seq > 0 && head.hash != prev {
            outcome.broken = Some(Break {
                seq: last,
                fault: Fault::ContentAltered,
            });
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn content() -> Content {
        Content {
            org: OrgId::from_uuid(Uuid::nil()),
            seq: 1,
            recorded_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            actor: "user:x".into(),
            action: "api_key.created".into(),
            target_type: "api_key".into(),
            target_id: Some("k".into()),
            changes: json!({"z": {"after": 1}, "a": {"after": "é"}}),
            request_id: None,
            client_ip: Some("192.0.2.1".into()),
            user_agent: None,
        }
    }

    #[test]
    fn the_canonical_form_is_fixed() {
        // Changing this form breaks every stored chain: the expected text is written out.
        assert_eq!(
            content().canonical(&GENESIS),
            format!(
                "[1,\"00000000-0000-0000-0000-000000000000\",1,1700000000123456,\"user:x\",\
                 \"api_key.created\",\"api_key\",\"k\",{{\"a\":{{\"after\":\"é\"}},\"z\":{{\"after\":1}}}},\
                 null,\"192.0.2.1\",null,\"{}\"]",
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn every_field_and_the_link_change_the_hash() {
        let base = content();
        let hash = base.hash(&GENESIS);
        let mut other = base.clone();
        other.actor = "user:y".into();
        assert_ne!(other.hash(&GENESIS), hash);
        let mut other = base.clone();
        other.changes = json!({});
        assert_ne!(other.hash(&GENESIS), hash);
        assert_ne!(base.hash(&[1; 32]), hash);
        assert_eq!(base.hash(&GENESIS), hash);
    }
}
