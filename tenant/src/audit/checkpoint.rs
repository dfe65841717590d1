//! Signed checkpoints: what retention leaves of a pruned segment.
//!
//! Retention removes an organization's oldest records and keeps the last of them as a
//! checkpoint: its sequence number, hash and time, signed with HMAC-SHA256 under a key that
//! lives in the server's configuration, never in the database. The remaining chain verifies
//! from the checkpoint's hash, and a checkpoint edited in the database no longer carries a
//! valid signature.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::OrgId;
use crate::tables::audit_log::Checkpoint;

/// The key checkpoints are signed with (at least 32 bytes), ready as an HMAC.
#[derive(Clone)]
pub struct CheckpointKey(Hmac<Sha256>);

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckpointKey(…)")
    }
}

/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

impl CheckpointKey {
    /// A key from its bytes; `None` when shorter than [`MIN_KEY_BYTES`].
    pub fn new(bytes: Vec<u8>) -> Option<Self> {
        if bytes.len() < MIN_KEY_BYTES {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(&bytes).ok().map(Self)
    }

    fn mac(&self, org: OrgId, seq: i64, hash: &[u8], recorded_at: DateTime<Utc>) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        let message = format!(
            "beacon-audit-checkpoint:1:{org}:{seq}:{}:{}",
            hex::encode(hash),
            recorded_at.timestamp_micros()
        );
        mac.update(message.as_bytes());
        mac
    }

    /// The signature of a checkpoint at `seq` with `hash`, recorded at `recorded_at`.
    pub fn sign(&self, org: OrgId, seq: i64, hash: &[u8], recorded_at: DateTime<Utc>) -> [u8; 32] {
        self.mac(org, seq, hash, recorded_at)
            .finalize()
            .into_bytes()
            .into()
    }
}

/// Whether `checkpoint` carries `key`'s signature (compared in constant time).
pub fn is_signed(key: &CheckpointKey, org: OrgId, checkpoint: &Checkpoint) -> bool {
    key.mac(
        org,
        checkpoint.seq,
        &checkpoint.hash,
        checkpoint.recorded_at,
    )
    .verify_slice(&checkpoint.signature)
    .is_ok()
}
